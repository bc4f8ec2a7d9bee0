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
  N D_k(N) increases); it is bracketed on a grid of log N and solved by golden-section search to
  1e-12 in log N, then polished: where one replicate binds, the optimum of that piece is that
  replicate's own inference-aware optimum, which is taken when it is cheaper.

The loss of a model counts as meeting the target when it is within ``MET_RTOL`` (relative) of it,
the precision of the planner's solvers, so that a plan solved for exactly l counts as reaching l.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ._nonlinear import dependent_fixed_loss
from ._solve import BLOCK
from .demand import Demand
from .errors import InputError
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

DEFAULT_LEVEL = 0.95
DEFAULT_CONFIDENCE = 0.9
#: A loss within this relative distance of the target counts as reaching it (solver precision).
MET_RTOL = 1e-12
#: Grid points in log N that bracket the robust plan before the golden-section search.
ROBUST_GRID = 32
#: Golden-section tolerance in log N.
ROBUST_XTOL = 1e-12

NO_REPLICATES = ("law {name} has no replicates to plan under uncertainty: fit your runs with "
                 "`computeplan fit RUNS.csv --bootstrap K --out law.json` and plan with "
                 "--law law.json, or use the besiroglu2024 preset")


@dataclass(frozen=True)
class Ensemble:
    """K laws as (K,) coefficient arrays; the planner's solvers broadcast over them."""

    E: np.ndarray
    A: np.ndarray
    B: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray

    @classmethod
    def of(cls, law) -> Ensemble:
        """The replicates of ``law``; an InputError saying how to get them when it has none."""
        if law.replicates is None:
            extra = (" (overriding a coefficient drops the replicates)"
                     if law.name.endswith("(modified)") else "")
            raise InputError(NO_REPLICATES.format(name=law.name) + extra)
        return cls(*(np.ascontiguousarray(law.replicates[:, j]) for j in range(5)))

    def __len__(self) -> int:
        return len(self.E)

    def take(self, index) -> Ensemble:
        return Ensemble(*(x[index] for x in (self.E, self.A, self.B, self.alpha, self.beta)))

    def loss(self, params, train_tokens) -> np.ndarray:
        """L_k(N, D) = E_k + A_k N^-alpha_k + B_k D^-beta_k (Hoffmann et al. 2022, eq. 2)."""
        with np.errstate(over="ignore", under="ignore"):
            return self.E + self.A * params**-self.alpha + self.B * train_tokens**-self.beta

    def tokens_for_loss(self, loss, params) -> np.ndarray:
        """D_k(N) = (B_k / (l - E_k - A_k N^-alpha_k))^(1/beta_k), infinite where replicate k
        cannot reach l at N (``params`` broadcasts against the replicates, e.g. (G, 1))."""
        return self.tokens_for_loss_log(loss, np.log(params))

    def tokens_for_loss_log(self, loss, log_params) -> np.ndarray:
        """:meth:`tokens_for_loss` at N = exp(``log_params``), in logarithms (exp and log are
        cheaper than powers with array exponents)."""
        with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
            room = loss - self.E - np.exp(self._log_A - self.alpha * log_params)
            d = np.exp((self._log_B - np.log(room)) * self._inv_beta)
        d[~(room > 0)] = np.inf
        return d

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


