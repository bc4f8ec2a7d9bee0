"""Plans under law uncertainty: per-replicate optima, the point plan under every replicate, and
the robust (chance-constrained) plan."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import computeplan as cp
from computeplan import ChinchillaLaw, InputError
from computeplan.objectives import RooflineDollarCost
from computeplan.render import jsonable
from computeplan.uncertainty import plan_uncertainty

BESIROGLU = cp.get_law("besiroglu2024")
SARDANA = cp.get_law("sardana2024")
TARGET = float(BESIROGLU.compute_optimal(params=13e9).loss)
REQUESTS = cp.Demand.from_requests(1e10, 1000, 250)
OBJECTIVES = {
    "flops": dict(inference_tokens=1e13),
    "usd": dict(demand=REQUESTS, cost=cp.DollarCost()),
    "roofline": dict(demand=REQUESTS, cost=RooflineDollarCost(context=1250.0)),
}
CENTRAL = np.array([[SARDANA.E, SARDANA.A, SARDANA.B, SARDANA.alpha, SARDANA.beta]])


def with_replicates(law, rows):
    return ChinchillaLaw(**law.coefficients(), name="ens", replicates=rows, domain=law.domain)


def rel(x, y):
    return abs(float(x) / float(y) - 1.0)


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_identical_replicates_collapse_onto_the_point_plan(objective):
    law = with_replicates(SARDANA, np.repeat(CENTRAL, 25, axis=0))
    kw = OBJECTIVES[objective]
    u = plan_uncertainty(law, loss=2.0, **kw)
    out = jsonable(u)
    point = u.comparison.optimal
    key = "total_cost_usd" if objective != "flops" else "total_flops"
    for name in ("params", "train_tokens", "tokens_per_param", key):
        for stat in ("lo", "median", "hi"):
            assert rel(out["optimal"][name][stat], getattr(point, name)) <= 1e-12, (name, stat)
    saved = 1 - float(u.comparison.ratios[key])
    for stat in ("lo", "median", "hi"):
        assert abs(out["savings"][stat] - saved) <= 1e-12
    assert out["point_plan"]["target_met_probability"] == 1.0
    assert rel(out["point_plan"]["loss"]["median"], 2.0) <= 1e-12
    robust = out["robust"]
    assert robust["target_met_probability"] == 1.0
    assert rel(robust["params"], point.params) <= 1e-12
    assert rel(robust["train_tokens"], point.train_tokens) <= 1e-12
    assert abs(robust["premium"]) <= 1e-12


@pytest.mark.parametrize("objective", ["flops", "usd"])
def test_median_optimum_recomputed_from_the_replicates_with_the_scalar_solver(objective):
    kw = OBJECTIVES[objective]
    u = plan_uncertainty(BESIROGLU, loss=TARGET, **kw)
    params, tokens = [], []
    for row in BESIROGLU.replicates:
        plan = cp.lifetime_optimal(ChinchillaLaw(*row), loss=TARGET, **kw)
        params.append(float(plan.params))
        tokens.append(float(plan.train_tokens))
    out = u.to_dict()["optimal"]
    assert rel(out["params"]["median"], np.median(params)) <= 1e-9
    assert rel(out["train_tokens"]["median"], np.median(tokens)) <= 1e-9
    lo, hi = np.percentile(params, [2.5, 97.5])
    assert rel(out["params"]["lo"], lo) <= 1e-9 and rel(out["params"]["hi"], hi) <= 1e-9


def test_roofline_median_recomputed_from_the_replicates():
    kw = OBJECTIVES["roofline"]
    law = with_replicates(BESIROGLU, BESIROGLU.replicates[:41])
    u = plan_uncertainty(law, loss=TARGET, **kw)
    params = [float(cp.lifetime_optimal(ChinchillaLaw(*row), loss=TARGET, **kw).params)
              for row in law.replicates]
    assert rel(u.to_dict()["optimal"]["params"]["median"], np.median(params)) <= 1e-9


def test_the_issue_example_range_and_the_chance_the_point_plan_misses():
    out = plan_uncertainty(BESIROGLU, loss=TARGET, inference_tokens=1e13).to_dict()
    assert out["replicates"] >= 1000 and out["unreachable"] == 0
    p = out["optimal"]["params"]
    # the issue's 300-refit figure: 3.2B to 6.6B around 4.3B
    assert 2.5e9 < p["lo"] < 3.7e9 and 3.8e9 < p["median"] < 4.8e9 and 5.5e9 < p["hi"] < 7.5e9
    assert 0 < out["point_plan"]["target_met_probability"] < 1
    assert out["robust"]["target_met_probability"] >= 0.9 and out["robust"]["premium"] > 0
    assert out["savings"]["probability_positive"] == 1.0


def _ensemble(seed, k, eps, pessimistic=False):
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((k, 5)) * eps
    if pessimistic:  # no replicate predicts a lower loss than the central law anywhere
        noise = np.abs(noise)
        noise[:, 3:] = 0.0
    rows = CENTRAL * np.exp(noise)
    return with_replicates(SARDANA, rows)


def _needed(k, confidence):
    """The least number of replicates m with m / k >= confidence."""
    m = math.ceil(confidence * k)
    return m - 1 if (m - 1) / k >= confidence else m


def _reachable(law, loss):
    return int(np.sum(law.replicates[:, 0] < loss))


def _required_tokens(law, target, n, m):
    """D*(N) by brute force: sort every replicate's tokens for the target at N."""
    rows = law.replicates
    room = target - rows[:, 0] - rows[:, 1] * n ** -rows[:, 3]
    d = np.where(room > 0, (rows[:, 2] / np.where(room > 0, room, 1)) ** (1 / rows[:, 4]),
                 np.inf)
    return np.sort(d)[m - 1]


