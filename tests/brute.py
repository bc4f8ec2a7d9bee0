"""Brute-force references shared by the planning tests of every form (single and averaged):
written once, so a test of a new form reuses the check rather than a copy of it."""

import math

import numpy as np
from typer.testing import CliRunner

from computeplan.cli import app
from computeplan.data_limits import limited_loss, limited_optimal, lowest_reachable_loss
from computeplan.formlaw import make_law

runner = CliRunner()


def one_line_error(*args, must: tuple[str, ...] = ()) -> str:
    """Run the CLI with ``args``: exit status 2, one line, no traceback, containing ``must``."""
    result = runner.invoke(app, list(args))
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.strip().splitlines() if line]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    for text in must:
        assert text in lines[0], lines[0]
    return lines[0]


def kth(x, m):
    """The m-th smallest along the last axis."""
    return np.partition(x, m - 1, axis=-1)[..., m - 1]


def alone(law, row, name: str = "custom"):
    """Replicate ``row`` of ``law`` as a law of scalar coefficients."""
    return make_law(law.form, dict(zip(law.shape.coefficients, row, strict=True)), name=name)


def robust_cost(law, target: float, m: int, tokens: float):
    """Lifetime FLOPs, as a function of ln N, of the model that reaches ``target`` under at
    least ``m`` of ``law``'s replicates (the m-th smallest D of the replicates at N)."""
    coef, f = law.replicate_coefficients(), law.shape

    def cost(ln):
        lo, hi = f.log_params_limits(coef)
        with np.errstate(all="ignore"):
            ln_d = f.log_tokens_at_loss(coef, ln[:, None], target)
        ln_d = np.where(np.isnan(ln_d) | (ln[:, None] <= lo) | (ln[:, None] >= hi), np.inf,
                        ln_d)
        return 6 * np.exp(ln) * np.exp(kth(ln_d, m)) + 2 * np.exp(ln) * tokens

    return cost


def assert_robust_plan_is_brute_force(law, pu, target: float, tokens: float, offsets,
                                      confidence: float = 0.8) -> None:
    """The robust plan of ``pu`` (a plan under ``law``'s replicates at ``target``) reaches the
    target under at least ``confidence`` of them, and no N of the grid ``offsets`` (in ln N
    about it) is cheaper at the m-th smallest D_k(N) (:func:`robust_cost`); its cost is that
    function's at its own N."""
    robust = pu.robust
    assert robust is not None and robust.target_met_probability >= confidence
    m = int(np.ceil(confidence * len(law.replicates)))
    cost = robust_cost(law, target, m, tokens)
    best = np.log(float(robust.plan.params))
    assert float(robust.plan.total_flops) <= cost(best + offsets).min() * (1 + 1e-12)
    np.testing.assert_allclose(float(robust.plan.total_flops), cost(np.array([best]))[0],
                               rtol=1e-12)


def assert_dollar_budget_round_trip(law, plan, loss, demand, cost) -> None:
    """A dollar plan at a target ``loss``: the budget inverse at its cost returns its model, and
    the Chinchilla-optimal model of the same budget spends it and misses the loss (the first
    scenario, without inference demand, excepted)."""
    from computeplan.lifetime import budget_optimal, chinchilla_budget

    back = budget_optimal(law, budget=plan.total_cost_usd, demand=demand, cost=cost)
    np.testing.assert_allclose(back.params, plan.params, rtol=1e-9)
    np.testing.assert_allclose(back.loss, loss, rtol=1e-12)
    chin = chinchilla_budget(law, budget=plan.total_cost_usd, demand=demand, cost=cost)
    np.testing.assert_allclose(chin.total_cost_usd, plan.total_cost_usd, rtol=1e-9)
    assert np.all(chin.loss[1:] > loss)


def pruning_best_loss(law, pruning):
    """best_loss(TC, IC): pruning's best loss with exact compute-optimal models, the dense
    budget C0 solving TC / m(d) = C_opt(IC / (2 d)) by bisection in ln d."""
    x = pruning.fraction_per_round

    def c_opt(n):  # the compute-optimal budget of N parameters
        return float(law.compute_optimal(params=n).train_flops)

    def best_loss(tc, ic):
        def gap(z):  # > 0 when the inference budget binds at density e^z
            d = math.exp(z)
            return c_opt(ic / (2 * d)) - tc / max(1.0, (1 - d) / x)

        lo, hi = math.log(pruning.min_density), math.log1p(-x)
        if gap(lo) <= 0:
            c0 = c_opt(ic / (2 * pruning.min_density))
        elif gap(hi) >= 0 and tc <= c_opt(ic / (2 * (1 - x))):
            c0 = tc
        else:
            for _ in range(200):
                mid = 0.5 * (lo + hi)
                lo, hi = (mid, hi) if gap(mid) > 0 else (lo, mid)
            c0 = tc / ((1 - math.exp(0.5 * (lo + hi))) / x)
        return float(law.compute_optimal(train_flops=c0).loss)

    return best_loss


def assert_limited_replicates(pu, laws, target: float, unique_tokens: float,
                              inference_tokens: float, picks=None) -> None:
    """A data-limited plan under uncertainty ``pu`` over replicate laws ``laws``: reachable
    exactly where a replicate's lowest reachable loss is below ``target``, each reachable
    replicate's optimum (``picks``: those indices among them; default all) its own plan, the
    point plan's loss under each replicate its own data-limited loss."""
    u = unique_tokens
    floors = np.array([float(lowest_reachable_loss(one, u)) for one in laws])
    np.testing.assert_array_equal(pu.reachable, floors < target)
    reach = np.flatnonzero(pu.reachable)
    for j in range(len(reach)) if picks is None else picks(len(reach)):
        one = limited_optimal(laws[reach[j]], loss=target, unique_tokens=u,
                              inference_tokens=inference_tokens)
        np.testing.assert_allclose(pu.optimal.params[j], one.params, rtol=1e-10)
        np.testing.assert_allclose(pu.optimal.train_tokens[j], one.train_tokens, rtol=1e-10)
    point = pu.comparison.optimal
    own = [float(limited_loss(one, float(point.params), float(point.train_tokens), u))
           for one in laws]
    np.testing.assert_allclose(pu.point_loss, own, rtol=1e-12)


def assert_scaling_policy_is_brute_force(law, tech) -> None:
    """performance(TC, IC) of a scaling policy ``tech`` under ``law`` is the lowest loss over
    models N <= IC/2 trained on TC = 6 N D (a fine grid of N), at N_opt(TC) exactly."""
    from computeplan.tradeoffs.techniques import _compute_optimal_params

    for c in (1e21, 1e24):
        n_opt = float(_compute_optimal_params(law, c))
        np.testing.assert_allclose(n_opt, law.compute_optimal(train_flops=c).params,
                                   rtol=1e-10)
        for ic in (2 * n_opt * 0.1, 2 * n_opt * 0.7, 2 * n_opt * 10):
            n = np.geomspace(n_opt * 1e-3, ic / 2, 20001)
            brute = law.loss(n, c / (6 * n)).min()
            assert brute * (1 - 1e-12) <= float(tech.performance(c, ic)) <= brute * (1 + 1e-9)
