"""Inference-aware optimal models.

Source: Sardana et al. 2024, "Beyond Chinchilla-Optimal" (arXiv 2401.00448), section 2.

For a target loss l and a lifetime inference demand, find the model size N and training tokens
D that minimise lifetime cost p N D + q N subject to L(N, D) = l (see :mod:`computeplan.objectives`
for p and q: FLOPs or dollars), and the inverse: the lowest loss reachable within a lifetime
budget. Everything broadcasts over numpy arrays of losses, demands and budgets.

The fixed-loss problem reduces to one universal equation. With r = q / p (inference demand in
training-token equivalents; D_inf / 3 for FLOPs), the Chinchilla-optimal D_c at loss l and
v = log(D / D_c), Sardana et al.'s first-order condition
(B + beta B / alpha) D^-beta + (beta B r / alpha) D^(-beta-1) = l - E becomes

    beta v = log(1 + rho e^-v),    rho = beta r / ((alpha + beta) D_c),

whose left side minus right side is increasing and concave in v, with a unique root that
Newton's method reaches quadratically from a closed-form guess (see :func:`_solve_fixed_loss`).
Then D = D_c e^v and, from the loss constraint,
N = N_c (1 + (alpha/beta)(1 - e^(-beta v)))^(-1/alpha).

Objectives whose inference cost is not linear in N (the roofline serving model) are solved in
:mod:`computeplan._nonlinear`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import _validate as v
from ._nonlinear import chinchilla_fixed_point, dependent_budget, dependent_fixed_loss
from ._solve import blockwise, increasing_root
from .demand import Demand, as_demand
from .errors import ConvergenceError, InputError
from .laws import (
    INFERENCE_FLOPS_PER_PARAM_TOKEN,
    TRAIN_FLOPS_PER_PARAM_TOKEN,
    ChinchillaLaw,
    get_law,
)
from .objectives import DollarCost, FlopsObjective, RooflineDollarCost

Objective = FlopsObjective | DollarCost | RooflineDollarCost


@dataclass(frozen=True)
class LifetimePlan:
    """A model and its lifetime bill. Costs in USD are ``None`` under the FLOPs objective."""

    params: np.ndarray
    train_tokens: np.ndarray
    loss: np.ndarray
    train_flops: np.ndarray
    inference_flops: np.ndarray
    total_flops: np.ndarray
    train_cost_usd: np.ndarray | None = None
    inference_cost_usd: np.ndarray | None = None
    total_cost_usd: np.ndarray | None = None

    @property
    def tokens_per_param(self) -> np.ndarray:
        return self.train_tokens / self.params

    def to_dict(self) -> dict:
        out = {
            "params": self.params,
            "train_tokens": self.train_tokens,
            "tokens_per_param": self.tokens_per_param,
            "loss": self.loss,
            "train_flops": self.train_flops,
            "inference_flops": self.inference_flops,
            "total_flops": self.total_flops,
        }
        if self.total_cost_usd is not None:
            out |= {
                "train_cost_usd": self.train_cost_usd,
                "inference_cost_usd": self.inference_cost_usd,
                "total_cost_usd": self.total_cost_usd,
            }
        return out


def _dependent(objective) -> bool:
    """Whether the objective's inference cost is a non-linear function of N."""
    return bool(getattr(objective, "params_dependent", False))


def _setup(law, demand, inference_tokens, cost):
    """The law (of any form, :mod:`computeplan.forms`), demand and objective of a plan."""
    law = get_law(law, any_form=True)
    demand = as_demand(demand, inference_tokens)
    objective = FlopsObjective() if cost is None else cost
    return law, demand, objective


