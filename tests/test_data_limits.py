"""Finite data: the Muennighoff et al. 2023 repeated-data law and the data-limited optimum."""

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from computeplan import InputError
from computeplan.data_limits import (
    base_params,
    effective_params,
    effective_tokens,
    foc_residual,
    limited_budget_optimal,
    limited_loss,
    limited_optimal,
    lowest_reachable_loss,
)
from computeplan.laws import DEFAULT_RD_STAR, DEFAULT_RN_STAR, PRESETS, ChinchillaLaw, get_law
from computeplan.lifetime import budget_optimal, lifetime_optimal
from computeplan.objectives import DollarCost

M23 = PRESETS["muennighoff2023"]
SARDANA = PRESETS["sardana2024"]


# ------------------------------------------------------------------ the law and its numbers
def test_preset_is_the_papers_fit():
    # datablations README: a, b, e, alpha, beta, rd_star, rn_star
    assert M23.A == math.exp(6.255414) and M23.B == math.exp(7.3049974)
    assert M23.E == math.exp(0.6254804) and M23.alpha == M23.beta == 0.3526596
    assert (M23.rd_star, M23.rn_star) == (15.387756, 5.309743)


@pytest.mark.parametrize("n, d, u, published", [
    (6.34e9, 242e9, 25e9, 2.2256440889984477),   # Figure 1 (right): the better of the two
    (8.67e9, 178e9, 25e9, 2.2269634075087867),
])
def test_published_losses(n, d, u, published):
    assert float(limited_loss(M23, n, d, u)) == pytest.approx(published, rel=1e-12, abs=0)


def test_base_params_is_the_compute_optimal_size_for_u_tokens():
    # datablations D_to_N(U) = (U G)^(beta/alpha) G is our compute-optimal N at D = U.
    for law in (M23, SARDANA):
        u = np.array([1e9, 1e11, 1e13])
        assert np.allclose(base_params(law, u), law.compute_optimal(train_tokens=u).params,
                           rtol=1e-13)


def test_unlimited_is_the_plain_law_bit_for_bit():
    n, d = np.geomspace(1e8, 1e12, 7), np.geomspace(1e9, 1e14, 7)
    assert np.array_equal(limited_loss(SARDANA, n, d, np.inf), SARDANA.loss(n, d))
    # and within the unique data (D <= U, N <= N_opt(U)) nothing changes either
    u = 1e15
    assert np.array_equal(effective_tokens(SARDANA, d, u), d)
    assert np.array_equal(effective_params(SARDANA, n, u), n)
    assert np.array_equal(limited_loss(SARDANA, n, d, u), SARDANA.loss(n, d))


def _compute_optimal_losses(epochs, u=100e9):
    """For the budget whose unique-data compute-optimal model needs ``epochs`` x U tokens: the
    loss with unlimited unique data and the best loss with only U unique tokens."""
    unique = M23.compute_optimal(train_tokens=np.asarray(epochs, float) * u)
    limited = limited_budget_optimal(M23, budget=unique.train_flops, unique_tokens=u,
                                     inference_tokens=0.0)
    return unique.loss, limited.loss


def test_four_epochs_are_almost_as_good_as_unique_data():
    # Muennighoff et al. 2023, abstract: "with constrained data for a fixed compute budget,
    # training with up to 4 epochs of repeated data yields negligible changes to loss compared
    # to having unique data".
    unique, limited = _compute_optimal_losses([1.0, 2.0, 4.0, 40.0])
    gap = limited / unique - 1
    assert gap[0] == 0.0
    assert np.all(gap[1:3] > 0) and np.all(gap[1:3] < 0.006)   # 0.15% at 2, 0.52% at 4 epochs
    assert gap[3] > 5 * gap[2]                                 # 3.5% at 40 epochs


def test_value_of_more_compute_decays_to_zero_with_repetition():
    # "... with more repetition, the value of adding compute eventually decays to zero": from
    # 40 to 100 epochs' worth of compute the limited loss barely moves.
    unique, limited = _compute_optimal_losses([40.0, 100.0])
    assert limited[0] - limited[1] < 0.05 * (unique[0] - unique[1])


