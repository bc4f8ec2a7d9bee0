"""Technique models: published numbers, spans of Villalobos & Atkinson 2023, bounds, properties."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from computeplan import InputError, get_law
from computeplan.tradeoffs import (
    MCTS,
    LimitedSampling,
    Pruning,
    RepeatedSampling,
    ScalingPolicy,
    frontier,
    get_technique,
    pruning_rounds,
    smooth_ramp,
    training_multiplier,
)

ALL = ["scaling-policy", "pruning", "mcts", "pass-at-k", "n-at-k"]


# ------------------------------------------------------------------------------------ pruning
def test_pruning_to_10_percent_at_20_percent_per_round_costs_4_5x():
    """REFERENCES section 3: 10% density at x = 0.2 costs ~4.5x training compute."""
    assert training_multiplier(0.1, 0.2) == pytest.approx(4.5)
    n = pruning_rounds(0.1, 0.2)
    assert n == pytest.approx(10.32, abs=0.01)
    assert (1 - 0.8**n) / 0.2 == pytest.approx(4.5)  # the rounds formula itself


@given(st.floats(0.01, 0.99), st.floats(0.01, 0.99))
def test_pruning_multiplier_matches_rounds_formula(density, x):
    n = pruning_rounds(density, x)
    expected = max(1.0, (1 - (1 - x) ** n) / x)
    assert training_multiplier(density, x) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("density", [0.0, -0.1, 1.5])
def test_density_outside_unit_interval_is_rejected(density):
    with pytest.raises(InputError, match=r"density must be in \(0, 1\]"):
        training_multiplier(density, 0.2)


@pytest.mark.parametrize("value", [0.0, 1.2, -1.0])
def test_pruning_min_density_outside_unit_interval(value):
    with pytest.raises(InputError, match=r"min_density must be in \(0, 1\]; got"):
        Pruning(min_density=value)


def test_pruning_span_is_about_one_oom_each_way():
    """The paper's setup (20% per round to 10% density): log10 4.5 = 0.65 OOM of training for
    ~0.9 of the log10(1/0.1) = 1 OOM of inference, Villalobos & Atkinson's "~1 / ~1" rounded."""
    assert Pruning().fraction_per_round == 0.2
    f = frontier(Pruning(), grid_points=600)
    assert f.span.train_oom == pytest.approx(math.log10(4.5), abs=0.03)  # (1 - 0.1) / 0.2
    assert f.span.inference_oom == pytest.approx(0.9, abs=0.06)
    assert round(f.span.train_oom) == round(f.span.inference_oom) == 1
    ten = frontier(Pruning(fraction_per_round=0.1), grid_points=600)
    assert ten.span.train_oom == pytest.approx(math.log10(9.0), abs=0.03)  # (1 - 0.1) / 0.1


def test_pruning_keeps_the_dense_quality_down_to_min_density():
    """Along its frontier pruning reaches the level; below min_density it cannot."""
    p = Pruning()
    law = p.law
    c0 = 1e24
    n0 = law.compute_optimal(train_flops=c0).params
    level = float(law.compute_optimal(train_flops=c0).loss)
    for d in (1.0, 0.5, 0.1):
        tc = c0 * training_multiplier(d, p.fraction_per_round)
        assert p.performance(tc * 1.0001, 2 * n0 * d * 1.0001) <= level
    assert p.performance(1e30, 2 * n0 * 0.05) > level


@given(st.floats(math.log10(0.0101), math.log10(0.03)), st.floats(-60.0, -30.0),
       st.floats(18.0, 26.0))
def test_pruning_with_a_tiny_beta_is_the_direct_formula_in_high_precision(lg_beta, lg_frac,
                                                                           lg_tc):
    """With beta near its floor 0.01 (p = beta/(alpha+beta) <= 0.081) and N0 = IC/(2 d_min) at
    most 1e-30 G, the IC-bound dense budget C0 = 6 (N0/G)^(1/p) is below 1e-308, far below
    double precision, though the model's loss is finite; the score is that loss (it was NaN),
    computed directly in decimals."""
    law = get_law(beta=10.0**lg_beta)
    p = Pruning(law=law)
    ic = 2 * law.G * p.min_density * 10.0**lg_frac  # N0 < G: C0 underflows double precision
    got = p.performance(10.0**lg_tc, ic)
    assert np.isfinite(got)
    assert float(got) == pytest.approx(_decimal_ic_bound_loss(law, ic, p.min_density), rel=1e-9)