def _other_form(law, kind: str, target, demand: Demand, objective) -> LifetimePlan:
    """The plans of this module under a law of another form than the Chinchilla form, from the
    first-order conditions of :mod:`computeplan._formsolve` (``kind``: lifetime, chinchilla,
    budget or chinchilla_budget; ``target`` the loss or the budget)."""
    from . import _formsolve as solve

    if _dependent(objective) and (kind in ("lifetime", "chinchilla") or np.any(
            demand.total_tokens > 0)):
        return _other_form_dependent(law, kind, target, demand, objective)
    if _dependent(objective):  # no inference at all: the linear problem with q = 0
        p, q = objective.train_usd_per_param_token, np.zeros_like(demand.total_tokens)
    else:
        p, q = objective.coefficients(demand)
    if kind in ("lifetime", "chinchilla"):
        inputs = _loss_inputs(objective)
        r = 0.0 if kind == "chinchilla" else _ratio(p, q, inputs)
        ln_n, ln_d = solve.fixed_loss(law.shape, law.coef, v.positive("loss", target), r)
    else:
        x = _budget(target, objective)
        inputs = _budget_inputs(objective)
        if kind == "budget":
            ln_n, ln_d = solve.budget(law.shape, law.coef, np.log(x) - np.log(p),
                                      _ratio(p, q, inputs))
        else:
            with np.errstate(divide="ignore"):  # q = 0 (no demand): log q = -inf
                ln_n, ln_d = solve.chinchilla_budget(law.shape, law.coef, np.log(x), np.log(p),
                                                     np.log(q))
    with np.errstate(over="ignore", under="ignore"):
        n, d = np.exp(ln_n), np.exp(ln_d)
    return evaluate(law, n, d, demand, objective, inputs=inputs)


def _other_form_dependent(law, kind: str, target, demand: Demand, objective) -> LifetimePlan:
    """:func:`_other_form` under an objective whose inference cost Q(N) is not linear in N (the
    roofline serving model): the first-order conditions of :mod:`computeplan._formsolve` with
    Q'(N) (``dependent_fixed_loss``, ``dependent_budget``), and the Chinchilla-optimal model
    within a budget by the fixed point on the average cost Q(N) / N of
    :mod:`computeplan._nonlinear` (exact at the fixed point, q N = Q(N))."""
    from . import _formsolve as solve

    p = objective.train_usd_per_param_token
    shape = np.broadcast_shapes(np.shape(target), np.shape(demand.total_tokens), np.shape(p),
                                np.shape(law.coef[law.shape.coefficients[0]]))
    with np.errstate(over="ignore", under="ignore", divide="ignore"):  # no demand: log q = -inf
        if kind in ("lifetime", "chinchilla"):
            inputs = _loss_inputs(objective)
            loss = np.broadcast_to(v.positive("loss", target), shape)
            if kind == "chinchilla":
                ln_n, ln_d = solve.fixed_loss(law.shape, law.coef, loss, 0.0)
            else:
                def marginal(ln_n, ln_d):
                    return objective.marginal_cost(np.exp(ln_n), demand) / (p * np.exp(ln_d))

                ln_n, ln_d = solve.dependent_fixed_loss(law.shape, law.coef, loss, marginal)
        else:
            inputs = _budget_inputs(objective)
            log_x = np.broadcast_to(np.log(_budget(target, objective)), shape)
            log_p = np.log(p)
            if kind == "budget":
                ln_n, ln_d = solve.dependent_budget(
                    law.shape, law.coef, log_x, log_p,
                    lambda t: objective.inference_cost(np.exp(t), demand),
                    lambda t: objective.marginal_cost(np.exp(t), demand))
            else:
                def step(n):
                    log_q = np.log(objective.coefficients(demand, n)[1])
                    ln_n, ln_d = solve.chinchilla_budget(law.shape, law.coef, log_x, log_p,
                                                         log_q)
                    return np.exp(ln_n), np.exp(ln_d)

                n0 = np.exp(solve.budget(law.shape, law.coef, log_x - log_p, 0.0)[0])
                n, d = chinchilla_fixed_point(n0, step)
                ln_n, ln_d = np.log(n), np.log(d)
        n, d = np.exp(ln_n), np.exp(ln_d)
    return evaluate(law, n, d, demand, objective, inputs=inputs)


