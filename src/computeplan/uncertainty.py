"""Plans under the uncertainty of the law: every coefficient replicate, and the robust choice.

A law's ``replicates`` (K coefficient sets, e.g. bootstrap refits as in Besiroglu et al. 2024,
arXiv 2404.10102, section 3; Efron & Tibshirani 1993, ch. 13 for percentile intervals) are
treated as an ensemble of equally likely laws. For a target loss l and a demand this module
computes, vectorised over the replicates (one call of the planner's solvers on (K,) coefficient
arrays, no per-replicate loop):

- each replicate's own inference-aware optimum and equal-loss Chinchilla model (Sardana et al.
  2024, section 2; Hoffmann et al. 2022, eq. 4), summarised as percentile intervals;
- the saving 1 - optimal / Chinchilla lifetime cost per replicate, and the share of replicates in
  which it is positive;
- the point plan (the optimum under the central law) evaluated under every replicate: its loss
  and the share of replicates in which it reaches the target;
- the **robust plan**: the cheapest (N, D) whose loss is at or below l under at least a share c
  (``confidence``) of the replicates, a chance-constrained problem (Charnes & Cooper 1959) solved
  exactly on the ensemble (the sample-average approximation of Luedtke & Ahmed 2008). For a given
  N, replicate k reaches l iff D >= D_k(N) = (B_k / (l - E_k - A_k N^-alpha_k))^(1/beta_k)
  (infinite when l - E_k - A_k N^-alpha_k <= 0), and the cost p N D + Q(N) increases in D, so the
  cheapest D is the m-th smallest D_k(N), m = ceil(c K): an order statistic. The remaining
  1-D problem in log N lies between the m-th smallest loss floor (N^alpha_k = A_k / (l - E_k),
  where D_m -> infinity) and the largest replicate Chinchilla size (beyond which every
  N D_k(N) increases), and solved there globally by branch and bound (each cost_k is
  unimodal in log N with its minimum at the replicate's own optimum, which bounds the order
  statistic from below on any interval; see :func:`_branch_and_bound`), exact to 1e-12 in log N
  and exactly at a replicate's own optimum where that is where the minimum lies.

Within a lifetime budget X there is no target: the robust plan is the model within the budget
whose loss reached under at least c of the replicates (the m-th smallest L_k(N, D)) is lowest,
the same order-statistic problem with losses for costs, along the budget curve
D(N) = (X - Q(N)) / (p N) (:func:`_robust_budget`).

Replicates of another form than the Chinchilla form are a
:class:`computeplan._formensemble.FormEnsemble` with the same methods: D_k(N) is then the
inverse of that form's data term at fixed N, each replicate's own optimum the first-order
condition of :mod:`computeplan._formsolve` on the (K,) coefficient arrays, and the search above
unchanged (each cost_k is unimodal in log N for every form the planner accepts: its
first-order condition has one root).

The loss of a model counts as meeting the target when it is within ``MET_RTOL`` (relative) of it,
the precision of the planner's solvers, so that a plan solved for exactly l counts as reaching l.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

import numpy as np

from ._nonlinear import dependent_fixed_loss
from ._solve import BLOCK
from .demand import Demand
from .errors import ConvergenceError, InputError
from .lifetime import (
    LifetimePlan,
    PlanComparison,
    _dependent,
    _ratio,
    _setup,
    _solve_fixed_loss,
    compare,
    evaluate,
)
from .vocabulary import option

DEFAULT_LEVEL = 0.95
DEFAULT_CONFIDENCE = 0.9
#: A loss within this relative distance of the target counts as reaching it (solver precision).
MET_RTOL = 1e-12
#: Intervals of log N that the robust plan's branch-and-bound search starts from.
ROBUST_GRID = 32
#: Width in log N (relative, at least absolute) at which that search stops splitting.
ROBUST_XTOL = 1e-12

NO_REPLICATES = ("law {name} has no replicates to plan under uncertainty: fit your runs with "
                 "`computeplan fit RUNS.csv --bootstrap K --out law.json` and plan with it "
                 "(`computeplan plan --law law.json`), or use the besiroglu2024 preset")
#: :data:`NO_REPLICATES` outside the CLI (the web API, Python): no command lines to run.
NO_REPLICATES_FIELDS = ("law {name} has no replicates to plan under uncertainty: fit your runs "
                        "with bootstrap replicates (fit's bootstrap option, e.g. 200) and give "
                        "the fitted law as {law}, or use the besiroglu2024 preset")


def no_replicates(name: str) -> str:
    """How to get replicates for law ``name``, in the running shell's terms."""
    from .vocabulary import on_cli, option

    if on_cli():
        return NO_REPLICATES.format(name=name)
    return NO_REPLICATES_FIELDS.format(name=name, law=option("law"))