scenario = dict(seed=st.integers(0, 2**32 - 1), k=st.integers(5, 120),
                eps=st.floats(1e-3, 0.05), confidence=st.floats(0.5, 0.99),
                demand=st.floats(1e9, 1e14), loss=st.floats(1.9, 2.4))


@settings(max_examples=30, deadline=None)
@given(**scenario)
def test_robust_plan_meets_the_target_and_is_the_cheapest_that_does(seed, k, eps, confidence,
                                                                   demand, loss):
    law = _ensemble(seed, k, eps)
    u = plan_uncertainty(law, loss=loss, inference_tokens=demand, confidence=confidence)
    r = u.robust
    m = _needed(k, confidence)
    if _reachable(law, loss) < m:  # too many replicates have E at or above the target
        assert r is None
        return
    assert r.target_met_probability >= confidence
    n, d = float(r.plan.params), float(r.plan.train_tokens)
    assert d <= _required_tokens(law, loss, n, m) * (1 + 1e-9)
    cost = float(r.plan.total_flops)
    q = 2 * demand
    for n_other in n * np.exp(np.linspace(-1.5, 1.5, 61)):
        d_other = _required_tokens(law, loss, n_other, m)
        assert 6 * n_other * d_other + q * n_other >= cost * (1 - 1e-9)


@settings(max_examples=30, deadline=None)
@given(**scenario)
def test_robust_plan_costs_at_least_the_point_plan_when_replicates_are_no_better(
        seed, k, eps, confidence, demand, loss):
    law = _ensemble(seed, k, eps, pessimistic=True)
    u = plan_uncertainty(law, loss=loss, inference_tokens=demand, confidence=confidence)
    if _reachable(law, loss) < _needed(k, confidence):
        assert u.robust is None
        return
    assert u.robust.premium >= -1e-12
    assert float(np.mean(u.point_met)) <= 1.0


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), confidence=st.floats(0.5, 0.99),
       demand=st.floats(1e9, 1e14))