def evaluate(law: ChinchillaLaw, params, train_tokens, demand: Demand,
             objective: Objective, *, inputs: str = "params, train_tokens or inference demand",
             loss=None) -> LifetimePlan:
    """The lifetime bill of a model (N, D): training 6 N D FLOPs, inference 2 N FLOPs per token
    (Sardana et al. 2024, eq. 1), and p N D training and q N (or Q(N)) inference dollars when the
    objective is priced. A bill that leaves double precision is an InputError naming ``inputs``
    (the user-level inputs the model was derived from). ``loss``: the model's loss when the
    caller has it already (a data-limited loss, :mod:`computeplan.data_limits`); by default
    the law's L(N, D)."""
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        n, d = np.broadcast_arrays(np.asarray(params, float), np.asarray(train_tokens, float))
        v.representable("the plan", {"params": n, "train_tokens": d}, inputs, positive=True)
        train = TRAIN_FLOPS_PER_PARAM_TOKEN * n * d
        inference = INFERENCE_FLOPS_PER_PARAM_TOKEN * n * demand.total_tokens
        plan = dict(params=n, train_tokens=d, loss=law.loss(n, d) if loss is None else loss,
                    train_flops=train, inference_flops=inference, total_flops=train + inference)
        if objective.priced:
            if _dependent(objective):
                inference_usd = objective.inference_cost(n, demand)
            else:
                _, q = objective.coefficients(demand)
                inference_usd = q * n
            train_usd = objective.train_usd_per_param_token * n * d
            plan |= dict(train_cost_usd=train_usd, inference_cost_usd=inference_usd,
                         total_cost_usd=train_usd + inference_usd)
    v.representable("the plan", {k: val for k, val in plan.items() if k != "params"}, inputs)
    return LifetimePlan(**plan)


class _Invalid(Exception):
    """A block of :func:`_fused_fixed_loss` failed its checks."""


def _fused_fixed_loss(law: ChinchillaLaw, loss, demand: Demand, objective) -> LifetimePlan | None:
    """The plan of :func:`lifetime_optimal` under an objective linear in N (FLOPs, dollars at
    fixed MFUs), computed block by block (:func:`~computeplan._solve.blockwise`) while the block
    is in the CPU cache: the solve of :func:`_solve_fixed_loss` (the same kernel), the bill of
    :func:`evaluate` (L(N, D), 6 N D, 2 N D_inf, p N D, q N in its order of operations: the
    same numbers bit for bit), and the checks of both fused into one test per block: every
    log(l - E) finite (l finite and above E), every N and D > 0 and every total finite (so every
    bill, and r = q / p, is finite). ``None`` when a block fails that test or the law's
    coefficients are arrays: the caller then takes the step-by-step path, whose checks raise the
    InputError naming the offending input."""
    a, b, e = law.alpha, law.beta, law.E
    if not _scalars(a, b, e, law.A, law.B):
        return None
    p, q = objective.coefficients(demand)
    priced = objective.priced
    p_usd = objective.train_usd_per_param_token if priced else 0.0
    if _scalars(loss, p, q, demand.total_tokens, p_usd):
        return _fused_one(law, loss, p, q, demand.total_tokens, p_usd, priced)
    log_nc0, log_dc0 = np.log(law.A * (1.0 + a / b)), np.log(law.B * (1.0 + b / a))
    stop = np.sqrt(8.0 * b * 1e-15)  # _solve_fixed_loss's tolerance
    b_ab = b / (a + b)

    def solve(loss, p, q, tokens, p_usd):
        log_delta = np.log(loss - e)
        if not np.isfinite(log_delta).all():  # l not finite or <= E
            raise _Invalid
        rho_scale = q / p
        rho_scale *= b_ab
        n, d = _fixed_loss_kernel(log_delta, rho_scale, a, b, log_nc0, log_dc0, stop)
        # the bill in evaluate's order of operations (the same numbers bit for bit)
        train = TRAIN_FLOPS_PER_PARAM_TOKEN * n * d
        inference = INFERENCE_FLOPS_PER_PARAM_TOKEN * n * tokens
        # the loss as evaluate gives it, L(N, D) in law.loss's operations (bit for bit: the
        # dated and data-limited plans re-evaluate it), while the block is in cache
        loss_nd = e + law.A * n**-a + law.B * d**-b
        out = [n, d, loss_nd, train, inference, train + inference]
        check = out[5]
        if priced:
            train_usd = p_usd * n * d
            inference_usd = q * n
            out += [train_usd, inference_usd, train_usd + inference_usd]
            check = out[8]
        if not (np.isfinite(check).all() and (n > 0).all() and (d > 0).all()):
            raise _Invalid
        return tuple(out)

    try:
        with np.errstate(all="ignore"):
            cols = blockwise(solve, loss, p, q, demand.total_tokens, p_usd)
    except (_Invalid, ConvergenceError, TypeError, ValueError):
        return None
    names = ["params", "train_tokens", "loss", "train_flops", "inference_flops", "total_flops"]
    if priced:
        names += ["train_cost_usd", "inference_cost_usd", "total_cost_usd"]
    return LifetimePlan(**dict(zip(names, cols, strict=True)))


