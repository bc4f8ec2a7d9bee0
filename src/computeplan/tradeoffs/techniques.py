"""Technique models: performance as a function of training compute and inference compute.

Every technique answers one question, vectorised: the best score reachable when spending at most
``train_compute`` FLOPs on training and at most ``inference_compute`` FLOPs per query (per token
for the language-model techniques) on inference. It is non-decreasing in both arguments, so its
level sets are iso-performance curves and their lower-left boundary is the Pareto frontier.

Source: Villalobos & Atkinson 2023, "Trading off compute in training and inference" (Epoch),
sections on the scaling policy, pruning, Monte Carlo tree search and repeated sampling; the
formulas are collected in REFERENCES.md section 3. All logarithms are base 10 (OOM).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from typing import ClassVar

import numpy as np

from .. import _validate as v
from ..defaults import TECHNIQUES
from ..errors import InputError
from ..laws import (
    INFERENCE_FLOPS_PER_PARAM_TOKEN,
    TRAIN_FLOPS_PER_PARAM_TOKEN,
    ChinchillaLaw,
    get_law,
)
from ..vocabulary import option
from .curves import ramp_from_zero, smooth_ramp

_VS = "Villalobos & Atkinson 2023, Trading off compute in training and inference (Epoch)"


def _number(owner: str, name: str, value, lo=None, hi=None, *, lo_open=True, hi_open=True,
            flag: bool = False):
    """Validate a scalar model parameter; a one-line InputError names it and its range (as the
    option ``name`` when ``flag``: one the command also takes by itself)."""
    label = f"{owner} parameter {option(name) if flag else name}"
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise InputError(f"{label} must be a number; got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise InputError(f"{label} must be finite; got {value}")
    if lo is None and hi is None:
        return value
    lo_v = -math.inf if lo is None else lo
    hi_v = math.inf if hi is None else hi
    bad = ((value <= lo_v if lo_open else value < lo_v)
           or (value >= hi_v if hi_open else value > hi_v))
    if bad:
        rng = f"{'(' if lo_open else '['}{lo_v:g}, {hi_v:g}{')' if hi_open else ']'}"
        raise InputError(f"{label} must be in {rng}; got {value:g}")
    return value


def _at_least_one(name: str, arr: np.ndarray, what: str) -> None:
    """InputError unless every element of ``arr`` is >= 1 (e.g. one sample, one node)."""
    bad = arr < 1.0
    if np.any(bad):
        raise InputError(f"{name} must be >= 1 ({what}); got {v._first_bad(arr, bad)}")


class Technique:
    """Interface shared by the technique models (frozen dataclasses).

    Subclasses define ``performance(train_compute, inference_compute)`` (best score within both
    budgets), ``level_range()`` (the open interval of reachable scores), ``bounds()`` (the valid
    range of each input, as text for people), ``grid_range(level)`` (log10 ranges of training
    and inference compute that hold the frontier at ``level``) and ``default_level()``.
    """

    key: ClassVar[str]
    title: ClassVar[str]
    mechanism: ClassVar[str]
    score_name: ClassVar[str]
    higher_is_better: ClassVar[bool]
    source: ClassVar[str]
    inference_unit: ClassVar[str] = "FLOPs per query"
    #: Hard lower bound of inference compute (one node, one sample); 0 when there is none.
    min_inference_compute: float = 0.0
    #: Hard upper bound of training compute (the n@k model's validity); infinite when none.
    max_train_compute: float = math.inf

    def merit(self, train_compute, inference_compute) -> np.ndarray:
        """Performance with the sign set so that larger is always better."""
        p = self.performance(train_compute, inference_compute)
        return p if self.higher_is_better else -p

    def check_level(self, level) -> float:
        """The level as a float, or an InputError when the technique cannot reach it."""
        lo, hi = self.level_range()
        lv = _number(self.key, "level", level)
        if not lo < lv < hi:
            why = "reachable by " + self.key
            raise InputError(f"level ({self.score_name}) must be in ({lo:.6g}, {hi:.6g}), "
                             f"the range {why}; got {lv:.6g}")
        return lv

    def parameters(self) -> dict:
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = (value.to_dict(replicates=False) if _is_law(value) else value)
        return out

    def to_dict(self) -> dict:
        lo, hi = self.level_range()
        return {"technique": self.key, "title": self.title, "mechanism": self.mechanism,
                "score": self.score_name, "higher_is_better": self.higher_is_better,
                "inference_unit": self.inference_unit,
                "parameters": self.parameters(), "bounds": self.bounds(),
                "reachable_levels": [x if math.isfinite(x) else None for x in (lo, hi)],
                "source": self.source}

    def with_parameters(self, **changes) -> Technique:
        names = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise InputError(f"unknown {self.key} parameter(s) {unknown}; valid: {sorted(names)}")
        return replace(self, **changes)


# ---------------------------------------------------------------------------- scaling policy
def _is_law(value) -> bool:
    from ..formlaw import FormLaw

    return isinstance(value, ChinchillaLaw | FormLaw)


def _other(law) -> bool:
    """Whether ``law`` is of another form than the Chinchilla form (:mod:`computeplan.forms`):
    its compute-optimal models then come from the form's first-order conditions
    (:mod:`computeplan._formsolve`) instead of Hoffmann et al.'s closed forms."""
    return law.form != "chinchilla"


def _log_optimal_params(law, log_c6) -> np.ndarray:
    """ln N_opt at ln(C/6) = ``log_c6`` under a law of another form: the root of
    dL/d ln N = dL/d ln D along N D = C/6 (Hoffmann et al. 2022, sec. 3.3;
    :func:`computeplan._formsolve.budget`), vectorised."""
    from .. import _formsolve as solve

    return solve.budget(law.shape, law.coef, log_c6, 0.0)[0]