def test_robust_plan_tends_to_the_point_plan_as_the_ensemble_narrows(seed, confidence, demand):
    """The premium and the model's distance from the point plan shrink like the spread of the
    replicates (linearly: 100x narrower, at least 50x smaller), to about a hundred times the
    spread at the highest confidence (2.3 sigma of 40 draws, through ln N in the exponents:
    up to 1.3e-4 at a spread of 1e-6 over 150 random cases)."""
    premiums, gaps = [], []
    for eps in (1e-2, 1e-4, 1e-6):
        u = plan_uncertainty(_ensemble(seed, 40, eps), loss=2.0, inference_tokens=demand,
                             confidence=confidence)
        premiums.append(abs(u.robust.premium))
        gaps.append(rel(u.robust.plan.params, u.comparison.optimal.params))
    assert premiums[2] <= 1e-3 and gaps[2] <= 1e-3
    assert premiums[2] <= 0.02 * premiums[1] + 1e-10 and gaps[2] <= 0.02 * gaps[1] + 1e-10


def test_unreachable_replicates_are_counted_and_can_rule_out_a_robust_plan():
    rows = np.repeat(CENTRAL, 10, axis=0)
    rows[:4, 0] = 2.05  # E above the target in 4 of 10 replicates
    law = with_replicates(SARDANA, rows)
    u = plan_uncertainty(law, loss=2.0, inference_tokens=1e12, confidence=0.5)
    out = u.to_dict()
    assert out["unreachable"] == 4 and out["point_plan"]["target_met_probability"] == 0.6
    assert out["robust"]["target_met_probability"] == 0.6
    none = plan_uncertainty(law, loss=2.0, inference_tokens=1e12, confidence=0.9).to_dict()
    assert none["robust"] is None and any("no robust plan" in n for n in none["notes"])


def test_a_law_without_replicates_says_how_to_get_them():
    from computeplan.vocabulary import spelling

    with pytest.raises(InputError, match=r"bootstrap option.*as law, or .*besiroglu2024") as exc:
        plan_uncertainty(SARDANA, loss=2.0, inference_tokens=1e12)
    assert "--" not in str(exc.value)  # no command line outside the CLI
    with spelling("cli"), pytest.raises(InputError,
                                        match=r"--bootstrap K --out law.json.*besiroglu2024"):
        plan_uncertainty(SARDANA, loss=2.0, inference_tokens=1e12)
    with pytest.raises(InputError, match="overriding a coefficient drops"):
        plan_uncertainty(cp.get_law("besiroglu2024", E=1.8), loss=2.0, inference_tokens=1e12)


@pytest.mark.parametrize("name", ["level", "confidence"])
@pytest.mark.parametrize("value", [0.0, 1.0, -0.5, 1.5, float("nan")])
def test_level_and_confidence_must_lie_in_0_1(name, value):
    with pytest.raises(InputError, match=rf"{name} must be in \(0, 1\)"):
        plan_uncertainty(BESIROGLU, loss=2.0, inference_tokens=1e12, **{name: value})


@pytest.mark.parametrize("objective", ["flops", "usd"])
def test_budget_mode_collapses_onto_the_point_plan_and_matches_the_scalar_solver(objective):
    kw = OBJECTIVES[objective]
    budget = 1e23 if objective == "flops" else 1e6
    law = with_replicates(SARDANA, np.repeat(CENTRAL, 7, axis=0))
    out = plan_uncertainty(law, budget=budget, **kw).to_dict()
    point = cp.compare(SARDANA, budget=budget, **kw).optimal
    for name in ("params", "train_tokens", "loss"):
        for stat in ("lo", "median", "hi"):
            assert rel(out["optimal"][name][stat], getattr(point, name)) <= 1e-12, name
    assert out["point_plan"]["target_met_probability"] == 1.0
    assert out["savings"] is None
    robust = out["robust"]  # one law: the most confident loss is the point plan's own
    assert robust["target_met_probability"] == 1.0 and "premium" not in robust
    # (the budget solver spends the budget to ~1e-13; the robust plan spends it exactly)
    for name in ("params", "train_tokens", "loss"):
        assert rel(robust[name], getattr(point, name)) <= 1e-10, name
    assert rel(robust["loss_at_confidence"], point.loss) <= 1e-12
    assert rel(out["point_plan"]["loss_at_confidence"], point.loss) <= 1e-12
    rows = BESIROGLU.replicates[:51]
    u = plan_uncertainty(with_replicates(BESIROGLU, rows), budget=budget, **kw).to_dict()
    losses = [float(cp.budget_optimal(ChinchillaLaw(*row), budget=budget, **kw).loss)
              for row in rows]
    assert rel(u["optimal"]["loss"]["median"], np.median(losses)) <= 1e-9