def _scalars(*xs) -> bool:
    """Whether every ``x`` is one number (``np.ndim(x) == 0``; Python floats without numpy's
    dispatch)."""
    return all(type(x) is float or np.ndim(x) == 0 for x in xs)


def _fused_one(law, loss, p, q, tokens, p_usd, priced):
    """:func:`_fused_fixed_loss` for one scenario, in Python floats (:func:`_fixed_loss_scalar`,
    its constants with ``math``: the array path's to an ulp) with the same checks; the plan's
    fields are numpy scalars (0-d arrays for N and D), as the array path gives them. ``None``
    when a check fails (the caller's path raises)."""
    a, b, e = float(law.alpha), float(law.beta), float(law.E)
    try:
        loss, p, q, tokens, p_usd = (float(x) for x in (loss, p, q, tokens, p_usd))
        delta = loss - e
        if not (0.0 < delta < math.inf):
            return None
        log_nc0 = math.log(law.A * (1.0 + a / b))
        log_dc0 = math.log(law.B * (1.0 + b / a))
        n, d = _fixed_loss_scalar(math.log(delta), q / p * (b / (a + b)), a, b, log_nc0,
                                  log_dc0, math.sqrt(8.0 * b * 1e-15))
    except (ConvergenceError, ArithmeticError, ValueError, TypeError):
        return None  # no convergence, overflow, a NaN: the step-by-step path says which
    return _bill_one(law, n, d, tokens, p_usd, q, priced)


def _bill_one(law, n: float, d: float, tokens: float, p_usd: float, q: float, priced: bool
              ) -> LifetimePlan | None:
    """:func:`evaluate`'s bill of one model (N, D) in Python floats, bit for bit (the same
    operations in the same order; the loss L(N, D) through numpy's power on 0-d arrays, as
    ``law.loss`` computes it), with its checks: N, D > 0 and every total finite. The fields
    are numpy scalars (0-d arrays for N and D), as evaluate gives them; ``None`` when a check
    fails (evaluate then raises the InputError naming the input)."""
    a, b, e = float(law.alpha), float(law.beta), float(law.E)
    train = TRAIN_FLOPS_PER_PARAM_TOKEN * n * d
    inference = INFERENCE_FLOPS_PER_PARAM_TOKEN * n * tokens
    loss_nd = e + law.A * np.power(np.array(n), -a) + law.B * np.power(np.array(d), -b)
    plan = dict(params=n, train_tokens=d, loss=float(loss_nd), train_flops=train,
                inference_flops=inference, total_flops=train + inference)
    if priced:
        train_usd = p_usd * n * d
        inference_usd = q * n
        plan |= dict(train_cost_usd=train_usd, inference_cost_usd=inference_usd,
                     total_cost_usd=train_usd + inference_usd)
    total = plan["total_cost_usd" if priced else "total_flops"]
    if not (n > 0.0 and d > 0.0 and math.isfinite(total) and math.isfinite(plan["loss"])):
        return None
    plan = {k: np.float64(val) for k, val in plan.items()}
    plan["params"], plan["train_tokens"] = np.array(n), np.array(d)
    return LifetimePlan(**plan)


def _chinchilla_one(law: ChinchillaLaw, loss, demand: Demand, objective) -> LifetimePlan | None:
    """:func:`_chinchilla_lifetime` for one scenario (a web plan request) under an objective
    linear in N: ``law.compute_optimal(loss=...)``'s N = (A (1 + alpha/beta) / (l - E))^(1/alpha)
    and D = (B (1 + beta/alpha) / (l - E))^(1/beta) (Hoffmann et al. 2022) in Python floats (the
    same operations on numpy scalars there: the same numbers bit for bit) and :func:`_bill_one`.
    ``None`` for arrays, laws with coefficient arrays, or when a check fails: the caller's
    path then computes it, or raises the InputError naming the input."""
    tokens = demand.total_tokens
    if not _scalars(loss, tokens, law.E, law.A, law.B, law.alpha, law.beta):
        return None
    with np.errstate(all="ignore"):
        p, q = objective.coefficients(demand)
    if not (_scalars(p, q) and math.isfinite(q)):
        return None
    a, b, e = float(law.alpha), float(law.beta), float(law.E)
    delta = float(loss) - e
    if not (0.0 < delta < math.inf):
        return None
    try:  # compute_optimal powers numpy scalars (C's pow, as Python's floats)
        with np.errstate(all="ignore"):  # a law's numpy-scalar A or B: inf, not an exception
            n = (law.A * (1.0 + a / b) / delta) ** (1.0 / a)
            d = (law.B * (1.0 + b / a) / delta) ** (1.0 / b)
    except ArithmeticError:
        return None
    if not (0.0 < n < math.inf and 0.0 < d < math.inf and 0.0 < d / n < math.inf
            and 0.0 < n * d < math.inf):
        return None  # the model leaves double precision: compute_optimal says which
    p_usd = float(objective.train_usd_per_param_token) if objective.priced else 0.0
    return _bill_one(law, n, d, float(tokens), p_usd, float(q), objective.priced)