def test_value_of_repetition_decays_beyond_rd_star():
    # The marginal value of a repeated token is exp(-R_D / R_D*): ~e^-1 at R_D* repetitions,
    # and the effective data approaches its cap U (1 + R_D*).
    u = 1e10
    d = np.array([1.0, 2.0, 4.0, 16.4, 40.0, 100.0, 1000.0]) * u
    d_eff = effective_tokens(M23, d, u)
    marginal = np.gradient(d_eff, d)
    assert np.all(np.diff(marginal) < 0)
    h = 1e-6 * u
    at_rd = float((effective_tokens(M23, (1 + M23.rd_star) * u + h, u)
                   - effective_tokens(M23, (1 + M23.rd_star) * u - h, u)) / (2 * h))
    assert at_rd == pytest.approx(math.exp(-1), rel=1e-6)
    cap = u * (1 + M23.rd_star)
    assert 1 - float(d_eff[-2]) / cap < 0.002 and float(d_eff[-1]) <= cap
    n = 1e9
    assert float(limited_loss(M23, n, 1000 * u, u) - limited_loss(M23, n, 100 * u, u)) > -1e-3


def test_lowest_reachable_loss_is_the_infimum():
    u = 1e10
    floor = float(lowest_reachable_loss(SARDANA, u))
    near = float(limited_loss(SARDANA, 3e10, 1e12, u))   # 70 x N_opt(U), 100 epochs
    big = float(limited_loss(SARDANA, 1e15, 1e16, u))
    assert floor < near < floor + 1e-3 and floor <= big < floor + 1e-12
    assert float(lowest_reachable_loss(SARDANA, np.inf)) == SARDANA.E



# ------------------------------------------------------------------ a large R_D*, R_N*
#: Repetition coefficients up to the largest finite ones: 1 - exp(-R / R*) cancels for R << R*.
large_star = st.floats(1.0, 1e308)


@settings(max_examples=200, deadline=None)
@given(large_star, large_star, st.floats(1.0, 1e6), st.floats(0.0, 1.0))
def test_effective_data_never_exceed_the_data_and_grow_with_the_star(s1, s2, epochs, which):
    """D' <= D and N' <= N, non-decreasing (to rounding) in R_D*, R_N* (Muennighoff et al.
    2023, eq. 5), for every R* (with 1 - exp(-R / R*) computed as -expm1: it cancelled for
    R* >> R, giving D' > D at R_D* = 1e16 and D' = U at 1e20)."""
    lo, hi = sorted((s1, s2))
    u = 1e6
    d = epochs * u
    n = float(base_params(M23, u)) * (1.0 + which * epochs)
    laws = [M23.with_overrides(rd_star=x, rn_star=x) for x in (lo, hi)]
    d_eff = [float(effective_tokens(law, d, u)) for law in laws]
    n_eff = [float(effective_params(law, n, u)) for law in laws]
    ulps = 1.0 + 4 * np.finfo(float).eps   # monotone to rounding
    assert d_eff[0] <= d_eff[1] * ulps and d_eff[1] <= d
    assert n_eff[0] <= n_eff[1] * ulps and n_eff[1] <= n


@pytest.mark.parametrize("star", [1e12, 1e16, 1e20, 1e300])
def test_a_large_star_loses_what_the_series_says(star):
    """For R << R*, D' = D - U R^2 / (2 R*) to first order in R / R*: the model of the issue
    (N = D = 1e9, U = 1e6, 999 repetitions), whose D' read 9.99999994e8, 1.0002e9 and 1e6."""
    u, d = 1e6, 1e9
    law = M23.with_overrides(rd_star=star, rn_star=star)
    rep = d / u - 1.0
    assert float(effective_tokens(law, d, u)) == pytest.approx(d - u * rep**2 / (2.0 * star),
                                                              rel=1e-15, abs=0.0)
    assert float(limited_loss(law, d, d, u)) == pytest.approx(float(law.loss(d, d)), rel=1e-9)


def test_forward_and_inverse_round_trip_for_a_large_star():
    """The solvers' log-space D' and its inverse (and the fitter's D') agree with eq. 5 for
    R* >> R, where 1 - exp(-R / R*) and log(1 - y / R*) cancel without expm1 and log1p."""
    from computeplan.data_limits import _forward, _inverse
    from computeplan.fitting.repetition import _effective_and_slope

    u, d = 1e6, np.array([2e6, 1e9, 1e12])
    for star in (1e12, 1e20, 1e300):
        law = M23.with_overrides(rd_star=star)
        exact = effective_tokens(law, d, u)
        log_de = _forward(np.log(d), np.log(u), star)[0]
        assert np.allclose(np.exp(log_de), exact, rtol=1e-14)
        assert np.allclose(np.exp(_inverse(log_de, np.log(u), star)[0]), d, rtol=1e-9)
        assert np.allclose(_effective_and_slope(d, u, star)[0], exact, rtol=1e-14)


