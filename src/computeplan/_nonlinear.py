"""Lifetime optima when the inference cost Q(N) is not linear in N.

Objectives whose inference cost Q(N) is not linear in N (``params_dependent``, e.g. the
roofline serving model of :class:`~computeplan.objectives.RooflineDollarCost`, where Q(N) is a
maximum of memory- and compute-bound terms, with a kink between them) are solved directly in
t = log N, by vectorised bisection on the sign of the derivative of the objective:

- fixed loss: minimise p N D(N) + Q(N) along the iso-loss curve
  D(N) = (B / (l - E - A N^-alpha))^(1/beta); the derivative
  p N D (1 + dlog D/dlog N) + N Q'(N), with dlog D/dlog N = -(alpha/beta) A N^-alpha /
  (l - E - A N^-alpha), is negative near the asymptote N^alpha -> A / (l - E) and positive at
  the Chinchilla-optimal N_c (where 1 + dlog D/dlog N = 0), which bracket the optimum;
- fixed budget X: minimise L(N, D(N)) with D(N) = (X - Q(N)) / (p N); the derivative
  -alpha A N^-alpha + beta B D^-beta (1 + N Q'(N) / (X - Q(N))) is negative for small N and
  positive as Q(N) -> X;
- the Chinchilla model within a budget: fixed-point iteration on the average Q(N)/N, exact at
  the fixed point (q N = Q(N)).

Q'(N) comes from the objective (``marginal_cost``); bisection stops at a relative width of 1e-12
in N, so kinks in Q cannot stall it.
"""

from __future__ import annotations

import numpy as np

from .errors import ConvergenceError
from .laws import ChinchillaLaw

FIXED_POINT_RTOL = 1e-10
FIXED_POINT_MAXITER = 100


def _bisect_log(slope, lo, hi, *, rtol=1e-12, maxiter=200):
    """Root of ``slope`` (negative at ``lo``, positive at ``hi``; both log N) by bisection."""
    lo, hi = np.broadcast_arrays(np.asarray(lo, float), np.asarray(hi, float))
    lo, hi = lo.copy(), hi.copy()
    for _ in range(maxiter):
        mid = 0.5 * (lo + hi)
        neg = slope(mid) < 0
        lo, hi = np.where(neg, mid, lo), np.where(neg, hi, mid)
        if np.all(hi - lo <= rtol):
            return 0.5 * (lo + hi)
    raise ConvergenceError(f"bisection did not converge in {maxiter} iterations")


def dependent_fixed_loss(law: ChinchillaLaw, delta, objective, demand):
    """argmin over N of p N D(N) + Q(N) on the iso-loss curve (see the module docstring)."""
    a, b = law.alpha, law.beta
    t_floor = np.log(law.A / delta) / a  # N^alpha = A / delta: D -> infinity
    t_chin = np.log((law.A * (1.0 + a / b) / delta) ** (1.0 / a))

    def tokens(n):
        return (law.B / (delta - law.A * n**-a)) ** (1.0 / b)

    def slope(t):
        n = np.exp(t)
        d = tokens(n)
        p = objective.train_usd_per_param_token
        dlogd = -(a / b) * law.A * n**-a / (delta - law.A * n**-a)
        return p * n * d * (1.0 + dlogd) + n * objective.marginal_cost(n, demand)

    t = _bisect_log(slope, t_floor + 1e-9 * np.maximum(1.0, np.abs(t_floor)), t_chin)
    n = np.exp(t)
    return n, tokens(n)


def dependent_budget(law: ChinchillaLaw, x, objective, demand):
    """argmin over N of L(N, (X - Q(N)) / (p N)) (see the module docstring)."""
    a, b = law.alpha, law.beta

    def inference(n):
        return objective.inference_cost(n, demand)

    # Upper bracket: the N whose inference alone spends the budget (Q increases with N).
    t_hi = np.zeros(np.broadcast_shapes(np.shape(x), np.shape(demand.total_tokens)))
    for _ in range(200):
        over = inference(np.exp(t_hi)) >= x
        if np.all(over):
            break
        t_hi = np.where(over, t_hi, t_hi + np.log(10.0))
    else:
        raise ConvergenceError("no model size spends the whole budget on inference")
    t_max = _bisect_log(lambda t: inference(np.exp(t)) - x, t_hi - 200 * np.log(10.0), t_hi)

    def slope(t):
        n = np.exp(t)
        q_total = inference(n)
        p = objective.train_usd_per_param_token
        d = (x - q_total) / (p * n)
        return (-a * law.A * n**-a
                + b * law.B * d**-b * (1.0 + n * objective.marginal_cost(n, demand)
                                       / (x - q_total)))

    # Past the budget (Q(N) >= X) D is not positive and the slope is NaN or infinite: count it
    # as positive, i.e. the optimum lies at smaller N.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        t = _bisect_log(lambda t: np.nan_to_num(slope(t), nan=np.inf, posinf=np.inf),
                        t_max - 200 * np.log(10.0), t_max - 1e-12)
    n = np.exp(t)
    return n, (x - inference(n)) / (objective.train_usd_per_param_token * n)


def chinchilla_fixed_point(n0, step):
    """Iterate (N, D) = step(N) from N = n0 until N moves by < FIXED_POINT_RTOL (relative)."""
    n = np.asarray(n0, float)
    for _ in range(FIXED_POINT_MAXITER):
        n_new, d = step(n)
        if np.all(np.abs(np.log(n_new / n)) <= FIXED_POINT_RTOL):
            return n_new, d
        n = n_new
    raise ConvergenceError("the N-dependent inference cost did not reach a fixed point in "
                           f"{FIXED_POINT_MAXITER} iterations")