def _ratio(p, q, inputs: str) -> np.ndarray:
    """r = q / p, the inference demand in training-token equivalents (module docstring)."""
    with np.errstate(over="ignore"):
        r = q / p
    v.representable("the ratio of inference to training cost", {"q / p": r}, inputs)
    return r


def _fixed_loss_kernel(log_delta, rho_scale, a, b, log_nc0, log_dc0, stop, maxiter=60):
    """N and D of the fixed-loss optimum (module docstring) from log(l - E) and
    ``rho_scale`` = r beta / (alpha + beta), for one block (:func:`_solve_fixed_loss`).

    Newton's method on g(v) = beta v - log(1 + rho e^-v) from the closed-form guess
    v0 = log(1 + rho) / (beta + rho / (1 + rho)); it stops once the last step s has
    s^2 / (8 beta) (the error bound of :func:`_solve_fixed_loss`) under the tolerance.
    Only exp and log (numpy's vectorised ones; log1p, expm1 and pow are several times slower):
    log(1 + z) and e^(-beta v) - 1 have absolute errors of one rounding, which is what v, and
    through D = D_c e^v and N = N_c (1 - (alpha/beta)(e^(-beta v) - 1))^(-1/alpha) the relative
    errors of D and N, can take (1e-15). N = e^((log N_c0 - log(l - E) - log w) / alpha) and
    D = e^(log D_c + v) fold the powers into one exp each."""
    log_dc = (log_dc0 - log_delta) / b
    rho = rho_scale * np.exp(-log_dc)
    x = np.log(1.0 + rho)
    x /= b + rho / (1.0 + rho)
    for _ in range(maxiter):
        z = np.exp(-x)
        z *= rho
        step = np.log(1.0 + z)
        step -= b * x
        step /= b + z / (1.0 + z)
        x += step
        if not step.size or np.abs(step).max() <= stop:
            break
    else:
        raise ConvergenceError("inference-aware optimum did not converge")
    w = np.exp(-b * x)
    w -= 1.0
    w *= -(a / b)
    w += 1.0
    log_n = (log_nc0 - log_delta) - np.log(w)
    log_n /= a
    x += log_dc
    return np.exp(log_n, out=log_n), np.exp(x, out=x)


def _fixed_loss_scalar(log_delta: float, rho_scale: float, a: float, b: float, log_nc0: float,
                       log_dc0: float, stop: float, maxiter: int = 60) -> tuple[float, float]:
    """:func:`_fixed_loss_kernel` for one scenario, in Python floats (``math``): the same
    steps without numpy's per-call overhead (a web plan request is one scenario)."""
    log_dc = (log_dc0 - log_delta) / b
    rho = rho_scale * math.exp(-log_dc)
    x = math.log(1.0 + rho) / (b + rho / (1.0 + rho))
    for _ in range(maxiter):
        z = rho * math.exp(-x)
        step = (math.log(1.0 + z) - b * x) / (b + z / (1.0 + z))
        x += step
        if abs(step) <= stop:
            break
    else:
        raise ConvergenceError("inference-aware optimum did not converge")
    w = 1.0 - (a / b) * (math.exp(-b * x) - 1.0)
    return math.exp(((log_nc0 - log_delta) - math.log(w)) / a), math.exp(x + log_dc)