def _decimal_ic_bound_loss(law, ic, min_density) -> float:
    """E + A N0^-alpha + B D0^-beta at N0 = IC / (2 d_min), C0 / 6 = (N0 / G)^(1/p),
    D0 = C0 / (6 N0) (Hoffmann et al. 2022, eq. 4), in 50-digit decimals of unbounded range."""
    from decimal import MAX_EMAX, MIN_EMIN, Decimal, localcontext

    with localcontext(prec=50, Emin=MIN_EMIN, Emax=MAX_EMAX):
        e, a, b, al, be = (Decimal(getattr(law, k)) for k in ("E", "A", "B", "alpha", "beta"))
        g = (al * a / (be * b)) ** (1 / (al + be))
        n0 = Decimal(ic) / (2 * Decimal(min_density))
        c6 = (n0 / g) ** ((al + be) / be)
        return float(e + a * n0**-al + b * (c6 / n0) ** -be)


# ----------------------------------------------------------------------------- scaling policy
@pytest.mark.parametrize("law", ["hoffmann2022", "sardana2024"])
def test_scaling_policy_shape_reproduces_villalobos(law):
    """~1.2 OOM of extra training buys ~0.7 OOM less inference near the compute-optimal point."""
    f = frontier(ScalingPolicy(law=get_law(law)))
    assert f.span.train_oom == pytest.approx(1.2, abs=0.05)  # to the published digits
    assert f.span.inference_oom == pytest.approx(0.7, abs=0.05)
    assert not f.span.clipped_by_grid
    start = f.span_points()["start"]
    opt = get_law(law).compute_optimal(loss=f.level)
    # the span starts within 0.05 OOM of the compute-optimal training budget
    assert abs(math.log10(start["train_compute"] / opt.train_flops)) < 0.05


def test_scaling_policy_frontier_is_the_chinchilla_iso_loss_curve():
    """Frontier points are models (N = IC/2, D = TC/(6N)) with exactly the target loss."""
    tech = ScalingPolicy()
    f = frontier(tech, grid_points=400)
    n = f.inference_compute / 2
    d = f.train_compute / (6 * n)
    assert np.allclose(tech.law.loss(n, d), f.level, rtol=1e-5)


def test_scaling_policy_inference_floor_is_the_infinite_data_limit():
    """Inference can never fall below 2 N_min, N_min = (A / (l - E))^(1/alpha)."""
    tech = ScalingPolicy()
    f = frontier(tech, grid_points=400)
    law = tech.law
    n_min = (law.A / (f.level - law.E)) ** (1 / law.alpha)
    assert f.inference_compute.min() > 2 * n_min


def test_span_does_not_depend_on_level_for_the_scaling_policy():
    """Chinchilla iso-loss curves are self-similar: a constant-span (CES-like) tradeoff."""
    tech = ScalingPolicy()
    spans = [frontier(tech, tech.law.compute_optimal(train_flops=c).loss, grid_points=600).span
             for c in (1e21, 1e25)]
    assert spans[0].train_oom == pytest.approx(spans[1].train_oom, abs=0.02)
    assert spans[0].inference_oom == pytest.approx(spans[1].inference_oom, abs=0.02)


# ----------------------------------------------------------------------- search techniques
@pytest.mark.parametrize("name, train, inference, inference_abs", [
    ("mcts", 1.6, 1.6, 0.05), ("pass-at-k", 3.0, 6.0, 0.1), ("n-at-k", 1.0, 1.45, 0.005)])
def test_default_spans_reproduce_the_published_table(name, train, inference, inference_abs):
    """The spans to the published digits (half a unit of the last one: 1.45 +- 0.005), or
    tighter where that would allow more than 0.05 / 0.1 OOM (3 / 6)."""
    f = frontier(get_technique(name))
    assert f.span.train_oom == pytest.approx(train, abs=0.05)
    assert f.span.inference_oom == pytest.approx(inference, abs=inference_abs)
    assert not f.span.clipped_by_grid


def test_pass_at_k_is_a_non_saturating_increasing_span_tradeoff():
    tech = RepeatedSampling()
    spans = [frontier(tech, p).span.inference_oom for p in (0.3, 0.5, 0.7)]
    assert spans[0] < spans[1] < spans[2]


def test_pass_at_k_saturates_at_one_and_n_at_k_below():
    big = 1e12
    assert RepeatedSampling().solve_rate(1e23, big) == pytest.approx(1.0, abs=1e-6)
    n_at_k = LimitedSampling()
    tc = 1e22
    b = n_at_k.slope(tc)
    assert n_at_k.solve_rate(tc, big) == pytest.approx(b * (n_at_k.x1 - n_at_k.x0), abs=1e-4)
    assert n_at_k.solve_rate(tc, big) < 1


