"""Benchmark: iso-performance contours and Pareto frontiers on a 1000 x 1000 grid.

Target (issue 4): well under a second per technique. Baselines measured in the same run:
(a) a naive loop calling the technique once per grid point (scalar numpy calls), timed on a
    100 x 100 subset and scaled x100 to the full grid;
(b) an O(n^2) pairwise dominance check for the Pareto set, timed on a 2000-point subset of the
    iso-curve cloud and scaled by (n / 2000)^2.
Run by hand: .venv/bin/python bench/bench_tradeoff.py
"""

from __future__ import annotations

import numpy as np

from _timing import best
from computeplan.tradeoffs import frontier, get_technique, pareto_mask
from computeplan.tradeoffs.frontier import score_grid

N = 1000


def naive_grid(tech, x, y):
    out = np.empty((y.size, x.size))
    for i, yi in enumerate(y):
        for j, xj in enumerate(x):
            out[i, j] = tech.merit(10.0**xj, 10.0**yi)
    return out


def quadratic_pareto(x, y):
    keep = np.ones(x.size, bool)
    for k in range(x.size):
        dom = (x <= x[k]) & (y <= y[k]) & ((x < x[k]) | (y < y[k]))
        keep[k] = not dom.any()
    return keep


def main() -> None:
    print(f"grid {N} x {N}; times are the best of 3 runs")
    print(f"{'technique':<16}{'frontier s':>11}{'grid eval s':>12}{'naive s (scaled)':>18}"
          f"{'ratio':>8}{'span T/I OOM':>14}")
    for name in ("scaling-policy", "pruning", "mcts", "pass-at-k", "n-at-k"):
        tech = get_technique(name)
        level = tech.default_level()
        t_front, f = best(lambda tech=tech, level=level: frontier(tech, level, grid_points=N))
        x, y = f.grid_log10_train, f.grid_log10_inference
        t_grid, _ = best(lambda tech=tech, x=x, y=y: score_grid(tech, x, y))
        sub_x, sub_y = x[:: N // 100], y[:: N // 100]
        t_naive_sub, slow = best(
            lambda tech=tech, sx=sub_x, sy=sub_y: naive_grid(tech, sx, sy), repeat=1)
        fast = tech.merit(10.0 ** sub_x[None, :], 10.0 ** sub_y[:, None])
        assert np.allclose(slow, fast, rtol=1e-12, equal_nan=True)
        t_naive = t_naive_sub * (N * N) / (sub_x.size * sub_y.size)
        print(f"{name:<16}{t_front:>11.3f}{t_grid:>12.3f}{t_naive:>18.1f}"
              f"{t_naive / t_front:>7.0f}x{f.span.train_oom:>7.2f}/{f.span.inference_oom:.2f}")

    # Pareto extraction: O(n log n) mask versus O(n^2) pairwise dominance, on a cloud of n points
    rng = np.random.default_rng(0)
    n = N * N
    cx, cy = rng.random(n), rng.random(n)
    t_fast, mask = best(lambda: pareto_mask(cx, cy))
    m = 2000
    t_quad_sub, keep = best(lambda: quadratic_pareto(cx[:m], cy[:m]), repeat=1)
    assert np.array_equal(keep, pareto_mask(cx[:m], cy[:m]))
    t_quad = t_quad_sub * (n / m) ** 2
    print(f"\nPareto set of {n:.0e} points: sort-based {t_fast:.3f} s; pairwise O(n^2) "
          f"{t_quad:.3g} s (scaled from {m} points); ratio {t_quad / t_fast:.3g}x; "
          f"{int(mask.sum())} efficient points")


if __name__ == "__main__":
    main()