def _solve_fixed_loss(law: ChinchillaLaw, delta, r, *, tol=1e-15, maxiter=60):
    """(N, D) minimising N (D + r) at reducible loss ``delta`` = l - E (module docstring).

    Newton's method on g(v) = beta v - log(1 + rho e^-v), from the closed-form guess
    v0 = log(1 + rho) / (beta + rho / (1 + rho)) (exact in both limits rho -> 0 and rho -> inf,
    within 17% in between). Since g' >= beta and |g''| <= 1/4, a Newton step of size s leaves an
    error below s^2 / (8 beta); iteration stops once that bound is under ``tol`` (relative error
    of D). Runs in cache-sized blocks (:func:`~computeplan._solve.blockwise`). The law's
    coefficients may also be arrays that broadcast against ``delta`` and ``r`` within one block
    (:mod:`computeplan.uncertainty` passes K replicates, K <= ``BLOCK``).
    """
    a, b = law.alpha, law.beta
    log_nc0, log_dc0 = np.log(law.A * (1.0 + a / b)), np.log(law.B * (1.0 + b / a))
    stop = np.sqrt(8.0 * np.min(b) * tol)  # coefficients may be arrays (law replicates)

    def solve(delta, r):
        return _fixed_loss_kernel(np.log(delta), (b / (a + b)) * r, a, b, log_nc0, log_dc0,
                                  stop, maxiter)

    return blockwise(solve, delta, r)


def _inputs(target: str, objective) -> str:
    """The user-level inputs a plan derives from, for overflow messages."""
    from .vocabulary import option

    target = option(target)
    if _dependent(objective):
        return (f"{target}, inference demand, prices or roofline "
                f"{option('batch')}/{option('context')}")
    return f"{target}, inference demand or prices" if objective.priced else (
        f"{target} or inference demand")


def _loss_inputs(objective) -> str:
    return _inputs("loss", objective)


def _budget_inputs(objective) -> str:
    return _inputs("budget_usd" if objective.priced else "budget_flops", objective)


def lifetime_optimal(law: str | ChinchillaLaw = "sardana2024", *, loss, inference_tokens=None,
                     demand: Demand | None = None, cost: DollarCost | None = None) -> LifetimePlan:
    """The model that reaches ``loss`` at the lowest lifetime cost (Sardana et al. 2024, sec. 2).

    Give the demand as ``inference_tokens`` (total) or a :class:`~computeplan.Demand`. Without
    ``cost`` the objective is lifetime FLOPs 6 N D + 2 N D_inf; with a
    :class:`~computeplan.DollarCost` it is lifetime dollars (training + prefill + decode), and the
    result's ``*_cost_usd`` fields are filled. ``loss`` and the demand broadcast.
    Raises :class:`~computeplan.InputError` for a loss at or below E or a negative/NaN demand.
    """
    law, demand, objective = _setup(law, demand, inference_tokens, cost)
    return _lifetime_optimal(law, loss, demand, objective)


def _lifetime_optimal(law: ChinchillaLaw, loss, demand: Demand, objective) -> LifetimePlan:
    if law.form != "chinchilla":
        return _other_form(law, "lifetime", loss, demand, objective)
    if not _dependent(objective):
        plan = _fused_fixed_loss(law, loss, demand, objective)
        if plan is not None:
            return plan
    delta = law._reducible(loss)
    if _dependent(objective):
        n, d = dependent_fixed_loss(law, delta, objective, demand)
    else:
        p, q = objective.coefficients(demand)
        n, d = _solve_fixed_loss(law, delta, _ratio(p, q, _loss_inputs(objective)))
    return evaluate(law, n, d, demand, objective, inputs=_loss_inputs(objective))


def chinchilla_lifetime(law: str | ChinchillaLaw = "sardana2024", *, loss, inference_tokens=None,
                        demand: Demand | None = None,
                        cost: DollarCost | None = None) -> LifetimePlan:
    """The equal-loss Chinchilla-optimal model (Hoffmann et al. 2022) and its lifetime bill."""
    law, demand, objective = _setup(law, demand, inference_tokens, cost)
    return _chinchilla_lifetime(law, loss, demand, objective)


def _chinchilla_lifetime(law: ChinchillaLaw, loss, demand: Demand, objective) -> LifetimePlan:
    if law.form != "chinchilla":
        return _other_form(law, "chinchilla", loss, demand, objective)
    if not _dependent(objective):
        plan = _chinchilla_one(law, loss, demand, objective)
        if plan is not None:
            return plan
    point = law.compute_optimal(loss=loss)
    return evaluate(law, point.params, point.train_tokens, demand, objective,
                    inputs=_loss_inputs(objective))