@dataclass(frozen=True)
class Ensemble:
    """K laws as (K,) coefficient arrays; the planner's solvers broadcast over them."""

    E: np.ndarray
    A: np.ndarray
    B: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    #: With a limit of U unique tokens: every replicate's loss is the data-limited one
    #: (Muennighoff et al. 2023, eq. 5; :mod:`computeplan.data_limits`), with the law's
    #: repetition coefficients R_D*, R_N* (one pair for every replicate).
    unique_tokens: float | None = None
    rd_star: float | None = None
    rn_star: float | None = None

    def limited(self, law, unique_tokens) -> Ensemble:
        """These replicates under a limit of ``unique_tokens`` (None: none)."""
        if unique_tokens is None:
            return self
        return Ensemble(self.E, self.A, self.B, self.alpha, self.beta, float(unique_tokens),
                        float(law.rd_star), float(law.rn_star))

    def unlimited(self) -> Ensemble:
        return Ensemble(self.E, self.A, self.B, self.alpha, self.beta)

    @cached_property
    def _log_no(self) -> np.ndarray:
        """log N_opt_k(U), each replicate's compute-optimal size for U tokens (Hoffmann et al.
        2022, eq. 4; Muennighoff et al. 2023, sec. 3.1)."""
        from .data_limits import _log_base_params

        return _log_base_params(self, math.log(self.unique_tokens))

    def _log_effective_params(self, log_params, index=None):
        """log N' (Muennighoff et al. 2023, eq. 5) of every replicate (or of ``index[i]``)."""
        from .data_limits import _forward

        if self.unique_tokens is None:
            return log_params
        log_no = self._log_no if index is None else self._log_no[index]
        return _forward(log_params, log_no, self.rn_star)[0]

    def floor(self) -> np.ndarray:
        """The lowest loss each replicate reaches at any N, D: E_k, or with the limit
        E_k + A_k (N_opt_k(U) (1 + R_N*))^-alpha_k + B_k (U (1 + R_D*))^-beta_k
        (:func:`computeplan.data_limits.lowest_reachable_loss`)."""
        if self.unique_tokens is None:
            return self.E
        return (self.E + self.A * np.exp(-self.alpha * (self._log_no + math.log1p(self.rn_star)))
                + self.B * np.exp(-self.beta * (math.log(self.unique_tokens)
                                                + math.log1p(self.rd_star))))

    @classmethod
    def of(cls, law) -> Ensemble:
        """The replicates of ``law``; an InputError saying how to get them when it has none."""
        if law.replicates is None:
            extra = (" (overriding a coefficient drops the replicates)"
                     if law.name.endswith("(modified)") else "")
            raise InputError(no_replicates(law.name) + extra)
        if getattr(law, "form", "chinchilla") != "chinchilla":
            from ._formensemble import FormEnsemble

            return FormEnsemble.of(law)
        return cls(*(np.ascontiguousarray(law.replicates[:, j]) for j in range(5)))

    #: The planner's solvers ask a law for its form; replicates are of the Chinchilla form.
    form: ClassVar[str] = "chinchilla"

    @property
    def G(self) -> np.ndarray:
        """G_k = (alpha_k A_k / (beta_k B_k))^(1/(alpha_k+beta_k)) (Hoffmann et al. 2022, eq. 4)."""
        return (self.alpha * self.A / (self.beta * self.B)) ** (1.0 / (self.alpha + self.beta))

    def __len__(self) -> int:
        return len(self.E)

    def take(self, index) -> Ensemble:
        return Ensemble(*(x[index] for x in (self.E, self.A, self.B, self.alpha, self.beta)),
                        self.unique_tokens, self.rd_star, self.rn_star)

    def tile(self, m: int) -> Ensemble:
        """The replicates repeated ``m`` times (one copy per scenario of a block)."""
        return Ensemble(*(np.tile(x, m) for x in (self.E, self.A, self.B, self.alpha,
                                                   self.beta)),
                        self.unique_tokens, self.rd_star, self.rn_star)

    def loss(self, params, train_tokens) -> np.ndarray:
        """L_k(N, D) = E_k + A_k N^-alpha_k + B_k D^-beta_k (Hoffmann et al. 2022, eq. 2), with
        N', D' for N, D under a unique-token limit (Muennighoff et al. 2023, eq. 5)."""
        if self.unique_tokens is None:
            with np.errstate(over="ignore", under="ignore"):
                return self.E + self.A * params**-self.alpha + self.B * train_tokens**-self.beta
        return self.loss_of(np.log(params), train_tokens)

    def loss_of(self, log_params, train_tokens, index=None) -> np.ndarray:
        """L_k at N = exp(``log_params``) and D = ``train_tokens`` of every replicate (or of
        replicate ``index[i]`` at element i), the limited loss under a unique-token limit."""
        from .data_limits import _forward

        sel = (slice(None) if index is None else index)
        e, a, b = self.E[sel], self.A[sel], self.B[sel]
        alpha, beta = self.alpha[sel], self.beta[sel]
        with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
            log_d = np.log(train_tokens)
            if self.unique_tokens is not None:
                log_d = _forward(log_d, math.log(self.unique_tokens), self.rd_star)[0]
            log_n = self._log_effective_params(log_params, index)
            return e + a * np.exp(-alpha * log_n) + b * np.exp(-beta * log_d)

    def tokens_for_loss(self, loss, params) -> np.ndarray:
        """D_k(N) = (B_k / (l - E_k - A_k N^-alpha_k))^(1/beta_k), infinite where replicate k
        cannot reach l at N (``params`` broadcasts against the replicates, e.g. (G, 1))."""
        return self.tokens_for_loss_log(loss, np.log(params))

    def tokens_for_loss_log(self, loss, log_params) -> np.ndarray:
        """:meth:`tokens_for_loss` at N = exp(``log_params``), in logarithms (exp and log are
        cheaper than powers with array exponents)."""
        with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
            room = loss - self.E - np.exp(self._log_A - self.alpha
                                          * self._log_effective_params(log_params))
            log_d = (self._log_B - np.log(room)) * self._inv_beta
            if self.unique_tokens is not None:  # D from D' (NaN beyond its cap: infinite)
                from .data_limits import _inverse

                log_d = _inverse(log_d, math.log(self.unique_tokens), self.rd_star)[0]
            d = np.exp(log_d)
        d[~(room > 0) | np.isnan(d)] = np.inf
        return d

    def log_tokens_of(self, loss, log_params, index) -> np.ndarray:
        """log D_k(N) of replicate ``index[i]`` at log N = ``log_params[i]`` (elementwise; +inf
        where that replicate cannot reach ``loss`` at N)."""
        with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
            room = loss - self.E[index] - np.exp(
                self._log_A[index] - self.alpha[index]
                * self._log_effective_params(log_params, index))
            out = (self._log_B[index] - np.log(room)) * self._inv_beta[index]
            if self.unique_tokens is not None:
                from .data_limits import _inverse

                out = _inverse(out, math.log(self.unique_tokens), self.rd_star)[0]
        return np.where((room > 0) & ~np.isnan(out), out, np.inf)

    @cached_property
    def _log_A(self) -> np.ndarray:
        return np.log(self.A)

    @cached_property
    def _log_B(self) -> np.ndarray:
        return np.log(self.B)

    @cached_property
    def _inv_beta(self) -> np.ndarray:
        return 1.0 / self.beta

    def chinchilla(self, delta) -> tuple[np.ndarray, np.ndarray]:
        """Each replicate's Chinchilla-optimal (N, D) at reducible loss ``delta`` = l - E_k:
        N = (A (1 + alpha/beta) / delta)^(1/alpha), D = (B (1 + beta/alpha) / delta)^(1/beta)
        (Hoffmann et al. 2022, eq. 4, at fixed loss)."""
        a, b = self.alpha, self.beta
        return ((self.A * (1.0 + a / b) / delta) ** (1.0 / a),
                (self.B * (1.0 + b / a) / delta) ** (1.0 / b))

    def chinchilla_at(self, loss) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`chinchilla` at target ``loss`` (the interface of every form's ensemble,
        :class:`computeplan._formensemble.FormEnsemble`)."""
        return self.chinchilla(loss - self.E)

    def log_floor_at(self, loss) -> np.ndarray:
        """log N below which each replicate cannot reach ``loss`` with any D: N^alpha_k =
        A_k / (l - E_k) (D_k -> infinity); under a unique-token limit where D'_k reaches its
        cap U (1 + R_D*), then N from N' (every replicate reaching the loss)."""
        delta = loss - self.E
        if self.unique_tokens is None:
            return np.log(self.A / delta) / self.alpha
        from .data_limits import _inverse

        cap = self.B * np.exp(-self.beta * (math.log(self.unique_tokens)
                                            + math.log1p(self.rd_star)))
        return _inverse(np.log(self.A / (delta - cap)) / self.alpha, self._log_no,
                        self.rn_star)[0]

    def optima(self, loss, demand, objective) -> tuple[np.ndarray, np.ndarray]:
        """Each replicate's inference-aware optimum at ``loss`` (:func:`replicate_optima`)."""
        return replicate_optima(self, loss, demand, objective)


