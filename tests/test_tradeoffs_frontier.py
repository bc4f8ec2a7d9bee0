"""Frontiers, spans, exchange rates, combination and allocation along a frontier."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from computeplan import InputError
from computeplan.tradeoffs import (
    ScalingPolicy,
    allocate_on_frontier,
    combine,
    frontier,
    get_technique,
    local_exchange_rate,
    pareto_mask,
)

ALL = ["scaling-policy", "pruning", "mcts", "pass-at-k", "n-at-k"]
GRID = 300


def _level(tech, u):
    """A level a fraction u of the way between the default and the best reachable level."""
    lo, hi = tech.level_range()
    d = tech.default_level()
    if tech.higher_is_better:
        return d + u * 0.8 * (hi - d) - (1 - u) * 0.3 * (d - lo)
    return d * (1 + 0.2 * (u - 0.5))


@pytest.mark.parametrize("name", ALL)
@given(u=st.floats(0.05, 0.95))
def test_every_frontier_point_is_pareto_efficient(name, u):
    """No frontier point is dominated by another, and shaving one grid step off either
    coordinate of any frontier point (the other held) drops below the level: it is on the
    boundary of the reachable set, up to the grid resolution."""
    tech = get_technique(name)
    f = frontier(tech, _level(tech, u), grid_points=GRID)
    x, y = f.log10_train_compute, f.log10_inference_compute
    assert np.all(np.diff(x) > 0) and np.all(np.diff(y) < 0)
    dominated = (x[None, :] <= x[:, None]) & (y[None, :] <= y[:, None]) \
        & ((x[None, :] < x[:, None]) | (y[None, :] < y[:, None]))
    assert not dominated.any()
    assert pareto_mask(x, y).all()
    target = f.level if tech.higher_is_better else -f.level
    dx = 1.01 * (f.grid_log10_train[1] - f.grid_log10_train[0])  # one grid step
    dy = 1.01 * (f.grid_log10_inference[1] - f.grid_log10_inference[0])
    keep = y - dy >= f.grid_log10_inference[0]  # shaved points stay on the grid
    shaved = tech.merit(10 ** x[keep], 10 ** (y[keep] - dy))
    assert np.all(shaved < target + 1e-9 * abs(target))
    shaved = tech.merit(10 ** (x - dx), 10**y)
    assert np.all(shaved < target + 1e-9 * abs(target))
    # and reaching the level needs no more than the frontier's inference (up to the grid step)
    assert np.all(tech.merit(10**x, 10 ** (y + dy)) >= target - 1e-9 * abs(target))


@given(st.lists(st.tuples(st.floats(0, 10), st.floats(0, 10)), min_size=1, max_size=60))
def test_pareto_mask_matches_brute_force(points):
    x, y = np.array(points).T
    dom = (x[None, :] <= x[:, None]) & (y[None, :] <= y[:, None]) \
        & ((x[None, :] < x[:, None]) | (y[None, :] < y[:, None]))
    expected = ~dom.any(axis=1)
    # duplicates: exactly one copy of an undominated point is kept
    got = pareto_mask(x, y)
    assert set(zip(x[got], y[got], strict=True)) == set(zip(x[expected], y[expected],
                                                             strict=True))
    assert got.sum() == len(set(zip(x[expected], y[expected], strict=True)))


def test_local_exchange_rate_of_a_power_law_is_its_exponent():
    x = np.linspace(20, 25, 200)
    assert np.allclose(local_exchange_rate(x, 30 - 1.7 * x), 1.7)


@pytest.mark.parametrize("name", ALL)
@given(u=st.floats(0.05, 0.95), log_q=st.floats(-3, 16))
def test_allocation_minimiser_beats_every_other_frontier_point(name, u, log_q):
    tech = get_technique(name)
    f = frontier(tech, _level(tech, u), grid_points=GRID)
    q = 10.0**log_q * 10 ** (f.log10_train_compute.mean() - f.log10_inference_compute.mean())
    a = allocate_on_frontier(f, q)
    cost = f.train_compute + q * f.inference_compute
    assert a.total_compute <= cost.min() * (1 + 1e-12)
    assert np.all(a.total_compute <= cost * (1 + 1e-12))
    # the frontier optimum is no worse than any feasible grid point (up to the grid step)
    target = f.level if tech.higher_is_better else -f.level
    gx, gy = np.meshgrid(10**f.grid_log10_train, 10**f.grid_log10_inference)
    feasible = f.grid_score >= target
    assert a.total_compute <= (gx + q * gy)[feasible].min() * (1 + 1e-12)


def test_parity_training_share_follows_the_local_exchange_rate():
    """Erdil: at an interior optimum of TC + Q IC the training share is r / (1 + r)."""
    f = frontier(ScalingPolicy(), grid_points=2000)
    q = np.logspace(12, 14, 5)
    a = allocate_on_frontier(f, q)
    assert not a.at_frontier_end.any()
    assert np.allclose(a.train_fraction, a.parity_prediction, atol=0.02)
    # more queries -> more over-training: less inference per query, more training
    assert np.all(np.diff(a.inference_compute) <= 0) and np.all(np.diff(a.train_compute) >= 0)


def test_span_definition_is_reported_and_trims_asymptotic_tails():
    f = frontier(ScalingPolicy(), grid_points=600)
    d = f.to_dict()
    assert "r = -dlog10(IC)/dlog10(TC)" in d["span"]["definition"]
    s = f.span
    assert f.exchange_rate[s.start] <= 6.0 + 1e-9 and f.exchange_rate[s.end] >= 1 / 6 - 1e-9
    assert np.all(f.exchange_rate[:s.start] > 6.0)
    assert np.all(f.exchange_rate[s.end + 1:] < 1 / 6)
    assert d["span"]["exchange_rate"] == pytest.approx(s.inference_oom / s.train_oom)
    # a stricter threshold keeps more of the tails
    assert frontier(ScalingPolicy(), grid_points=600,
                    min_exchange_rate=0.05).span.train_oom > s.train_oom


def test_grid_too_small_is_flagged_as_a_lower_bound():
    tech = ScalingPolicy()
    (tlo, _), irange = tech.grid_range(tech.default_level())
    f = frontier(tech, grid_points=300, train_range=(tlo, tlo + 0.8), inference_range=irange)
    assert f.span.clipped_by_grid and any("lower bound" in n for n in f.notes)


def test_level_off_the_grid_is_an_error():
    with pytest.raises(InputError, match="not reached on the grid"):
        frontier(ScalingPolicy(), 1.8, train_range=(18, 19), inference_range=(5, 6))


def test_grid_arguments_are_validated():
    with pytest.raises(InputError, match=r"grid_points must be an integer in \[10, 3000\]"):
        frontier(ScalingPolicy(), grid_points=5)
    with pytest.raises(InputError, match="train_range must be an increasing"):
        frontier(ScalingPolicy(), train_range=(25, 20))
    with pytest.raises(InputError, match=r"min_exchange_rate must be in \(0, 1\]"):
        frontier(ScalingPolicy(), min_exchange_rate=2)


def test_combining_different_mechanisms_adds_spans():
    a = frontier(get_technique("scaling-policy"), grid_points=400)
    b = frontier(get_technique("pass-at-k"), grid_points=400)
    c = combine(a, b)
    assert not c.shared_mechanism
    st_, si = c.sum_of_spans
    assert c.span.train_oom == pytest.approx(st_, rel=0.02)
    assert c.span.inference_oom == pytest.approx(si, rel=0.02)
    assert pareto_mask(c.log10_train_compute, c.log10_inference_compute).all()
    assert not any("share a mechanism" in n for n in c.notes)


@pytest.mark.parametrize("pair", [("pruning", "scaling-policy"), ("mcts", "pass-at-k")])
def test_combining_a_shared_mechanism_warns(pair):
    f1, f2 = (frontier(get_technique(n), grid_points=200) for n in pair)
    c = combine(f1, f2)
    assert c.shared_mechanism
    assert any("share a mechanism" in n for n in c.notes)


def test_combined_frontier_dominates_each_part():
    """Adding a second technique can only help: at every training compute on the first
    frontier's span the combined frontier needs no more inference."""
    a = frontier(get_technique("scaling-policy"), grid_points=400)
    b = frontier(get_technique("n-at-k"), grid_points=400)
    c = combine(a, b)
    s = a.span
    xa = a.log10_train_compute[s.start:s.end + 1]
    ya = a.log10_inference_compute[s.start:s.end + 1]
    yc = np.interp(xa, c.log10_train_compute, c.log10_inference_compute)
    assert np.all(yc <= ya + 1e-9)
    assert math.isclose(c.log10_train_compute[0], xa[0])