def test_bands_collapse_for_identical_replicates_and_match_the_plans():
    from computeplan.objectives import FlopsObjective
    from computeplan.uncertainty import isoloss_band, savings_band

    law = with_replicates(SARDANA, np.repeat(CENTRAL, 9, axis=0))
    tokens = np.geomspace(1e10, 1e15, 7)
    band = savings_band(law, 2.0, cp.Demand.from_tokens(tokens), FlopsObjective())
    saved = 1 - cp.compare(SARDANA, loss=2.0, inference_tokens=tokens).ratios["total_flops"]
    np.testing.assert_allclose(band["savings_lo"], saved, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(band["savings_hi"], saved, rtol=1e-12, atol=1e-15)
    params = np.geomspace(2e9, 1e11, 5)
    iso = isoloss_band(law, 2.0, params)
    np.testing.assert_allclose(iso["train_tokens_lo"], SARDANA.tokens_for_loss(2.0, iso["params"]),
                               rtol=1e-12)
    np.testing.assert_allclose(iso["train_tokens_hi"], iso["train_tokens_lo"], rtol=1e-12)


def test_savings_band_brackets_the_full_ensembles_range_at_one_demand():
    from computeplan.objectives import FlopsObjective
    from computeplan.uncertainty import savings_band

    band = savings_band(BESIROGLU, TARGET, cp.Demand.from_tokens(np.array([1e13])),
                        FlopsObjective(), replicates=len(BESIROGLU.replicates))
    s = plan_uncertainty(BESIROGLU, loss=TARGET, inference_tokens=1e13).to_dict()["savings"]
    assert rel(band["savings_lo"][0], s["lo"]) <= 1e-9
    assert rel(band["savings_hi"][0], s["hi"]) <= 1e-9


def _budget_tokens(budget, n, demand):
    """D(N) that spends a FLOPs budget exactly: 6 N D + 2 N T = X."""
    return (budget - 2 * demand * n) / (6 * n)


def _loss_at_confidence(law, n, d, m):
    rows = law.replicates
    return np.sort(rows[:, 0] + rows[:, 1] * n ** -rows[:, 3] + rows[:, 2] * d ** -rows[:, 4]
                   )[m - 1]


budget_scenario = dict(seed=st.integers(0, 2**32 - 1), k=st.integers(5, 120),
                       eps=st.floats(1e-3, 0.05), confidence=st.floats(0.5, 0.99),
                       demand=st.floats(1e9, 1e14), budget=st.floats(1e21, 1e25))


@settings(max_examples=30, deadline=None)
@given(**budget_scenario)
def test_robust_plan_within_a_budget_is_the_best_confident_loss_and_beats_the_point_plan(
        seed, k, eps, confidence, demand, budget):
    law = _ensemble(seed, k, eps)
    u = plan_uncertainty(law, budget=budget, inference_tokens=demand, confidence=confidence)
    r, m = u.robust, _needed(k, confidence)
    n, d = float(r.plan.params), float(r.plan.train_tokens)
    assert float(r.plan.total_flops) <= budget * (1 + 1e-9)  # within the budget
    assert r.target_met_probability >= confidence
    assert rel(r.loss_at_confidence, _loss_at_confidence(law, n, d, m)) <= 1e-12
    # never worse than the point plan under its own criterion (it is within the budget too)
    point = u.comparison.optimal
    assert r.loss_at_confidence <= r.point_loss_at_confidence * (1 + 1e-12)
    assert rel(r.point_loss_at_confidence, _loss_at_confidence(
        law, float(point.params), float(point.train_tokens), m)) <= 1e-12
    # and no model that spends the budget does better (brute force along the budget curve)
    for n_other in n * np.exp(np.linspace(-2.0, 2.0, 81)):
        d_other = _budget_tokens(budget, n_other, demand)
        if d_other > 0:
            assert _loss_at_confidence(law, n_other, d_other, m) >= (
                r.loss_at_confidence * (1 - 1e-12))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), confidence=st.floats(0.5, 0.99),
       demand=st.floats(1e9, 1e14))
