"""Combining two techniques into one frontier.

Source: Villalobos & Atkinson 2023 (REFERENCES.md section 3): techniques that act through
different mechanisms (say, over-training and repeated sampling) roughly add their spans; two that
act through the same mechanism (pruning and over-training both shrink the model; MCTS and
repeated sampling both search at inference) do not.

Model: with independent mechanisms each technique multiplies training and inference compute by
its own factors, so in log space the shifts add. Each useful frontier segment (its span) is
written as shifts from its low-training end, (dx, dy) with dx >= 0 training added and dy >= 0
inference saved; the combined frontier is the lower envelope of all sums (Minkowski sum of the two
segments), placed at the low-training end of the first technique's frontier. Its span is measured
by the same rule as a single frontier and compared with the sum of the two spans.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..vocabulary import option
from .frontier import Frontier, Span, local_exchange_rate, measure_span, pareto_mask


@dataclass(frozen=True)
class Combination:
    first: Frontier
    second: Frontier
    log10_train_compute: np.ndarray
    log10_inference_compute: np.ndarray
    exchange_rate: np.ndarray
    span: Span
    shared_mechanism: bool
    notes: tuple[str, ...]

    @property
    def sum_of_spans(self) -> tuple[float, float]:
        a, b = self.first.span, self.second.span
        return a.train_oom + b.train_oom, a.inference_oom + b.inference_oom

    def to_dict(self) -> dict:
        t, i = self.sum_of_spans
        return {"techniques": [self.first.technique.key, self.second.technique.key],
                "levels": [self.first.level, self.second.level],
                "shared_mechanism": self.shared_mechanism,
                "span": self.span.to_dict(),
                "separate_spans": {"train_oom": [self.first.span.train_oom,
                                                 self.second.span.train_oom],
                                   "inference_oom": [self.first.span.inference_oom,
                                                     self.second.span.inference_oom]},
                "sum_of_spans": {"train_oom": t, "inference_oom": i},
                "notes": list(self.notes)}


def _segment(front: Frontier, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Shifts (training added, inference saved) along the span of ``front``, thinned."""
    s = front.span
    x = front.log10_train_compute[s.start:s.end + 1]
    y = front.log10_inference_compute[s.start:s.end + 1]
    if x.size > max_points:
        keep = np.unique(np.linspace(0, x.size - 1, max_points).round().astype(int))
        x, y = x[keep], y[keep]
    return x - x[0], y[0] - y


def combine(first: Frontier, second: Frontier, *, max_points: int = 500) -> Combination:
    """The combined frontier of two techniques (module docstring), with a warning note when
    they share a mechanism, in which case the combined span overstates what is achievable."""
    dx1, dy1 = _segment(first, max_points)
    dx2, dy2 = _segment(second, max_points)
    s = first.span
    x0, y0 = first.log10_train_compute[s.start], first.log10_inference_compute[s.start]
    cx = (dx1[:, None] + dx2[None, :]).ravel() + x0
    cy = y0 - (dy1[:, None] + dy2[None, :]).ravel()
    keep = pareto_mask(cx, cy)
    order = np.argsort(cx[keep])
    fx, fy = cx[keep][order], cy[keep][order]
    rate = local_exchange_rate(fx, fy)
    clipped = first.span.clipped_by_grid or second.span.clipped_by_grid
    span = measure_span(fx, fy, rate, s.min_exchange_rate, clipped, clipped)
    mech_a, mech_b = first.technique.mechanism, second.technique.mechanism
    shared = mech_a == mech_b
    notes = []
    if shared:
        notes.append(f"{first.technique.key} and {second.technique.key} share a mechanism "
                     f"({mech_a}): their spans do not add, and the combined span shown "
                     "overstates what the pair can achieve (Villalobos & Atkinson 2023)")
    if span.clipped_by_grid:
        notes.append("a part's span is clipped by its grid, so the combined span is a lower "
                     f"bound; widen {option('train_range')}/{option('inference_range')}")
    notes.append("combined frontier assumes independent mechanisms whose compute multipliers "
                 "multiply; it is anchored at the low-training end of "
                 f"{first.technique.key}'s span")
    return Combination(first, second, fx, fy, rate, span, shared, tuple(notes))