def _touches_edge(f) -> bool:
    """Whether a span end lies within 2% of the range from a grid edge that is not a hard
    bound of the technique (one sample, the n@k validity limit)."""
    x, y, s, t = f.grid_log10_train, f.grid_log10_inference, f.span, f.technique
    mx, my = 0.02 * (x[-1] - x[0]), 0.02 * (y[-1] - y[0])
    fx, fy = f.log10_train_compute, f.log10_inference_compute
    bottom = t.min_inference_compute > 0 and y[0] <= np.log10(t.min_inference_compute) + 1e-9
    right = x[-1] >= np.log10(t.max_train_compute) - 1e-9
    return bool(fx[s.start] - x[0] <= mx or y[-1] - fy[s.start] <= my
                or (x[-1] - fx[s.end] <= mx and not right)
                or (fy[s.end] - y[0] <= my and not bottom))


def test_pass_at_k_at_high_solve_rate_grows_the_grid_until_the_span_fits():
    """At solve rate 0.9 the default grid (8 OOM of samples) cut the span to 7.96 OOM of
    inference; the grid grows until the span no longer touches it (8.9 OOM), and a range the
    user fixed is flagged as a lower bound instead."""
    tech = get_technique("pass-at-k")
    f = frontier(tech, 0.9)
    assert f.span.inference_oom == pytest.approx(8.9, abs=0.1)
    assert not f.span.clipped_by_grid and not _touches_edge(f)
    assert any("grew" in n for n in f.notes)
    fixed = frontier(tech, 0.9, inference_range=(0, 8))
    assert fixed.span.clipped_by_grid and fixed.span.inference_oom < f.span.inference_oom
    assert any("lower bound" in n for n in fixed.notes)


@pytest.mark.parametrize("key", ALL)
@given(u=st.floats(0.0, 1.0))
def test_a_span_touching_the_grid_is_always_flagged(key, u):
    tech = get_technique(key)
    try:
        f = frontier(tech, _level(tech, u), grid_points=GRID)
    except InputError:  # no tradeoff on the grid at this level: nothing to flag
        return
    if f.span.end > f.span.start and _touches_edge(f):
        assert f.span.clipped_by_grid