def test_robust_plan_within_a_budget_tends_to_the_point_plan_as_the_ensemble_narrows(
        seed, confidence, demand):
    gaps = []
    for eps in (1e-2, 1e-4, 1e-6):
        u = plan_uncertainty(_ensemble(seed, 40, eps), budget=1e23, inference_tokens=demand,
                             confidence=confidence)
        gaps.append(rel(u.robust.plan.params, u.comparison.optimal.params))
    assert gaps[2] <= 1e-3 and gaps[2] <= gaps[0] + 1e-12


@pytest.mark.parametrize("objective", OBJECTIVES)
@pytest.mark.parametrize("confidence", [0.5, 0.9, 0.99])
def test_replicates_that_differ_only_in_E_give_the_point_plan_within_a_budget(objective,
                                                                              confidence):
    """L_k = L + (E_k - E): every replicate ranks every model alike, so the model with the
    lowest loss at any confidence is the point plan, whatever the confidence."""
    kw = OBJECTIVES[objective]
    budget = 1e23 if objective == "flops" else 1e6
    rows = np.repeat(CENTRAL, 30, axis=0)
    rows[:, 0] += np.linspace(-0.05, 0.05, 30)
    u = plan_uncertainty(with_replicates(SARDANA, rows), budget=budget, confidence=confidence,
                         **kw)
    point, r = u.comparison.optimal, u.robust
    assert rel(r.plan.params, point.params) <= 1e-6
    assert rel(r.plan.loss, point.loss) <= 1e-12
    m = _needed(30, confidence)
    assert rel(r.loss_at_confidence, float(point.loss) + np.sort(rows[:, 0] - SARDANA.E)[m - 1]
               ) <= 1e-12


# -- with a timeline: present values, each plan at its own training-time fixed point ---------
def _timeline(throughput=None, **kw):
    from computeplan.timeline import Timeline

    return Timeline(**({"horizon_days": 730.0, "price_performance_doubling_years": 2.46,
                        "discount_rate_per_year": 0.1, "train_flops_per_second": throughput}
                       | kw))


def test_a_timeline_with_the_trends_off_is_the_plan_today():
    law = with_replicates(BESIROGLU, BESIROGLU.replicates[:60])
    flat = _timeline(price_performance_doubling_years=None, discount_rate_per_year=0.0)
    for target in (dict(loss=TARGET), dict(budget=1e23)):
        today = jsonable(plan_uncertainty(law, inference_tokens=1e13, **target))
        dated = jsonable(plan_uncertainty(law, inference_tokens=1e13, timeline=flat, **target))
        assert dated.pop("present_value") and not today.pop("present_value")
        assert dated == today


def test_without_a_training_throughput_the_dated_plan_is_todays_at_the_effective_demand():
    law = with_replicates(BESIROGLU, BESIROGLU.replicates[:60])
    t = _timeline()
    f = float(t.service_factor())
    dated = plan_uncertainty(law, loss=TARGET, inference_tokens=1e13, timeline=t)
    today = plan_uncertainty(law, loss=TARGET, inference_tokens=f * 1e13)
    assert 0 < f < 1
    for name in ("params", "train_tokens", "total_flops"):
        assert np.allclose(getattr(dated.optimal, name), getattr(today.optimal, name),
                           rtol=1e-12, atol=0)
    assert rel(dated.robust.plan.params, today.robust.plan.params) <= 1e-12
    assert rel(dated.robust.premium + 1, today.robust.premium + 1) <= 1e-9


