"""No Python-level code per element in the vectorised public functions.

Each check runs one call on 1e3 and one on 1e5 elements (scenarios, grid cells, runs) in the same
test and compares the Python work they do: the number of Python trace events (function calls and
lines executed, counted with ``sys.settrace``). A vectorised call does the same Python work at any
size (plus a little per cache-sized block), so the ratio stays near 1; a per-element Python loop
(a list comprehension, ``np.vectorize``, a recursive ``to_dict`` walk) makes it about 100.

Why events and not wall time: the per-element cost of a long numpy pipeline (the planner's ~50 ns)
is the same size as one Python operation per element, so on a shared 2-core machine the timing
ratios of correct and regressed code overlap (both measured 50-97 here). The event count is
deterministic, so this test cannot flake on load and cannot pass a regression by luck.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from computeplan import Demand, budget_optimal, lifetime_optimal
from computeplan.fitting import fit_law
from computeplan.hardware import Hardware, estimate_serving, estimate_shape, get_gpu
from computeplan.tradeoffs import frontier, get_technique

SMALL, LARGE = 1_000, 100_000
#: A per-element Python loop makes the ratio ~100 (LARGE / SMALL); vectorised calls measure 1-2.
MAX_RATIO = 5.0


def python_events(fn, *, warm: bool = True) -> int:
    """Python trace events (calls, lines, returns) while ``fn()`` runs (after one untraced call
    with ``warm``, so that lazy imports and caches do not count)."""
    count = 0

    def trace(frame, event, arg):
        nonlocal count
        count += 1
        return trace

    if warm:
        fn()
    old = sys.gettrace()
    sys.settrace(trace)
    try:
        fn()
    finally:
        sys.settrace(old)
    return count


def assert_vectorised(make, what: str) -> None:
    """``make(n)`` returns a call on ``n`` elements."""
    small, large = python_events(make(SMALL)), python_events(make(LARGE), warm=False)
    assert large < MAX_RATIO * small, (
        f"{what}: 100x the elements ran {large / small:.0f}x the Python code "
        f"({small} -> {large} trace events)")


def tiled(values, n: int) -> np.ndarray:
    """``values`` (SMALL of them) repeated to ``n`` elements: iterative solvers then take the same
    number of iterations on both sizes, so the ratio measures cost per element only."""
    return np.tile(values, n // SMALL)


def test_planner_fixed_loss_is_vectorised():
    def make(n):
        loss = tiled(np.linspace(1.9, 2.6, SMALL), n)
        tokens = tiled(np.geomspace(1e9, 1e14, SMALL), n)
        return lambda: lifetime_optimal("sardana2024", loss=loss, inference_tokens=tokens)
    assert_vectorised(make, "lifetime_optimal")


def test_planner_budget_is_vectorised():
    demand = Demand.from_requests(1e9, 1000, 250)

    def make(n):
        budget = tiled(np.geomspace(1e21, 1e26, SMALL), n)
        return lambda: budget_optimal("sardana2024", budget=budget, demand=demand)
    assert_vectorised(make, "budget_optimal")


def test_serving_is_vectorised():
    hw = Hardware.of(get_gpu("h200"), "fp8")

    def make(n):
        shape = estimate_shape(tiled(np.geomspace(1e9, 1e11, SMALL), n), kv_heads=8)
        batch = tiled(np.round(np.geomspace(1, 64, SMALL)), n)
        return lambda: estimate_serving(hw, shape, batch=batch, context=2048.0, max_gpus=1024)
    assert_vectorised(make, "estimate_serving")


@pytest.mark.parametrize("name", ["scaling-policy", "pass-at-k"])
def test_tradeoff_grid_is_vectorised(name):
    tech = get_technique(name)
    level = tech.default_level()

    def make(n):  # grid_points^2 grid cells
        points = int(round(np.sqrt(n)))
        return lambda: frontier(tech, level, grid_points=points)
    assert_vectorised(make, f"frontier({name})")


def test_fit_is_vectorised_over_runs():
    """One start on a ladder of 1e3 runs and on the same ladder repeated 100 times (the same
    objective up to a factor 100, so the optimiser takes the same path)."""
    rng = np.random.default_rng(0)
    n = np.exp(rng.uniform(np.log(1e7), np.log(1e10), SMALL))
    d = n * np.exp(rng.uniform(np.log(5), np.log(200), SMALL))
    loss = (1.8 + 400 * n**-0.34 + 400 * d**-0.28) * np.exp(rng.normal(0, 0.01, SMALL))
    start = np.array([[5.0, 5.0, 0.5, 0.5, 0.5]])

    def make(size):
        args = tiled(n, size), tiled(d, size), tiled(loss, size)
        return lambda: fit_law(*args, starts=start)
    assert_vectorised(make, "fit_law")
