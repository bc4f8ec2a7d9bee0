"""A vectorised root finder for strictly increasing functions with bounded slope."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .errors import ConvergenceError


def increasing_root(
    func: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    x0: np.ndarray,
    slope_min: float | np.ndarray,
    slope_max: float | np.ndarray,
    *,
    xtol: float = 1e-14,
    maxiter: int = 100,
) -> np.ndarray:
    """Root of each element of ``func`` (returning value and derivative), which must be strictly
    increasing with derivative in ``[slope_min, slope_max]``, both > 0.

    The slope bounds turn one evaluation at ``x0`` into a bracket (mean value theorem); Newton
    steps that leave the bracket fall back to bisection, so convergence is guaranteed. Stops when
    every step is below ``xtol * max(1, |x|)``; raises :class:`ConvergenceError` otherwise.
    """
    x = np.array(x0, dtype=float)
    f, df = func(x)
    x, f = np.broadcast_arrays(x, f)
    x = x.copy()
    pos = f > 0
    lo = x - f / np.where(pos, slope_min, slope_max)
    hi = x - f / np.where(pos, slope_max, slope_min)
    lo, hi = np.minimum(lo, hi), np.maximum(lo, hi)
    for _ in range(maxiter):
        newton = x - f / df
        inside = (newton > lo) & (newton < hi)
        x_new = np.where(inside, newton, 0.5 * (lo + hi))
        step = np.abs(x_new - x)
        x = x_new
        f, df = func(x)
        below = f < 0
        lo = np.where(below, x, lo)
        hi = np.where(below, hi, x)
        if np.all(step <= xtol * np.maximum(1.0, np.abs(x))):
            return x
    raise ConvergenceError(f"root finder did not converge in {maxiter} iterations")