def _compute_optimal_params(law: ChinchillaLaw, train_compute) -> np.ndarray:
    """N_opt = G (C/6)^(beta/(alpha+beta)) (Hoffmann et al. 2022, eq. 4); under a law of
    another form, :func:`_log_optimal_params`."""
    if _other(law):
        from ..formlaw import log_c6

        return np.exp(_log_optimal_params(law, log_c6(law.form, train_compute,
                                                      "training compute")))
    p = law.beta / (law.alpha + law.beta)
    return law.G * (train_compute / TRAIN_FLOPS_PER_PARAM_TOKEN) ** p


def _law_loss(law, n, d) -> np.ndarray:
    """L(N, D) (the Chinchilla form written as before, bit for bit)."""
    if _other(law):
        return law.loss(n, d)
    return law.E + law.A * n**-law.alpha + law.B * d**-law.beta


#: Under a law of another form the levels stop where the compute-optimal model has C/6 = 1e6.
MIN_LEVEL_COMPUTE = TRAIN_FLOPS_PER_PARAM_TOKEN * 1e6


def _law_floor(law) -> float:
    """The loss the law falls towards (E; exp(b3) for a farseer-form law); a one-line
    InputError when it has none."""
    floor = law.irreducible()
    if floor is None:
        raise InputError(f"law {law.name!r} ({law.form} form) has no lowest loss that its loss "
                         "falls towards, so it has no levels to trade compute at")
    return floor


def _law_level_range(law: ChinchillaLaw) -> tuple[float, float]:
    """Losses (E, E + min(A (1 + alpha/beta), B (1 + beta/alpha))): above E, and low enough
    that the compute-optimal model at that loss has at least one parameter and one token
    (N = (A (1 + alpha/beta) / (l - E))^(1/alpha), D likewise; Hoffmann et al. 2022, eq. 4).
    Under a law of another form: above its floor (:func:`_law_floor`) and below the loss of
    the compute-optimal model with C/6 = 1e6 (:data:`MIN_LEVEL_COMPUTE`)."""
    if _other(law):
        return _law_floor(law), float(law.compute_optimal(train_flops=MIN_LEVEL_COMPUTE).loss)
    a, b = law.alpha, law.beta
    return law.E, law.E + min(law.A * (1.0 + a / b), law.B * (1.0 + b / a))


def _floor_text(law) -> str:
    if _other(law):
        return f"loss > {_law_floor(law):.6g} (the law's irreducible loss)"
    return f"loss > E = {law.E:g}"


def _smallest_params(law, level) -> float:
    """The smallest N that reaches ``level`` (with infinite data)."""
    if _other(law):
        return float(np.exp(law.shape.log_params_range(law.coef, level)[0]))
    return (law.A / (level - law.E)) ** (1.0 / law.alpha)


def _law_default_level(tech) -> float:
    """The loss of the compute-optimal model trained with ``reference_train_compute`` FLOPs."""
    c = tech.reference_train_compute
    loss = float(tech.law.compute_optimal(train_flops=c).loss)
    lo, hi = tech.level_range()
    if not lo < loss < hi:
        raise InputError(f"{tech.key} parameter reference_train_compute gives the default level, "
                         f"loss {loss:.6g}, outside ({lo:.6g}, {hi:.6g}); got {c:g}: use a value "
                         f"nearer 1e24 or give {option('level')}")
    return loss