@pytest.mark.parametrize("star", [1e12, 1e300])
def test_plans_with_a_large_star(star):
    """A data-limited plan with R_D* = 1e300 converges (it did not) and, as R_D* grows, its
    optimum nears the one whose repeated tokens are as good as fresh ones."""
    law = SARDANA.with_overrides(rd_star=star)
    plan = limited_optimal(law, loss=2.0, unique_tokens=1e12, inference_tokens=2e12)
    assert np.isfinite(plan.params) and np.isfinite(plan.train_tokens)
    assert float(plan.loss) == pytest.approx(2.0, rel=1e-9)

# ------------------------------------------------------------------ the law as a coefficient set
def test_law_files_round_trip_repetition_coefficients(tmp_path):
    law = SARDANA.with_overrides(rd_star=10.0, rn_star=3.0)
    path = tmp_path / "law.json"
    law.save(path)
    data = json.loads(path.read_text())
    assert (data["rd_star"], data["rn_star"]) == (10.0, 3.0)
    back = ChinchillaLaw.load(path)
    assert back == law and (back.rd_star, back.rn_star) == (10.0, 3.0)


def test_law_file_without_repetition_coefficients_uses_the_papers(tmp_path):
    path = tmp_path / "old.json"
    assert "rd_star" not in SARDANA.to_dict()
    path.write_text(json.dumps(SARDANA.coefficients()))
    law = ChinchillaLaw.load(path)
    assert (law.rd_star, law.rn_star) == (DEFAULT_RD_STAR, DEFAULT_RN_STAR)


def test_law_lacking_repetition_coefficients_is_an_error(tmp_path):
    path = tmp_path / "none.json"
    path.write_text(json.dumps(SARDANA.coefficients() | {"rd_star": None}))
    law = get_law(str(path))
    assert law.rd_star is None
    assert float(law.loss(1e9, 1e10)) == float(SARDANA.loss(1e9, 1e10))
    with pytest.raises(InputError, match="rd_star"):
        limited_loss(law, 1e9, 1e10, 1e9)
    with pytest.raises(InputError, match="rd_star"):
        limited_optimal(law, loss=2.0, unique_tokens=1e11, inference_tokens=1e12)


@pytest.mark.parametrize("value", [0.0, -1.0, float("nan"), "x", True])
def test_bad_repetition_coefficients(value):
    with pytest.raises(InputError, match="rd_star"):
        SARDANA.with_overrides(rd_star=value)


@pytest.mark.parametrize("u", [0.0, -1e9, float("nan")])
def test_bad_unique_tokens(u):
    with pytest.raises(InputError, match="unique_tokens must be a number > 0"):
        limited_loss(SARDANA, 1e9, 1e10, u)
    with pytest.raises(InputError, match="unique_tokens"):
        limited_optimal(SARDANA, loss=2.0, unique_tokens=u, inference_tokens=1e12)


def test_unreachable_target_names_the_lowest_reachable_loss():
    floor = float(lowest_reachable_loss(SARDANA, 1e11))
    with pytest.raises(InputError, match=f"it must be above {floor:.6g}, the lowest reachable"):
        limited_optimal(SARDANA, loss=floor, unique_tokens=1e11, inference_tokens=2e12)
    with pytest.raises(InputError, match="cannot be reached with unique_tokens 1e\\+11"):
        limited_optimal(SARDANA, loss=[2.5, floor - 0.01], unique_tokens=1e11,
                        inference_tokens=2e12)


# ------------------------------------------------------------------ the data-limited optimum
def _plan_equal(a, b):
    return all(np.array_equal(getattr(a, k), getattr(b, k))
               for k in ("params", "train_tokens", "loss", "total_flops"))


def test_unlimited_plans_are_unchanged_bit_for_bit():
    loss, tokens = np.array([1.947, 2.0, 2.2]), np.array([2e12, 1e13, 0.0])
    for u in (np.inf, 1e16):  # no limit, and a limit that does not bind
        assert _plan_equal(limited_optimal(SARDANA, loss=loss, unique_tokens=u,
                                           inference_tokens=tokens),
                           lifetime_optimal(SARDANA, loss=loss, inference_tokens=tokens))
        assert _plan_equal(limited_budget_optimal(SARDANA, budget=1e24, unique_tokens=u,
                                                  inference_tokens=tokens),
                           budget_optimal(SARDANA, budget=1e24, inference_tokens=tokens))