def _budget(budget, objective) -> np.ndarray:
    return v.positive("budget_usd" if objective.priced else "budget_flops", budget)


def budget_optimal(law: str | ChinchillaLaw = "sardana2024", *, budget, inference_tokens=None,
                   demand: Demand | None = None, cost: DollarCost | None = None) -> LifetimePlan:
    """The lowest loss reachable with lifetime cost ``budget`` (FLOPs, or USD with ``cost``).

    Minimising L(N, D) subject to N (p D + q) = X gives the same first-order condition as the
    fixed-loss problem, alpha A N^-alpha = beta B D^-beta (1 + r / D) with r = q / p. Along that
    path, with u = log D, the budget condition reads
    h(u) = (1 + beta/alpha) u + (1 - 1/alpha) log(1 + r e^-u) - K = 0,
    K = log X - log p - log(alpha A / (beta B)) / alpha,
    strictly increasing with slope between (1 + beta/alpha) and (1 + beta)/alpha; solved by
    bracketed Newton. Round-trips with :func:`lifetime_optimal`.
    """
    law, demand, objective = _setup(law, demand, inference_tokens, cost)
    return _budget_optimal(law, budget, demand, objective)


def _budget_optimal(law: ChinchillaLaw, budget, demand: Demand, objective) -> LifetimePlan:
    if law.form != "chinchilla":
        return _other_form(law, "budget", budget, demand, objective)
    x = _budget(budget, objective)
    if _dependent(objective) and np.any(demand.total_tokens > 0):
        n, d = dependent_budget(law, x, objective, demand)
        return evaluate(law, n, d, demand, objective, inputs=_budget_inputs(objective))
    if _dependent(objective):  # no inference at all: the linear problem with q = 0
        p, q = objective.train_usd_per_param_token, np.zeros_like(demand.total_tokens)
    else:
        p, q = objective.coefficients(demand)
    r = _ratio(p, q, _budget_inputs(objective))
    a, b = law.alpha, law.beta
    log_k = np.log(x) - np.log(p) - np.log(a * law.A / (b * law.B)) / a
    c1, c2 = 1.0 + b / a, 1.0 - 1.0 / a

    def h(u):
        y = r * np.exp(-u)
        return c1 * u + c2 * np.log1p(y) - log_k, c1 - c2 * y / (1.0 + y)

    # coefficients may be arrays (law replicates, computeplan.uncertainty)
    slopes = (np.minimum(c1, (1.0 + b) / a), np.maximum(c1, (1.0 + b) / a))
    u = increasing_root(h, log_k / c1, *slopes)
    with np.errstate(over="ignore", under="ignore", divide="ignore"):
        d = np.exp(u)
        n = np.exp((np.log(a * law.A / (b * law.B)) + b * u - np.log1p(r * np.exp(-u))) / a)
    return evaluate(law, n, d, demand, objective, inputs=_budget_inputs(objective))


def chinchilla_budget(law: str | ChinchillaLaw = "sardana2024", *, budget, inference_tokens=None,
                      demand: Demand | None = None, cost: DollarCost | None = None) -> LifetimePlan:
    """The Chinchilla-optimal model (Hoffmann et al. 2022, eq. 4) whose lifetime cost is ``budget``.

    With s = log(C/6): N = G e^(a s), N D = e^s, so cost = p e^s + q G e^(a s) = X, solved for s
    (log-cost has slope in [a, 1] in s, a = beta / (alpha + beta)), in logarithms throughout so
    that huge budgets and tiny prices do not overflow.
    """
    law, demand, objective = _setup(law, demand, inference_tokens, cost)
    return _chinchilla_budget(law, budget, demand, objective)


