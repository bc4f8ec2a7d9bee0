"""Smoothly broken S-curves used by the search techniques (MCTS, repeated sampling).

Source: Villalobos & Atkinson 2023, "Trading off compute in training and inference" (Epoch),
section on MCTS (Hex, after Jones 2021, "Scaling scaling laws with board games") and on repeated
sampling (AlphaCode, Li et al. 2022). All logarithms in this package are base 10, so an
argument ``x`` is measured in orders of magnitude (OOM).
"""

from __future__ import annotations

import numpy as np


def softplus(z) -> np.ndarray:
    """log(1 + e^z), computed without overflow."""
    return np.logaddexp(0.0, z)


def smooth_ramp(x, slope, x0, x1, d0, d1) -> np.ndarray:
    """Smoothly broken power law in log space (a ramp that rises between x0 and x1):

        s(x) = slope * [(x0 - x1) + d0 log(1 + e^((x - x0)/d0)) - d1 log(1 + e^((x - x1)/d1))]

    Villalobos & Atkinson 2023 write s(x) = a (x0 - x1) + d0 log(1 + e^(..)) - d1 log(1 + e^(..));
    we read ``a`` as the slope of the whole ramp, which is the same function when a = 1 and lets
    the ramp height in score units be ``slope * (x1 - x0)``. Limits: s -> slope (x0 - x1) for
    x << x0 (the floor), s -> 0 for x >> x1 (saturation), slope ``slope`` in between; ``d0``
    and ``d1`` (OOM) set how sharply it bends at each break. Broadcasts over all arguments.
    """
    x = np.asarray(x, dtype=float)
    return slope * ((x0 - x1) + d0 * softplus((x - x0) / d0) - d1 * softplus((x - x1) / d1))


def ramp_from_zero(u, slope, x0, x1, d0, d1) -> np.ndarray:
    """The same ramp shifted to start at 0: ``slope * [d0 sp((u-x0)/d0) - d1 sp((u-x1)/d1)]``.

    This is the repeated-sampling curve of Villalobos & Atkinson 2023: with x1 = x0 + 1/slope it
    saturates at exactly 1 (pass@k, unlimited trials); with a fixed x1 it saturates at
    slope (x1 - x0) (n@k, limited trials).
    """
    u = np.asarray(u, dtype=float)
    return slope * (d0 * softplus((u - x0) / d0) - d1 * softplus((u - x1) / d1))