def test_data_constrained_optimum_prefers_epochs_to_parameters():
    # Muennighoff et al. 2023, Figure 1 (right): at ~9.2e21 FLOPs with 25e9 unique tokens,
    # 6.34e9 parameters on 242e9 tokens (loss 2.22564) beat the Chinchilla-style 8.67e9 on 178e9
    # (2.22696). The exact optimum is better still, and also a smaller model on more epochs
    # than the compute-optimal model for unlimited data.
    budget = 6 * 6.34e9 * 242e9
    plan = limited_budget_optimal(M23, budget=budget, unique_tokens=25e9, inference_tokens=0.0)
    chinchilla = M23.compute_optimal(train_flops=budget)
    assert float(plan.loss) < 2.2256440889984477 < 2.2269634075087867
    assert float(plan.params) < float(chinchilla.params)
    assert float(plan.train_tokens) > float(chinchilla.train_tokens)


def test_sardana_example_with_a_data_limit():
    # Sardana et al.'s FLOPs example asks for 2.657e12 tokens; with 1e12 unique tokens the
    # optimum is a larger model on 2.6 epochs, at a higher lifetime cost.
    free = lifetime_optimal(SARDANA, loss=1.947, inference_tokens=2e12)
    lim = limited_optimal(SARDANA, loss=1.947, unique_tokens=1e12, inference_tokens=2e12)
    assert float(lim.loss) == pytest.approx(1.947, rel=1e-14)
    assert float(lim.params) > float(free.params)
    assert float(lim.total_flops) > float(free.total_flops)
    assert 1 < float(lim.train_tokens) / 1e12 < float(free.train_tokens) / 1e12


def _brute_force_cost(law, loss, u, r, n_grid=2001):
    """Minimum of N (D + r) over a log grid of (N, D) pairs with L(N, D; U) <= loss."""
    n = np.geomspace(1e7, 1e14, n_grid)[:, None]
    d = np.geomspace(1e8, 1e16, n_grid)[None, :]
    ok = limited_loss(law, n, d, u) <= loss
    return np.where(ok, n * (d + r), np.inf).min()


@pytest.mark.parametrize("loss, u, r", [(1.947, 1e12, 2e12 / 3), (2.1, 1e11, 1e12),
                                        (2.3, 1e10, 1e11), (2.0, 3e11, 0.0)])
def test_brute_force_over_n_and_d_agrees(loss, u, r):
    plan = limited_optimal(SARDANA, loss=loss, unique_tokens=u, inference_tokens=3 * r)
    cost = float(plan.params * (plan.train_tokens + r))
    brute = _brute_force_cost(SARDANA, loss, u, r)
    assert cost <= brute * (1 + 1e-12)       # no grid point is cheaper
    assert brute <= cost * (1 + 2e-3)        # and the grid gets close (grid resolution)


def _reachable(law, loss, u, margin=0.02):
    """A target at least ``margin`` of the reducible loss above the data-limited floor."""
    floor = float(lowest_reachable_loss(law, u))
    return loss > floor + margin * (loss - law.E)


def _limited_plan(s):
    """(loss, U, inference tokens, the data-limited optimum) of a drawn scenario; the plan is
    ``None`` when the target is not comfortably reachable with U unique tokens."""
    loss, log_u, log_t = s
    u, t = 10.0**log_u, 10.0**log_t
    if not _reachable(SARDANA, loss, u):
        return loss, u, t, None
    return loss, u, t, limited_optimal(SARDANA, loss=loss, unique_tokens=u, inference_tokens=t)


scenario = st.tuples(st.floats(1.9, 2.6), st.floats(10.0, 13.5), st.floats(9.0, 14.0))


@settings(max_examples=60, deadline=None)
@given(scenario)
def test_first_order_condition_holds(s):
    loss, u, t, plan = _limited_plan(s)
    if plan is None:
        return
    assert abs(float(foc_residual(SARDANA, plan.params, plan.train_tokens, u, t / 3))) < 1e-10
    assert float(plan.loss) == pytest.approx(loss, rel=1e-12)
    budget = limited_budget_optimal(SARDANA, budget=plan.total_flops, unique_tokens=u,
                                    inference_tokens=t)
    assert abs(float(foc_residual(SARDANA, budget.params, budget.train_tokens, u, t / 3))) < 1e-10