@dataclass(frozen=True)
class ScalingPolicy(Technique):
    """Over-training: a smaller model trained on more tokens reaches the same loss.

    With TC = 6 N D training FLOPs and IC = 2 N FLOPs per inference token (Kaplan et al. 2020),
    the Chinchilla law gives L = E + A (IC/2)^-alpha + B (TC / (3 IC))^-beta (Villalobos &
    Atkinson 2023; Hoffmann et al. 2022, eq. 2). With at most TC and IC the best model has
    N = min(IC / 2, N_opt(TC)): beyond the compute-optimal size extra inference compute does
    not help. Bounds: TC > 0, IC > 0; levels: loss > E.

    A law of any form (:mod:`computeplan.forms`): L = L_form(IC/2, TC / (3 IC)), N_opt(TC) the
    root of the form's first-order condition along 6 N D = TC (:func:`_log_optimal_params`;
    the loss is unimodal in log N along it), levels above the form's irreducible loss.

    With ``unique_tokens`` U the loss is the data-limited one, L(N, D; U) with repeated tokens
    and excess parameters discounted (Muennighoff et al. 2023, eq. 5;
    :mod:`computeplan.data_limits`), N_opt(TC) the data-limited compute-optimal size (the loss
    is unimodal in log N at fixed TC: the problem is convex in log space), and levels above the
    lowest loss U unique tokens allow.
    """

    law: ChinchillaLaw = field(default_factory=get_law)
    #: The default level is the loss of the compute-optimal model trained with this many FLOPs.
    reference_train_compute: float = 1e24
    #: Unique training tokens (None: unlimited unique data).
    unique_tokens: float | None = None

    key: ClassVar[str] = "scaling-policy"
    title: ClassVar[str] = "Scaling policy (over-training)"
    mechanism: ClassVar[str] = "model size"
    score_name: ClassVar[str] = "loss"
    higher_is_better: ClassVar[bool] = False
    source: ClassVar[str] = _VS + "; Hoffmann et al. 2022 (arXiv 2203.15556), eq. 2 and 4"
    inference_unit: ClassVar[str] = "FLOPs per token"

    def __post_init__(self):
        object.__setattr__(self, "law", get_law(self.law, any_form=True))
        _number(self.key, "reference_train_compute", self.reference_train_compute, 0)
        if self.unique_tokens is not None:
            from ..data_limits import check_unique_tokens

            u = _number(self.key, "unique_tokens", self.unique_tokens, 0)
            check_unique_tokens(u, self.law)
            object.__setattr__(self, "unique_tokens", u)

    def models(self, train_compute, inference_compute) -> tuple[np.ndarray, np.ndarray]:
        """(N, D) of the best model with at most TC and IC: N = min(IC / 2, N_opt(TC)),
        D = TC / (6 N) (class docstring)."""
        tc = v.positive("train_compute", train_compute)
        ic = v.positive("inference_compute", inference_compute)
        if self.unique_tokens is not None:
            from ..data_limits import limited_budget_optimal

            best = limited_budget_optimal(self.law, budget=tc, unique_tokens=self.unique_tokens,
                                          inference_tokens=0.0).params
        else:
            best = _compute_optimal_params(self.law, tc)
        n = np.minimum(ic / INFERENCE_FLOPS_PER_PARAM_TOKEN, best)
        return n, tc / (TRAIN_FLOPS_PER_PARAM_TOKEN * n)

    def performance(self, train_compute, inference_compute) -> np.ndarray:
        n, d = self.models(train_compute, inference_compute)
        if self.unique_tokens is not None:
            from ..data_limits import limited_loss

            return limited_loss(self.law, n, d, self.unique_tokens)
        return _law_loss(self.law, n, d)

    def _floor(self) -> float:
        from ..data_limits import lowest_reachable_loss

        return float(lowest_reachable_loss(self.law, self.unique_tokens))

    def level_range(self) -> tuple[float, float]:
        lo, hi = _law_level_range(self.law)
        return (lo, hi) if self.unique_tokens is None else (self._floor(), hi)

    def bounds(self) -> dict:
        level = (_floor_text(self.law) if self.unique_tokens is None else
                 f"loss > {self._floor():.6g} (the lowest reachable with "
                 f"{self.unique_tokens:g} unique tokens)")
        return {"train_compute": "> 0 FLOPs", "inference_compute": "> 0 FLOPs per token",
                "level": level}

    def default_level(self) -> float:
        if self.unique_tokens is None:
            return _law_default_level(self)
        from ..data_limits import limited_budget_optimal

        return float(limited_budget_optimal(self.law, budget=self.reference_train_compute,
                                            unique_tokens=self.unique_tokens,
                                            inference_tokens=0.0).loss)

    def grid_range(self, level):
        law = self.law
        if self.unique_tokens is None:
            opt = law.compute_optimal(loss=level)
            n_min = _smallest_params(law, level)
        elif _other(law):
            from .._formlimits import params_range
            from ..data_limits import limited_optimal

            opt = limited_optimal(law, loss=level, unique_tokens=self.unique_tokens,
                                  inference_tokens=0.0)
            n_min = params_range(law, level, self.unique_tokens)[0]
        else:
            from ..data_limits import _inverse_effective, base_params, limited_optimal

            u = self.unique_tokens
            opt = limited_optimal(law, loss=level, unique_tokens=u, inference_tokens=0.0)
            # the smallest model reaching the level: infinitely many epochs, D' = U (1 + R_D*)
            rest = level - law.E - law.B * (u * (1.0 + law.rd_star)) ** -law.beta
            n_min = _inverse_effective((law.A / rest) ** (1.0 / law.alpha),
                                       base_params(law, u), law.rn_star)
        lt = float(np.log10(opt.train_flops))
        li = float(np.log10(INFERENCE_FLOPS_PER_PARAM_TOKEN * opt.params))
        lmin = float(np.log10(INFERENCE_FLOPS_PER_PARAM_TOKEN * n_min))
        return (lt - 0.5, lt + 5.0), (lmin - 0.3, li + 1.0)


# ---------------------------------------------------------------------------------- pruning
def training_multiplier(density, fraction_per_round) -> np.ndarray:
    """Training compute of iterative magnitude pruning relative to training the dense model once.

    n rounds, each training the network at its current density and then removing a fraction x of
    the remaining weights, end at density (1 - x)^n and cost sum_{i<n} (1 - x)^i =
    (1 - (1 - x)^n) / x = (1 - density) / x dense-training equivalents (REFERENCES.md section 3,
    after Villalobos & Atkinson 2023). 10% density at x = 0.2 costs 4.5x. Less than one round
    (density above 1 - x) costs 1x: the trained dense model is pruned once. Broadcasts.
    """
    d = v.in_range("density", density, 0.0, 1.0)
    x = v.in_range("fraction_per_round", fraction_per_round, 0.0, 1.0, hi_open=True)
    return np.maximum(1.0, (1.0 - d) / x)


def pruning_rounds(density, fraction_per_round) -> np.ndarray:
    """Rounds n = log(density) / log(1 - x) to reach ``density`` pruning x per round."""
    d = v.in_range("density", density, 0.0, 1.0)
    x = v.in_range("fraction_per_round", fraction_per_round, 0.0, 1.0, hi_open=True)
    return np.log(d) / np.log1p(-x)