@pytest.mark.parametrize("target", [dict(loss=2.0), dict(budget=1e23)])
def test_identical_replicates_collapse_onto_the_dated_point_plan(target):
    law = with_replicates(SARDANA, np.repeat(CENTRAL, 9, axis=0))
    u = plan_uncertainty(law, inference_tokens=1e13, timeline=_timeline(1e17), **target)
    present = u.dated.optimal.present
    assert float(u.dated.optimal.train_days) > 1  # the training time matters here
    for name in ("params", "train_tokens", "total_flops"):
        assert np.allclose(getattr(u.optimal, name), float(getattr(present, name)),
                           rtol=1e-9, atol=0), name
    assert rel(u.robust.plan.params, present.params) <= 1e-9
    assert rel(u.robust.plan.total_flops, present.total_flops) <= 1e-9
    assert u.robust.target_met_probability == 1.0
    if "loss" in target:
        assert abs(u.robust.premium) <= 1e-9
        assert np.allclose(u.savings, 1 - float(u.dated.ratios["present_value_total_flops"]),
                           rtol=0, atol=1e-9)


def test_each_replicates_dated_optimum_is_its_own_dated_plan():
    """The median optimum over replicates, recomputed one replicate at a time with the dated
    planner (its own training-time fixed point)."""
    from computeplan.objectives import FlopsObjective
    from computeplan.timeline import dated_compare

    rows = BESIROGLU.replicates[:21]
    t = _timeline(1e18)
    u = plan_uncertainty(with_replicates(BESIROGLU, rows), loss=TARGET, inference_tokens=1e13,
                         timeline=t).to_dict()
    one = [float(dated_compare(ChinchillaLaw(*row), loss=TARGET, timeline=t,
                               demand=cp.Demand.from_tokens(1e13),
                               objective=FlopsObjective()).optimal.present.params)
           for row in rows]
    assert rel(u["optimal"]["params"]["median"], np.median(one)) <= 1e-9
    assert u["present_value"] and u["robust"]["target_met_probability"] >= 0.9


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 300), rows=st.integers(1, 4),
       qs=st.lists(st.floats(0.0, 100.0), min_size=1, max_size=4), infs=st.integers(0, 5))
def test_percentiles_are_numpys_default_bit_for_bit(seed, n, rows, qs, infs):
    from computeplan.uncertainty import percentiles

    x = np.random.default_rng(seed).lognormal(0.0, 3.0, (rows, n))
    x[:, :min(infs, n)] = np.inf  # replicates that cannot reach a loss (isoloss_band)
    with np.errstate(invalid="ignore"):
        want = np.percentile(x, qs, axis=1)
    for got, w in zip(percentiles(x, qs, axis=1), want, strict=True):
        np.testing.assert_array_equal(got, w)
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(percentiles(x[0], qs), np.percentile(x[0], qs))