@settings(max_examples=60, deadline=None)
@given(scenario, st.floats(0.05, 0.95))
def test_more_unique_data_never_hurts(s, shrink):
    loss, log_u, log_t = s
    u, t = 10.0**log_u, 10.0**log_t
    small = u * shrink
    if not _reachable(SARDANA, loss, small):
        return
    plans = limited_optimal(SARDANA, loss=loss, unique_tokens=[small, u, np.inf],
                            inference_tokens=t)
    cost, n, d = plans.total_flops, plans.params, plans.train_tokens
    assert cost[0] >= cost[1] * (1 - 1e-12) and cost[1] >= cost[2] * (1 - 1e-12)
    # While the extra parameters are not themselves penalised (N <= N_opt(U)), shrinking U
    # moves the optimum to a larger model on fewer training tokens (fewer epochs than the
    # unlimited plan would need). Below that, the law discounts excess parameters faster than
    # repeated tokens (R_N* < R_D*) and the optimum turns back to smaller models on more epochs
    # (see test_data_constrained_optimum_prefers_epochs_to_parameters).
    if n[0] <= float(base_params(SARDANA, small)):
        assert n[0] >= n[1] * (1 - 1e-9) and n[1] >= n[2] * (1 - 1e-9)
        assert d[0] <= d[1] * (1 + 1e-9) and d[1] <= d[2] * (1 + 1e-9)
    # a budget buys a loss no worse with more unique data
    lb = limited_budget_optimal(SARDANA, budget=cost[2], unique_tokens=[small, u, np.inf],
                                inference_tokens=t).loss
    assert lb[0] >= lb[1] - 1e-12 and lb[1] >= lb[2] - 1e-12


@settings(max_examples=40, deadline=None)
@given(scenario)
def test_budget_inverse_round_trips_with_the_limit(s):
    loss, u, t, plan = _limited_plan(s)
    if plan is None:
        return
    back = limited_budget_optimal(SARDANA, budget=plan.total_flops, unique_tokens=u,
                                  inference_tokens=t)
    assert float(back.loss) == pytest.approx(loss, rel=1e-10)
    assert float(back.params) == pytest.approx(float(plan.params), rel=1e-7)
    assert float(back.train_tokens) == pytest.approx(float(plan.train_tokens), rel=1e-7)


def test_dollar_objective_with_a_limit_round_trips():
    cost = DollarCost(train_gpu="a100-80gb", train_usd_per_gpu_hour=1.40, train_mfu=0.5,
                      inference_gpu="a100-40gb", inference_dtype="int8",
                      inference_usd_per_gpu_hour=0.60, prefill_mfu=0.4, decode_mfu=0.2)
    from computeplan.demand import Demand
    demand = Demand.from_requests(1e10, 1000, 250)
    plan = limited_optimal(SARDANA, loss=1.947, unique_tokens=1e12, demand=demand, cost=cost)
    free = lifetime_optimal(SARDANA, loss=1.947, demand=demand, cost=cost)
    assert float(plan.total_cost_usd) > float(free.total_cost_usd)
    back = limited_budget_optimal(SARDANA, budget=plan.total_cost_usd, unique_tokens=1e12,
                                  demand=demand, cost=cost)
    assert float(back.loss) == pytest.approx(1.947, rel=1e-10)


def test_vectorised_over_scenarios():
    loss = np.array([[1.947], [2.1]])
    u = np.array([3e11, 1e12, np.inf])
    plan = limited_optimal(SARDANA, loss=loss, unique_tokens=u, inference_tokens=2e12)
    assert plan.params.shape == (2, 3)
    for i in range(2):
        for j in range(3):
            one = limited_optimal(SARDANA, loss=float(loss[i, 0]), unique_tokens=float(u[j]),
                                  inference_tokens=2e12)
            assert float(one.params) == pytest.approx(float(plan.params[i, j]), rel=1e-12)


def test_fast_and_safeguarded_solvers_agree():
    # The table start with two Newton steps, and the safeguarded iteration from the unlimited
    # optimum (the path of scenarios outside the table), find the same optimum.
    from computeplan import data_limits as dl
    from computeplan.lifetime import _solve_fixed_loss

    rng = np.random.default_rng(3)
    u = 10 ** rng.uniform(10, 13, 400)
    floor = lowest_reachable_loss(SARDANA, u)
    loss = floor + (2.6 - floor) * rng.uniform(0.05, 1.0, 400)
    r = 10 ** rng.uniform(8, 14, 400)
    delta = loss - SARDANA.E
    n, d, lim = dl.limited_fixed_loss(SARDANA, delta, r, u)
    _, d_unl = _solve_fixed_loss(SARDANA, delta, r)
    bind = d_unl > u
    assert bind.mean() > 0.3
    log_u = np.log(u[bind])
    n2, d2, lim2 = dl._fixed_loss_newton(SARDANA, delta[bind], r[bind], log_u,
                                         dl._log_base_params(SARDANA, log_u), np.log(d_unl[bind]))
    assert np.allclose(n[bind], n2, rtol=1e-10, atol=0)
    assert np.allclose(d[bind], d2, rtol=1e-10, atol=0)
    # the reported loss is the law's loss of the reported model, and the target
    assert np.allclose(limited_loss(SARDANA, n, d, u), lim, rtol=1e-12, atol=0)
    assert np.allclose(lim, loss, rtol=1e-12, atol=0)
    # where the limit does not bind, the unlimited optimum
    free = lifetime_optimal(SARDANA, loss=loss[~bind], inference_tokens=3 * r[~bind])
    assert np.allclose(n[~bind], free.params, rtol=1e-14, atol=0)