@dataclass(frozen=True)
class Pruning(Technique):
    """Iterative magnitude pruning of compute-optimal dense models.

    A dense model trained compute-optimally with C0 FLOPs (N0 = N_opt(C0), loss L*(C0) from the
    law) is pruned to density d in [min_density, 1] without loss of quality (the assumption that
    sets the span: pruned networks match the dense one down to ``min_density``). Inference then
    costs IC = 2 N0 d FLOPs per token and training TC = C0 m(d), m from
    :func:`training_multiplier`. With at most TC and IC the best choice maximises C0 over d, which
    is the single equation (1/p) ln d - ln m(d) = R with p = beta/(alpha+beta) and
    R = (1/p) ln(IC / 2G) + ln 6 - ln TC, solved by safeguarded Newton in ln d.

    Defaults: the paper's setup, ``fraction_per_round`` 0.2 (as in Frankle & Carbin 2019, and
    the 4.5x training cost of 10% density in Villalobos & Atkinson 2023) and ``min_density``
    0.1. The span is then 0.65 OOM of training (log10 4.5: the retraining rounds) for 0.90 OOM
    of inference (log10 1/min_density = 1 OOM, less the frontier's trimmed tail): the "~1 / ~1
    OOM" of Villalobos & Atkinson's table is these rounded to whole OOM (10% per round would
    cost 9x, 0.95 OOM of training).

    A law of any form (:mod:`computeplan.forms`): N_opt(C0) is the root of the form's
    first-order condition (:func:`_log_optimal_params`), increasing in C0, so the best C0 is
    still where the two budgets cross, TC / m(d) = C_opt(IC / (2 d)): the root in z = ln d of
    phi(z) = nu(ln(TC/6) - ln m(e^z)) + z = ln(IC / 2), nu = ln N_opt, increasing in z. nu is
    solved exactly at each training budget and each inference budget of the grid (its ends),
    and between them read off a cubic spline of exact values every 0.01 in ln C (error ~1e-11;
    the loss of a compute-optimal model is stationary in its allocation, so the score's error
    is of second order), phi's root by bracketed Newton (:func:`_bracketed_root`).
    """

    law: ChinchillaLaw = field(default_factory=get_law)
    fraction_per_round: float = 0.2
    min_density: float = 0.1
    reference_train_compute: float = 1e24

    key: ClassVar[str] = "pruning"
    title: ClassVar[str] = "Pruning (iterative magnitude pruning)"
    mechanism: ClassVar[str] = "model size"
    score_name: ClassVar[str] = "loss"
    higher_is_better: ClassVar[bool] = False
    source: ClassVar[str] = (_VS + "; iterative magnitude pruning as in Frankle & Carbin 2019 "
                             "(arXiv 1803.03635)")
    inference_unit: ClassVar[str] = "FLOPs per token"

    def __post_init__(self):
        object.__setattr__(self, "law", get_law(self.law, any_form=True))
        object.__setattr__(self, "fraction_per_round", _number(
            self.key, "fraction_per_round", self.fraction_per_round, 0.0, 1.0, flag=True))
        object.__setattr__(self, "min_density", _number(
            self.key, "min_density", self.min_density, 0.0, 1.0, hi_open=False, flag=True))
        _number(self.key, "reference_train_compute", self.reference_train_compute, 0)

    @property
    def _p(self) -> float:
        return self.law.beta / (self.law.alpha + self.law.beta)

    def _g(self, z):
        """g(ln d) = (1/p) ln d - ln m(d) and its derivative, for d <= 1 - x."""
        x = self.fraction_per_round
        d = np.exp(z)
        return z / self._p - np.log((1.0 - d) / x), 1.0 / self._p + d / (1.0 - d)

    def _best_log_c6(self, tc, ic) -> np.ndarray:
        """ln(C0 / 6) of the best dense budget C0 (class docstring), in logs: where the inference
        budget binds, ln(C0 / 6) = ln(N0 / G) / p with N0 = IC / (2 d) (Hoffmann et al. 2022,
        eq. 4 inverted), which for a small p (e.g. beta = 1e-6) is far beyond double precision
        as C0 itself, though the model it describes and its loss are not."""
        p, x, law = self._p, self.fraction_per_round, self.law
        r = (np.log(ic / (INFERENCE_FLOPS_PER_PARAM_TOKEN * law.G)) / p
             + np.log(TRAIN_FLOPS_PER_PARAM_TOKEN) - np.log(tc))
        r = np.broadcast_to(r, np.broadcast_shapes(np.shape(tc), np.shape(ic)))
        z_lo = math.log(self.min_density)
        z_hi = math.log1p(-x)
        g_lo = z_lo / p - math.log((1.0 - self.min_density) / x) if z_lo < z_hi else z_lo / p
        lc6 = np.broadcast_to(np.log(tc) - math.log(TRAIN_FLOPS_PER_PARAM_TOKEN), r.shape)
        out = lc6.astype(float, copy=True)  # d >= 1 - x: no retraining
        ic_limited = r <= g_lo  # even min_density is IC-bound: C0 = N_opt^-1(IC / (2 d_min))
        out[ic_limited] = np.log(np.broadcast_to(ic, r.shape)[ic_limited]
                                 / (INFERENCE_FLOPS_PER_PARAM_TOKEN * law.G
                                    * self.min_density)) / p
        solve = (r > g_lo) & (r < z_hi / p)
        if solve.any():
            z = _solve_increasing(self._g, r[solve], z_lo, z_hi)
            out[solve] = lc6[solve] - np.log((1.0 - np.exp(z)) / x)
        return out

    def _log_models(self, train_compute, inference_compute):
        """(ln N0, ln D0) of the best dense model with at most TC and IC (class docstring)."""
        tc = v.positive("train_compute", train_compute)
        ic = v.positive("inference_compute", inference_compute)
        if _other(self.law):
            return self._other_log_models(tc, ic)
        # In logs (Hoffmann et al. 2022, eq. 4): ln N0 = ln G + p ln(C0/6), ln D0 = ln(C0/6) -
        # ln N0; C0 itself may not be a double.
        lc6 = self._best_log_c6(tc, ic)
        ln_n = math.log(self.law.G) + self._p * lc6
        return ln_n, lc6 - ln_n

    def models(self, train_compute, inference_compute) -> tuple[np.ndarray, np.ndarray]:
        """(N0, D0) of the best dense model (pruned to density d it serves with N0 d)."""
        ln_n, ln_d = self._log_models(train_compute, inference_compute)
        with np.errstate(over="ignore"):
            return np.exp(ln_n), np.exp(ln_d)

    def performance(self, train_compute, inference_compute) -> np.ndarray:
        ln_n, ln_d = self._log_models(train_compute, inference_compute)
        law = self.law
        if _other(law):
            with np.errstate(over="ignore"):
                return law.loss(np.exp(ln_n), np.exp(ln_d))
        # L = E + A e^(-alpha ln N0) + B e^(-beta ln D0) (Hoffmann et al. 2022, eq. 2)
        return law.E + law.A * np.exp(-law.alpha * ln_n) + law.B * np.exp(-law.beta * ln_d)

    def _other_log_models(self, tc, ic):
        """:meth:`_log_models` under a law of another form (class docstring)."""
        from .. import _formsolve as solve
        from ..formlaw import log_c6

        law, x = self.law, self.fraction_per_round
        shape = np.broadcast_shapes(np.shape(tc), np.shape(ic))
        lc6 = log_c6(law.form, tc, "training compute")  # tc's own shape
        target = np.log(ic / INFERENCE_FLOPS_PER_PARAM_TOKEN)  # ic's own shape: ln(IC / 2)
        z_lo, z_hi = math.log(self.min_density), math.log1p(-x)
        log_m_lo = math.log(max(1.0, (1.0 - self.min_density) / x))
        nu_tc = _log_optimal_params(law, lc6)               # d >= 1 - x: C0 = TC
        nu_lo = nu_tc if log_m_lo == 0.0 else _log_optimal_params(law, lc6 - log_m_lo)
        ic_bound = np.broadcast_to(nu_lo + z_lo >= target, shape)
        solve_at = ~ic_bound & np.broadcast_to(nu_tc + z_hi > target, shape)
        ln_n = np.array(np.broadcast_to(nu_tc, shape))
        ln_d = np.array(np.broadcast_to(lc6 - nu_tc, shape))
        if ic_bound.any():  # N0 = IC / (2 d_min), its compute-optimal D (exact, per IC)
            n_ic = target - z_lo
            d_ic = solve.optimal_at_params(law.shape, law.coef, n_ic)
            ln_n[ic_bound] = np.broadcast_to(n_ic, shape)[ic_bound]
            ln_d[ic_bound] = np.broadcast_to(d_ic, shape)[ic_bound]
        if solve_at.any():
            s_tc = np.broadcast_to(lc6, shape)[solve_at]
            t = np.broadcast_to(target, shape)[solve_at]
            nu = _Hermite.of(lambda q: _log_optimal_params(law, q),
                             float(s_tc.min()) - log_m_lo, float(s_tc.max()))

            def phi(z, idx):
                e = np.exp(z)
                value, slope = nu(s_tc[idx] - np.log((1.0 - e) / x))
                return value + z, 1.0 + slope * e / (1.0 - e)

            z = _increasing_root(phi, t, z_lo, z_hi)
            s0 = s_tc - np.log((1.0 - np.exp(z)) / x)
            n0 = nu(s0)[0]
            ln_n[solve_at], ln_d[solve_at] = n0, s0 - n0
        return ln_n, ln_d

    def level_range(self) -> tuple[float, float]:
        return _law_level_range(self.law)

    def bounds(self) -> dict:
        return {"train_compute": "> 0 FLOPs", "inference_compute": "> 0 FLOPs per token",
                "density": f"in [{self.min_density:g}, 1] (min_density in (0, 1])",
                "fraction_per_round": "in (0, 1)",
                "level": _floor_text(self.law)}

    def default_level(self) -> float:
        return _law_default_level(self)

    def grid_range(self, level):
        opt = self.law.compute_optimal(loss=level)
        lt = float(np.log10(opt.train_flops))
        li = float(np.log10(INFERENCE_FLOPS_PER_PARAM_TOKEN * opt.params))
        m = float(training_multiplier(self.min_density, self.fraction_per_round))
        return ((lt - 0.5, lt + np.log10(m) + 1.0),
                (li + np.log10(self.min_density) - 0.5, li + 0.5))


