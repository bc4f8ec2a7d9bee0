"""Demand and price ranges: the expected-cost plan is the plan at the middle (the cost is linear
in demand and prices), and its regret table."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import computeplan as cp
from computeplan.lifetime import evaluate
from computeplan.ranges import range_points, regret

LAW = cp.get_law("sardana2024")


def _demand(requests):
    return cp.Demand.from_requests(requests, 1000.0, 250.0)


def _comparison(loss, requests, train_price=None, inference_price=None):
    cost = None
    if train_price is not None:
        cost = cp.DollarCost(train_usd_per_gpu_hour=train_price,
                             inference_usd_per_gpu_hour=inference_price)
    return cp.compare(LAW, loss=loss, demand=_demand(requests), cost=cost)


def test_range_points_are_every_end_and_middle_with_the_middle_marked():
    scenarios, mid = range_points({"inference_tokens": (1e12, 3e12), "users": (10.0, 20.0)})
    assert len(scenarios) == 9
    assert scenarios[mid]["values"] == {"inference_tokens": 2e12, "users": 15.0}
    assert scenarios[mid]["at"] == {"inference_tokens": "mid", "users": "mid"}
    assert scenarios[0]["at"] == {"inference_tokens": "lo", "users": "lo"}
    assert scenarios[-1]["values"] == {"inference_tokens": 3e12, "users": 20.0}


ranges = dict(loss=st.floats(1.9, 2.4), lo=st.floats(1e6, 1e11), width=st.floats(1.0, 100.0),
              priced=st.booleans())


@settings(max_examples=40, deadline=None)
@given(**ranges)
def test_expected_cost_of_any_plan_is_its_cost_at_the_middle(loss, lo, width, priced):
    """Linearity: the mean cost over a uniform demand range equals the cost at its middle, so
    the middle's optimum minimises the expected cost (no other plan does better on average)."""
    hi = lo * width
    grid = np.linspace(lo, hi, 2001)  # uniform: the trapezoid mean is exact for a linear cost
    weights = np.full(grid.size, 1.0)
    weights[[0, -1]] = 0.5
    weights /= weights.sum()
    cost = cp.DollarCost() if priced else cp.FlopsObjective()
    key = "total_cost_usd" if priced else "total_flops"
    mid = cp.compare(LAW, loss=loss, demand=_demand(0.5 * (lo + hi)),
                     cost=cost if priced else None).optimal
    # the middle's optimum and some other models at the same loss
    n = float(mid.params) * np.array([1.0, 1.1, 1.5, 3.0])
    d = np.array([float(LAW.tokens_for_loss(loss, x)) for x in n])
    demand = _demand(grid[:, None])
    bills = getattr(evaluate(LAW, n[None, :], d[None, :], demand, cost), key)
    expected = weights @ bills
    at_mid = getattr(evaluate(LAW, n, d, _demand(0.5 * (lo + hi)), cost), key)
    np.testing.assert_allclose(expected, at_mid, rtol=1e-12)
    assert np.all(expected[1:] >= expected[0] * (1 - 1e-12))


@settings(max_examples=40, deadline=None)
@given(**ranges)
def test_regret_is_zero_at_the_middle_nonnegative_and_largest_at_an_end(loss, lo, width, priced):
    hi = lo * width
    scenarios, mid = range_points({"requests": (lo, hi)})
    tokens = np.array([s["values"]["requests"] for s in scenarios])
    prices = (3.0, 2.0) if priced else (None, None)
    table = regret(_comparison(loss, tokens, *prices), mid)
    r = table.relative_regret
    assert abs(r[mid]) <= 1e-12
    assert np.all(r >= -1e-12)
    # convex along the range: no point inside it is worse than the worse end
    fine = np.linspace(lo, hi, 41)
    chosen = table.chosen_plan
    fine_cmp = _comparison(loss, fine, *prices)
    fine_cost = getattr(evaluate(LAW, float(np.ravel(chosen.params)[0]),
                                 float(np.ravel(chosen.train_tokens)[0]), fine_cmp.demand,
                                 fine_cmp.objective), table.cost_key)
    fine_regret = fine_cost - getattr(fine_cmp.optimal, table.cost_key)
    assert np.max(fine_regret) <= max(table.regret[0], table.regret[-1]) * (1 + 1e-9) + 1e-300


@settings(max_examples=30, deadline=None)
@given(loss=st.floats(1.9, 2.4), tokens=st.floats(1e6, 1e11),
       train=st.tuples(st.floats(0.5, 10.0), st.floats(1.0, 4.0)),
       infer=st.tuples(st.floats(0.5, 10.0), st.floats(1.0, 4.0)))
def test_price_ranges_follow_the_same_rule(loss, tokens, train, infer):
    """Independent price ranges: the middle's plan minimises the expected cost (the mean cost
    over the 3 x 3 grid of ends and middles, uniform weights 1/6, 2/3, 1/6 by Simpson's rule,
    exact for a cost linear in each price), and planning for the middle costs at least the
    expected best cost (perfect information is worth >= 0)."""
    ranges = {"train_usd_per_gpu_hour": (train[0], train[0] * train[1]),
              "inference_usd_per_gpu_hour": (infer[0], infer[0] * infer[1])}
    scenarios, mid = range_points(ranges)
    tp = np.array([s["values"]["train_usd_per_gpu_hour"] for s in scenarios])
    ip = np.array([s["values"]["inference_usd_per_gpu_hour"] for s in scenarios])
    table = regret(_comparison(loss, tokens, tp, ip), mid)
    w1 = np.array([1 / 6, 2 / 3, 1 / 6])
    w = np.outer(w1, w1).ravel()
    expected_chosen = w @ table.chosen_cost
    assert expected_chosen == pytest.approx(float(table.chosen_cost[mid]), rel=1e-12)
    assert w @ table.best_cost <= expected_chosen * (1 + 1e-12)
    assert np.all(table.relative_regret >= -1e-12)
