"""Compute overhead of training a smaller-than-optimal model to the same loss.

Source: de Vries 2023, "Go smol or go home" (REFERENCES.md section 5). A model with k_N times the
compute-optimal parameter count needs k_D times the compute-optimal tokens for the same loss:

    k_D = (1 - (k_N^-alpha - 1) A N_opt^-alpha / (B D_opt^-beta))^(-1/beta),

and since alpha A N_opt^-alpha = beta B D_opt^-beta at the compute-optimal point (Hoffmann et al.
2022, eq. 4), A N_opt^-alpha / (B D_opt^-beta) = beta / alpha: k_D depends only on alpha, beta
and k_N, not on the budget, E, A or B. The compute overhead is k_N k_D - 1. As k_N falls to
k_min = (1 + alpha/beta)^(-1/alpha) the token multiplier diverges (no number of tokens reaches
the loss); de Vries's *critical model size* is where the overhead reaches ~100%.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import _validate as v
from ..laws import ChinchillaLaw, get_law


def min_size_fraction(law: ChinchillaLaw) -> float:
    """k_min = (1 + alpha/beta)^(-1/alpha): below it the compute-optimal loss is unreachable.
    An InputError when it is below double precision (e.g. alpha = 0.01, beta = 1e-10: e^-1842),
    where neither it nor the critical size could be told from 0."""
    k_min = (1.0 + law.alpha / law.beta) ** (-1.0 / law.alpha)
    if not k_min > 0.0:
        from ..errors import InputError

        a, b = float(law.alpha), float(law.beta)
        log_k = -(math.log(a + b) - math.log(b)) / a  # log1p(a/b) without a/b overflowing
        raise InputError(f"the smallest model that can reach the compute-optimal loss, (1 + "
                         f"alpha/beta)^(-1/alpha) = e^{log_k:.4g}, is below double precision "
                         f"(alpha={law.alpha:g}, beta={law.beta:g}); use less extreme exponents")
    return k_min


def token_multiplier(law: ChinchillaLaw, size_fraction) -> np.ndarray:
    """k_D = (1 - (k_N^-alpha - 1) beta/alpha)^(-1/beta) (de Vries 2023). Needs k_N > k_min."""
    k_min = min_size_fraction(law)
    k = v.greater_than("size_fraction", size_fraction, k_min,
                       f"{k_min:.4g}, (1 + alpha/beta)^(-1/alpha), the smallest model that can "
                       "reach the compute-optimal loss")
    a, b = law.alpha, law.beta
    return (1.0 - (k**-a - 1.0) * b / a) ** (-1.0 / b)


def compute_overhead(law: ChinchillaLaw, size_fraction) -> np.ndarray:
    """k_N k_D - 1: extra training compute for the same loss, as a fraction (de Vries 2023)."""
    k = v.as_float_array("size_fraction", size_fraction)
    return k * token_multiplier(law, k) - 1.0


def critical_size_fraction(law: ChinchillaLaw, overhead=1.0) -> np.ndarray:
    """The size fraction k_N < 1 whose compute overhead equals ``overhead`` (default 1 = 100%,
    de Vries's critical model size, ~30% for alpha = 0.336, beta = 0.283). The overhead falls
    monotonically from infinity at k_min to 0 at k_N = 1, so bisection in log k brackets the
    root; 64 halvings of the bracket reach double precision. Broadcasts over ``overhead``."""
    target = np.log1p(v.positive("overhead", overhead))
    a, b = law.alpha, law.beta
    lo = np.full_like(target, np.log(min_size_fraction(law)))
    hi = np.zeros_like(target)

    def log_cost(z):  # log(k_N k_D), decreasing in z = log k_N on (log k_min, 0]
        return z - np.log1p(-(np.exp(-a * z) - 1.0) * b / a) / b

    for _ in range(64):
        mid = 0.5 * (lo + hi)
        with np.errstate(invalid="ignore"):  # rounding below k_min: infinite cost, so "above"
            above = ~(log_cost(mid) <= target)
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    return np.exp(0.5 * (lo + hi))


@dataclass(frozen=True)
class Overhead:
    law: ChinchillaLaw
    size_fraction: np.ndarray
    token_multiplier: np.ndarray
    compute_overhead: np.ndarray
    critical_overhead: float
    critical_size_fraction: float
    min_size_fraction: float

    def to_dict(self) -> dict:
        return {"law": self.law.coefficients() | {"name": self.law.name},
                "size_fraction": self.size_fraction,
                "token_multiplier": self.token_multiplier,
                "compute_overhead": self.compute_overhead,
                "critical_overhead": self.critical_overhead,
                "critical_size_fraction": self.critical_size_fraction,
                "min_size_fraction": self.min_size_fraction,
                "source": "de Vries 2023, Go smol or go home"}


def overhead(law=None, size_fraction=0.5, *, critical_overhead: float = 1.0) -> Overhead:
    """Token multiplier and compute overhead at ``size_fraction`` (of the compute-optimal
    size), with the critical size (overhead = ``critical_overhead``) and the limit k_min."""
    law = get_law(law)
    k = v.positive("size_fraction", size_fraction)
    kd = token_multiplier(law, k)
    crit = float(critical_size_fraction(law, v.positive("critical_overhead", critical_overhead)))
    return Overhead(law, k, kd, k * kd - 1.0, float(critical_overhead), crit,
                    min_size_fraction(law))