def _solve_increasing(func, target, lo: float, hi: float, *, table: int = 2049):
    """Root of func(z) = target on [lo, hi] for an increasing, smooth ``func`` (value, slope).

    Large arrays are solved on a table of ``table`` targets spanning their range (bracketed
    Newton), interpolated for a starting point and polished by Newton steps to 1e-12; elements
    that do not settle in 4 steps are solved directly. Small arrays are solved directly.
    """
    target = np.asarray(target, float)
    if target.size <= 4 * table:
        return _bracketed_root(func, target, lo, hi)
    grid = np.linspace(target.min(), target.max(), table)
    z = np.interp(target, grid, _bracketed_root(func, grid, lo, hi))
    for _ in range(4):
        f, df = func(z)
        step = (f - target) / df
        z = np.clip(z - step, lo, hi)
        if np.all(np.abs(step) <= 1e-12 * np.maximum(1.0, np.abs(z))):
            return z
    bad = np.abs(step) > 1e-12 * np.maximum(1.0, np.abs(z))
    z[bad] = _bracketed_root(func, target[bad], lo, hi)
    return z


@dataclass(frozen=True)
class _Hermite:
    """A smooth function f on a uniform grid of ``step`` from ``start``: its exact ``values``,
    derivatives by fourth-order central differences (error ~ step^4 f^(5) / 30), cubic
    Hermite in between (error ~ step^4 max|f^(4)| / 384): ~1e-11 for ln N_opt(ln C) at a step
    of 0.01. Evaluates (f, f') elementwise."""

    start: float
    step: float
    values: np.ndarray
    slopes: np.ndarray

    #: Node spacing in ln C, and the extra nodes beyond the range asked for.
    STEP: ClassVar[float] = 0.01
    PAD: ClassVar[int] = 4

    @classmethod
    def of(cls, func, lo: float, hi: float) -> _Hermite:
        """``func`` tabulated (one vectorised call) to cover [lo, hi]."""
        h, pad = cls.STEP, cls.PAD
        count = int(math.ceil((hi - lo) / h)) + 1 + 2 * pad
        nodes = lo - pad * h + h * np.arange(count)
        f = np.asarray(func(nodes), float)
        d = np.full(count, np.nan)
        d[2:-2] = (f[:-4] - 8.0 * f[1:-3] + 8.0 * f[3:-1] - f[4:]) / (12.0 * h)
        return cls(float(nodes[0]), h, f, d)

    def __call__(self, q):
        u = (np.asarray(q, float) - self.start) / self.step
        i = np.clip(np.floor(u).astype(np.intp), 2, self.values.size - 4)
        t = u - i
        f0, f1 = self.values[i], self.values[i + 1]
        m0, m1 = self.slopes[i] * self.step, self.slopes[i + 1] * self.step
        t2 = t * t
        t3 = t2 * t
        value = ((2 * t3 - 3 * t2 + 1) * f0 + (t3 - 2 * t2 + t) * m0
                 + (-2 * t3 + 3 * t2) * f1 + (t3 - t2) * m1)
        slope = ((6 * t2 - 6 * t) * (f0 - f1) + (3 * t2 - 4 * t + 1) * m0
                 + (3 * t2 - 2 * t) * m1) / self.step
        return value, slope