def test_smooth_ramp_limits():
    assert smooth_ramp(-50.0, 2.0, 1.0, 3.0, 0.1, 0.1) == pytest.approx(2.0 * (1.0 - 3.0))
    assert smooth_ramp(50.0, 2.0, 1.0, 3.0, 0.1, 0.1) == pytest.approx(0.0, abs=1e-9)
    assert smooth_ramp(2.0, 2.0, 1.0, 3.0, 1e-3, 1e-3) == pytest.approx(-2.0, abs=1e-6)


@pytest.mark.parametrize("samples", [0.5, 0.0, -3.0])
def test_samples_below_one_are_rejected(samples):
    with pytest.raises(InputError, match=r"samples must be >= 1 \(at least one sample"):
        RepeatedSampling().solve_rate(1e23, samples)


def test_mcts_needs_at_least_one_node():
    with pytest.raises(InputError, match=r"MCTS nodes .* must be >= 1"):
        MCTS().performance(1e14, 0.5)


@pytest.mark.parametrize("name", ALL)
def test_negative_compute_is_rejected(name):
    tech = get_technique(name)
    with pytest.raises(InputError, match="train_compute must be"):
        tech.performance(-1e20, 10.0)
    with pytest.raises(InputError, match="inference_compute must be > 0"):
        tech.performance(1e22, -5.0)


@pytest.mark.parametrize("name, level", [
    ("scaling-policy", 1.5), ("pruning", 1.69), ("mcts", 2500.0), ("pass-at-k", 1.0),
    ("n-at-k", 0.0), ("mcts", 10.0)])
def test_unreachable_levels_are_rejected_with_the_range(name, level):
    with pytest.raises(InputError, match=r"^level \(.*\) must be in \(.*\), the range reachable"):
        frontier(get_technique(name), level)


def test_messages_are_one_line():
    for call in (lambda: training_multiplier(2.0, 0.2),
                 lambda: RepeatedSampling().solve_rate(1e23, 0.1),
                 lambda: frontier(get_technique("mcts"), 5000.0),
                 lambda: get_technique("beam-search")):
        with pytest.raises(InputError) as info:
            call()
        assert "\n" not in str(info.value)


# ------------------------------------------------------------------------------- properties
@pytest.mark.parametrize("name", ALL)
@given(data=st.data())
def test_performance_never_falls_with_more_compute(name, data):
    """The at-most-budget semantics: more of either compute never hurts."""
    tech = get_technique(name)
    (tlo, thi), (ilo, ihi) = tech.grid_range(tech.default_level())
    t = data.draw(st.floats(tlo, thi))
    i = data.draw(st.floats(ilo, ihi))
    dt = data.draw(st.floats(0, 0.5))
    di = data.draw(st.floats(0, 0.5))
    base = tech.merit(10**t, 10**i)
    assert tech.merit(10 ** min(t + dt, thi), 10**i) >= base - 1e-9 * abs(base)
    assert tech.merit(10**t, 10 ** min(i + di, ihi)) >= base - 1e-9 * abs(base)


@given(st.floats(0.05, 0.95), st.floats(18, 28), st.floats(6, 14))
def test_pruning_performance_is_vectorised_and_exact(x, t, i):
    """The table-plus-Newton path for large arrays equals the direct solve, element by element."""
    p = Pruning(fraction_per_round=x)
    tc = 10 ** (t + np.linspace(-2, 2, 101))[None, :]
    ic = 10 ** (i + np.linspace(-2, 2, 101))[:, None]
    big = p.performance(tc, ic)
    assert big.shape == (101, 101)
    rows = [p.performance(tc[0, j], ic[k, 0]) for j, k in ((0, 0), (50, 50), (100, 3))]
    assert np.allclose([big[0, 0], big[50, 50], big[3, 100]], rows, rtol=1e-12)


def test_every_technique_by_its_key():
    from computeplan.defaults import TECHNIQUES
    from computeplan.tradeoffs.techniques import LAW_TECHNIQUES, TECHNIQUE_CLASSES, get_technique

    assert tuple(TECHNIQUE_CLASSES) == TECHNIQUES
    assert LAW_TECHNIQUES == ("scaling-policy", "pruning")
    for key in TECHNIQUES:
        assert get_technique(key).key == key
    with pytest.raises(InputError, match="a law applies only to scaling-policy, pruning"):
        get_technique("mcts", law="hoffmann2022")
    with pytest.raises(InputError, match="unknown technique 'nope'"):
        get_technique("nope")
