"""A law of any form (:mod:`computeplan.forms`): loss, compute-optimal models, law files.

Optimal models come from the vectorised first-order-condition solvers of
:mod:`computeplan._formsolve`; the Chinchilla form keeps its closed forms
(:class:`computeplan.laws.ChinchillaLaw`, which laws of the chinchilla and tied forms are).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from . import _formsolve as solve
from . import _validate as v
from ._lawdata import check_domain, extrapolation_oom
from .errors import InputError
from .forms import Form, get_form
from .laws import (
    REPETITION_COEFFICIENTS,
    TRAIN_FLOPS_PER_PARAM_TOKEN,
    CompletesModels,
    LawFile,
    ModelPoint,
    check_law_keys,
)
from .vocabulary import argument


def log_c6(form: str, train_flops, name: str = "train_flops") -> np.ndarray:
    """ln(C / 6) of training budgets C = 6 N D (Kaplan et al. 2020, C ~ 6 N D) for the budget
    solver of a law of ``form`` (:func:`computeplan._formsolve.budget`), which searches models
    of at least one parameter and one token: C <= 6 (``name``) is a one-line InputError (and
    C / 6 > 1 cannot underflow to 0, whose ln = -inf made the solver's condition NaN)."""
    c = v.positive(name, train_flops)
    small = c <= TRAIN_FLOPS_PER_PARAM_TOKEN  # C = 6 N D with N >= 1 and D >= 1
    if np.any(small):
        raise InputError(f"no compute-optimal model under a {form}-form law at {name} = "
                         f"{v._first_bad(np.asarray(c), small)}: it needs {name} > "
                         f"{TRAIN_FLOPS_PER_PARAM_TOKEN:g} (C = 6 N D with at least one "
                         "parameter and one token)")
    return np.log(c / TRAIN_FLOPS_PER_PARAM_TOKEN)


@dataclass(frozen=True)
class FormLaw(CompletesModels, LawFile):
    """L(N, D) of ``form`` with natural ``coefficients`` (names as in
    :attr:`computeplan.forms.Form.coefficients`). Like :class:`computeplan.ChinchillaLaw`:
    optional ``replicates`` ((K, k) coefficient rows in the form's order) and ``domain``.

    ``rd_star``, ``rn_star``: the repetition coefficients R_D*, R_N* of a unique-token limit
    (Muennighoff et al. 2023, :mod:`computeplan._formlimits`), the law's own: ``computeplan fit
    --form FORM --unique-tokens-col COL`` fits them in the form's data-limited loss
    (:mod:`computeplan.fitting.repetition`) and its law file saves them. ``None`` (the default)
    means the law has none: Muennighoff et al.'s values, fitted with the Chinchilla form, are
    assumed, and plans say so."""

    form: str
    coef: dict
    name: str = field(default="custom", compare=False)
    source: str = field(default="", compare=False)
    replicates: np.ndarray | None = field(default=None, compare=False, repr=False)
    domain: dict | None = field(default=None, compare=False)
    rd_star: float | None = None
    rn_star: float | None = None

    def __post_init__(self):
        from .laws import check_repetition

        f = get_form(self.form)
        if f.name in CHINCHILLA_FORMS:
            raise InputError(f"a {f.name}-form law is a ChinchillaLaw (computeplan.ChinchillaLaw)")
        object.__setattr__(self, "form", f.name)
        object.__setattr__(self, "coef", f.check(self.coef))
        if self.replicates is not None:
            object.__setattr__(self, "replicates", f.check_replicates(self.replicates))
        if self.domain is not None:
            object.__setattr__(self, "domain", check_domain(self.domain))
        for c in REPETITION_COEFFICIENTS:
            object.__setattr__(self, c, check_repetition(c, getattr(self, c)))

    @property
    def shape(self) -> Form:
        return get_form(self.form)

    def coefficients(self) -> dict[str, float]:
        """The coefficients by name (as :meth:`computeplan.ChinchillaLaw.coefficients`)."""
        return dict(self.coef)

    def irreducible(self) -> float | None:
        """The loss as N and D grow without bound (:meth:`Form.irreducible`: E where the form
        has it, exp(b3) for a farseer-form law); None where it has none."""
        return self.shape.irreducible(self.coef)

    def replicate_coefficients(self) -> dict[str, np.ndarray] | None:
        if self.replicates is None:
            return None
        return self.shape.as_dict(self.replicates)

    def extrapolation(self, params, train_tokens) -> dict | None:
        return extrapolation_oom(self.domain, params, train_tokens)

    def loss(self, params, train_tokens) -> np.ndarray:
        n = v.positive("params", params)
        d = v.positive("train_tokens", train_tokens)
        return self.shape.loss(self.coef, n, d)

    def point(self, params, train_tokens) -> ModelPoint:
        return self._point(v.positive("params", params), v.positive("train_tokens", train_tokens),
                           f"{argument('params')} or {argument('train_tokens')}")

    def _point(self, n, d, inputs: str) -> ModelPoint:
        """The model (N, D), derived from the user's ``inputs`` (as ChinchillaLaw._point)."""
        with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
            n, d = np.broadcast_arrays(np.asarray(n, float), np.asarray(d, float))
            out = dict(params=n, train_tokens=d, train_flops=TRAIN_FLOPS_PER_PARAM_TOKEN * n * d,
                       loss=self.shape.loss(self.coef, n, d))
        v.representable("the model", out, inputs, positive=True)
        return ModelPoint(**out)

    def compute_optimal(self, *, train_flops=None, params=None, train_tokens=None, loss=None
                        ) -> ModelPoint:
        """The compute-optimal model fixed by exactly one of C, N, D or target loss: the
        first-order condition dL/d ln N = dL/d ln D (Hoffmann et al. 2022, section 3.3) along
        C = 6 N D, at fixed N or D, or along the loss contour (:mod:`computeplan._formsolve`).
        The solver searches models of at least one parameter and one token
        (:func:`computeplan._formsolve.budget_bracket`), so C <= 6 is a one-line InputError."""
        given = {"train_flops": train_flops, "params": params, "train_tokens": train_tokens,
                 "loss": loss}
        named = [k for k, val in given.items() if val is not None]
        if len(named) != 1:
            raise InputError("give exactly one of train_flops, params, train_tokens or loss for "
                             f"a compute-optimal model; got {named or 'none'}")
        if train_flops is not None:
            ln_n, ln_d = solve.budget(self.shape, self.coef, log_c6(self.form, train_flops),
                                      0.0)
        elif params is not None:
            ln_n = np.log(v.positive("params", params))
            ln_d = solve.optimal_at_params(self.shape, self.coef, ln_n)
        elif train_tokens is not None:
            ln_d = np.log(v.positive("train_tokens", train_tokens))
            ln_n = solve.optimal_at_tokens(self.shape, self.coef, ln_d)
        else:
            ln_n, ln_d = solve.fixed_loss(self.shape, self.coef, loss, 0.0)
        return self.point(np.exp(ln_n), np.exp(ln_d))

    def tokens_for_loss(self, loss, params) -> np.ndarray:
        """Training tokens for a model of ``params`` to reach ``loss`` (closed form,
        :meth:`computeplan.forms.Form.log_tokens_at_loss`); an InputError when no amount of
        data gets this many parameters there."""
        ln_n = np.log(v.positive("params", params))
        lo, hi = self.shape.log_params_range(self.coef, loss)
        if not np.all((ln_n > lo) & (ln_n < hi)):
            raise InputError(f"{argument('loss')} must be above the best loss this many "
                             "parameters can reach "
                             f"under this {self.form}-form law")
        return np.exp(self.shape.log_tokens_at_loss(self.coef, ln_n, loss))

    def params_for_loss(self, loss, train_tokens) -> np.ndarray:
        """Parameters for a model trained on ``train_tokens`` to reach ``loss``."""
        ln_d = np.log(v.positive("train_tokens", train_tokens))
        return np.exp(solve.params_for_loss(self.shape, self.coef,
                                            v.positive("loss", loss), ln_d))

    def tokens_per_param_at(self, train_flops, coefficients: dict | None = None) -> np.ndarray:
        """Compute-optimal D/N at each budget; ``coefficients`` (arrays) broadcast with it."""
        c6 = np.asarray(train_flops, float) / TRAIN_FLOPS_PER_PARAM_TOKEN
        ln_n, ln_d = solve.budget(self.shape, coefficients or self.coef, np.log(c6), 0.0)
        return np.exp(ln_d - ln_n)

    # ------------------------------------------------------------------ files
    def to_dict(self, *, replicates: bool = True) -> dict:
        out = {"form": self.form, **self.coef, "name": self.name, "source": self.source}
        out |= {c: getattr(self, c) for c in REPETITION_COEFFICIENTS
                if getattr(self, c) is not None}
        if self.domain is not None:
            out["domain"] = {k: None if r is None else list(r) for k, r in self.domain.items()}
        if replicates and self.replicates is not None:
            out["replicates"] = self.replicates.tolist()
        return out

    @classmethod
    def from_dict(cls, data: dict, *, name: str = "custom"):
        """The law of a law file's JSON object; a tied-form file gives a
        :class:`computeplan.ChinchillaLaw` with beta = alpha (:func:`make_law`)."""
        if not isinstance(data, dict):
            raise InputError("a law must be a JSON object with a form and its coefficients")
        f = get_form(data.get("form", "chinchilla"))
        check_law_keys(data, f)
        law_name, source = data.get("name"), data.get("source")
        repetition = {c: data[c] for c in REPETITION_COEFFICIENTS if c in data}
        return make_law(f.name, {c: data[c] for c in f.coefficients if c in data},
            name=name if law_name is None else str(law_name),
            source="" if source is None else str(source),
            replicates=data.get("replicates"), domain=data.get("domain"), **repetition)

    def with_overrides(self, **overrides) -> FormLaw:
        changes = {k: val for k, val in overrides.items() if val is not None}
        if not changes:
            return self
        unknown = sorted(set(changes) - set(self.shape.coefficients)
                         - set(REPETITION_COEFFICIENTS))
        if unknown:
            raise InputError(f"unknown coefficient(s) {unknown} for a {self.form}-form law; "
                             f"valid: {list(self.shape.coefficients)}")
        if set(changes) <= set(REPETITION_COEFFICIENTS):  # the replicates are of the form's
            return replace(self, **changes)
        return replace(self, coef=self.coef | changes,
                       name=f"{self.name} (modified)", replicates=None)


#: Forms whose laws are :class:`computeplan.ChinchillaLaw` objects (tied: beta = alpha).
CHINCHILLA_FORMS = ("chinchilla", "tied")


def make_law(form: str, coef: dict, *, name: str = "custom", source: str = "",
             replicates=None, domain=None, **repetition):
    """The law of ``form`` with natural coefficients ``coef``: a
    :class:`computeplan.ChinchillaLaw` for the chinchilla and tied (beta = alpha) forms, else a
    :class:`FormLaw`. ``replicates``: rows in the form's coefficient order; ``repetition``:
    ``rd_star``, ``rn_star`` (absent: the law's defaults)."""
    from .laws import ChinchillaLaw

    f = get_form(form)
    if f.name not in CHINCHILLA_FORMS:
        return FormLaw(f.name, coef, name=name, source=source, replicates=replicates,
                       domain=domain, **repetition)
    c = f.check(coef)
    if replicates is not None and f.name == "tied":  # rows of [E, A, B, alpha]: beta = alpha
        reps = f.check_replicates(replicates)
        replicates = np.concatenate([reps, reps[:, 3:4]], axis=1)
    return ChinchillaLaw(c["E"], c["A"], c["B"], c["alpha"], c.get("beta", c["alpha"]),
                         name=name, source=source, replicates=replicates, domain=domain,
                         **repetition)