def replicate_optima(ens: Ensemble, loss: float, demand: Demand, objective
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Each replicate's inference-aware optimum (N_k, D_k) at target ``loss`` (every E_k must be
    below it): the planner's solvers on the (K,) coefficient arrays, in blocks of at most
    :data:`~computeplan._solve.BLOCK` replicates."""
    if ens.form != "chinchilla":  # any form's ensemble, with or without a data limit
        return ens.optima(loss, demand, objective)
    if ens.unique_tokens is not None:
        return _limited_optima(ens, loss, demand, objective)
    n, d = np.empty(len(ens)), np.empty(len(ens))
    for start in range(0, len(ens), BLOCK):
        part = ens.take(slice(start, start + BLOCK))
        dem = _demand_part(demand, slice(start, start + BLOCK))
        delta = loss - part.E
        if _dependent(objective):
            nk, dk = dependent_fixed_loss(part, delta, objective, dem)
        else:
            p, q = objective.coefficients(dem)
            nk, dk = _solve_fixed_loss(part, delta, _ratio(p, q, "inference demand or prices"))
        n[start:start + BLOCK], d[start:start + BLOCK] = nk, dk
    return n, d


def percentiles(x, qs, axis: int = -1) -> list[np.ndarray]:
    """The percentiles ``qs`` (in [0, 100]) of ``x`` along ``axis``, as numpy's default
    ``np.percentile`` (method "linear", Hyndman & Fan 1996 definition 7: the order statistics at
    h = (n - 1) q / 100, interpolated linearly, written as numpy's lerp so that the results are
    the same bits), without importing ``numpy.ma`` (which ``np.percentile`` does on first use:
    the cold start of ``plan --uncertainty``)."""
    x = np.moveaxis(np.sort(np.asarray(x, float), axis=axis), axis, -1)
    n = x.shape[-1]
    out = []
    for q in qs:
        h = (n - 1) * (q / 100.0)
        below = math.floor(h)
        t = h - below
        a, b = x[..., below], x[..., min(below + 1, n - 1)]
        with np.errstate(invalid="ignore"):  # inf - inf where both are infinite: NaN
            diff = b - a
            out.append(b - diff * (1.0 - t) if t >= 0.5 else a + diff * t)
    return out


def _limited_optima(ens: Ensemble, loss, demand: Demand, objective, budget=None):
    """Each replicate's data-limited optimum at target ``loss`` (or within ``budget``): the
    unlimited optimum where its D <= U (the limit does not bind; Muennighoff et al. 2023 and
    :mod:`computeplan.data_limits`), else the data-limited solvers of that module on the (K,)
    coefficient arrays (the first-order condition by safeguarded Newton, or bisection for the
    roofline objective), started from the unlimited optimum."""
    from .data_limits import dependent_limited_budget, dependent_limited_fixed_loss
    from .lifetime import _budget_optimal

    free = ens.unlimited()
    u = ens.unique_tokens
    if budget is None:
        n, d = replicate_optima(free, loss, demand, objective)
    else:
        plan = _optima_in_blocks(free, lambda part, dem: _budget_optimal(
            part, budget, dem, objective), demand)
        n, d = np.array(plan.params, float), np.array(plan.train_tokens, float)
    bind = np.flatnonzero(d > u)
    if not bind.size:
        return n, d
    part = ens.take(bind)
    dem = _demand_part(demand, bind) if np.ndim(demand.total_tokens) else demand
    uu = np.full(bind.size, u)
    if not _dependent(objective):  # Q(N) = q N: the same solvers with Q'(N) = q
        p, q = objective.coefficients(dem)
        if budget is not None:  # the budget solver brackets N by Q(N) = X: with no (or an
            # underflowing) demand q N never gets there; a q of 1e-30 X / N moves no cost
            q = np.maximum(q, 1e-30 * float(budget) / n[bind])
        objective = _LinearInference(p, q)
    solve = (dependent_limited_fixed_loss if budget is None else dependent_limited_budget)
    target = loss - part.E if budget is None else float(budget)
    n[bind], d[bind] = solve(part, target, objective, dem, uu, n[bind], d[bind])
    return n, d


@dataclass(frozen=True)
class _LinearInference:
    """An objective whose inference cost is Q(N) = q N (FLOPs, fixed MFU), in the form of the
    data-limited solvers for any Q(N) (:func:`computeplan.data_limits.
    dependent_limited_fixed_loss`): those broadcast over the replicates' coefficients."""

    train_usd_per_param_token: np.ndarray
    q: np.ndarray

    def inference_cost(self, params, demand) -> np.ndarray:
        return self.q * np.asarray(params, float)

    def marginal_cost(self, params, demand) -> np.ndarray:
        return self.q + 0.0 * np.asarray(params, float)


def _interval(x: np.ndarray, level: float) -> dict[str, float]:
    tail = 100.0 * (1.0 - level) / 2.0
    lo, med, hi = percentiles(x, [tail, 50.0, 100.0 - tail])
    return {"lo": float(lo), "median": float(med), "hi": float(hi)}


def _cost_key(objective) -> str:
    return "total_cost_usd" if objective.priced else "total_flops"