def replicate_optima(ens: Ensemble, loss: float, demand: Demand, objective
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Each replicate's inference-aware optimum (N_k, D_k) at target ``loss`` (every E_k must be
    below it): the planner's solvers on the (K,) coefficient arrays, in blocks of at most
    :data:`~computeplan._solve.BLOCK` replicates."""
    n, d = np.empty(len(ens)), np.empty(len(ens))
    for start in range(0, len(ens), BLOCK):
        part = ens.take(slice(start, start + BLOCK))
        delta = loss - part.E
        if _dependent(objective):
            nk, dk = dependent_fixed_loss(part, delta, objective, demand)
        else:
            p, q = objective.coefficients(demand)
            nk, dk = _solve_fixed_loss(part, delta, _ratio(p, q, "inference demand or prices"))
        n[start:start + BLOCK], d[start:start + BLOCK] = nk, dk
    return n, d


def _interval(x: np.ndarray, level: float) -> dict[str, float]:
    tail = 100.0 * (1.0 - level) / 2.0
    lo, med, hi = np.percentile(x, [tail, 50.0, 100.0 - tail])
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
    premium: float

    def to_dict(self, priced: bool) -> dict:
        p = self.plan
        out = {"params": p.params, "train_tokens": p.train_tokens,
               "tokens_per_param": p.tokens_per_param, "loss": p.loss,
               "total_flops": p.total_flops}
        if priced:
            out["total_cost_usd"] = p.total_cost_usd
        return out | {"target_met_probability": self.target_met_probability,
                      "premium": self.premium}


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
        if self.robust is None:
            out.append(f"no model reaches the target under {100 * self.confidence:g}% of the "
                       "replicates (too many cannot reach it): no robust plan")
        return out

    def to_dict(self) -> dict:
        priced = bool(self.comparison.objective.priced)
        keys = ["params", "train_tokens", "tokens_per_param", "total_flops"]
        if priced:
            keys.append("total_cost_usd")
        lv = self.level
        optimal = ({k: _interval(np.asarray(getattr(self.optimal, k)), lv) for k in keys}
                   if self.reachable.any() else None)
        savings = None
        if self.reachable.any():
            s = self.savings
            savings = _interval(s, lv) | {"probability_positive": float(np.mean(s > 0))}
        return {
            "replicates": self.replicates, "unreachable": self.unreachable, "level": lv,
            "confidence": self.confidence, "optimal": optimal, "savings": savings,
            "point_plan": {"loss": _interval(self.point_loss, lv),
                           "target_met_probability": float(np.mean(self.point_met))},
            "robust": None if self.robust is None else self.robust.to_dict(priced),
            "notes": self.notes(),
        }


def _check_share(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise InputError(f"{name} must be a number in (0, 1); got {value!r}")
    if not 0.0 < float(value) < 1.0:
        raise InputError(f"{name} must be in (0, 1); got {float(value):g}")
    return float(value)


def plan_uncertainty(law, *, loss, inference_tokens=None, demand: Demand | None = None,
                     cost=None, level: float = DEFAULT_LEVEL,
                     confidence: float = DEFAULT_CONFIDENCE) -> PlanUncertainty:
    """The plan at target ``loss`` (a sibling of :func:`~computeplan.compare`) and its
    uncertainty over ``law.replicates``: ``level`` percentile intervals of every replicate's own
    optimum and saving, the point plan under every replicate, and the robust plan meeting the
    target under at least ``confidence`` of them (module docstring). Scalar loss and demand."""
    level = _check_share("level", level)
    confidence = _check_share("confidence", confidence)
    law, demand, objective = _setup(law, demand, inference_tokens, cost)
    ens = Ensemble.of(law)
    if np.ndim(loss) or np.ndim(demand.total_tokens):
        raise InputError("planning under uncertainty takes one target loss and one demand")
    comparison = compare(law, loss=loss, demand=demand, cost=cost)
    target = float(comparison.target_loss)
    reachable = ens.E < target
    sub = ens.take(reachable)
    inputs = "loss, inference demand or prices"
    if reachable.any():
        n, d = replicate_optima(sub, target, demand, objective)
        optimal = evaluate(sub, n, d, demand, objective, inputs=inputs)
        nc, dc = sub.chinchilla(target - sub.E)
        chinchilla = evaluate(sub, nc, dc, demand, objective, inputs=inputs)
    else:
        optimal = chinchilla = evaluate(law, np.empty(0), np.empty(0), demand, objective)
        n = np.empty(0)
    point = comparison.optimal
    point_loss = ens.loss(float(point.params), float(point.train_tokens))
    point_met = point_loss <= target * (1.0 + MET_RTOL)
    robust = _robust(law, ens, sub, n, target, demand, objective, confidence,
                     float(getattr(point, _cost_key(objective))))
    return PlanUncertainty(comparison, level, confidence, len(ens), reachable, optimal,
                           chinchilla, point_loss, point_met, robust)


def _robust(law, ens: Ensemble, sub: Ensemble, own_n: np.ndarray, target: float,
            demand: Demand, objective, confidence: float, point_cost: float
            ) -> RobustPlan | None:
    """The chance-constrained plan (module docstring), or None when fewer than ceil(c K)
    replicates can reach the target at all."""
    k = len(ens)
    m = math.ceil(confidence * k - 1e-9)  # replicates that must reach the target
    if len(sub) < m:
        return None
    if _dependent(objective):
        p = objective.train_usd_per_param_token

        def inference(n):
            return objective.inference_cost(n, demand)
    else:
        p, q = (float(x) for x in objective.coefficients(demand))

        def inference(n):
            return q * n

    def tokens(part: Ensemble, t):
        """D_k(N) of each replicate of ``part`` for log N = t, with shape (*t.shape, len(part))."""
        return part.tokens_for_loss_log(target, np.asarray(t, float)[..., None])

    def cost_of(n, d):
        with np.errstate(over="ignore", invalid="ignore"):
            out = p * n * d + inference(n)
        return np.where(np.isfinite(out), out, np.inf)

    delta = target - sub.E
    log_floor = np.log(sub.A / delta) / sub.alpha  # D_k -> infinity as N -> this floor
    t_lo = float(np.partition(log_floor, m - 1)[m - 1])
    t_hi = float(np.max(np.log(sub.chinchilla(delta)[0])))
    grid = t_lo + (t_hi - t_lo) * (np.arange(ROBUST_GRID) + 0.5) / ROBUST_GRID
    costs = cost_of(np.exp(grid), np.partition(tokens(ens, grid), m - 1, axis=-1)[:, m - 1])
    i = int(np.argmin(costs))
    if not np.isfinite(costs[i]):
        return None
    step = (t_hi - t_lo) / ROBUST_GRID
    a, b = max(t_lo, grid[i] - step), min(t_hi, grid[i] + step)
    # On [a, b] every D_k(N) decreases in N and so does D*(N): a replicate with D_k(a) < D*(b)
    # is always among the m smallest, one with D_k(b) > D*(a) never; only the rest can be the
    # m-th, so the search keeps only them, pruning again as the bracket shrinks.
    live = {"part": ens, "index": np.arange(k), "j": m - 1}

    def prune(a: float, b: float) -> bool:
        """Keep the replicates that can be the m-th on [a, b]; True once one is left (then the
        optimum is its own, see the polish below)."""
        part, j = live["part"], live["j"]
        d_a, d_b = tokens(part, a), tokens(part, b)
        star_a, star_b = np.partition(d_a, j)[j], np.partition(d_b, j)[j]
        below, above = d_a < star_b, d_b > star_a
        keep = ~below & ~above
        live.update(part=part.take(keep), index=live["index"][keep],
                    j=j - int(below.sum()))
        return len(live["index"]) == 1

    def required_tokens(t):
        """D*(N) = the m-th smallest D_k(N) over all replicates, for log N = t in [a, b]."""
        j = live["j"]
        return np.partition(tokens(live["part"], t), j, axis=-1)[..., j]

    def cost(t):
        return cost_of(np.exp(t), required_tokens(t))

    def full_required(n: float) -> float:
        """D*(N) over the whole ensemble."""
        return float(np.partition(tokens(ens, math.log(n)), m - 1)[m - 1])

    prune(a, b)
    best = math.exp(_golden(lambda t: float(cost(t)), a, b, ROBUST_XTOL, prune))
    candidates = [best]
    # Polish: the replicate binding at the optimum; its own optimum is exact on its piece.
    binding = int(live["index"][np.argpartition(tokens(live["part"], math.log(best)),
                                                live["j"])[live["j"]]])
    position = np.flatnonzero(np.flatnonzero(ens.E < target) == binding)
    if position.size and a <= math.log(float(own_n[position[0]])) <= b:
        candidates.append(float(own_n[position[0]]))
    values = [float(cost_of(n, full_required(n))) for n in candidates]
    # Prefer the exact optimum of the binding replicate unless the search found a cheaper point
    # (a kink between replicates); on a smooth piece the two agree to rounding.
    n = candidates[-1] if values[-1] <= values[0] * (1.0 + 1e-12) else candidates[0]
    d = full_required(n)
    plan = evaluate(law, n, d, demand, objective,
                    inputs="loss, inference demand, prices or confidence")
    met = ens.loss(n, d) <= target * (1.0 + MET_RTOL)
    premium = float(getattr(plan, _cost_key(objective))) / point_cost - 1.0
    return RobustPlan(plan, float(np.mean(met)), premium)


_INVPHI = (math.sqrt(5.0) - 1.0) / 2.0


def _golden(f, a: float, b: float, xtol: float, shrunk=None, every: int = 4) -> float:
    """Golden-section search for a minimum of ``f`` on [a, b] to width ``xtol`` (Kiefer 1953);
    ``shrunk(a, b)`` is called every ``every`` steps with the current bracket and stops the
    search early by returning True."""
    c, d = b - _INVPHI * (b - a), a + _INVPHI * (b - a)
    fc, fd = f(c), f(d)
    steps = 0
    while b - a > xtol * max(1.0, abs(a)):
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - _INVPHI * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + _INVPHI * (b - a)
            fd = f(d)
        steps += 1
        if shrunk is not None and steps % every == 0 and shrunk(a, b):
            break
    return c if fc <= fd else d