def test_unreachable_target_among_many_is_named():
    u = np.full(5, 1e11)
    floor = float(lowest_reachable_loss(SARDANA, 1e11))
    loss = np.array([2.3, 2.2, floor - 1e-3, 2.5, 2.4])
    with pytest.raises(InputError, match=r"at index 2\).*must be above"):
        limited_optimal(SARDANA, loss=loss, unique_tokens=u, inference_tokens=1e12)


# ------------------------------------------------------------------ plans that report the limit
def test_compare_reports_the_data_limit():
    from computeplan.lifetime import compare
    from computeplan.render import data_limit_lines, dumps

    plain = compare(SARDANA, loss=1.947, inference_tokens=2e12)
    assert plain.data_limit is None and "data_limit" not in plain.to_dict()
    lim = compare(SARDANA, loss=1.947, inference_tokens=2e12, unique_tokens=1e12)
    dl = lim.data_limit
    assert _plan_equal(dl.unlimited, plain.optimal) and _plan_equal(lim.chinchilla,
                                                                    plain.chinchilla)
    assert bool(dl.binding) and float(dl.unlimited_epochs) == pytest.approx(2.657, rel=1e-3)
    assert float(dl.epochs) == pytest.approx(float(lim.optimal.train_tokens) / 1e12, rel=1e-15)
    assert float(lim.optimal.loss) == pytest.approx(1.947, rel=1e-12)
    assert float(dl.extra_cost) > 0 and float(dl.loss_given_up) == 0.0
    assert float(dl.extra_cost_ratio) == pytest.approx(
        float(lim.optimal.total_flops / plain.optimal.total_flops) - 1, rel=1e-12)
    # trained on 1T unique tokens, the unlimited plan falls short of the target
    assert float(dl.unlimited_loss_with_limit) > 1.947
    data = json.loads(dumps(lim))["data_limit"]
    assert data["binding"] is True and data["extra_total_flops"] > 0
    assert data["lowest_reachable_loss"] == pytest.approx(
        float(lowest_reachable_loss(SARDANA, 1e12)), rel=1e-15)
    lines = data_limit_lines(lim)
    assert lines[0].startswith("data limit: 1T unique tokens bind")
    assert "a larger model on fewer epochs" in lines[0] and "more over the lifetime" in lines[1]


def test_compare_at_a_budget_reports_the_loss_given_up():
    from computeplan.lifetime import compare
    from computeplan.render import data_limit_lines

    lim = compare(SARDANA, budget=3e24, inference_tokens=2e12, unique_tokens=1e12)
    dl = lim.data_limit
    assert float(dl.loss_given_up) > 0 and float(dl.extra_cost) == 0.0
    assert float(lim.optimal.total_flops) == pytest.approx(3e24, rel=1e-10)
    # beyond N_opt(U) extra parameters count less: here the optimum is smaller, on more epochs
    assert float(lim.optimal.params) < float(dl.unlimited.params)
    assert float(dl.base_params) < float(lim.optimal.params)
    assert "gives up" in data_limit_lines(lim)[1]


def test_compare_with_a_limit_that_does_not_bind_is_the_plain_plan():
    from computeplan.lifetime import compare
    from computeplan.render import data_limit_lines

    plain = compare(SARDANA, loss=[1.947, 2.1], inference_tokens=2e12)
    for u in (np.inf, 1e16):
        lim = compare(SARDANA, loss=[1.947, 2.1], inference_tokens=2e12, unique_tokens=u)
        assert _plan_equal(lim.optimal, plain.optimal)
        assert not lim.data_limit.binding.any()
        assert np.all(lim.data_limit.extra_cost == 0)
    assert "do not bind" in data_limit_lines(lim)[0]


# ------------------------------------------------------------------ fitting R_D*, R_N*
def _repeated_runs(m=60, seed=0):
    """Runs of the muennighoff2023 law, noise-free: some on unique data, some repeating data
    (up to 100 epochs), some with more parameters than N_opt(U)."""
    rng = np.random.default_rng(seed)
    n = 10 ** rng.uniform(7.5, 10, m)
    u = 10 ** rng.uniform(9, 11, m)
    epochs = np.where(rng.random(m) < 0.4, 1.0, 10 ** rng.uniform(0, 2, m))
    d = epochs * u * rng.uniform(0.3, 1.0, m)
    return n, d, u, limited_loss(M23, n, d, u)