@dataclass(frozen=True)
class RobustPlan:
    """The cheapest model that reaches the target under at least ``confidence`` of the
    replicates, its bill, the share of replicates it satisfies and its cost over the point
    plan's, minus 1 (``premium``)."""

    plan: LifetimePlan
    target_met_probability: float
    #: At a target loss: the lifetime cost over the point plan's, minus 1 (None in a budget).
    premium: float | None
    #: Within a budget: the loss reached under at least ``confidence`` of the replicates (the
    #: m-th smallest replicate loss), the quantity the robust plan minimises, and the point
    #: plan's (never lower). ``target_met_probability`` is then the share of replicates
    #: reaching ``loss_at_confidence``.
    loss_at_confidence: float | None = None
    point_loss_at_confidence: float | None = None

    def to_dict(self, priced: bool) -> dict:
        p = self.plan
        out = {"params": p.params, "train_tokens": p.train_tokens,
               "tokens_per_param": p.tokens_per_param, "loss": p.loss,
               "total_flops": p.total_flops}
        if priced:
            out["total_cost_usd"] = p.total_cost_usd
        out["target_met_probability"] = self.target_met_probability
        if self.loss_at_confidence is not None:
            return out | {"loss_at_confidence": self.loss_at_confidence}
        return out | {"premium": self.premium}


@dataclass(frozen=True)
class PlanUncertainty:
    """The point plan's comparison, and what the replicates say about it (module docstring)."""

    comparison: PlanComparison
    level: float
    confidence: float
    replicates: int
    reachable: np.ndarray  # (K,) bool: E_k below the target
    optimal: LifetimePlan  # each reachable replicate's own optimum, (K_reachable,)
    chinchilla: LifetimePlan  # each reachable replicate's own Chinchilla model
    point_loss: np.ndarray  # (K,) loss of the point plan under every replicate
    point_met: np.ndarray  # (K,) bool
    robust: RobustPlan | None
    #: Under a timeline: the point plans' bills in time (:class:`~computeplan.timeline.
    #: DatedComparison`); costs, savings and the premium are then present values.
    dated: object | None = None

    @property
    def present_value(self) -> bool:
        return self.dated is not None

    @property
    def unreachable(self) -> int:
        return int((~self.reachable).sum())

    @property
    def savings(self) -> np.ndarray:
        """1 - optimal / Chinchilla lifetime cost, per reachable replicate."""
        key = _cost_key(self.comparison.objective)
        return 1.0 - getattr(self.optimal, key) / getattr(self.chinchilla, key)

    def notes(self) -> list[str]:
        out = []
        if self.unreachable:
            out.append(f"{self.unreachable} of {self.replicates} replicates have E at or above "
                       "the target loss and cannot reach it; the ranges of the optimum and the "
                       "savings are over the others")
        if self.comparison.budget is not None:
            out.append("within a budget there is no target loss: the point plan is judged "
                       "against the loss the central law predicts for it; the robust plan "
                       "spends the same budget on the model whose loss reached under "
                       f"{100 * self.confidence:g}% of the replicates is lowest")
        elif self.robust is None:
            out.append(f"no model reaches the target under {100 * self.confidence:g}% of the "
                       "replicates (too many cannot reach it): no robust plan")
        return out

    def to_dict(self) -> dict:
        priced = bool(self.comparison.objective.priced)
        budget = self.comparison.budget is not None
        keys = ["params", "train_tokens", "tokens_per_param", "total_flops"]
        if priced:
            keys.append("total_cost_usd")
        if budget:  # each replicate's lowest loss within the budget
            keys.append("loss")
        lv = self.level
        optimal = ({k: _interval(np.asarray(getattr(self.optimal, k)), lv) for k in keys}
                   if self.reachable.any() else None)
        savings = None
        if self.reachable.any() and not budget:
            s = self.savings
            savings = _interval(s, lv) | {"probability_positive": float(np.mean(s > 0))}
        return {
            "replicates": self.replicates, "unreachable": self.unreachable, "level": lv,
            "confidence": self.confidence, "optimal": optimal, "savings": savings,
            "point_plan": {"loss": _interval(self.point_loss, lv),
                           "target_met_probability": float(np.mean(self.point_met))}
            | ({} if self.robust is None or self.robust.point_loss_at_confidence is None
               else {"loss_at_confidence": self.robust.point_loss_at_confidence}),
            "robust": None if self.robust is None else self.robust.to_dict(priced),
            "present_value": self.present_value, "notes": self.notes(),
        }


