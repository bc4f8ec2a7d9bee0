"""Dated plans (computeplan.timeline): closed-form present-value factors against quadrature,
the constant-demand formula, bit-for-bit agreement with today's plans when every trend is off,
exact optima with a training time, monotonicity, Erdil's rule, and bad input."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad

from computeplan import Demand, DollarCost, FlopsObjective, InputError, compare, get_law
from computeplan.lifetime import evaluate
from computeplan.timeline import (
    DAYS_PER_YEAR,
    PRICE_PERFORMANCE_PRESETS,
    Timeline,
    constant_demand_factor,
    dated_compare,
    scaled,
)

LAW = get_law("sardana2024")
H100_CLUSTER = 1024 * 989.4e12 * 0.5  # FLOP/s: 1,024 H100 SXM at bf16 peak, MFU 0.5


def _quad_factor(t: Timeline) -> float:
    """F by adaptive quadrature of the shape, straight from its definition."""
    h = float(t.horizon_years)
    ramp = float(t.demand_ramp_days) / DAYS_PER_YEAR
    tail = float(t.demand_tail_days) / DAYS_PER_YEAR
    g, k = float(t.growth_rate), float(t.decline_rate)

    def w(s):
        body = min(s / ramp, 1.0) if ramp > 0 else 1.0
        taper = min(1.0, (h - s) / tail) if tail > 0 else 1.0
        return body * taper * math.exp(g * s)

    pts = sorted({p for p in (ramp, h - tail) if 0 < p < h})
    opts = dict(points=pts or None, epsabs=0.0, epsrel=1e-13, limit=200)
    num = quad(lambda s: w(s) * math.exp(-k * s), 0.0, h, **opts)[0]
    return num / quad(w, 0.0, h, **opts)[0]


timelines = st.builds(
    Timeline,
    horizon_days=st.floats(1.0, 20 * DAYS_PER_YEAR),
    demand_growth_per_year=st.sampled_from([0.0, 0.3, -0.4, 2.0]),
    price_performance_doubling_years=st.one_of(st.none(), st.floats(0.3, 10.0),
                                               st.sampled_from(list(PRICE_PERFORMANCE_PRESETS))),
    discount_rate_per_year=st.floats(-0.2, 0.5),
    compounding=st.sampled_from(["annual", "continuous"]),
).flatmap(lambda t: st.tuples(st.just(t), st.floats(0.0, 1.0), st.floats(0.0, 1.0)))


@settings(max_examples=150, deadline=None)
@given(timelines)
def test_closed_form_factor_matches_quadrature(args):
    base, ramp_frac, tail_frac = args
    h = float(base.horizon_days)
    t = Timeline(horizon_days=h, demand_ramp_days=ramp_frac * h, demand_tail_days=tail_frac * h,
                 demand_growth_per_year=base.demand_growth_per_year,
                 price_performance_doubling_years=base.price_performance_doubling_years,
                 discount_rate_per_year=base.discount_rate_per_year,
                 compounding=base.compounding)
    assert float(t.service_factor()) == pytest.approx(_quad_factor(t), rel=1e-9, abs=0)


def test_factor_broadcasts_and_per_year_windows_add_up():
    t = Timeline(horizon_days=np.array([[200.0], [1000.0]]), demand_ramp_days=100.0,
                 demand_tail_days=150.0, demand_growth_per_year=np.array([0.0, 0.5, 3.0]),
                 price_performance_doubling_years="ml-gpus", discount_rate_per_year=0.08)
    f = t.service_factor()
    assert f.shape == (2, 3)
    for i, j in np.ndindex(2, 3):
        one = Timeline(horizon_days=float(t.horizon_days[i, 0]), demand_ramp_days=100.0,
                       demand_tail_days=150.0,
                       demand_growth_per_year=float(t.demand_growth_per_year[j]),
                       price_performance_doubling_years=2.07, discount_rate_per_year=0.08)
        assert f[i, j] == pytest.approx(_quad_factor(one), rel=1e-9)
    years = t.yearly(np.full((2, 3), 1e24), 4)
    np.testing.assert_allclose(years["demand_share"].sum(-1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(years["present_value_factor"].sum(-1), t.inference_factor(1e24),
                               rtol=1e-12)


@pytest.mark.parametrize("compounding", ["annual", "continuous"])
@pytest.mark.parametrize("doubling,rate,days", [(2.46, 0.0, 365.0), (2.07, 0.1, 730.0),
                                                 (None, 0.05, 1500.0), (2.95, 0.3, 30.0)])
def test_constant_demand_optimum_is_static_solver_fed_effective_demand(compounding, doubling,
                                                                       rate, days):
    """D_eff = D_inf (1 - e^(-kH)) / (kH), k = ln2/T + r (continuous) or + ln(1 + r) (annual)."""
    t = Timeline(horizon_days=days, price_performance_doubling_years=doubling,
                 discount_rate_per_year=rate, compounding=compounding)
    rho = rate if compounding == "continuous" else math.log1p(rate)
    k = (math.log(2.0) / doubling if doubling else 0.0) + rho
    h = days / DAYS_PER_YEAR
    d_eff = 2e12 * -math.expm1(-k * h) / (k * h)
    assert float(constant_demand_factor(k, h)) == pytest.approx(d_eff / 2e12, rel=1e-15)
    dated = dated_compare(LAW, loss=np.array([1.9, 1.947, 2.1]), demand=Demand.from_tokens(2e12),
                          objective=FlopsObjective(), timeline=t)
    static = compare(LAW, loss=np.array([1.9, 1.947, 2.1]), inference_tokens=d_eff)
    for key in ("params", "train_tokens"):
        np.testing.assert_allclose(getattr(dated.comparison.optimal, key),
                                   getattr(static.optimal, key), rtol=1e-12, atol=0)
    np.testing.assert_allclose(dated.optimal.present.total_flops, static.optimal.total_flops,
                               rtol=1e-12)


def _flat(plan):
    return {k: np.asarray(val) for k, val in plan.to_dict().items()}


@pytest.mark.parametrize("budget", [None, 1e24])
@pytest.mark.parametrize("priced", [False, True])
def test_all_trends_off_is_todays_plan_bit_for_bit(budget, priced):
    demand = Demand.from_requests(1e10, 1000, 250)
    cost = DollarCost() if priced else None
    if priced and budget:
        budget = 2e6
    kwargs = dict(loss=None if budget else 1.947, budget=budget)
    today = compare(LAW, demand=demand, cost=cost, **kwargs)
    for t in (Timeline(horizon_days=900.0, demand_ramp_days=100.0, demand_growth_per_year=0.7,
                       demand_tail_days=50.0),
              Timeline(train_flops_per_second=H100_CLUSTER)):
        dated = dated_compare(LAW, demand=demand, objective=today.objective, timeline=t,
                              **kwargs)
        for which in ("chinchilla", "optimal"):
            a, b = _flat(getattr(today, which)), _flat(getattr(dated.comparison, which))
            assert a.keys() == b.keys()
            for key in a:
                assert np.array_equal(a[key], b[key]), (which, key)
            b = _flat(getattr(dated, which).present)
            for key in a:
                assert np.array_equal(a[key], b[key]), (which, key)


def _iso_cost(law, loss, n, p, q, f):
    """Lifetime cost p N D + q N f at N on the iso-loss curve, for a fixed factor f."""
    d = law.tokens_for_loss(loss, n)
    return p * n * d + q * n * f


@pytest.mark.parametrize("gpus", [64, 1024])
def test_training_time_plan_is_self_consistent_and_optimal_for_its_serving_start(gpus):
    t = Timeline(horizon_days=730.0, price_performance_doubling_years="all-gpus",
                 discount_rate_per_year=0.1, train_flops_per_second=gpus * 989.4e12 * 0.5)
    demand = Demand.from_tokens(np.array([2e12, 2e13, 1e14, 1e16]))
    dated = dated_compare(LAW, loss=1.947, demand=demand, objective=FlopsObjective(),
                          timeline=t)
    opt = dated.comparison.optimal
    # the fixed point: f is the factor of the plan's own training time t0 = 6 N D / S
    t0 = opt.train_flops / t.train_flops_per_second / (DAYS_PER_YEAR * 86400)
    f = math.exp(-float(t.decline_rate) * 1.0) ** t0 * t.service_factor()
    np.testing.assert_allclose(dated.optimal.inference_factor, f, rtol=1e-13)
    np.testing.assert_allclose(dated.optimal.train_days, t0 * DAYS_PER_YEAR, rtol=1e-13)
    assert np.all(f < t.service_factor())
    # today's solver fed the effective demand f D_inf gives the same plan
    static = compare(LAW, loss=1.947, inference_tokens=demand.total_tokens * f)
    np.testing.assert_allclose(opt.params, static.optimal.params, rtol=1e-12)
    # and for that serving start it is the present-value minimum on the iso-loss curve
    q = 2.0 * demand.total_tokens
    best = _iso_cost(LAW, 1.947, opt.params, 6.0, q, f)
    np.testing.assert_allclose(best, dated.optimal.present.total_flops, rtol=1e-13)
    for h in (1e-3, -1e-3):
        assert np.all(_iso_cost(LAW, 1.947, opt.params * math.exp(h), 6.0, q, f) > best)
    # serving later (after training) discounts inference more than serving at once, so the
    # self-consistent model is larger
    at_once = dated_compare(LAW, loss=1.947, demand=demand, objective=FlopsObjective(),
                            timeline=Timeline(horizon_days=730.0,
                                              price_performance_doubling_years="all-gpus",
                                              discount_rate_per_year=0.1))
    assert np.all(opt.params > at_once.comparison.optimal.params)


def test_training_time_budget_plans_spend_the_budget_in_present_value():
    t = Timeline(horizon_days=365.0, price_performance_doubling_years=2.0,
                 discount_rate_per_year=0.2, train_flops_per_second=256 * 989.4e12 * 0.5)
    demand = Demand.from_tokens(np.array([2e12, 2e13]))
    x = 1e24
    dated = dated_compare(LAW, budget=x, demand=demand, objective=FlopsObjective(), timeline=t)
    np.testing.assert_allclose(dated.optimal.present.total_flops, x, rtol=1e-12)
    np.testing.assert_allclose(dated.chinchilla.present.total_flops, x, rtol=1e-12)
    chin = dated.comparison.chinchilla
    np.testing.assert_allclose(chin.train_tokens / chin.params,
                               LAW.compute_optimal(params=chin.params).tokens_per_param,
                               rtol=1e-9)
    for which in ("optimal", "chinchilla"):
        plan = getattr(dated.comparison, which)
        f = getattr(dated, which).inference_factor
        static = compare(LAW, budget=x, inference_tokens=demand.total_tokens * f)
        np.testing.assert_allclose(plan.params, getattr(static, which).params, rtol=1e-12)
    assert np.all(dated.comparison.optimal.loss < dated.comparison.chinchilla.loss)


def test_dollar_objective_present_value_and_per_year_table():
    cost = DollarCost(train_gpu="a100-80gb", train_usd_per_gpu_hour=1.40, train_mfu=0.5,
                      inference_gpu="a100-40gb", inference_dtype="int8",
                      inference_usd_per_gpu_hour=0.60, prefill_mfu=0.4, decode_mfu=0.2)
    demand = Demand.from_requests(1e10, 1000, 250)
    t = Timeline(horizon_days=3 * DAYS_PER_YEAR, demand_growth_per_year=1.0,
                 price_performance_doubling_years="all-gpus", discount_rate_per_year=0.1)
    dated = dated_compare(LAW, loss=1.947, demand=demand, objective=cost, timeline=t)
    opt = dated.comparison.optimal
    years = dated.per_year()
    assert years["year"].tolist() == [1.0, 2.0, 3.0]
    assert years["train_cost_usd"].tolist() == [float(opt.train_cost_usd), 0.0, 0.0]
    np.testing.assert_allclose(years["present_value_inference_cost_usd"].sum(),
                               dated.optimal.present.inference_cost_usd, rtol=1e-12)
    np.testing.assert_allclose(years["inference_flops"].sum(), opt.inference_flops, rtol=1e-12)
    assert np.all(years["present_value_inference_cost_usd"] < years["inference_cost_usd"])
    # present value <= nominal <= today's prices, year by year
    assert np.all(years["inference_cost_usd"]
                  < float(opt.inference_cost_usd) * years["demand_share"])
    data = dated.to_dict()
    assert len(data["per_year"]) == 3 and data["inputs"]["price_performance_preset"] == "all-gpus"
    assert data["inputs"]["price_performance_ci95_years"] == [2.24, 2.72]


@pytest.mark.parametrize("budget", [None, 1e24])
def test_erdil_rule_holds_for_present_value_spend(budget):
    """At the optimum the training share of present-value spend is r/(1+r) (Erdil 2024) with r
    the local exchange rate: an identity of the first-order condition, without training time."""
    t = Timeline(horizon_days=1000.0, demand_ramp_days=200.0,
                 price_performance_doubling_years=2.46, discount_rate_per_year=0.05)
    demand = Demand.from_tokens(np.logspace(10, 15, 6))
    dated = dated_compare(LAW, loss=None if budget else 1.947, budget=budget, demand=demand,
                          objective=FlopsObjective(), timeline=t)
    d = dated.optimal.to_dict()
    np.testing.assert_allclose(d["train_share_of_present_value"], d["erdil_train_share"],
                               rtol=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.floats(0.5, 10.0), st.floats(1.01, 4.0), st.floats(0.0, 0.4), st.floats(0.0, 0.4),
       st.sampled_from([1e11, 1e13, 1e15]), st.sampled_from(["budget", "loss", "loss+training"]))
def test_faster_decline_or_higher_discount_never_shrinks_the_model(t_slow, speedup, r_lo, dr,
                                                                  tokens, case):
    """Cheaper future inference weighs less, so the optimum moves toward Chinchilla: at a fixed
    loss or present-value budget its N never falls and its tokens per parameter never rise.

    (The issue states this the other way round, "never makes the optimal model larger"; the
    sign is this one.) Why: a larger k = ln2/T + rho lowers F = integral w e^(-ks) and
    e^(-k t0), so the effective demand f D_inf falls, and with less demand the inference-aware
    optimum is larger (Sardana et al. 2024: N grows toward the Chinchilla-optimal size as
    D_inf -> 0). With a training time at a fixed loss the fixed point moves the same way:
    g(u) = log F - k t0(e^u) - u decreases in u (more demand trains longer) and in k, so its
    root u = log f falls when k rises."""
    kw = dict(loss=None, budget=1e24) if case == "budget" else dict(loss=1.947, budget=None)
    demand = Demand.from_tokens(tokens)
    speed = H100_CLUSTER if case == "loss+training" else None

    def plan(doubling, rate):
        t = Timeline(horizon_days=730.0, price_performance_doubling_years=doubling,
                     discount_rate_per_year=rate, train_flops_per_second=speed)
        return dated_compare(LAW, demand=demand, objective=FlopsObjective(), timeline=t,
                             **kw).comparison.optimal

    base = plan(t_slow, r_lo)
    for other in (plan(t_slow / speedup, r_lo), plan(t_slow, r_lo + dr)):
        assert other.params >= base.params * (1 - 1e-12)
        assert other.tokens_per_param <= base.tokens_per_param * (1 + 1e-12)


def test_present_value_bill_is_todays_bill_with_effective_demand():
    t = Timeline(horizon_days=500.0, demand_growth_per_year=0.5, price_performance_doubling_years=2)
    demand = Demand.from_requests(1e9, 500, 200)
    cost = DollarCost()
    dated = dated_compare(LAW, loss=2.0, demand=demand, objective=cost, timeline=t)
    opt = dated.comparison.optimal
    direct = evaluate(LAW, opt.params, opt.train_tokens, scaled(demand, t.service_factor()),
                      cost)
    assert np.array_equal(direct.total_cost_usd, dated.optimal.present.total_cost_usd)


@pytest.mark.parametrize("kwargs,message", [
    (dict(horizon_days=-5.0), "horizon_days must be in (0, 36525]; got -5"),
    (dict(horizon_days=0.0), "horizon_days must be in (0"),
    (dict(price_performance_doubling_years=0.0), "price_performance_doubling_years must be > 0"),
    (dict(price_performance_doubling_years=-2.0), "price_performance_doubling_years must be > 0"),
    (dict(price_performance_doubling_years="fast"), "or one of all-gpus, ml-gpus, top-gpus"),
    (dict(discount_rate_per_year=-1.0), "discount_rate_per_year must be > -1"),
    (dict(demand_growth_per_year=-1.5), "demand_growth_per_year must be > -1"),
    (dict(demand_growth_per_year=1e200, horizon_days=3650.0), "overflows double precision"),
    (dict(demand_growth_per_year=1e4, horizon_days=36525.0), "overflows double precision"),
    (dict(demand_ramp_days=400.0), "demand_ramp_days must be in [0, horizon_days = 365]"),
    (dict(demand_tail_days=-1.0), "demand_tail_days must be in [0"),
    (dict(compounding="monthly"), "compounding must be 'annual' or 'continuous'"),
    (dict(train_flops_per_second=0.0), "train_flops_per_second must be > 0"),
])
def test_bad_timeline_input(kwargs, message):
    with pytest.raises(InputError) as err:
        Timeline(**kwargs)
    assert message in str(err.value) and "\n" not in str(err.value)