def test_plan_under_uncertainty_does_not_import_numpy_ma():
    """np.percentile imports numpy.ma on first use, which the cold start of plan --uncertainty
    does without."""
    import subprocess
    import sys

    code = ("import sys, computeplan as cp; from computeplan.uncertainty import "
            "plan_uncertainty; plan_uncertainty('besiroglu2024', loss=2.1, "
            "inference_tokens=1e13); print('numpy.ma' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


# -- with a unique-token limit: every replicate's loss is the data-limited one ---------------
from computeplan import data_limits as dl  # noqa: E402

MUENNIGHOFF = dict(rd_star=15.39, rn_star=5.31)


def limited_law(rows, base=BESIROGLU):
    return ChinchillaLaw(**base.coefficients(), name="ens", replicates=rows, domain=base.domain,
                         **MUENNIGHOFF)


def test_an_infinite_unique_token_limit_is_no_limit():
    law = limited_law(BESIROGLU.replicates[:40])
    for target in (dict(loss=TARGET), dict(budget=1e23)):
        free = jsonable(plan_uncertainty(law, inference_tokens=1e13, **target))
        inf = jsonable(plan_uncertainty(law, inference_tokens=1e13, unique_tokens=np.inf,
                                        **target))
        assert inf == free


@pytest.mark.parametrize("objective", OBJECTIVES)
@pytest.mark.parametrize("target", [dict(loss=2.0), dict(budget="budget")])
def test_identical_replicates_collapse_onto_the_data_limited_point_plan(objective, target):
    kw = OBJECTIVES[objective]
    if "budget" in target:
        target = dict(budget=1e23 if objective == "flops" else 1e6)
    law = limited_law(np.repeat(CENTRAL, 9, axis=0), SARDANA)
    u = plan_uncertainty(law, unique_tokens=2e11, **target, **kw)
    point = u.comparison.optimal
    assert float(u.comparison.data_limit.epochs) > 1.5  # the limit binds
    for name in ("params", "train_tokens", "loss"):
        assert np.allclose(getattr(u.optimal, name), float(getattr(point, name)), rtol=1e-9,
                           atol=0), name
    assert np.all(u.point_met) and u.robust.target_met_probability == 1.0
    assert rel(u.robust.plan.params, point.params) <= 1e-9
    if "loss" in target:
        assert abs(u.robust.premium) <= 1e-9
    else:
        assert rel(u.robust.loss_at_confidence, point.loss) <= 1e-12


@pytest.mark.parametrize("target", ["loss", "budget"])
def test_each_replicates_data_limited_optimum_is_its_own_scalar_plan(target):
    rows = BESIROGLU.replicates[:21]
    law = limited_law(rows)
    if target == "loss":
        u = plan_uncertainty(law, loss=TARGET, inference_tokens=1e13, unique_tokens=3e11)
        one = [dl.limited_optimal(ChinchillaLaw(*row, **MUENNIGHOFF), loss=TARGET,
                                  unique_tokens=3e11, inference_tokens=1e13) for row in rows]
    else:
        u = plan_uncertainty(law, budget=1e24, inference_tokens=1e13, unique_tokens=3e11)
        one = [dl.limited_budget_optimal(ChinchillaLaw(*row, **MUENNIGHOFF), budget=1e24,
                                         unique_tokens=3e11, inference_tokens=1e13)
               for row in rows]
    for name in ("params", "train_tokens", "loss"):
        got = np.asarray(getattr(u.optimal, name))
        want = np.array([float(getattr(p, name)) for p in one])
        assert np.allclose(got, want, rtol=1e-9, atol=0), name
    assert np.all(np.asarray(u.optimal.train_tokens) > 3e11)  # binding for every replicate


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(5, 40), eps=st.floats(1e-3, 0.05),
       confidence=st.floats(0.5, 0.99), demand=st.floats(1e9, 1e14),
       unique=st.floats(3e10, 3e12))