def _increasing_root(func, target, lo: float, hi: float, *, grid: int = 8, xtol=1e-12,
                     maxiter=100):
    """Root z in (lo, hi) of func(z, idx) = target[idx] elementwise, ``func`` increasing in z
    (value, slope, for the elements ``idx``), its root inside (lo, hi): the bracket narrowed to
    one of ``grid`` equal parts, then Newton steps that fall back to bisection when they leave
    it, each step only on the elements not yet converged (step <= xtol max(1, |z|))."""
    n = target.size
    lo_a, hi_a = np.full(n, lo), np.full(n, hi)
    every = np.arange(n)
    for zk in np.linspace(lo, hi, grid + 1)[1:-1]:
        below = func(np.full(n, zk), every)[0] < target
        lo_a = np.where(below, zk, lo_a)
        hi_a = np.where(below, hi_a, np.minimum(hi_a, zk))
    z, idx, out = 0.5 * (lo_a + hi_a), every, np.empty(n)
    for _ in range(maxiter):
        f, df = func(z, idx)
        f = f - target[idx]
        below = f < 0
        lo_a, hi_a = np.where(below, z, lo_a), np.where(below, hi_a, z)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = f / df
        newton = z - step
        # a converged step may land on (or by rounding just past) an end of the bracket
        done = (np.abs(step) <= xtol * np.maximum(1.0, np.abs(z))) | (f == 0)
        inside = ((newton > lo_a) & (newton < hi_a)) | done
        z_new = np.where(inside, newton, 0.5 * (lo_a + hi_a))
        out[idx[done]] = z_new[done]
        keep = ~done
        if not keep.any():
            return out
        idx, z, lo_a, hi_a = idx[keep], z_new[keep], lo_a[keep], hi_a[keep]
    from ..errors import ConvergenceError

    raise ConvergenceError(f"pruning density solve did not converge in {maxiter} iterations")


def _bracketed_root(func, target, lo: float, hi: float, *, xtol=1e-12, maxiter=100):
    """Root of func(z) = target for an increasing ``func`` (value, slope) on [lo, hi]; Newton
    steps that leave the shrinking bracket fall back to bisection."""
    lo_a = np.full_like(target, lo)
    hi_a = np.full_like(target, hi)
    z = 0.5 * (lo_a + hi_a)
    for _ in range(maxiter):
        f, df = func(z)
        f = f - target
        below = f < 0
        lo_a = np.where(below, z, lo_a)
        hi_a = np.where(below, hi_a, z)
        newton = z - f / df
        inside = (newton > lo_a) & (newton < hi_a)
        z_new = np.where(inside, newton, 0.5 * (lo_a + hi_a))
        done = np.abs(z_new - z) <= xtol * np.maximum(1.0, np.abs(z))
        z = z_new
        if done.all():
            return z
    from ..errors import ConvergenceError

    raise ConvergenceError(f"pruning density solve did not converge in {maxiter} iterations")