def _chinchilla_budget(law: ChinchillaLaw, budget, demand: Demand, objective) -> LifetimePlan:
    if law.form != "chinchilla":
        return _other_form(law, "chinchilla_budget", budget, demand, objective)
    x = _budget(budget, objective)
    a_exp = law.beta / (law.alpha + law.beta)
    g = law.G
    log_x = np.log(x)

    def solve(p, q):
        log_p = np.log(p)
        with np.errstate(divide="ignore"):  # q = 0 (no demand): log q G = -inf
            log_qg = np.log(q * g)

        def k(s):
            log_train, log_infer = log_p + s, log_qg + a_exp * s
            log_cost = np.logaddexp(log_train, log_infer)
            return log_cost - log_x, 1.0 - (1.0 - a_exp) * np.exp(log_infer - log_cost)

        s = increasing_root(k, log_x - log_p, a_exp, 1.0)
        with np.errstate(over="ignore", under="ignore"):
            return g * np.exp(a_exp * s), np.exp(s * (1.0 - a_exp)) / g

    if _dependent(objective):
        p = objective.train_usd_per_param_token
        n, d = chinchilla_fixed_point(g * np.exp(a_exp * (log_x - np.log(p))),
                                      lambda n: solve(*objective.coefficients(demand, n)))
    else:
        n, d = solve(*objective.coefficients(demand))
    return evaluate(law, n, d, demand, objective, inputs=_budget_inputs(objective))


@dataclass(frozen=True)
class PlanComparison:
    """The inference-aware optimum beside the Chinchilla-optimal model, as the CLI reports them."""

    law: ChinchillaLaw
    demand: Demand
    objective: Objective
    chinchilla: LifetimePlan
    optimal: LifetimePlan
    target_loss: np.ndarray | None = None
    budget: np.ndarray | None = None
    #: With ``unique_tokens``: :class:`~computeplan.data_limits.DataLimit` (``optimal`` is then
    #: the data-limited optimum; ``chinchilla`` stays the reference for unlimited unique data).
    data_limit: object | None = None

    @property
    def ratios(self) -> dict[str, np.ndarray]:
        keys = ["params", "train_tokens", "total_flops"]
        if self.objective.priced:
            keys.append("total_cost_usd")
        return {k: getattr(self.optimal, k) / getattr(self.chinchilla, k) for k in keys}

    def to_dict(self) -> dict:
        out = {"target_loss": self.target_loss} if self.target_loss is not None else {}
        if self.budget is not None:
            out["budget_usd" if self.objective.priced else "budget_flops"] = self.budget
        return out | {
            "law": ({} if self.law.form == "chinchilla" else {"form": self.law.form})
            | self.law.coefficients() | {"name": self.law.name},
            "demand": self.demand.to_dict(),
            "assumptions": self.objective.to_dict(),
            "chinchilla": self.chinchilla.to_dict(),
            "optimal": self.optimal.to_dict(),
            "ratios": self.ratios,
        } | ({"data_limit": self.data_limit.to_dict()} if self.data_limit is not None else {})


def compare(law: str | ChinchillaLaw = "sardana2024", *, loss=None, budget=None,
            inference_tokens=None, demand: Demand | None = None,
            cost: DollarCost | None = None, unique_tokens=None) -> PlanComparison:
    """Optimum and Chinchilla-optimal model side by side, at a target ``loss`` (equal quality) or
    within a lifetime ``budget`` (equal cost). Give exactly one of the two. With
    ``unique_tokens`` (U) the optimum is the data-limited one (Muennighoff et al. 2023,
    :mod:`computeplan.data_limits`) and ``data_limit`` holds the plan without the limit beside
    it and what the limit costs; ``unique_tokens=None`` is today's plan exactly."""
    if (loss is None) == (budget is None):
        raise InputError("give exactly one of a target loss or a lifetime budget")
    law, demand, objective = _setup(law, demand, inference_tokens, cost)
    if unique_tokens is not None:
        from .data_limits import check_unique_tokens

        unique_tokens = check_unique_tokens(unique_tokens, law)
    if loss is not None:
        chinchilla = _chinchilla_lifetime(law, loss, demand, objective)
        optimal = _lifetime_optimal(law, loss, demand, objective)
        targets = dict(target_loss=np.asarray(loss, float))
    else:
        chinchilla = _chinchilla_budget(law, budget, demand, objective)
        optimal = _budget_optimal(law, budget, demand, objective)
        targets = dict(budget=np.asarray(budget, float))
    limit = None
    if unique_tokens is not None:
        from .data_limits import data_limit, limited_plan

        free = optimal
        optimal = limited_plan(law, unique_tokens, demand, objective, free.params,
                               free.train_tokens, loss=loss, budget=budget)
        limit = data_limit(law, unique_tokens, optimal, free, objective, chinchilla,
                           at_budget=budget is not None)
    return PlanComparison(law, demand, objective, chinchilla=chinchilla, optimal=optimal,
                          data_limit=limit, **targets)
