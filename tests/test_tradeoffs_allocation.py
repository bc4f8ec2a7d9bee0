"""Erdil 2024 optimal split and de Vries 2023 over-training overhead: published numbers and
mathematical properties."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from computeplan import ChinchillaLaw, InputError, get_law
from computeplan.tradeoffs import (
    compute_overhead,
    critical_size_fraction,
    min_size_fraction,
    optimal_split,
    overhead,
    token_multiplier,
)

DE_VRIES = ChinchillaLaw(1.69, 406.4, 410.7, 0.336, 0.283)


# ---------------------------------------------------------------------------------- Erdil
def test_erdil_example():
    """beta = 1, alpha = 2, 300 total: 200 training / 100 inference; perturbations 283.4, 314.9."""
    s = optimal_split(1, 2, 300)
    d = s.to_dict()
    assert d["train"] == pytest.approx(200) and d["inference"] == pytest.approx(100)
    assert d["train_fraction"] == pytest.approx(2 / 3)
    equal, from_opt, back = s.perturbations()
    assert (equal.train, equal.inference) == (150, 150)
    assert equal.total == pytest.approx(283.4, abs=0.1)  # 150*10^0.1 + 150*10^-0.2 = 283.48
    assert from_opt.total == pytest.approx(314.9, abs=0.05)
    assert back.total > 300 and from_opt.total > 300 and equal.total < 300


@given(st.floats(0.05, 20), st.floats(0.05, 20), st.floats(1e-3, 1e30))
def test_split_minimises_total_on_a_constant_rate_frontier(beta, alpha, total):
    """On IC = K TC^(-alpha/beta) through the optimum, every other point costs more."""
    s = optimal_split(beta, alpha, total)
    tc0, ic0 = total * s.train_fraction, total * s.inference_fraction
    shifts = np.linspace(-2, 2, 81) / max(1.0, alpha / beta)  # OOM of training moved
    cost = tc0 * 10**shifts + ic0 * 10 ** (-shifts * alpha / beta)
    assert np.all(cost >= total * (1 - 1e-12))
    assert s.train_fraction + s.inference_fraction == pytest.approx(1)


@pytest.mark.parametrize("kwargs, message", [
    (dict(train_oom=0, inference_oom=1), "train_oom must be > 0"),
    (dict(train_oom=1, inference_oom=-2), "inference_oom must be > 0"),
    (dict(train_oom=1, inference_oom=2, total=-5), "total must be > 0"),
])
def test_split_bad_input(kwargs, message):
    with pytest.raises(InputError, match=message):
        optimal_split(**kwargs)


# ------------------------------------------------------------------------------- de Vries
@pytest.mark.parametrize("k, published, digits", [(0.75, 0.028, 3), (0.5, 0.20, 2),
                                                  (0.25, 1.88, 2)])
def test_de_vries_overheads(k, published, digits):
    """2.8% at 75% size, 20% at 50%, 188% at 25% (alpha 0.336, beta 0.283)."""
    got = float(compute_overhead(DE_VRIES, k))
    assert np.floor(got * 10**digits) / 10**digits == pytest.approx(published)


def test_de_vries_critical_size_near_30_percent():
    k = float(critical_size_fraction(DE_VRIES))
    assert 0.29 < k < 0.32
    assert compute_overhead(DE_VRIES, k) == pytest.approx(1.0, rel=1e-9)


def test_overhead_matches_the_law_directly():
    """The closed form equals re-solving the law: tokens for a k_N-times model at the
    compute-optimal loss, for any budget (the overhead does not depend on it)."""
    law = get_law("sardana2024")
    for c in (1e20, 1e24):
        opt = law.compute_optimal(train_flops=c)
        for k in (0.4, 0.8, 1.5):
            d = law.tokens_for_loss(opt.loss, k * opt.params)
            assert d / opt.train_tokens == pytest.approx(float(token_multiplier(law, k)),
                                                         rel=1e-9)


@given(st.floats(0.1, 0.9), st.floats(0.1, 0.9), st.floats(0.0, 1.0))
def test_overhead_properties(a, b, u):
    """Zero at the compute-optimal size, positive elsewhere (it is the minimum), and rising
    as the model shrinks towards k_min."""
    law = ChinchillaLaw(1.7, 400, 400, a, b)
    k_min = min_size_fraction(law)
    assert compute_overhead(law, 1.0) == pytest.approx(0.0, abs=1e-12)
    ks = k_min + (1 - k_min) * np.linspace(0.02 + 0.5 * u, 0.98, 30)
    o = compute_overhead(law, ks)
    assert np.all(o > 0) and np.all(np.diff(o) < 0)
    assert compute_overhead(law, 2.0) > 0


def test_size_below_the_limit_is_rejected():
    with pytest.raises(InputError, match=r"size_fraction must be > 0\.097.*smallest model"):
        overhead(DE_VRIES, 0.05)
    with pytest.raises(InputError, match="size_fraction must be > 0"):
        overhead(DE_VRIES, -0.5)


def test_overhead_result_keys():
    d = overhead(DE_VRIES, [0.5, 0.25]).to_dict()
    assert {"compute_overhead", "token_multiplier", "critical_size_fraction",
            "min_size_fraction"} <= set(d)
    assert len(d["compute_overhead"]) == 2


@pytest.mark.parametrize("kwargs, match", [
    (dict(train_oom=413, inference_oom=1, step_oom=413), r"step_oom must be in \(0, 3\]"),
    (dict(train_oom=0.001, inference_oom=100), "inference move"),
    (dict(train_oom=1, inference_oom=2, total=1.7e308), "stays finite"),
])
def test_perturbation_check_rejects_overflowing_moves(kwargs, match):
    with pytest.raises(InputError, match=match):
        optimal_split(**kwargs)


@pytest.mark.filterwarnings("error")
def test_critical_size_at_huge_overhead_is_the_size_limit_without_nan():
    law = get_law("sardana2024")
    k = critical_size_fraction(law, np.array([1e3, 1e12, 1e300]))
    assert np.all(np.isfinite(k))
    assert np.all(k >= min_size_fraction(law) * (1 - 1e-12))
    assert np.all(np.diff(k) <= 0)


@pytest.mark.filterwarnings("error")
def test_a_size_limit_below_double_precision_is_an_error_not_zero():
    """k_min = e^-1842 (what alpha = 0.01, beta = 1e-10 gave before exponents had a floor) would
    read as 0, and the critical size with it: a one-line error instead."""
    from dataclasses import replace

    from computeplan.tradeoffs.overhead import _checked_min, _contour

    tiny = replace(_contour(get_law("sardana2024")), log_min=np.array(-1842.0))
    with pytest.raises(InputError, match=r"e\^-1842, is below double precision"):
        _checked_min(tiny)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("coef, value", [("alpha", 0.01), ("beta", 1e-10), ("beta", 1e-17)])
def test_an_exponent_at_or_below_the_floor_is_a_one_line_error(coef, value):
    """An exponent at or below 0.01 (the fitter's boundary) is rejected, not turned into an
    overhead of -0.5 (beta = 1e-17: the closed form's powers 1/beta cancel); the CLI exits 2."""
    with pytest.raises(InputError, match=rf"^law coefficient {coef} must be a finite number "
                                         r"> 0\.01 \("):
        get_law("sardana2024", **{coef: value})
    from typer.testing import CliRunner

    from computeplan.cli import app

    out = CliRunner().invoke(app, ["overhead", f"--{coef}", str(value), "--size-fraction", "0.5"])
    assert out.exit_code == 2 and "Traceback" not in out.output
    assert out.output.strip() == f"error: --{coef} must be > 0.01; got {value:g}"
    assert 0.09 < float(compute_overhead(get_law("sardana2024", beta=0.0100001), 0.5)) < 0.1