# -------------------------------------------------------------------------------------- MCTS
@dataclass(frozen=True)
class MCTS(Technique):
    """Monte Carlo tree search (AlphaZero on Hex): Elo = E + s_T(log10 TC) + s_M(log10 M).

    s_T and s_M are smoothly broken ramps (:func:`~computeplan.tradeoffs.curves.smooth_ramp`) in
    log training compute and log search nodes M per move (Villalobos & Atkinson 2023, fitted to
    Jones 2021). Inference compute per move IC = M * ``flops_per_node``; the default 1 makes the
    inference axis count node evaluations. Bounds: at least one node (IC >= flops_per_node).

    The seed documents give only the functional form. Defaults (illustrative, in OOM): equal
    slopes of 400 Elo per OOM (an exchange rate of 1), training ramp 1e13 -> 1e15.5 FLOPs,
    search ramp 1 -> 10^2.5 nodes, smoothing 0.15 OOM, saturation Elo E = 2000. They are chosen
    so that the default level, Elo 1440, has the span of Villalobos & Atkinson's table,
    1.6 OOM training / 1.6 OOM inference. Towards the middle level E - 1000 (Elo 1000, midway
    in the reachable range) the span grows (2.5 OOM each way at Elo 1100, 3.5 OOM and clipped by
    the default grid at Elo 1000): the two smoothed corners meet along an asymptote of exchange
    rate 1.
    """

    E: float = 2000.0
    train_slope: float = 400.0
    train_x0: float = 13.0
    train_x1: float = 15.5
    nodes_slope: float = 400.0
    nodes_x0: float = 0.0
    nodes_x1: float = 2.5
    smoothing: float = 0.15
    flops_per_node: float = 1.0
    level_default: float = 1440.0

    key: ClassVar[str] = "mcts"
    title: ClassVar[str] = "Monte Carlo tree search (Hex)"
    mechanism: ClassVar[str] = "search"
    score_name: ClassVar[str] = "Elo"
    higher_is_better: ClassVar[bool] = True
    source: ClassVar[str] = _VS + "; Jones 2021, Scaling scaling laws with board games"
    inference_unit: ClassVar[str] = "FLOPs per move (nodes x flops_per_node)"

    def __post_init__(self):
        for name in ("E", "train_x0", "nodes_x0"):
            _number(self.key, name, getattr(self, name))
        for name in ("train_slope", "nodes_slope", "smoothing", "flops_per_node"):
            _number(self.key, name, getattr(self, name), 0.0)
        _number(self.key, "train_x1", self.train_x1, self.train_x0)
        _number(self.key, "nodes_x1", self.nodes_x1, self.nodes_x0)

    @property
    def min_inference_compute(self) -> float:
        return self.flops_per_node

    def _s_train(self, t):
        return smooth_ramp(t, self.train_slope, self.train_x0, self.train_x1, self.smoothing,
                           self.smoothing)

    def _s_nodes(self, u):
        return smooth_ramp(u, self.nodes_slope, self.nodes_x0, self.nodes_x1, self.smoothing,
                           self.smoothing)

    def performance(self, train_compute, inference_compute) -> np.ndarray:
        tc = v.positive("train_compute", train_compute)
        ic = v.positive("inference_compute", inference_compute)
        nodes = ic / self.flops_per_node
        _at_least_one("MCTS nodes = inference_compute / flops_per_node", nodes,
                      "at least one node is searched")
        return self.E + self._s_train(np.log10(tc)) + self._s_nodes(np.log10(nodes))

    def level_range(self) -> tuple[float, float]:
        return float(self.E + self._s_train(-np.inf) + self._s_nodes(0.0)), self.E

    def bounds(self) -> dict:
        return {"train_compute": "> 0 FLOPs",
                "inference_compute": f">= flops_per_node = {self.flops_per_node:g} (one node)",
                "level": "Elo in the open range reachable_levels"}

    def default_level(self) -> float:
        return self.check_level(self.level_default)

    def grid_range(self, level):
        lf = math.log10(self.flops_per_node)
        return ((self.train_x0 - 1.0, self.train_x1 + 1.0), (lf, lf + self.nodes_x1 + 1.0))