def _check_share(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise InputError(f"{option(name)} must be a number in (0, 1); got {value!r}")
    if not 0.0 < float(value) < 1.0:
        raise InputError(f"{option(name)} must be in (0, 1); got {float(value):g}")
    return float(value)


def plan_uncertainty(law, *, loss=None, budget=None, inference_tokens=None,
                     demand: Demand | None = None, cost=None, level: float = DEFAULT_LEVEL,
                     confidence: float = DEFAULT_CONFIDENCE, timeline=None,
                     unique_tokens=None) -> PlanUncertainty:
    """The plan at target ``loss`` or within a lifetime ``budget`` (a sibling of
    :func:`~computeplan.compare`) and its uncertainty over ``law.replicates``: ``level``
    percentile intervals of every replicate's own optimum and saving, the point plan under
    every replicate, and the robust plan meeting the target under at least ``confidence`` of
    them (module docstring). Scalar loss (or budget) and demand.

    Within a budget there is no target loss: each replicate's own optimum is its lowest loss
    within the budget, the saving (equal cost by construction) is replaced by nothing, the
    point plan's "target" is the loss the central law predicts for it (so
    ``target_met_probability`` is the share of replicates under which it does at least as well
    as promised), and the robust plan is the model within the budget whose loss reached under
    at least ``confidence`` of the replicates is lowest (:func:`_robust_budget`).

    With a ``timeline`` (:class:`~computeplan.timeline.Timeline`) every plan minimises the
    present value of its lifetime cost, as :func:`~computeplan.timeline.dated_compare` plans:
    today's solvers fed the effective demand f D_inf, f = F e^(-k t0), at the training time t0
    of the plan itself (the self-consistent plan, :func:`~computeplan.timeline.
    consistent_plan`; f = F for every plan without a training throughput). Each replicate's own
    optimum and Chinchilla model, and the robust plan, are each their own fixed point; costs,
    savings and the premium are in present value (``present_value`` in the JSON), a budget is
    a present-value budget.

    With ``unique_tokens`` U every replicate's loss is the data-limited one (Muennighoff et
    al. 2023, with the law's R_D*, R_N*; :mod:`computeplan.data_limits`): each replicate's own
    optimum is its data-limited optimum, a replicate reaches the target when it lies above its
    lowest reachable loss, the robust plan's D_k(N) are the data-limited inverses, and the
    Chinchilla models (the savings' reference) stay those of unlimited data, as in
    :func:`~computeplan.compare`."""
    level = _check_share("level", level)
    confidence = _check_share("confidence", confidence)
    law, demand, objective = _setup(law, demand, inference_tokens, cost)
    ens = Ensemble.of(law)
    if np.ndim(loss) or np.ndim(budget) or np.ndim(demand.total_tokens) or np.ndim(
            unique_tokens):
        raise InputError("planning under uncertainty takes one target loss (or budget), one "
                         "demand and one unique-token limit")
    if unique_tokens is not None:
        from .data_limits import check_unique_tokens

        unique_tokens = float(check_unique_tokens(unique_tokens, law))
        ens = ens.limited(law, None if math.isinf(unique_tokens) else unique_tokens)
    key = _cost_key(objective)
    dated, at = _Dated(demand, objective, timeline), None
    if timeline is None:
        comparison = compare(law, loss=loss, budget=budget, demand=demand, cost=cost,
                             unique_tokens=unique_tokens)
        point_cost = float(getattr(comparison.optimal, key))
    else:
        from .timeline import dated_compare

        at = dated_compare(law, loss=loss, budget=budget, demand=demand, objective=objective,
                           timeline=timeline, unique_tokens=unique_tokens)
        comparison = at.comparison
        point_cost = float(getattr(at.optimal.present, key))
    point = comparison.optimal
    point_loss = ens.loss(float(point.params), float(point.train_tokens))
    if budget is not None:
        from .lifetime import _budget_optimal, _chinchilla_budget

        def own(dem):
            if ens.form != "chinchilla" and ens.unique_tokens is not None:
                return ens.budget_optima(budget, dem, objective)
            if ens.unique_tokens is not None:
                return _limited_optima(ens, None, dem, objective, budget=budget)
            plan = _optima_in_blocks(ens, lambda part, d: _budget_optimal(
                part, budget, d, objective), dem)
            return plan.params, plan.train_tokens

        def own_chinchilla(dem):
            plan = _optima_in_blocks(ens.unlimited(), lambda part, d: _chinchilla_budget(
                part, budget, d, objective), dem)
            return plan.params, plan.train_tokens

        inputs = "budget, inference demand or prices"
        n, d = dated.plan(own)
        optimal = dated.bill(ens, n, d, inputs)
        chinchilla = dated.bill(ens.unlimited(), *dated.plan(own_chinchilla), inputs)
        m = _needed(confidence, len(ens))

        def robust_at(dem, own_n=None):
            if own_n is None:
                own_n = own(dem)[0]
            return _robust_budget(law, ens, np.asarray(own_n, float), float(budget), dem,
                                  objective, m, point_loss)

        robust = dated.robust(robust_at, n)
        target = float(point.loss)
        return PlanUncertainty(comparison, level, confidence, len(ens),
                               np.ones(len(ens), bool), optimal, chinchilla, point_loss,
                               point_loss <= target * (1.0 + MET_RTOL), robust, at)
    target = float(comparison.target_loss)
    reachable = ens.floor() < target
    sub = ens.take(reachable)
    inputs = "loss, inference demand or prices"

    def own(dem):
        return replicate_optima(sub, target, dem, objective)

    if reachable.any():
        n, d = dated.plan(own)
        optimal = dated.bill(sub, n, d, inputs)
        chinchilla = dated.bill(sub.unlimited(), *sub.chinchilla_at(target), inputs)
    else:
        optimal = chinchilla = evaluate(law, np.empty(0), np.empty(0), demand, objective)
        n = np.empty(0)
    point_met = point_loss <= target * (1.0 + MET_RTOL)
    robust = None
    m = _needed(confidence, len(ens))
    if len(sub) >= m:
        def robust_at(dem, own_n=None):
            if own_n is None:
                own_n = own(dem)[0]
            return _robust(law, ens, sub, own_n, target, dem, objective, m)

        robust = dated.robust(robust_at, n)
        if robust is not None:
            robust = RobustPlan(robust.plan, robust.target_met_probability,
                                float(getattr(robust.plan, key)) / point_cost - 1.0)
    return PlanUncertainty(comparison, level, confidence, len(ens), reachable, optimal,
                           chinchilla, point_loss, point_met, robust, at)


@dataclass(frozen=True)
class _Dated:
    """Plans and bills today, or in present value under a ``timeline`` (f D_inf, each plan at
    the factor f its own training time implies: :mod:`computeplan.timeline`)."""

    demand: Demand
    objective: object
    timeline: object | None

    @property
    def fixed_point(self) -> bool:
        t = self.timeline
        return t is not None and t.train_flops_per_second is not None and not t.trends_off

    def effective(self, factor) -> Demand:
        from .timeline import scaled

        return scaled(self.demand, factor)

    def plan(self, solve):
        """(N, D) = ``solve(demand)``: at the demand itself, at F D_inf, or each at its own
        fixed point (:func:`~computeplan.timeline.consistent_plan`, vectorised over plans)."""
        if self.timeline is None:
            return solve(self.demand)
        if not self.fixed_point:
            return solve(self.effective(self.timeline.service_factor()))
        from .timeline import consistent_plan

        return consistent_plan(lambda f: solve(self.effective(f)), self.timeline)

    def bill(self, law, n, d, inputs) -> LifetimePlan:
        """The lifetime bill of (N, D), in present value under a timeline."""
        demand = self.demand
        if self.timeline is not None:
            from .laws import TRAIN_FLOPS_PER_PARAM_TOKEN

            demand = self.effective(self.timeline.inference_factor(
                TRAIN_FLOPS_PER_PARAM_TOKEN * np.asarray(n) * np.asarray(d)))
        return evaluate(law, n, d, demand, self.objective, inputs=inputs)

    def robust(self, robust_at, own_n) -> RobustPlan | None:
        """``robust_at(demand, own_n)`` (the replicates' own optima at that demand, which the
        search needs, recomputed at every factor of a fixed point), at the demand this plans
        for; its plan's bill in present value under a timeline."""
        if not self.fixed_point:
            dem = self.demand if self.timeline is None else self.effective(
                self.timeline.service_factor())
            return robust_at(dem, own_n)
        from .timeline import consistent_plan

        last = {}

        def solve(f):
            last["plan"] = r = robust_at(self.effective(float(f)))
            return r.plan.params, r.plan.train_tokens

        consistent_plan(solve, self.timeline)  # its last call is at the fixed point
        return last["plan"]


def _demand_part(demand: Demand, rows) -> Demand:
    """The demand of the replicates in ``rows`` (all of it when it is one demand)."""
    if np.ndim(demand.total_tokens) == 0:
        return demand
    return Demand(*(None if x is None else np.asarray(x)[rows] for x in (
        demand.total_tokens, demand.input_tokens, demand.output_tokens)))


def _optima_in_blocks(ens: Ensemble, solve, demand: Demand) -> LifetimePlan:
    """``solve(law, demand)`` (a planner solver taking a law) on the replicates, in blocks of
    at most :data:`~computeplan._solve.BLOCK`, joined into one plan of (K,) arrays."""
    import dataclasses

    parts = [solve(ens.take(slice(s, s + BLOCK)), _demand_part(demand, slice(s, s + BLOCK)))
             for s in range(0, len(ens), BLOCK)]
    if len(parts) == 1:
        return parts[0]
    return type(parts[0])(**{f.name: (None if getattr(parts[0], f.name) is None else
                                      np.concatenate([getattr(p, f.name) for p in parts]))
                             for f in dataclasses.fields(parts[0])})


def _cost_parts(objective, demand: Demand):
    """(p, Q): the lifetime cost of (N, D) is p N D + Q(N) (Sardana et al. 2024, section 2),
    with Q(N) = q N for the FLOPs and fixed-MFU objectives and the roofline inference cost
    otherwise."""
    if _dependent(objective):
        def inference(n):
            return objective.inference_cost(n, demand)

        return objective.train_usd_per_param_token, inference
    p, q = (float(x) for x in objective.coefficients(demand))

    def linear(n):
        return q * n

    return p, linear


def _needed(confidence: float, k: int) -> int:
    """The least m with m / k >= ``confidence``: replicates a robust plan must satisfy."""
    m = math.ceil(confidence * k)
    if (m - 1) / k >= confidence:
        m -= 1
    return m


def _robust(law, ens: Ensemble, sub: Ensemble, own_n: np.ndarray, target: float,
            demand: Demand, objective, m: int) -> RobustPlan | None:
    """The chance-constrained plan meeting the target under ``m`` replicates (module
    docstring; ``sub``, the replicates that can reach it at all, at least m), its premium
    left to the caller (NaN)."""
    k = len(ens)
    p, inference = _cost_parts(objective, demand)

    def cost_of(t, part: Ensemble):
        """p N D_k(N) + Q(N) of each replicate of ``part`` at log N = t (broadcast (..., L))."""
        n = np.exp(t)
        with np.errstate(over="ignore", invalid="ignore"):
            out = p * n * part.tokens_for_loss_log(target, t) + inference(n)
        return np.where(np.isfinite(out), out, np.inf)

    def log_tokens(part: Ensemble, t, index):
        return part.log_tokens_of(target, t, index)

    def prune(part: Ensemble, lo: float, hi: float, j: int):
        # D_k decreases in N: one with D_k(lo) < D*(hi) is always among the j+1 smallest,
        # one with D_k(hi) > D*(lo) never
        d_lo, d_hi = (part.tokens_for_loss_log(target, t) for t in (lo, hi))
        star_lo, star_hi = np.partition(d_lo, j)[j], np.partition(d_hi, j)[j]
        return d_lo < star_hi, d_hi > star_lo

    reachable = ens.floor() < target
    own_t = np.full(k, np.inf)  # log N of each replicate's own optimum (inf: unreachable)
    own_t[reachable] = np.log(own_n)
    log_floor = sub.log_floor_at(target)  # D_k -> infinity (or D'_k -> its cap) there
    t_lo = float(np.partition(log_floor, m - 1)[m - 1])
    # every cost_k increases beyond the largest own optimum (and, unlimited, beyond the
    # replicate's Chinchilla size, which is larger)
    t_hi = max(float(np.max(np.log(sub.chinchilla_at(target)[0]))),
               float(np.max(np.log(own_n))))
    found = _branch_and_bound(ens, m, own_t, t_lo, t_hi, cost_of, log_tokens, prune)
    if found is None:
        return None
    best_t = found[0]
    n = math.exp(best_t)
    d = float(np.partition(ens.tokens_for_loss_log(target, best_t), m - 1)[m - 1])
    plan = evaluate(law, n, d, demand, objective,
                    inputs="loss, inference demand, prices or confidence")
    met = ens.loss(n, d) <= target * (1.0 + MET_RTOL)
    return RobustPlan(plan, float(np.mean(met)), math.nan)


def _robust_budget(law, ens: Ensemble, own_n: np.ndarray, budget: float, demand: Demand,
                   objective, m: int, point_loss: np.ndarray) -> RobustPlan:
    """The model within lifetime cost ``budget`` X whose loss reached under at least
    ``confidence`` of the replicates is lowest: min over (N, D) with p N D + Q(N) <= X of the
    m-th smallest L_k(N, D), m = ceil(c K) (a chance-constrained problem, Charnes & Cooper 1959,
    on the ensemble, Luedtke & Ahmed 2008). Loss decreases in D, so the plan spends the whole
    budget: D(N) = (X - Q(N)) / (p N), one curve for every replicate, and what remains is 1-D in
    t = log N. In log space the budget set is convex (p e^(x+y) + Q(e^x) with Q(e^x) convex)
    and L_k convex, so each L_k(N, D(N)) is unimodal in t with its minimum at replicate k's own
    budget optimum t_k (Hoffmann et al. 2022, eq. 4 with inference, Sardana et al. 2024): the
    m-th smallest decreases left of every t_k and increases right of them, so the minimum lies
    in [min t_k, max t_k], where :func:`_branch_and_bound` finds it globally. The loss reached
    under ``confidence`` of the replicates is ``loss_at_confidence``; the point plan's is
    ``point_loss``'s m-th smallest, never lower."""
    p, inference = _cost_parts(objective, demand)

    def tokens(t):
        n = np.exp(t)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            d = (budget - inference(n)) / (p * n)
        return np.where(d > 0, d, 0.0)

    def loss_of(t, part: Ensemble):
        """L_k(N, D(N)) of each replicate of ``part`` at log N = t (inf beyond the budget)."""
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            out = part.loss(np.exp(t), tokens(t))
        return np.where(np.isfinite(out), out, np.inf)

    def loss_at(part: Ensemble, t, index):
        return part.loss_of(t, tokens(t), index)

    own_t = np.log(own_n)
    t_lo, t_hi = float(own_t.min()), float(own_t.max())
    found = _branch_and_bound(ens, m, own_t, t_lo, t_hi, loss_of, loss_at, None)
    if found is None:
        raise ConvergenceError("the robust plan within the budget was not found")
    best_t = found[0]
    n = math.exp(best_t)
    d = float(tokens(best_t))
    plan = evaluate(law, n, d, demand, objective,
                    inputs="budget, inference demand, prices or confidence")
    losses = ens.loss(n, d)
    reached = float(np.partition(losses, m - 1)[m - 1])
    met = losses <= reached * (1.0 + MET_RTOL)
    point_reached = float(np.partition(point_loss, m - 1)[m - 1])
    return RobustPlan(plan, float(np.mean(met)), None, loss_at_confidence=reached,
                      point_loss_at_confidence=point_reached)


def _crossing(part: Ensemble, value, k_a, k_b, a, b, iterations=60):
    """Where ``value`` (per replicate, elementwise: ``value(part, t, index)``) of replicates
    ``k_a`` and ``k_b`` cross in (a, b), by the Illinois variant of regula falsi (Dowell &
    Jarratt 1971), vectorised over intervals; and a mask of the intervals where the two differ
    and change order between a and b (elsewhere the point is meaningless)."""
    def g(t, ka, kb):
        return value(part, t, ka) - value(part, t, kb)

    x0, x1 = a.astype(float), b.astype(float)
    g0, g1 = g(x0, k_a, k_b), g(x1, k_a, k_b)
    with np.errstate(invalid="ignore"):
        ok = (k_a != k_b) & np.isfinite(g0) & np.isfinite(g1) & (g0 * g1 < 0)
    if not ok.any():
        return 0.5 * (a + b), ok
    x0, x1, g0, g1 = x0[ok], x1[ok], g0[ok], g1[ok]
    ka, kb = k_a[ok], k_b[ok]
    for _ in range(iterations):
        c = (x0 * g1 - x1 * g0) / (g1 - g0)
        va, vb = value(part, c, ka), value(part, c, kb)
        gc = va - vb
        flip = gc * g1 < 0
        x0, g0 = np.where(flip, x1, x0), np.where(flip, g1, 0.5 * g0)
        x1, g1 = c, gc
        # done when the bracket is narrow, or the difference is rounding noise (losses of
        # about 2 cross with slopes of about 1e-3 in log N: 1e-16 noise is 1e-13 in log N)
        if np.all((np.abs(x1 - x0) <= 0.1 * ROBUST_XTOL * np.maximum(1.0, np.abs(x1)))
                  | (np.abs(gc) <= 8.0 * np.finfo(float).eps * (np.abs(va) + np.abs(vb)))):
            break
    out = 0.5 * (a + b)
    out[ok] = x1
    return out, ok


def _branch_and_bound(ens, m, own_t, t_lo, t_hi, value_of, value_at, prune
                      ) -> tuple[float, float] | None:
    """Global minimum (t, f(t)) over t = log N in [t_lo, t_hi] of f(t) = m-th smallest
    value_k(t) (``value_of(t, part)``: each replicate's cost or loss, (G, K') at (G, 1) points),
    or None where f is infinite everywhere searched.

    Since f(t) = value_k(t) for the replicate k whose value is the m-th smallest, and every
    value_k is unimodal in t with its minimum at the replicate's own optimum t_k, a lower bound
    of f on an interval [a, b] is the m-th smallest of min_[a,b] value_k, which is
    value_k(t_k) when t_k lies in [a, b] and the smaller of value_k(a), value_k(b) otherwise:
    the values at the interval's ends and at the replicates' own optima (computed once) give
    every bound, and f at the ends too, so a split costs one evaluation of every replicate at
    its midpoint. Intervals are dropped when their bound exceeds the best value found, and
    resolved when f at the point that attains their bound equals the bound (then that point is
    the interval's exact minimum, e.g. a replicate's own optimum). Intervals narrower than
    ``ROBUST_XTOL`` (kinks where the binding replicate changes, found by :func:`_crossing` of
    ``value_at``, the same values elementwise or a monotone transform of them) are resolved by
    their ends. With ``prune(part, lo, hi, j)`` (masks of the replicates always and never
    among the j+1 smallest over [lo, hi]) replicates that cannot be the m-th anywhere in the
    surviving intervals are dropped on the way.
    """
    part, own, j = ens, own_t, m - 1
    own_cost = np.full(len(own), np.inf)
    finite = np.isfinite(own)
    own_cost[finite] = value_of(own[finite], part.take(finite))

    def costs(t):
        """value_k at each of the points ``t`` (G,), over the live replicates: (G, K')."""
        return value_of(np.asarray(t, float)[:, None], part)

    def order(c):
        """f from the live replicates' values: the j-th smallest (the pruned ones counted)."""
        return np.partition(c, j, axis=-1)[..., j]

    edges = np.linspace(t_lo, t_hi, ROBUST_GRID + 1)
    c_edges = costs(edges)
    f_edges = order(c_edges)
    best_i = int(np.argmin(f_edges))
    best_t, best = float(edges[best_i]), float(f_edges[best_i])
    if not np.isfinite(best):
        return None
    if t_hi - t_lo <= ROBUST_XTOL * max(1.0, abs(t_lo)):
        return best_t, best
    a, b, ca, cb = edges[:-1], edges[1:], c_edges[:-1], c_edges[1:]
    fa, fb = f_edges[:-1], f_edges[1:]
    tol = 1.0 + 1e-12
    for _ in range(200):
        if prune is not None:  # prune replicates on the hull of the live intervals
            below, above = prune(part, float(a.min()), float(b.max()), j)
            keep = ~below & ~above
            if not keep.all():
                part, own, own_cost = part.take(keep), own[keep], own_cost[keep]
                ca, cb, j = ca[:, keep], cb[:, keep], j - int(below.sum())
        # bounds on each interval, the point that attains each, and f there
        inside = (own >= a[:, None]) & (own <= b[:, None])
        lower = np.where(inside, own_cost, np.minimum(ca, cb))
        rows = np.arange(len(a))
        arg = np.argpartition(lower, j, axis=1)[:, j]
        bound = lower[rows, arg]
        at_own = inside[rows, arg]
        at_a = ca[rows, arg] <= cb[rows, arg]
        t_at = np.where(at_own, own[arg], np.where(at_a, a, b))
        value = np.where(at_a, fa, fb)
        todo = at_own & (bound <= best * tol)
        value[at_own] = np.inf
        if todo.any():
            value[todo] = order(costs(t_at[todo]))
        i = int(np.argmin(value))
        if value[i] < best:
            best, best_t = float(value[i]), float(t_at[i])
        resolved = value <= bound * tol
        narrow = (b - a) <= ROBUST_XTOL * np.maximum(1.0, np.abs(a))
        open_ = ~resolved & ~narrow & (bound <= best * tol)
        if not open_.any():
            break
        a, b, ca, cb, fa, fb = (x[open_] for x in (a, b, ca, cb, fa, fb))
        # split at the midpoint, or tightly around the point where the binding replicate
        # changes when the replicates binding at the two ends cross in between (a kink: the
        # pieces on either side then have one binding replicate and resolve at once)
        cross, kink = _crossing(part, value_at, np.argpartition(ca, j, axis=1)[:, j],
                                np.argpartition(cb, j, axis=1)[:, j], a, b)
        eps = 0.25 * ROBUST_XTOL * np.maximum(1.0, np.abs(cross))
        kink &= (a < cross - eps) & (cross + eps < b)
        mid = 0.5 * (a + b)
        left = np.where(kink, cross - eps, mid)
        right = (cross + eps)[kink]
        points = np.concatenate([left, right])
        c_new = costs(points)
        f_new = order(c_new)
        i = int(np.argmin(f_new))
        if f_new[i] < best:
            best, best_t = float(f_new[i]), float(points[i])
        nl = len(left)
        c_left, c_right, f_left, f_right = c_new[:nl], c_new[nl:], f_new[:nl], f_new[nl:]
        # pieces: [a, left]; then [left, b] (midpoint splits) or [left, right], [right, b]
        a = np.concatenate([a, left[~kink], left[kink], right])
        b = np.concatenate([left, b[~kink], right, b[kink]])
        ca = np.concatenate([ca, c_left[~kink], c_left[kink], c_right])
        cb = np.concatenate([c_left, cb[~kink], c_right, cb[kink]])
        fa = np.concatenate([fa, f_left[~kink], f_left[kink], f_right])
        fb = np.concatenate([f_left, fb[~kink], f_right, fb[kink]])
    else:
        raise ConvergenceError("the robust plan's search did not converge")
    return best_t, best


#: At most this many replicates (evenly spaced) draw the bands of a figure over many demands.
BAND_REPLICATES = 200


def _subsample(ens: Ensemble, k: int) -> Ensemble:
    if len(ens) <= k:
        return ens
    return ens.take(np.unique(np.linspace(0, len(ens) - 1, k).round().astype(int)))


def savings_band(law, loss: float, demand: Demand, objective, level: float = DEFAULT_LEVEL,
                 replicates: int = BAND_REPLICATES, unique_tokens=None
                 ) -> dict[str, np.ndarray] | None:
    """The ``level`` range over replicates of the saving 1 - optimal / Chinchilla lifetime cost
    (each replicate's own optimum and Chinchilla model at ``loss``) for each of S demands
    (``demand`` arrays of shape (S,)), from at most ``replicates`` evenly spaced replicates
    (those that can reach the loss); None when none can. Vectorised over demands x replicates
    (S x K at most :data:`~computeplan._solve.BLOCK` per solve). With ``unique_tokens`` each
    replicate's optimum is its data-limited one (as :func:`plan_uncertainty`)."""
    ens = _subsample(Ensemble.of(law), replicates).limited(law, unique_tokens)
    ens = ens.take(ens.floor() < loss)
    s = np.size(demand.total_tokens)
    k = len(ens)
    if not k:
        return None
    out = np.empty((s, k))
    if k:
        per = max(1, BLOCK // k)
        for start in range(0, s, per):
            rows = slice(start, min(s, start + per))
            m = rows.stop - rows.start
            part = ens.tile(m)
            dem = Demand(*(None if x is None else np.repeat(np.broadcast_to(x, (s,))[rows], k)
                           for x in (demand.total_tokens, demand.input_tokens,
                                     demand.output_tokens)))
            n, d = replicate_optima(part, loss, dem, objective)
            opt = evaluate(part, n, d, dem, objective, inputs="inference demand or prices")
            nc, dc = part.chinchilla_at(loss)
            chin = evaluate(part.unlimited(), nc, dc, dem, objective,
                            inputs="inference demand or prices")
            key = _cost_key(objective)
            out[rows] = (1.0 - getattr(opt, key) / getattr(chin, key)).reshape(m, k)
    tail = 100.0 * (1.0 - level) / 2.0
    lo, hi = percentiles(out, [tail, 100.0 - tail], axis=1)
    return {"savings_lo": lo, "savings_hi": hi}


def isoloss_band(law, loss: float, params, level: float = DEFAULT_LEVEL, unique_tokens=None
                 ) -> dict[str, np.ndarray]:
    """The ``level`` range over replicates of the training tokens D_k(N) that reach ``loss``
    at each N of ``params``: where the iso-loss curve lies under the law's uncertainty. Only the
    N at which the upper end is finite (enough replicates reach the loss there) are kept. With
    ``unique_tokens`` each replicate's curve is its data-limited one (Muennighoff et al. 2023,
    eq. 5: :meth:`Ensemble.tokens_for_loss` of :meth:`Ensemble.limited`)."""
    ens = Ensemble.of(law).limited(law, unique_tokens)
    d = ens.tokens_for_loss(loss, np.asarray(params, float)[:, None])
    tail = 100.0 * (1.0 - level) / 2.0
    with np.errstate(invalid="ignore"):  # inf - inf where replicates cannot reach the loss
        lo, hi = percentiles(d, [tail, 100.0 - tail], axis=1)
    keep = np.isfinite(hi) & np.isfinite(lo)
    return {"params": np.asarray(params, float)[keep], "train_tokens_lo": lo[keep],
            "train_tokens_hi": hi[keep]}