def test_fit_recovers_the_repetition_coefficients():
    from computeplan.fitting import Runs, fit_runs

    n, d, u, loss = _repeated_runs()
    result = fit_runs(Runs.from_arrays(n, d, loss, unique_tokens=u))
    rep = result.repetition
    assert set(rep.fitted) == {"rd_star", "rn_star"} and rep.n_repeated > 10
    assert rep.rd_star == pytest.approx(M23.rd_star, rel=1e-4)
    assert rep.rn_star == pytest.approx(M23.rn_star, rel=1e-4)
    assert result.coefficients["alpha"] == pytest.approx(M23.alpha, rel=1e-4)
    law = result.law
    assert (law.rd_star, law.rn_star) == (rep.rd_star, rep.rn_star)
    assert "repetition" in result.to_dict()


def test_fit_without_repeated_runs_keeps_the_coefficients_and_says_so():
    from computeplan.fitting import Runs, fit_runs

    n, d, _, _ = _repeated_runs(m=30, seed=1)
    loss = M23.loss(n, d)
    plain = fit_runs(Runs.from_arrays(n, d, loss))
    assert plain.repetition is None and "repetition" not in plain.to_dict()
    # unique tokens that cover every run: nothing repeats, the base fit is the plain fit
    u = np.full_like(n, 1e15)
    with_u = fit_runs(Runs.from_arrays(n, d, loss, unique_tokens=u))
    assert with_u.coefficients == plain.coefficients
    assert with_u.repetition.fitted == ()
    assert (with_u.law.rd_star, with_u.law.rn_star) == (DEFAULT_RD_STAR, DEFAULT_RN_STAR)
    assert any("rd_star is not determined" in note for note in with_u.repetition.notes)


def test_fit_reads_a_unique_tokens_column(tmp_path):
    from computeplan.fitting import read_runs

    path = tmp_path / "runs.csv"
    path.write_text("params,tokens,loss,unique\n1e9,2e10,2.5,1e10\n2e9,1e10,2.4,1e11\n")
    runs = read_runs(path, unique_tokens_col="unique")
    assert runs.unique_tokens.tolist() == [1e10, 1e11]
    assert runs.repeated.tolist() == [True, False]
    path.write_text("params,tokens,loss,unique\n1e9,2e10,2.5,0\n")
    with pytest.raises(InputError, match="column 'unique' must be > 0"):
        read_runs(path, unique_tokens_col="unique")
    with pytest.raises(InputError, match="column 'nope' \\(set by unique_tokens_col\\)"):
        read_runs(path, unique_tokens_col="nope")


def test_loss_inverses_round_trip_the_published_models():
    from computeplan.data_limits import limited_params_for_loss, limited_tokens_for_loss

    for n, d in ((6.34e9, 242e9), (8.67e9, 178e9)):
        loss = limited_loss(M23, n, d, 25e9)
        assert float(limited_tokens_for_loss(M23, loss, n, 25e9)) == pytest.approx(d, rel=1e-12)
        assert float(limited_params_for_loss(M23, loss, d, 25e9)) == pytest.approx(n, rel=1e-12)
    # below what 6.34e9 parameters reach with 25e9 unique tokens at any number of epochs
    with pytest.raises(InputError, match="it must be above 2.18"):
        limited_tokens_for_loss(M23, 2.1, 6.34e9, 25e9)


def test_scaling_policy_with_a_data_limit():
    from computeplan.tradeoffs.techniques import ScalingPolicy

    free, lim = ScalingPolicy(law=SARDANA), ScalingPolicy(law=SARDANA, unique_tokens=2e12)
    tc, ic = np.geomspace(1e22, 1e26, 9)[:, None], np.geomspace(1e9, 1e13, 7)[None, :]
    worse = lim.performance(tc, ic) - free.performance(tc, ic)
    assert np.all(worse >= -1e-12) and np.any(worse > 1e-3)   # the limit never helps
    # with unique tokens to spare the loss is the plain one
    big = ScalingPolicy(law=SARDANA, unique_tokens=1e18)
    assert np.allclose(big.performance(tc, ic), free.performance(tc, ic), rtol=1e-13, atol=0)
    floor = float(lowest_reachable_loss(SARDANA, 2e12))
    assert lim.level_range()[0] == floor
    with pytest.raises(InputError, match="level"):
        lim.check_level(floor - 0.01)
    with pytest.raises(InputError, match="unique_tokens"):
        ScalingPolicy(law=SARDANA, unique_tokens=-1.0)