# -------------------------------------------------------------------------- repeated sampling
@dataclass(frozen=True)
class RepeatedSampling(Technique):
    """Repeated sampling with a verifier (AlphaCode): solve rate versus samples k per problem.

    With u = log10 k and exploration slope b = a log10 TC + A (Villalobos & Atkinson 2023):
    pass@k (unlimited trials, cheap verification), ``limited_trials=False``:
        P = b [d0 log(1 + e^((u - x0)/d0)) - d1 log(1 + e^((u - x0 - 1/b)/d1))], saturating at 1;
    n@k (limited trials, costly verification), ``limited_trials=True``: the same with
    x0 + 1/b replaced by x1, saturating at b (x1 - x0) < 1.
    Inference compute per problem IC = k * ``flops_per_sample`` (default 1: the axis counts
    samples). Bounds: k >= 1; b > 0, i.e. TC > 10^(-A/a); for n@k also b (x1 - x0) <= 1.

    The seed documents give only the functional form. Defaults (illustrative) put b = 0 at
    1e20 FLOPs, smoothing d0 = d1 = 0.1 OOM, and are chosen so that the default level (solve
    rate 0.5) reproduces the spans in Villalobos & Atkinson's table: 3 OOM training / 6 OOM
    inference for pass@k (a = 0.039, A = -0.78, x0 = -2.85) and 1 / 1.45 OOM for n@k
    (:class:`LimitedSampling`: a = 0.145, A = -2.9, x0 = -1.6, x1 = 1.42).
    """

    limited_trials: bool = False
    a: float = 0.039
    A: float = -0.78
    x0: float = -2.85
    x1: float = 1.42
    d0: float = 0.1
    d1: float = 0.1
    flops_per_sample: float = 1.0
    level_default: float = 0.5

    key: ClassVar[str] = "pass-at-k"
    title: ClassVar[str] = "Repeated sampling, unlimited trials (pass@k)"
    mechanism: ClassVar[str] = "search"
    score_name: ClassVar[str] = "solve rate"
    higher_is_better: ClassVar[bool] = True
    source: ClassVar[str] = _VS + "; AlphaCode, Li et al. 2022 (arXiv 2203.07814)"
    inference_unit: ClassVar[str] = "FLOPs per problem (samples x flops_per_sample)"

    def __post_init__(self):
        if not isinstance(self.limited_trials, bool):
            raise InputError(f"limited_trials must be true or false; got {self.limited_trials!r}")
        for name in ("A", "x0"):
            _number(self.key, name, getattr(self, name))
        for name in ("a", "d0", "d1", "flops_per_sample"):
            _number(self.key, name, getattr(self, name), 0.0)
        if self.limited_trials:  # pass@k has no x1: its upper break is x0 + 1/b
            _number(self.key, "x1", self.x1, self.x0)
        _number(self.key, "level_default", self.level_default, 0.0, 1.0)

    @property
    def min_inference_compute(self) -> float:
        return self.flops_per_sample

    @property
    def min_train_compute(self) -> float:
        """Where the exploration slope b = a log10 TC + A reaches 0."""
        return 10.0 ** (-self.A / self.a)

    @property
    def max_train_compute(self) -> float:
        """n@k only: where the saturation level b (x1 - x0) reaches 1 (else infinity)."""
        if not self.limited_trials:
            return math.inf
        return 10.0 ** min(self._log10_max_train_compute, 400.0)  # 10^400 is inf, not an error

    @property
    def _log10_max_train_compute(self) -> float:
        """log10 of :attr:`max_train_compute`, (1 / (x1 - x0) - A) / a (finite even when the
        power under- or overflows)."""
        return (1.0 / (self.x1 - self.x0) - self.A) / self.a

    def slope(self, train_compute) -> np.ndarray:
        """Exploration slope b = a log10 TC + A (solve rate per OOM of samples)."""
        tc = v.greater_than("train_compute", train_compute, self.min_train_compute,
                            f"{self.min_train_compute:.4g} FLOPs (where the exploration slope "
                            "a log10 TC + A is 0)")
        if self.limited_trials and np.any(tc > self.max_train_compute):
            bad = np.asarray(tc)[np.asarray(tc) > self.max_train_compute].ravel()[0]
            raise InputError(f"train_compute must be <= {self.max_train_compute:.4g} FLOPs for "
                             f"n@k (where its saturation level b (x1 - x0) reaches 1); "
                             f"got {bad:.6g}")
        return self.a * np.log10(tc) + self.A

    def solve_rate(self, train_compute, samples) -> np.ndarray:
        """pass@k or n@k for ``samples`` = k >= 1 samples per problem."""
        k = v.finite("samples", samples)
        _at_least_one("samples", k, "at least one sample per problem")
        b = self.slope(train_compute)
        x1 = self.x0 + 1.0 / b if not self.limited_trials else self.x1
        return ramp_from_zero(np.log10(k), b, self.x0, x1, self.d0, self.d1)

    def performance(self, train_compute, inference_compute) -> np.ndarray:
        ic = v.positive("inference_compute", inference_compute)
        k = ic / self.flops_per_sample
        _at_least_one("samples = inference_compute / flops_per_sample", k,
                      "at least one sample per problem")
        return self.solve_rate(train_compute, k)

    def level_range(self) -> tuple[float, float]:
        return 0.0, 1.0

    def bounds(self) -> dict:
        out = {"train_compute": f"> {self.min_train_compute:.4g} FLOPs (b > 0)",
               "inference_compute": f">= flops_per_sample = {self.flops_per_sample:g} "
                                    "(one sample)",
               "level": "solve rate in (0, 1)"}
        if self.limited_trials:
            out["train_compute"] += f" and <= {self.max_train_compute:.4g} FLOPs (b(x1-x0) <= 1)"
        return out

    def default_level(self) -> float:
        return self.level_default

    def grid_range(self, level):
        """From the unsmoothed model: the frontier u = x0 + level / b runs from k = 1 (b_max)
        to many samples as b falls; the grid covers 8 OOM of samples, or the n@k saturation."""
        lf = math.log10(self.flops_per_sample)
        t0 = -self.A / self.a
        b_max = level / max(-self.x0, 1e-3)
        if self.limited_trials:
            b_max = min(b_max, 1.0 / (self.x1 - self.x0))
            u_top = self.x1 + 1.0
            b_lo = level / (self.x1 - self.x0) * 0.9
        else:
            u_top = 8.0
            b_lo = level / (u_top - self.x0)
        # strictly above t0, where b = 0 and the model is undefined (10^t rounds to 10^t0 when
        # b_lo / a is below double precision)
        t_lo = max(t0 + b_lo / self.a, t0 + 1e-9 * max(1.0, abs(t0)))
        t_hi = t0 + b_max / self.a + (0.0 if self.limited_trials else 1.0)
        if self.limited_trials:
            t_hi = min(t_hi + 0.3, self._log10_max_train_compute)
        return (t_lo, t_hi), (lf, lf + u_top)


@dataclass(frozen=True)
class LimitedSampling(RepeatedSampling):
    """n@k: repeated sampling with limited trials (costly verification); see
    :class:`RepeatedSampling`. Defaults reproduce the 1 / 1.45 OOM span at solve rate 0.5."""

    limited_trials: bool = True
    a: float = 0.145
    A: float = -2.9
    x0: float = -1.6
    x1: float = 1.42

    key: ClassVar[str] = "n-at-k"
    title: ClassVar[str] = "Repeated sampling, limited trials (n@k)"


#: Every technique by its key (``computeplan tradeoff TECHNIQUE``).
TECHNIQUE_CLASSES: dict[str, type[Technique]] = {
    c.key: c for c in (ScalingPolicy, Pruning, MCTS, RepeatedSampling, LimitedSampling)}
#: The techniques built on a scaling law (those with a ``law`` parameter).
LAW_TECHNIQUES = tuple(k for k, c in TECHNIQUE_CLASSES.items()
                       if "law" in {f.name for f in fields(c)})


def get_technique(name: str | Technique, *, law=None, **params) -> Technique:
    """A technique by name (``scaling-policy``, ``pruning``, ``mcts``, ``pass-at-k``,
    ``n-at-k``) with parameter overrides; ``law`` applies to the law-based ones."""
    if isinstance(name, Technique):
        tech = name
    elif name in TECHNIQUE_CLASSES:
        cls = TECHNIQUE_CLASSES[name]
        tech = cls(law=get_law(law, any_form=True)) if name in LAW_TECHNIQUES else cls()
    else:
        raise InputError(f"unknown technique {name!r}; valid: {', '.join(TECHNIQUES)}")
    if law is not None and tech.key not in LAW_TECHNIQUES:
        raise InputError(f"a law applies only to {', '.join(LAW_TECHNIQUES)}; got technique "
                         f"{tech.key}")
    return tech.with_parameters(**params) if params else tech
