"""Chinchilla-form scaling laws: L(N, D) = E + A / N^alpha + B / D^beta.

Source: Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models" (arXiv 2203.15556),
eq. (2) for the law, eq. (4) for the compute-optimal allocation. Training FLOPs C = 6 N D (Kaplan
et al. 2020, section 2.1). All functions broadcast over numpy arrays.
"""

from __future__ import annotations

import json
import math
import numbers
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import ClassVar

import numpy as np

from . import _validate as v
from ._lawdata import DOMAIN_KEYS as DOMAIN_KEYS
from ._lawdata import check_domain, extrapolation_oom
from .errors import InputError
from .forms import get_form
from .vocabulary import argument

#: FLOPs per parameter per training token (forward + backward), Kaplan et al. 2020.
TRAIN_FLOPS_PER_PARAM_TOKEN = 6.0
#: FLOPs per parameter per inference token (forward only), Kaplan et al. 2020.
INFERENCE_FLOPS_PER_PARAM_TOKEN = 2.0

COEFFICIENTS = ("E", "A", "B", "alpha", "beta")
#: Repeated-data coefficients R_D*, R_N* (Muennighoff et al. 2023; :mod:`computeplan.data_limits`).
REPETITION_COEFFICIENTS = ("rd_star", "rn_star")
#: Their fitted values (Muennighoff et al. 2023, arXiv 2305.16264, sec. 3 and appendix; the
#: datablations README "Parametric Fit": rd_star = 15.387756, rn_star = 5.309743), used for any
#: law that does not set its own.
DEFAULT_RD_STAR = 15.387756
DEFAULT_RN_STAR = 5.309743