def test_data_limited_robust_plan_meets_the_target_and_is_the_cheapest_that_does(
        seed, k, eps, confidence, demand, unique):
    base = _ensemble(seed, k, eps).replicates
    law = limited_law(base, SARDANA)
    loss = 2.05
    if float(dl.lowest_reachable_loss(law, unique)) >= loss:  # not even the point plan
        with pytest.raises(InputError, match="cannot be reached"):
            plan_uncertainty(law, loss=loss, inference_tokens=demand, unique_tokens=unique)
        return
    u = plan_uncertainty(law, loss=loss, inference_tokens=demand, confidence=confidence,
                         unique_tokens=unique)
    laws = [ChinchillaLaw(*row, **MUENNIGHOFF) for row in base]
    floors = np.array([float(dl.lowest_reachable_loss(lw, unique)) for lw in laws])
    m = _needed(k, confidence)
    assert u.unreachable == int(np.sum(floors >= loss))
    if np.sum(floors < loss) < m:
        assert u.robust is None
        return
    r = u.robust
    n, d = float(r.plan.params), float(r.plan.train_tokens)
    losses = np.array([float(dl.limited_loss(lw, n, d, unique)) for lw in laws])
    assert np.mean(losses <= loss * (1 + 1e-9)) >= confidence

    def required(n_other):
        ds = []
        for lw in laws:
            try:
                ds.append(float(dl.limited_tokens_for_loss(lw, loss, n_other, unique)))
            except InputError:
                ds.append(np.inf)
        return np.sort(ds)[m - 1]

    cost = float(r.plan.total_flops)
    for n_other in n * np.exp(np.linspace(-1.5, 1.5, 31)):
        assert 6 * n_other * required(n_other) + 2 * demand * n_other >= cost * (1 - 1e-9)


def test_timeline_and_unique_tokens_together_collapse_onto_the_dated_data_limited_plan():
    law = limited_law(np.repeat(CENTRAL, 9, axis=0), SARDANA)
    u = plan_uncertainty(law, loss=2.0, inference_tokens=1e13, unique_tokens=2e11,
                         timeline=_timeline(1e17))
    present = u.dated.optimal.present
    assert u.comparison.data_limit is not None and float(u.dated.optimal.train_days) > 1
    for name in ("params", "train_tokens", "total_flops"):
        assert np.allclose(getattr(u.optimal, name), float(getattr(present, name)),
                           rtol=1e-9, atol=0), name
    assert rel(u.robust.plan.params, present.params) <= 1e-9 and abs(u.robust.premium) <= 1e-9


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(5, 40), eps=st.floats(1e-3, 0.05),
       confidence=st.floats(0.5, 0.99), demand=st.floats(1e9, 1e14),
       budget=st.floats(1e22, 1e25), unique=st.floats(3e10, 3e12))
def test_data_limited_robust_plan_within_a_budget_is_the_best_confident_loss(
        seed, k, eps, confidence, demand, budget, unique):
    base = _ensemble(seed, k, eps).replicates
    law = limited_law(base, SARDANA)
    u = plan_uncertainty(law, budget=budget, inference_tokens=demand, confidence=confidence,
                         unique_tokens=unique)
    r, m = u.robust, _needed(k, confidence)
    laws = [ChinchillaLaw(*row, **MUENNIGHOFF) for row in base]

    def confident(n, d):
        return np.sort([float(dl.limited_loss(lw, n, d, unique)) for lw in laws])[m - 1]

    n, d = float(r.plan.params), float(r.plan.train_tokens)
    assert float(r.plan.total_flops) <= budget * (1 + 1e-9)
    assert rel(r.loss_at_confidence, confident(n, d)) <= 1e-12
    assert r.loss_at_confidence <= r.point_loss_at_confidence * (1 + 1e-12)
    for n_other in n * np.exp(np.linspace(-2.0, 2.0, 41)):
        d_other = _budget_tokens(budget, n_other, demand)
        if d_other > 0:
            assert confident(n_other, d_other) >= r.loss_at_confidence * (1 - 1e-12)


def test_data_limited_budget_plans_without_inference_demand_match_the_scalar_plans():
    """With no demand q N never spends the budget, which the budget solver brackets by."""
    rows = BESIROGLU.replicates[:11]
    u = plan_uncertainty(limited_law(rows), budget=1e24, inference_tokens=0.0,
                         unique_tokens=3e11)
    want = [float(dl.limited_budget_optimal(ChinchillaLaw(*row, **MUENNIGHOFF), budget=1e24,
                                            unique_tokens=3e11, inference_tokens=0.0).loss)
            for row in rows]
    assert np.allclose(u.optimal.loss, want, rtol=1e-9, atol=0)
    assert u.robust.loss_at_confidence <= u.robust.point_loss_at_confidence * (1 + 1e-12)
