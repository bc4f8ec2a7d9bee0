"""Compute overhead of training a smaller-than-optimal model to the same loss.

Source: de Vries 2023, "Go smol or go home" (REFERENCES.md section 5). A model with k_N times the
compute-optimal parameter count N_opt needs k_D times the compute-optimal tokens D_opt to reach
the compute-optimal loss L* = L(N_opt, D_opt); the compute overhead is k_N k_D - 1 (C = 6 N D).
As k_N falls to k_min (the smallest model that reaches L* with infinite data) k_D diverges; de
Vries's *critical model size* is where the overhead reaches ~100%.

For a law of any form (:mod:`computeplan.forms`) this is the same definition on the law's own
iso-loss contour L(N, D) = L*: D = exp(w(ln k_N N_opt)), w the form's closed-form contour
(:meth:`~computeplan.forms.Form.log_tokens_at_loss`), and ln k_min = lo - ln N_opt with lo the
contour's infinite-data end (:meth:`~computeplan.forms.Form.log_params_range`). (N_opt, D_opt)
is the law's compute-optimal model at a reference compute C (:meth:`compute_optimal`, for other
forms than the Chinchilla form :func:`computeplan._formsolve.budget`). It minimises N D on the
contour (the fixed-budget and fixed-loss problems are dual, :mod:`computeplan._formsolve`), so
the overhead is 0 at k_N = 1 and positive elsewhere.

Two forms give k_D in closed form in alpha, beta and k_N alone, whatever the budget:

- chinchilla (and tied) L = E + A N^-alpha + B D^-beta: alpha A N_opt^-alpha = beta B D_opt^-beta
  at the optimum (Hoffmann et al. 2022, eq. 4), so (de Vries 2023)
  k_D = (1 - (k_N^-alpha - 1) beta/alpha)^(-1/beta), k_min = (1 + alpha/beta)^(-1/alpha);
- kaplan L = E + (A N^(-alpha/beta) + B / D)^beta: on the contour the bracket's terms u1 + u2 are
  constant and alpha u1 = beta u2 at the optimum (dL/d ln N = dL/d ln D), so (derived here, the
  definition on this contour) k_D = (1 - (k_N^(-alpha/beta) - 1) beta/alpha)^-1,
  k_min = (1 + alpha/beta)^(-beta/alpha).

Both are k_D = (1 - (k_N^-p - 1) beta/alpha)^(-1/q) with (p, q) = (alpha, beta) or
(alpha/beta, 1). The other forms (beta-of-n, farseer, averages of forms) need the reference
compute.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import _validate as v
from ..errors import InputError
from ..forms import get_form
from ..laws import ModelPoint, get_law
from ..vocabulary import option

#: Forms whose overhead depends on alpha and beta alone: (p, q) of the closed form (module
#: docstring) from (alpha, beta).
CLOSED_FORMS = {"chinchilla": lambda a, b: (a, b), "kaplan": lambda a, b: (a / b, 1.0)}
#: The closed forms' k_min as the error messages write it.
_K_MIN_FORMULA = {"chinchilla": "(1 + alpha/beta)^(-1/alpha)",
                  "kaplan": "(1 + alpha/beta)^(-beta/alpha)"}


def depends_on_budget(law) -> bool:
    """Whether the overhead of ``law`` depends on the reference compute (not for the forms of
    :data:`CLOSED_FORMS`)."""
    return law.form not in CLOSED_FORMS


@dataclass(frozen=True)
class _Contour:
    """The iso-loss contour through the compute-optimal model of ``law`` at ``reference``
    (None: a closed form, no budget). ``closed``: (p, q, beta/alpha) of the closed form, or
    None for the generic path on the form's contour. Arrays have the reference's shape."""

    law: object
    reference: ModelPoint | None
    closed: tuple[float, float, float] | None
    log_min: np.ndarray  # ln k_min
    log_max: np.ndarray  # ln of the largest k the form covers (inf but for beta-of-n)

    def data(self, ndim: int = 0) -> dict:
        """The per-reference arrays, with ``ndim`` trailing axes for the size fractions."""
        if self.closed is not None:
            return {}
        pad = (1,) * ndim
        r = self.reference
        return {key: np.reshape(np.log(x) if key != "loss" else x, np.shape(x) + pad)
                for key, x in (("log_n", r.params), ("log_d", r.train_tokens),
                               ("loss", r.loss))}

    def log_token_multiplier(self, z, d: dict):
        """ln k_D at z = ln k_N (module docstring); ``d``: :meth:`data` (or a part of it)."""
        with np.errstate(all="ignore"):
            if self.closed is not None:
                p, q, r = self.closed
                return -np.log1p(-np.expm1(-p * z) * r) / q
            form = get_form(self.law.form)
            return form.log_tokens_at_loss(self.law.coefficients(), d["log_n"] + z,
                                           d["loss"]) - d["log_d"]


def _contour(law, train_flops=None, *, generic: bool = False) -> _Contour:
    """The contour of ``law`` (at reference compute ``train_flops``); ``generic`` takes the
    form's contour even where a closed form exists (the tests compare the two). The generic
    path goes through the loss L*, so its relative error grows like eps L* / (L* - E) where
    the reducible loss is a tiny part of the loss (1e-13 at 0.1%)."""
    form = law.form
    if train_flops is None and (generic or form not in CLOSED_FORMS):
        raise InputError(f"the overhead of a law of form {form!r} depends on the training "
                         f"budget; give {option('train_flops')}, the reference compute (its "
                         "compute-optimal model fixes the loss)")
    reference = None if train_flops is None else law.compute_optimal(train_flops=train_flops)
    if form in CLOSED_FORMS and not generic:
        c = law.coefficients()
        a, b = float(c["alpha"]), float(c["beta"])
        p, q = CLOSED_FORMS[form](a, b)
        log_min = -(math.log(a + b) - math.log(b)) / p  # -log1p(a/b)/p without a/b overflowing
        shape = () if reference is None else np.shape(reference.params)
        return _Contour(law, reference, (p, q, b / a), np.full(shape, log_min),
                        np.full(shape, np.inf))
    lo, hi = get_form(form).log_params_range(law.coefficients(), reference.loss)
    log_n = np.log(reference.params)
    return _Contour(law, reference, None, lo - log_n, hi - log_n)


def _checked_min(c: _Contour) -> np.ndarray:
    """k_min of contour ``c``; an InputError when it is below double precision (e.g. alpha =
    0.01, beta = 1e-10: e^-1842), where neither it nor the critical size could be told from 0."""
    k_min = np.exp(c.log_min)
    if not np.all(k_min > 0.0):
        law = c.law
        what = (f"{_K_MIN_FORMULA[law.form]} = e^{float(np.min(c.log_min)):.4g}"
                if c.closed is not None else f"e^{float(np.min(c.log_min)):.4g}")
        coef = ", ".join(f"{k}={x:g}" for k, x in law.coefficients().items()
                         if k in ("alpha", "beta"))
        raise InputError(f"the smallest model that can reach the compute-optimal loss, {what}, "
                         f"is below double precision ({coef}); use less extreme exponents")
    return k_min


def min_size_fraction(law, train_flops=None):
    """k_min: below it the compute-optimal loss is unreachable (module docstring; at each
    ``train_flops`` for a law whose overhead depends on the budget). An InputError when it is
    below double precision."""
    k_min = _checked_min(_contour(get_law(law, any_form=True), train_flops))
    return float(k_min) if k_min.ndim == 0 else k_min


def _sizes(c: _Contour, size_fraction) -> np.ndarray:
    """``size_fraction`` checked against (k_min, k_max) of every reference (a one-line
    InputError naming the range), as an array of shape reference + size fractions."""
    k = v.positive(option("size_fraction"), size_fraction)
    pad = (1,) * k.ndim
    k_min = np.reshape(_checked_min(c), np.shape(c.log_min) + pad)
    if c.closed is not None:
        why = f"{_K_MIN_FORMULA[c.law.form]}, the smallest model that can reach the " \
              "compute-optimal loss"
    else:
        why = f"the smallest model that reaches the {c.law.form}-form law's compute-optimal " \
              "loss" + (f" (at each {option('train_flops')})" if k_min.size > 1 else "")
    floor = f"{float(np.min(k_min)):.4g}" if np.ptp(k_min) == 0 else \
        f"{float(np.min(k_min)):.4g} to {float(np.max(k_min)):.4g}"
    v.greater_than(option("size_fraction"), k, k_min, f"{floor}, {why}")
    k_max = np.reshape(np.exp(c.log_max), np.shape(c.log_max) + pad)
    bad = np.broadcast_to(k >= k_max, np.broadcast_shapes(k.shape, k_max.shape))
    if bad.any():
        raise InputError(f"{option('size_fraction')} must be < {float(np.min(k_max)):.4g}, "
                         f"the largest model the {c.law.form} form covers; got "
                         f"{float(np.broadcast_to(k, bad.shape)[bad][0]):g}")
    return np.broadcast_to(k, np.broadcast_shapes(k.shape, k_min.shape))


def token_multiplier(law, size_fraction, train_flops=None) -> np.ndarray:
    """k_D = D / D_opt for a model of k_N = ``size_fraction`` times N_opt reaching L* (module
    docstring; de Vries 2023). Needs k_N > k_min. With array ``train_flops`` the result has
    shape train_flops + size_fraction."""
    return _token_multiplier(_contour(get_law(law, any_form=True), train_flops), size_fraction)


def _token_multiplier(c: _Contour, size_fraction) -> np.ndarray:
    k = _sizes(c, size_fraction)
    if c.closed is not None:
        p, q, r = c.closed
        return (1.0 - (k**-p - 1.0) * r) ** (-1.0 / q)
    return np.exp(c.log_token_multiplier(np.log(k), c.data(np.ndim(size_fraction))))


def compute_overhead(law, size_fraction, train_flops=None) -> np.ndarray:
    """k_N k_D - 1: extra training compute for the same loss, as a fraction (de Vries 2023)."""
    k = v.as_float_array("size_fraction", size_fraction)
    return k * token_multiplier(law, k, train_flops) - 1.0


def _critical(c: _Contour, overhead) -> np.ndarray:
    """The k_N < 1 whose overhead is ``overhead``: the root in z = ln k_N of
    ln(1 + overhead) = z + ln k_D(z) on (ln k_min, 0]; the log-cost falls from +inf at k_min to 0
    at k_N = 1 (it is minimal there; strictly falling wherever the law's compute-optimal
    condition has one root, as the tests check for each form), so the bracket holds one root,
    found by the bracketed root finder of the planners (:mod:`computeplan._formsolve`)."""
    from .._formsolve import bracketed_root

    target = np.log1p(v.positive("overhead", overhead))
    data = c.data(target.ndim) | {"target": target}

    def gap(z, d):  # < 0 at k_min (infinite cost), > 0 at k_N = 1
        return d["target"] - z - c.log_token_multiplier(z, d)

    lo = np.reshape(c.log_min, c.log_min.shape + (1,) * target.ndim)
    shape = np.broadcast_shapes(target.shape, lo.shape)
    ends = (np.full(shape, -1.0), np.full(shape, 1.0))  # the signs at the ends are known
    return np.exp(bracketed_root(gap, np.broadcast_to(lo, shape), np.zeros(shape), data,
                                 ends=ends))


def critical_size_fraction(law, overhead=1.0, train_flops=None) -> np.ndarray:
    """The size fraction k_N < 1 whose compute overhead equals ``overhead`` (default 1 = 100%,
    de Vries's critical model size, ~30% for alpha = 0.336, beta = 0.283). With arrays: shape
    train_flops + overhead."""
    c = _contour(get_law(law, any_form=True), train_flops)
    _checked_min(c)
    return _critical(c, overhead)


@dataclass(frozen=True)
class Overhead:
    law: object
    size_fraction: np.ndarray
    token_multiplier: np.ndarray
    compute_overhead: np.ndarray
    critical_overhead: float
    critical_size_fraction: float | np.ndarray  # an array of one per reference compute
    min_size_fraction: float | np.ndarray
    #: The reference compute (training FLOPs) and its compute-optimal model (None without).
    train_flops: np.ndarray | None = None
    reference: ModelPoint | None = None

    @property
    def depends_on_budget(self) -> bool:
        return depends_on_budget(self.law)

    @property
    def notes(self) -> list[str]:
        if self.reference is None:
            if self.law.domain is None:
                return []
            return [f"without {option('train_flops')} the overhead describes no model size: "
                    "whether its models lie inside the runs the law was fitted on is not "
                    f"checked; give {option('train_flops')} to check it"]
        if self.depends_on_budget:
            return []
        return [f"the overhead of a {self.law.form}-form law depends only on alpha and beta, "
                f"not on {option('train_flops')}: the reference compute fixes N_opt, D_opt and "
                "the loss only"]

    @property
    def extrapolation(self) -> dict | None:
        """How far the reference compute-optimal model and the models of each size fraction
        (k_N N_opt on k_D D_opt tokens) lie outside the law's domain, with ``warnings``
        (:func:`computeplan.extrapolation.law_report`); None when the law has no domain.
        Without a reference compute there is no model: the domain alone, no warnings."""
        from ..extrapolation import law_report

        ref = self.reference
        if ref is None:
            return law_report(self.law, {})
        pad = (1,) * np.ndim(self.size_fraction)
        n = np.reshape(ref.params, np.shape(ref.params) + pad) * self.size_fraction
        d = np.reshape(ref.train_tokens, np.shape(ref.train_tokens) + pad) * self.token_multiplier
        sized = (f"the model of {100 * float(self.size_fraction):.4g}% the compute-optimal size"
                 if np.ndim(n) == 0 else "the farthest model of those sizes")
        reference = ("the compute-optimal model at the reference compute"
                     if np.ndim(ref.params) == 0 else "the farthest compute-optimal reference")
        return law_report(self.law, {"reference": (reference, ref.params, ref.train_tokens),
                                     "sized": (sized, n, d)})

    def to_dict(self) -> dict:
        return {"law": {"form": self.law.form} | self.law.coefficients() | {"name": self.law.name},
                "size_fraction": self.size_fraction,
                "token_multiplier": self.token_multiplier,
                "compute_overhead": self.compute_overhead,
                "critical_overhead": self.critical_overhead,
                "critical_size_fraction": self.critical_size_fraction,
                "min_size_fraction": self.min_size_fraction,
                "depends_on_train_flops": self.depends_on_budget,
                "train_flops": self.train_flops,
                "reference": None if self.reference is None else self.reference.to_dict(),
                "extrapolation": self.extrapolation,
                "notes": self.notes,
                "source": "de Vries 2023, Go smol or go home (the definition on the law's "
                          "iso-loss contour for other forms)"}


def overhead(law=None, size_fraction=0.5, *, critical_overhead: float = 1.0,
             train_flops=None) -> Overhead:
    """Token multiplier and compute overhead at ``size_fraction`` (of the compute-optimal
    size), with the critical size (overhead = ``critical_overhead``) and the limit k_min; at
    reference compute ``train_flops`` (needed where the overhead depends on the budget; an
    array of them gives results of shape train_flops + size_fraction)."""
    law = get_law(law, any_form=True)
    c = _contour(law, train_flops)
    k = v.positive(option("size_fraction"), size_fraction)
    kd = _token_multiplier(c, k)
    crit = _critical(c, v.positive("critical_overhead", critical_overhead))
    k_min = _checked_min(c)
    flops = None if train_flops is None else np.asarray(train_flops, float)

    def plain(x):  # one budget: numbers, as before budgets were arrays
        return float(x) if np.ndim(x) == 0 else x

    return Overhead(law, k, kd, k * kd - 1.0, float(critical_overhead), plain(crit),
                    plain(k_min), flops, c.reference)