def _noisy_runs(m=80, noise=0.002, seed=3):
    n, d, u, loss = _repeated_runs(m, seed)
    return n, d, u, loss * np.exp(np.random.default_rng(seed + 1).normal(0.0, noise, m))


def test_repetition_objective_gradient_matches_finite_differences():
    from computeplan.fitting.repetition import repetition_objective

    n, d, u, loss = _noisy_runs(m=40)
    coef = {k: getattr(M23, k) for k in ("E", "A", "B", "alpha", "beta", "rd_star", "rn_star")}
    fitted = ("rd_star", "rn_star")
    x = np.array([[np.log(10.0), np.log(3.0)], [np.log(30.0), np.log(8.0)]])
    f, g = repetition_objective(x, fitted, coef, n, d, u, np.log(loss), np.ones_like(n))
    h = 1e-6
    for j in range(2):
        step = np.zeros(2)
        step[j] = h
        up = repetition_objective(x + step, fitted, coef, n, d, u, np.log(loss), 1.0)[0]
        down = repetition_objective(x - step, fitted, coef, n, d, u, np.log(loss), 1.0)[0]
        assert np.allclose(g[:, j], (up - down) / (2 * h), rtol=1e-5, atol=1e-12)
    # the prediction is the data-limited law
    from computeplan.fitting.repetition import predict

    assert np.allclose(predict(coef, n, d, u)[0], limited_loss(M23, n, d, u), rtol=1e-13)


def test_repetition_bootstrap_and_holdout():
    """R_D*, R_N* carry bootstrap intervals: on noise-free runs they collapse onto the truth, on
    noisy runs they cover it; holding out the runs beyond 10 epochs refits both stages and
    predicts those runs with the data-limited law."""
    from computeplan.fitting import Runs, fit_runs

    n, d, u, loss = _repeated_runs(m=60)
    exact = fit_runs(Runs.from_arrays(n, d, loss, unique_tokens=u), bootstrap=20, seed=0)
    rb = exact.repetition.bootstrap
    assert rb.ok.sum() >= 15
    for k in ("rd_star", "rn_star"):
        iv = rb.intervals()[k]
        assert iv["lo"] <= getattr(exact.repetition, k) <= iv["hi"]
        assert iv["hi"] - iv["lo"] < 1e-3 * getattr(M23, k)
    n, d, u, loss = _noisy_runs()
    result = fit_runs(Runs.from_arrays(n, d, loss, unique_tokens=u), bootstrap=60, seed=1,
                      holdout="epochs>10")
    rep, rb = result.repetition, result.repetition.bootstrap
    assert rb.ok.sum() >= 40
    out = result.to_dict()["repetition"]["bootstrap"]
    assert out["replicates"] == 60 and set(out["intervals"]) == {"rd_star", "rn_star"}
    for k in ("rd_star", "rn_star"):
        iv = rb.intervals()[k]
        assert 0 < iv["se"] and iv["lo"] < getattr(M23, k) < iv["hi"]  # covers the truth
        assert iv["hi"] - iv["lo"] > 1e-2 * getattr(M23, k)  # and is not a point
    held = result.holdout
    epochs = held.held_out.train_tokens / held.held_out.unique_tokens
    assert np.all(epochs > 10) and len(held.held_out) >= 5
    assert held.summary()["n_fit"] + len(held.held_out) == len(n)
    assert held.repetition is not None and "rd_star" in held.repetition.fitted
    # the data-limited law predicts runs beyond 10 epochs to within the noise, and far better
    # than the same base law with all tokens unique
    assert held.summary()["max_abs_relative_error"] < 0.02
    from computeplan.fitting.core import predict_loss

    unique = predict_loss(held.fit.coefficients, held.held_out.params,
                          held.held_out.train_tokens)
    assert np.mean(np.abs(unique / held.held_out.loss - 1)) > 3 * held.summary()[
        "mean_abs_relative_error"]
    iv = held.intervals
    assert 0 < iv["mean_relative_half_width"] and iv["extrapolation_scale"] == 0.0
    assert "no extrapolation term" in iv["method"]
    assert "repetition" in result.to_dict()["holdout"]
    # runs that train on fewer tokens than their unique data are named in one note
    assert any("train on fewer tokens than their unique tokens (D < U" in note
               for note in rep.notes)


def test_holdout_on_epochs_needs_unique_tokens():
    from computeplan.fitting import Runs, fit_runs

    n, d, _, loss = _repeated_runs(m=30, seed=1)
    with pytest.raises(InputError, match="epochs need the unique tokens of each run"):
        fit_runs(Runs.from_arrays(n, d, M23.loss(n, d)), holdout="epochs>2")
