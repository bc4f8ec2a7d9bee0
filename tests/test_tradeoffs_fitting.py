"""S-curve fitting: recover known parameters from synthetic data, CSV input, bad input."""

import numpy as np
import pytest

from computeplan import InputError
from computeplan.tradeoffs import (
    MCTS,
    LimitedSampling,
    RepeatedSampling,
    fit_csv,
    fit_curve,
    frontier,
)


def _synthetic(tech, t, u, noise, seed=3):
    T, U = np.meshgrid(t, u)
    y = tech.performance(10.0**T, 10.0**U)
    return 10.0**T, 10.0**U, y + noise * np.random.default_rng(seed).standard_normal(y.shape)


@pytest.mark.parametrize("family, tech, keys", [
    ("pass-at-k", RepeatedSampling(), ("a", "A", "x0")),
    ("n-at-k", LimitedSampling(), ("a", "A", "x0", "x1", "d0")),
    ("mcts", MCTS(), ("E", "train_slope", "train_x0", "train_x1", "nodes_slope", "nodes_x1")),
])
def test_synthetic_recovery(family, tech, keys):
    if family == "mcts":
        t, u, noise = np.linspace(12.5, 16, 12), np.linspace(0, 3, 10), 5.0
    else:
        lo = np.log10(tech.min_train_compute) + 0.5
        hi = min(lo + 3, np.log10(tech.max_train_compute))
        t, u, noise = np.linspace(lo, hi, 8), np.linspace(0, 4, 12), 0.005
    fit = fit_curve(family, *_synthetic(tech, t, u, noise))
    assert fit.rmse < 1.3 * noise
    true, got = tech.parameters(), fit.technique.parameters()
    for k in keys:
        assert got[k] == pytest.approx(true[k], rel=0.05, abs=0.03), k
    # the fitted technique has nearly the same span at the true default level
    f_true = frontier(tech, grid_points=300)
    f_fit = frontier(fit.technique, tech.default_level(), grid_points=300)
    assert f_fit.span.train_oom == pytest.approx(f_true.span.train_oom, abs=0.15)
    assert f_fit.span.inference_oom == pytest.approx(f_true.span.inference_oom, abs=0.25)


def test_fit_from_csv(tmp_path):
    tech = LimitedSampling()
    tc, k, y = _synthetic(tech, np.linspace(20.4, 22.2, 6), np.linspace(0, 3, 8), 0.003)
    path = tmp_path / "runs.csv"
    rows = "\n".join(f"{a:.6e},{b:.6g},{c:.6f}" for a, b, c in zip(
        tc.ravel(), k.ravel(), y.ravel(), strict=True))
    path.write_text("train_flops,samples,solve_rate\n" + rows + "\n")
    fit = fit_csv("n-at-k", path)
    assert fit.n_points == tc.size
    assert fit.technique.parameters()["x1"] == pytest.approx(tech.x1, abs=0.05)


def test_fit_bad_input(tmp_path):
    with pytest.raises(InputError, match="inference .* must be >= 1"):
        fit_curve("pass-at-k", [1e22] * 6, [0.5, 1, 2, 3, 4, 5], [0.1] * 6)
    with pytest.raises(InputError, match="unknown curve family"):
        fit_curve("beam", [1e22], [1], [0.1])
    with pytest.raises(InputError, match="needs at least 6 data points"):
        fit_curve("n-at-k", [1e22] * 3, [1, 2, 3], [0.1] * 3)
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,c\n1e22,x,0.5\n")
    with pytest.raises(InputError, match="line 2: non-numeric"):
        fit_csv("pass-at-k", bad)
    with pytest.raises(InputError, match="cannot read CSV"):
        fit_csv("pass-at-k", tmp_path / "missing.csv")