def check_repetition(name: str, value) -> float | None:
    """A repetition coefficient (``rd_star`` or ``rn_star``) as a float, or None; a one-line
    InputError unless a finite number > 0 or None."""
    if value is None:
        return None
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise InputError(f"law coefficient {name} must be a number or null; got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise InputError(f"law coefficient {name} must be a finite number > 0; got {value}")
    return float(value)


#: A law file's keys besides its form's coefficients: what :meth:`LawFile.to_json` writes
#: (``form`` is left out for the Chinchilla form, ``rd_star``/``rn_star`` at the paper's values).
LAW_FILE_KEYS = ("form", "name", "source", *REPETITION_COEFFICIENTS, "domain", "replicates")


def check_law_keys(data: dict, form) -> None:
    """A one-line InputError naming each key of the law file object ``data`` that a law of
    ``form`` (a :class:`computeplan.forms.Form`) does not have, and the keys it may have: a
    misspelt key (``"alhpa": 0.3``) would otherwise be ignored."""
    import difflib

    valid = [*form.coefficients, *LAW_FILE_KEYS]
    extra = sorted((k for k in data if k not in valid), key=str)
    if not extra:
        return
    shown = [k[:40] + "..." if isinstance(k, str) and len(k) > 40 else k for k in extra]
    near = [m for k in extra if isinstance(k, str)
            for m in difflib.get_close_matches(k, valid, n=1)]
    hint = f" (did you mean {', '.join(map(repr, near))}?)" if near else ""
    raise InputError(f"law of form {form.name!r} has unknown key(s) {shown}{hint}; valid keys: "
                     + ", ".join(valid))


@dataclass(frozen=True)
class ModelPoint:
    """A model: parameter count, training tokens, training FLOPs and its predicted loss."""

    params: np.ndarray
    train_tokens: np.ndarray
    train_flops: np.ndarray
    loss: np.ndarray

    @property
    def tokens_per_param(self) -> np.ndarray:
        return self.train_tokens / self.params

    def to_dict(self) -> dict:
        return {
            "params": self.params,
            "train_tokens": self.train_tokens,
            "tokens_per_param": self.tokens_per_param,
            "train_flops": self.train_flops,
            "loss": self.loss,
        }


class CompletesModels:
    """:meth:`complete` for a law with ``point(N, D)`` and ``_point(N, D, inputs)`` (the model
    derived from the user's ``inputs``): :class:`ChinchillaLaw` and
    :class:`computeplan.formlaw.FormLaw`."""

    def complete(self, *, train_flops=None, params=None, train_tokens=None) -> ModelPoint:
        """The third of (C, N, D) from any two, with C = 6 N D, and the model's loss."""
        given = {"train_flops": train_flops, "params": params, "train_tokens": train_tokens}
        named = [k for k, val in given.items() if val is not None]
        if len(named) != 2:
            raise InputError(f"give exactly two of train_flops, params, train_tokens; got {named}")
        if train_flops is None:
            return self.point(params, train_tokens)
        c6 = v.positive("train_flops", train_flops) / TRAIN_FLOPS_PER_PARAM_TOKEN
        inputs = " and ".join(map(argument, named))
        with np.errstate(over="ignore", under="ignore"):
            if params is None:
                d = v.positive("train_tokens", train_tokens)
                return self._point(c6 / d, d, inputs)
            n = v.positive("params", params)
            return self._point(n, c6 / n, inputs)


class LawFile:
    """A law file's text and its writing, for a law with ``to_dict()``: :class:`ChinchillaLaw`
    and :class:`computeplan.formlaw.FormLaw`."""

    def to_json(self) -> str:
        """The law file's text (what :func:`load_law` reads): indented JSON, one line per
        replicate."""
        data = self.to_dict()
        rows = data.pop("replicates", None)
        text = json.dumps(data, indent=2)
        if rows is not None:
            text = (text[:-2] + ',\n  "replicates": [\n'
                    + ",\n".join("    " + json.dumps(r) for r in rows) + "\n  ]\n}")
        return text + "\n"

    def save(self, path: str | Path, *, flag: str = "law file") -> bool:
        """Write the law file atomically (:func:`computeplan.files.write_atomic`: a failed write
        leaves an existing file intact); return whether an existing file was replaced."""
        from .files import write_atomic

        return write_atomic(path, self.to_json(), flag=flag)


@dataclass(frozen=True)
class ChinchillaLaw(CompletesModels, LawFile):
    """L(N, D) = E + A / N^alpha + B / D^beta (Hoffmann et al. 2022, eq. 2).

    ``E`` is the irreducible loss (nats/token); ``A, alpha`` the model-size term; ``B, beta`` the
    data term. All five must be finite and positive, and alpha, beta above the fitter's
    boundary (:meth:`computeplan.forms.Form.check` of the chinchilla form, which also checks
    the replicates).

    Optional: ``replicates``, a (K, 5) array of coefficient sets (columns E, A, B, alpha, beta),
    e.g. bootstrap refits, that carries the law's uncertainty into plans
    (:mod:`computeplan.uncertainty`); ``domain``, the ranges ``[lo, hi]`` of ``params``,
    ``train_tokens`` and ``tokens_per_param`` of the runs the law was fitted on (each may be
    ``None``), against which plans report extrapolation (:func:`extrapolation`).

    ``rd_star``, ``rn_star`` (R_D*, R_N*) say how fast repeated tokens and excess parameters lose
    value when the unique data is limited (Muennighoff et al. 2023; used only with a unique-token
    limit, :mod:`computeplan.data_limits`). They default to the paper's fitted values; ``None``
    means the law has none, and a unique-token limit is then an error.
    """

    E: float
    A: float
    B: float
    alpha: float
    beta: float
    name: str = field(default="custom", compare=False)
    source: str = field(default="", compare=False)
    replicates: np.ndarray | None = field(default=None, compare=False, repr=False)
    domain: dict | None = field(default=None, compare=False)
    rd_star: float | None = DEFAULT_RD_STAR
    rn_star: float | None = DEFAULT_RN_STAR
    #: The law's form (:mod:`computeplan.forms`); other forms are :class:`~.formlaw.FormLaw`.
    form: ClassVar[str] = "chinchilla"

    def __post_init__(self):
        form = get_form(self.form)  # the form's one check of every coefficient's range
        for c, value in form.check({c: getattr(self, c) for c in COEFFICIENTS}).items():
            object.__setattr__(self, c, value)
        if self.replicates is not None:
            object.__setattr__(self, "replicates", form.check_replicates(self.replicates))
        if self.domain is not None:
            object.__setattr__(self, "domain", check_domain(self.domain))
        for c in REPETITION_COEFFICIENTS:
            object.__setattr__(self, c, check_repetition(c, getattr(self, c)))

    # ------------------------------------------------------------------ basics
    def coefficients(self) -> dict[str, float]:
        return {c: getattr(self, c) for c in COEFFICIENTS}

    def irreducible(self) -> float:
        """The loss as N and D grow without bound: E (Hoffmann et al. 2022, eq. 2)."""
        return float(self.E)

    def with_overrides(self, **overrides: float | None) -> ChinchillaLaw:
        """A copy with some coefficients replaced (``None`` values are ignored)."""
        changes = {k: val for k, val in overrides.items() if val is not None}
        if not changes:
            return self
        valid = COEFFICIENTS + REPETITION_COEFFICIENTS
        unknown = set(changes) - set(valid)
        if unknown:
            raise InputError(f"unknown law coefficient(s) {sorted(unknown)}; valid: {valid}")
        if set(changes) <= set(REPETITION_COEFFICIENTS):  # the replicates are of E..beta
            return replace(self, **changes)
        # The replicates describe the uncertainty of the original coefficients, not of these.
        return replace(self, name=f"{self.name} (modified)", replicates=None, **changes)

    def replicate_coefficients(self) -> dict[str, np.ndarray] | None:
        """The replicates as a dict of (K,) arrays E, A, B, alpha, beta (None without them)."""
        if self.replicates is None:
            return None
        return {c: self.replicates[:, j] for j, c in enumerate(COEFFICIENTS)}

    def extrapolation(self, params, train_tokens) -> dict | None:
        """Orders of magnitude by which the model (N, D) lies outside the law's domain:
        ``params_oom``, ``train_tokens_oom``, ``tokens_per_param_oom`` (0 inside; None without
        a domain). See :func:`computeplan._lawdata.extrapolation_oom`."""
        return extrapolation_oom(self.domain, params, train_tokens)

    def loss(self, params, train_tokens) -> np.ndarray:
        """Predicted loss L(N, D) = E + A N^-alpha + B D^-beta (Hoffmann et al. 2022, eq. 2)."""
        n = v.positive("params", params)
        d = v.positive("train_tokens", train_tokens)
        return self.E + self.A * n**-self.alpha + self.B * d**-self.beta

    def _reducible(self, loss, name: str = "loss") -> np.ndarray:
        """l - E, after checking the target is above the irreducible loss E."""
        lv = v.greater_than(argument(name), loss, self.E,
                            f"E = {self.E:g} (the law's irreducible loss)")
        return lv - self.E

    # ---------------------------------------------------- compute-optimal models
    @property
    def G(self) -> float:
        """G = (alpha A / (beta B))^(1/(alpha+beta)) (Hoffmann et al. 2022, eq. 4), computed in
        logs; an :class:`InputError` when it is beyond double precision (e.g. B = 5e-324)."""
        log_g = (math.log(self.alpha) + math.log(self.A) - math.log(self.beta)
                 - math.log(self.B)) / (self.alpha + self.beta)
        g = math.exp(log_g) if log_g < 709.0 else math.inf
        if not 0.0 < g < math.inf:
            raise InputError(
                f"law coefficients out of range: G = (alpha A / (beta B))^(1/(alpha+beta)) = "
                f"e^{log_g:.4g} is beyond double precision (A={self.A:g}, B={self.B:g}, "
                f"alpha={self.alpha:g}, beta={self.beta:g}); use less extreme coefficients")
        return g

    def point(self, params, train_tokens) -> ModelPoint:
        """The model (N, D) with its training FLOPs and predicted loss."""
        return self._point(v.positive("params", params), v.positive("train_tokens", train_tokens),
                           f"{argument('params')} or {argument('train_tokens')}")

    def _point(self, n, d, inputs: str) -> ModelPoint:
        """The model (N, D), derived from the user's ``inputs``; an InputError naming them when
        N, D, C or the loss leave double precision."""
        with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
            n, d = np.broadcast_arrays(np.asarray(n, float), np.asarray(d, float))
            out = dict(params=n, train_tokens=d, train_flops=TRAIN_FLOPS_PER_PARAM_TOKEN * n * d,
                       loss=self.E + self.A * n**-self.alpha + self.B * d**-self.beta)
            ratio = d / n
        v.representable("the model", out | {"tokens_per_param": ratio}, inputs, positive=True)
        return ModelPoint(**out)

    def compute_optimal(self, *, train_flops=None, params=None, train_tokens=None, loss=None):
        """The Chinchilla-optimal model fixed by exactly one of C, N, D or target loss.

        From C: N = G (C/6)^a, D = G^-1 (C/6)^b, a = beta/(alpha+beta), b = alpha/(alpha+beta)
        (Hoffmann et al. 2022, eq. 4). From N or D: the first-order condition
        alpha A N^-alpha = beta B D^-beta. From a target loss l:
        N = (A (1 + alpha/beta) / (l - E))^(1/alpha), D = (B (1 + beta/alpha) / (l - E))^(1/beta).
        """
        given = {"train_flops": train_flops, "params": params, "train_tokens": train_tokens,
                 "loss": loss}
        named = [k for k, val in given.items() if val is not None]
        if len(named) != 1:
            raise InputError(
                "give exactly one of train_flops, params, train_tokens or loss for a "
                f"compute-optimal model; got {named or 'none'}"
            )
        a, b, A, B = self.alpha, self.beta, self.A, self.B
        inputs = f"{argument(named[0])} or the law coefficients"
        with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
            if train_flops is not None:
                c6 = v.positive("train_flops", train_flops) / TRAIN_FLOPS_PER_PARAM_TOKEN
                n = self.G * c6 ** (b / (a + b))
                return self._point(n, c6 / n, inputs)
            if params is not None:
                n = v.positive("params", params)
                return self._point(n, (b * B * n**a / (a * A)) ** (1.0 / b), inputs)
            if train_tokens is not None:
                d = v.positive("train_tokens", train_tokens)
                return self._point((a * A * d**b / (b * B)) ** (1.0 / a), d, inputs)
            delta = self._reducible(loss)
            n = (A * (1.0 + a / b) / delta) ** (1.0 / a)
            d = (B * (1.0 + b / a) / delta) ** (1.0 / b)
        return self._point(n, d, inputs)

    def tokens_for_loss(self, loss, params) -> np.ndarray:
        """Training tokens for a model of ``params`` to reach ``loss``:
        D = (B / (l - E - A N^-alpha))^(1/beta). Needs l > E + A N^-alpha (the N-limited floor)."""
        n = v.positive("params", params)
        floor = self.E + self.A * n**-self.alpha
        lv = v.greater_than(argument("loss"), loss, floor,
                            "E + A/N^alpha, the best loss this many parameters can reach")
        with np.errstate(over="ignore", under="ignore", divide="ignore"):
            d = (self.B / (lv - floor)) ** (1.0 / self.beta)
        v.representable("the model", {"train_tokens": d},
                        f"{argument('loss')} or {argument('params')}", positive=True)
        return d

    def params_for_loss(self, loss, train_tokens) -> np.ndarray:
        """Parameters for a model trained on ``train_tokens`` to reach ``loss``:
        N = (A / (l - E - B D^-beta))^(1/alpha). Needs l > E + B D^-beta."""
        d = v.positive("train_tokens", train_tokens)
        floor = self.E + self.B * d**-self.beta
        lv = v.greater_than(argument("loss"), loss, floor,
                            "E + B/D^beta, the best loss this many tokens can reach")
        with np.errstate(over="ignore", under="ignore", divide="ignore"):
            n = (self.A / (lv - floor)) ** (1.0 / self.alpha)
        v.representable("the model", {"params": n},
                        f"{argument('loss')} or {argument('train_tokens')}", positive=True)
        return n

    # ------------------------------------------------------------------ files
    def to_dict(self, *, replicates: bool = True) -> dict:
        """The law as a JSON-ready dict (the law file format); ``domain`` and ``replicates``
        (a list of [E, A, B, alpha, beta] rows) only when the law has them, the replicates left
        out with ``replicates=False`` (for summaries)."""
        d = asdict(self)
        out = {k: d[k] for k in (*COEFFICIENTS, "name", "source")}
        # rd_star/rn_star only when not the paper's values (an absent key reads as those).
        for c, default in zip(REPETITION_COEFFICIENTS, (DEFAULT_RD_STAR, DEFAULT_RN_STAR),
                              strict=True):
            if d[c] != default:
                out[c] = d[c]
        if self.domain is not None:
            out["domain"] = {k: None if r is None else list(r) for k, r in self.domain.items()}
        if replicates and self.replicates is not None:
            out["replicates"] = self.replicates.tolist()
        return out

    @classmethod
    def from_dict(cls, data: dict, *, name: str = "custom") -> ChinchillaLaw:
        if not isinstance(data, dict):
            raise InputError(f"a law must be a JSON object with keys {COEFFICIENTS}")
        _check_chinchilla_form(data)
        missing = [c for c in COEFFICIENTS if c not in data]
        if missing:
            raise InputError(f"law is missing coefficient(s) {missing}; needs {list(COEFFICIENTS)}")
        law_name = data.get("name")
        source = data.get("source")
        # An absent repetition coefficient takes the paper's value; an explicit null means none.
        repetition = {c: data[c] for c in REPETITION_COEFFICIENTS if c in data}
        return cls(**{c: data[c] for c in COEFFICIENTS},
                   name=name if law_name is None else str(law_name),
                   source="" if source is None else str(source),
                   replicates=data.get("replicates"), domain=data.get("domain"), **repetition)

    @classmethod
    def load(cls, path: str | Path) -> ChinchillaLaw:
        p = Path(path)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except OSError as exc:
            raise InputError(f"cannot read law file {str(p)!r}: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            raise InputError(f"law file {str(p)!r} is not UTF-8 text: byte {exc.start} "
                             f"is {exc.object[exc.start:exc.start + 1]!r}") from None
        except json.JSONDecodeError as exc:
            raise InputError(f"law file {str(p)!r} is not valid JSON: {exc.msg} "
                             f"(line {exc.lineno})") from None
        except RecursionError:
            raise InputError(f"law file {str(p)!r} is nested too deeply (a law file is one "
                             "JSON object of coefficients)") from None
        return cls.from_dict(data, name=p.stem)


def _check_chinchilla_form(data: dict) -> None:
    from .forms import get_form

    form = get_form(data.get("form", "chinchilla"))
    if form.name != "chinchilla":
        raise InputError(f"law {data.get('name') or ''!r} has form {form.name!r}, not the "
                         "Chinchilla form this needs")
    check_law_keys(data, form)


def load_law(path: str | Path):
    """A law file of any form: a :class:`ChinchillaLaw` for the Chinchilla form (files without
    ``form`` are), else a :class:`computeplan.formlaw.FormLaw`."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return ChinchillaLaw.load(p)  # its one-line errors
    return law_from_dict(data, name=p.stem)


def law_from_dict(data, *, name: str = "custom"):
    """A law of any form from its JSON object (:func:`load_law`)."""
    if isinstance(data, dict) and data.get("form", "chinchilla") != "chinchilla":
        from .formlaw import FormLaw

        return FormLaw.from_dict(data, name=name)
    return ChinchillaLaw.from_dict(data, name=name)


#: The range of the Chinchilla runs (Hoffmann et al. 2022, Figure 4, as digitised by Epoch AI:
#: ../shared/data/chinchilla-epoch, the 240 runs left after dropping the 5 highest-loss ones),
#: rounded outwards to 3 digits; scripts/make_besiroglu_replicates.py prints the exact values.
#: All three presets are fits to (or, for sardana2024, the coefficients of) these runs.
CHINCHILLA_DOMAIN = {"params": [5.73e7, 1.62e10], "train_tokens": [8.18e8, 3.18e11],
                     "tokens_per_param": [0.456, 342.0]}
#: Bootstrap replicates of the besiroglu2024 preset (package data, written by
#: scripts/make_besiroglu_replicates.py).
PRESET_REPLICATES = Path(__file__).parent / "presets" / "besiroglu2024_replicates.json"


def _preset_replicates(path: Path = PRESET_REPLICATES) -> list:
    return json.loads(path.read_text(encoding="utf-8"))["replicates"]


PRESETS: dict[str, ChinchillaLaw] = {
    law.name: law
    for law in (
        ChinchillaLaw(1.69, 406.4, 410.7, 0.34, 0.28, name="hoffmann2022",
                      source="Hoffmann et al. 2022, eq. (10), Approach 3 (arXiv 2203.15556)",
                      domain=CHINCHILLA_DOMAIN),
        ChinchillaLaw(1.69, 406.4, 410.7, 0.336, 0.283, name="sardana2024",
                      source="Sardana et al. 2024 published calculators (arXiv 2401.00448); "
                             "also de Vries 2023", domain=CHINCHILLA_DOMAIN),
        ChinchillaLaw(1.8172, 482.01, 2085.43, 0.3478, 0.3658, name="besiroglu2024",
                      source="Besiroglu et al. 2024, Chinchilla Scaling: A replication attempt "
                             "(arXiv 2404.10102); replicates: bootstrap refits of the Hoffmann "
                             "protocol to the 240 runs", domain=CHINCHILLA_DOMAIN,
                      replicates=_preset_replicates()),
        # Muennighoff et al. 2023 fit a, b, e with A = e^a, B = e^b, E = e^e (datablations README,
        # "Parametric Fit": a, b, e, alpha, beta, rd_star, rn_star = 6.255414, 7.3049974,
        # 0.6254804, 0.3526596, 0.3526596, 15.387756, 5.309743).
        ChinchillaLaw(math.exp(0.6254804), math.exp(6.255414), math.exp(7.3049974),
                      0.3526596, 0.3526596, name="muennighoff2023",
                      source="Muennighoff et al. 2023, Scaling Data-Constrained Language Models "
                             "(arXiv 2305.16264), eq. (5); github.com/huggingface/datablations",
                      rd_star=15.387756, rn_star=5.309743),
    )
}

DEFAULT_LAW = "sardana2024"


def get_law(spec=None, *, any_form: bool = False, **overrides):
    """Resolve a law from a preset name, a JSON file path, a law object or a law file's JSON
    object (a dict, as the web API takes an inline law: :func:`law_from_dict`), then apply
    overrides.

    A law of another form than the Chinchilla form (:class:`computeplan.formlaw.FormLaw`) is
    returned only with ``any_form=True`` (callers that plan with every form); otherwise it is a
    one-line InputError naming its form."""
    if spec is None:
        spec = DEFAULT_LAW
    law = _resolve(spec)
    if law.form != "chinchilla" and not any_form:
        raise InputError(f"law {law.name!r} has form {law.form!r}; this plans with "
                         "Chinchilla-form laws only")
    return law.with_overrides(**overrides)


def _is_file(name: str) -> bool:
    try:
        return Path(name).is_file()
    except (OSError, ValueError):  # a name too long for the file system, a NUL byte
        return False


def _resolve(spec):
    from .formlaw import FormLaw

    if isinstance(spec, ChinchillaLaw | FormLaw):
        return spec
    if isinstance(spec, dict):
        return law_from_dict(spec)
    if isinstance(spec, str | Path) and str(spec) in PRESETS:
        return PRESETS[str(spec)]
    if isinstance(spec, str | Path) and str(spec) in form_presets():
        return form_presets()[str(spec)]
    if isinstance(spec, Path) or str(spec).endswith(".json") or _is_file(str(spec)):
        return load_law(spec)
    raise InputError(f"unknown law {spec!r}; valid presets: "
                     f"{', '.join([*PRESETS, *form_presets()])}, or a path to a law JSON file")


#: Package data: presets fitted on over-trained runs (scripts/make_form_presets.py).
FORM_PRESETS_FILE = Path(__file__).parent / "presets" / "form_presets.json"


def form_presets() -> dict:
    """Presets of other forms than the Chinchilla form, fitted on over-trained runs (package
    data written by scripts/make_form_presets.py; empty when absent)."""
    global _FORM_PRESETS
    if _FORM_PRESETS is None:
        _FORM_PRESETS = {}
        if FORM_PRESETS_FILE.is_file():
            for entry in json.loads(FORM_PRESETS_FILE.read_text(encoding="utf-8")):
                law = law_from_dict(entry)
                _FORM_PRESETS[law.name] = law
    return _FORM_PRESETS


_FORM_PRESETS: dict | None = None
