"""Iso-performance curves, Pareto frontiers, spans and exchange rates on a log-log grid.

Method (all logarithms base 10, so distances are orders of magnitude, OOM):

1. Evaluate the technique's performance on an ``n x n`` grid of log10 training compute (x) and
   log10 inference compute per query (y) in one vectorised call, with the sign set so larger is
   better, and take the running maximum along both axes: the best score reachable with *at most*
   that much of each (a no-op for the built-in techniques, which are already monotone).
2. The iso-performance curve at level p: in each training column, the least inference compute
   reaching p, linearly interpolated between the two grid rows that bracket p.
3. The Pareto frontier: the points of that curve where inference compute is strictly below its
   value at every smaller training compute (the flat parts of the curve are dominated).
4. The local exchange rate r = -d log10 IC / d log10 TC along the frontier (OOM of inference
   saved per OOM of training added; the local elasticity), by finite differences.
5. The span (Villalobos & Atkinson 2023's "span of the tradeoff"). Frontiers can run on
   asymptotically (the scaling policy trades ever more training for ever less inference), so the
   span is measured on the frontier with its two asymptotic ends trimmed: from the first point
   where r <= 1 / r_min (before it, one more OOM of inference saves less than r_min OOM of
   training) to the last point where r >= r_min (after it, one more OOM of training saves less
   than r_min OOM of inference). The span is the distance between those two points along each
   axis, in OOM, and the exchange rate over the span is span_inference / span_training.
   ``r_min`` (``min_exchange_rate``) defaults to 1/6, which reproduces the scaling-policy span
   of Villalobos & Atkinson 2023's table, ~1.2 OOM training / ~0.7 OOM inference (1.20 / 0.68
   with the sardana2024 law, 1.21 / 0.69 with hoffmann2022).
   When a trimmed end lies on the edge of the grid the span is a lower bound and is flagged.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .. import _validate as v
from ..defaults import DEFAULT_GRID_POINTS
from ..errors import InputError
from ..vocabulary import option
from .techniques import Technique

DEFAULT_MIN_EXCHANGE_RATE = 1.0 / 6.0
#: Largest grid per axis: 3000 x 3000 scores take ~70 MB per array.
MAX_GRID_POINTS = 3000

SPAN_DEFINITION = (
    "OOM along each axis between the two ends of the Pareto frontier after trimming its "
    "asymptotic tails: from the first point where the local exchange rate "
    "r = -dlog10(IC)/dlog10(TC) is <= 1/min_exchange_rate to the last point where "
    "r >= min_exchange_rate")


@dataclass(frozen=True)
class Span:
    """The extent of a frontier, in OOM, between the indices ``start`` and ``end``."""

    train_oom: float
    inference_oom: float
    start: int
    end: int
    min_exchange_rate: float
    clipped_by_grid: bool

    @property
    def exchange_rate(self) -> float:
        """Average OOM of inference saved per OOM of training added over the span."""
        return self.inference_oom / self.train_oom if self.train_oom > 0 else float("nan")

    def to_dict(self) -> dict:
        rate = self.exchange_rate
        return {"train_oom": self.train_oom, "inference_oom": self.inference_oom,
                "exchange_rate": rate if np.isfinite(rate) else None,
                "min_exchange_rate": self.min_exchange_rate,
                "clipped_by_grid": self.clipped_by_grid, "definition": SPAN_DEFINITION}


def pareto_mask(log_train, log_inference) -> np.ndarray:
    """Mask of the Pareto-efficient points of a cloud (no other point has both coordinates <=,
    one of them <). O(n log n): sort by training then inference, keep points whose inference is
    strictly below the running minimum of all earlier points."""
    x = np.asarray(log_train, float).ravel()
    y = np.asarray(log_inference, float).ravel()
    order = np.lexsort((y, x))
    ys = y[order]
    prev_min = np.concatenate(([np.inf], np.minimum.accumulate(ys)[:-1]))
    keep = np.zeros(x.size, bool)
    keep[order] = ys < prev_min
    return keep


def local_exchange_rate(log_train, log_inference) -> np.ndarray:
    """r = -d log10 IC / d log10 TC along a frontier sorted by training compute (finite
    differences, second order inside, first order at the ends)."""
    x = np.asarray(log_train, float)
    y = np.asarray(log_inference, float)
    if x.size < 2:
        return np.full(x.size, np.nan)
    return -np.gradient(y, x)


def measure_span(log_train, log_inference, rate, min_exchange_rate: float,
                 clipped_start: bool = False, clipped_end: bool = False) -> Span:
    """The span of a frontier by the trimming rule of the module docstring."""
    r_min = float(min_exchange_rate)
    x, y, r = (np.asarray(a, float) for a in (log_train, log_inference, rate))
    head = np.flatnonzero(r <= 1.0 / r_min)
    tail = np.flatnonzero(r >= r_min)
    if x.size < 2 or not head.size or not tail.size or head[0] >= tail[-1]:
        return Span(0.0, 0.0, 0, 0, r_min, False)
    i, j = int(head[0]), int(tail[-1])
    clipped = (clipped_start and i == 0) or (clipped_end and j == x.size - 1)
    return Span(float(x[j] - x[i]), float(y[i] - y[j]), i, j, r_min, bool(clipped))


@dataclass(frozen=True)
class Frontier:
    """An iso-performance curve, its Pareto-efficient part and span, for one technique/level.

    Arrays ``log10_train_compute`` / ``log10_inference_compute`` / ``exchange_rate`` describe
    the Pareto frontier sorted by training compute. The grid and score matrix are kept for plots.
    """

    technique: Technique
    level: float
    log10_train_compute: np.ndarray
    log10_inference_compute: np.ndarray
    exchange_rate: np.ndarray
    span: Span
    iso_log10_train_compute: np.ndarray
    iso_log10_inference_compute: np.ndarray
    grid_log10_train: np.ndarray = field(repr=False)
    grid_log10_inference: np.ndarray = field(repr=False)
    grid_score: np.ndarray = field(repr=False)
    notes: tuple[str, ...] = ()

    @property
    def train_compute(self) -> np.ndarray:
        return 10.0 ** self.log10_train_compute

    @property
    def inference_compute(self) -> np.ndarray:
        return 10.0 ** self.log10_inference_compute

    def span_points(self) -> dict:
        s = self.span
        out = {}
        for name, k in (("start", s.start), ("end", s.end)):
            out[name] = {"train_compute": 10.0 ** self.log10_train_compute[k],
                         "inference_compute": 10.0 ** self.log10_inference_compute[k],
                         "exchange_rate": self.exchange_rate[k]}
        return out

    def sample(self, points: int = 41) -> dict:
        """``points`` frontier points evenly spaced in log training compute (for tables/JSON)."""
        x = self.log10_train_compute
        xs = np.linspace(x[0], x[-1], max(2, int(points))) if x.size > 1 else x
        return {"train_compute": 10.0 ** xs,
                "inference_compute": 10.0 ** np.interp(xs, x, self.log10_inference_compute),
                "exchange_rate": np.interp(xs, x, self.exchange_rate)}

    def to_dict(self, points: int = 41) -> dict:
        g = self.grid_log10_train, self.grid_log10_inference
        return {
            "technique": self.technique.to_dict(),
            "level": self.level,
            "span": self.span.to_dict() | self.span_points(),
            "grid": {"points": [g[0].size, g[1].size],
                     "train_compute": [10.0 ** g[0][0], 10.0 ** g[0][-1]],
                     "inference_compute": [10.0 ** g[1][0], 10.0 ** g[1][-1]]},
            "frontier_points": int(self.log10_train_compute.size),
            "frontier": self.sample(points),
            "notes": list(self.notes),
        }


#: Row blocks of the grid when a progress callback follows it.
PROGRESS_BLOCKS = 50


def score_grid(technique: Technique, log10_train, log10_inference, on_progress=None
               ) -> np.ndarray:
    """Merit (larger is better) on the grid, shape (len(inference), len(train)), made
    non-decreasing along both axes by a running maximum. ``on_progress(done, total)``, when
    given, is called as blocks of grid rows are scored (elementwise: the same numbers)."""
    tc = 10.0 ** log10_train[None, :]
    if on_progress is None:
        m = technique.merit(tc, 10.0 ** log10_inference[:, None])
    else:
        n = len(log10_inference)
        m = np.empty((n, len(log10_train)))
        step = -(-n // PROGRESS_BLOCKS)
        for lo in range(0, n, step):
            m[lo:lo + step] = technique.merit(tc, 10.0 ** log10_inference[lo:lo + step, None])
            on_progress(min(lo + step, n), n)
    m = np.maximum.accumulate(m, axis=0)
    return np.maximum.accumulate(m, axis=1)


#: Grid ranges stay within 10^-300..10^300 FLOPs, inside floating-point range.
MAX_LOG10_COMPUTE = 300.0


def _grid_axis(name: str, rng, n: int) -> np.ndarray:
    name = option(name)
    lo, hi = (float(a) for a in v.finite(name, rng))
    if not -MAX_LOG10_COMPUTE <= lo < hi <= MAX_LOG10_COMPUTE:
        raise InputError(f"{name} must be an increasing (low, high) pair of log10 FLOPs with "
                         f"{-MAX_LOG10_COMPUTE:g} <= low < high <= {MAX_LOG10_COMPUTE:g}; "
                         f"got ({lo:g}, {hi:g})")
    return np.linspace(lo, hi, n)


#: Grids grow (default ranges only) by this many OOM per round while the span touches an edge,
#: at most ``MAX_GRID_GROWTH`` rounds; a span within ``EDGE_MARGIN`` of an axis's range of an
#: edge touches it.
GRID_GROWTH_OOM = 1.0
MAX_GRID_GROWTH = 8
EDGE_MARGIN = 0.02


def frontier(technique: Technique, level=None, *, grid_points: int = DEFAULT_GRID_POINTS,
             train_range=None, inference_range=None,
             min_exchange_rate: float = DEFAULT_MIN_EXCHANGE_RATE, on_progress=None
             ) -> Frontier:
    """Iso-performance curve, Pareto frontier, local exchange rates and span at ``level``.

    ``level`` defaults to the technique's default; ``train_range``/``inference_range`` are
    (low, high) log10 FLOPs and default to the technique's ``grid_range(level)``. See the module
    docstring for the method and the exact definition of the span. A default range grows by
    ``GRID_GROWTH_OOM`` on the side where the span touches the grid (its end within
    ``EDGE_MARGIN`` of the range from an edge that is not a hard bound of the technique), up to
    ``MAX_GRID_GROWTH`` times; a span that still touches a grid edge (or one the user fixed) is
    flagged ``clipped_by_grid`` (a lower bound). ``on_progress(done, total)`` follows the
    scoring of the grid's rows (a progress bar).
    """
    level = technique.default_level() if level is None else technique.check_level(level)
    if isinstance(grid_points, bool) or not isinstance(grid_points, int | np.integer) \
            or not 10 <= grid_points <= MAX_GRID_POINTS:
        raise InputError(f"{option('grid_points')} must be an integer in [10, {MAX_GRID_POINTS}]; "
                         f"got {grid_points!r}")
    r_min = float(v.in_range("min_exchange_rate", min_exchange_rate, 0.0, 1.0))
    default_t, default_i = technique.grid_range(level)
    t_range = [float(a) for a in (default_t if train_range is None else train_range)]
    i_range = [float(a) for a in (default_i if inference_range is None else inference_range)]
    # The hard bounds of the technique, which a range never grows past.
    t_floor = np.log10(getattr(technique, "min_train_compute", 0.0) or 1e-300)
    t_ceiling = np.log10(technique.max_train_compute)
    i_floor = (np.log10(technique.min_inference_compute) if technique.min_inference_compute > 0
               else -MAX_LOG10_COMPUTE)
    grown = 0
    while True:
        result, touches = _frontier_on_grid(technique, level, t_range, i_range, grid_points,
                                            r_min, on_progress)
        left, top, right, bottom = touches
        grow = []
        if train_range is None and left and t_range[0] > t_floor + 1e-9:
            grow.append(lambda: t_range.__setitem__(0, max(
                t_range[0] - GRID_GROWTH_OOM, t_floor + 1e-9 * max(1.0, abs(t_floor)))))
        if inference_range is None and top:
            grow.append(lambda: i_range.__setitem__(1, i_range[1] + GRID_GROWTH_OOM))
        if train_range is None and right and t_range[1] < t_ceiling:
            grow.append(lambda: t_range.__setitem__(1, min(t_range[1] + GRID_GROWTH_OOM,
                                                           t_ceiling)))
        if inference_range is None and bottom and i_range[0] > i_floor:
            grow.append(lambda: i_range.__setitem__(0, max(i_range[0] - GRID_GROWTH_OOM,
                                                           i_floor)))
        limits_ok = (max(abs(t_range[1]), abs(i_range[1]), abs(t_range[0]), abs(i_range[0]))
                     + GRID_GROWTH_OOM <= MAX_LOG10_COMPUTE)
        if not grow or grown >= MAX_GRID_GROWTH or not limits_ok:
            break
        for g in grow:
            g()
        grown += 1
    if any(touches) and not result.span.clipped_by_grid:
        span = replace(result.span, clipped_by_grid=True)
        result = replace(result, span=span, notes=(_clipped_note(), *result.notes))
    if grown:
        result = replace(result, notes=(*result.notes, (
            f"the default grid grew {grown} time{'s' if grown > 1 else ''} by "
            f"{GRID_GROWTH_OOM:g} OOM until the span no longer touched its edge (training "
            f"1e{t_range[0]:.2f}..1e{t_range[1]:.2f}, inference 1e{i_range[0]:.2f}.."
            f"1e{i_range[1]:.2f})" + (": it still does" if any(touches) else ""))))
    return result


def _widen() -> str:
    """The advice to widen the grid, in the running shell's spelling."""
    return f"widen {option('train_range')}/{option('inference_range')}"


def _clipped_note() -> str:
    return "the frontier reaches the edge of the grid: the span is a lower bound; " + _widen()


def _frontier_on_grid(technique, level, train_range, inference_range, grid_points, r_min,
                      on_progress):
    """The frontier on one grid, and whether its span touches the grid's left (least
    training), top (most inference), right and bottom edges (hard bounds excluded)."""
    x = _grid_axis("train_range", train_range, grid_points)
    y = _grid_axis("inference_range", inference_range, grid_points)
    m = score_grid(technique, x, y, on_progress)
    target = level if technique.higher_is_better else -level
    ok = m >= target
    feasible = ok[-1]
    if not feasible.any():
        raise InputError(
            f"{option('level')} {level:.6g} ({technique.score_name}) is not reached on the grid "
            f"(training 1e{x[0]:.2f}..1e{x[-1]:.2f} FLOPs, inference 1e{y[0]:.2f}..1e{y[-1]:.2f}); "
            + _widen())
    cols = np.flatnonzero(feasible)
    first = np.argmax(ok[:, cols], axis=0)
    below = np.maximum(first - 1, 0)
    m_lo, m_hi = m[below, cols], m[first, cols]
    t = np.where(first > 0, (target - m_lo) / np.where(first > 0, m_hi - m_lo, 1.0), 1.0)
    iso_y = y[below] + t * (y[first] - y[below])
    iso_x = x[cols]
    eff = np.concatenate(([True], iso_y[1:] < np.minimum.accumulate(iso_y)[:-1]))
    fx, fy = iso_x[eff], iso_y[eff]
    if fx.size < 2:
        raise InputError(
            f"{option('level')} {level:.6g} ({technique.score_name}) reached at only one grid "
            f"point: no tradeoff on the grid (training 1e{x[0]:.2f}..1e{x[-1]:.2f} FLOPs, "
            f"inference 1e{y[0]:.2f}..1e{y[-1]:.2f}): choose another {option('level')}, "
            f"{_widen()} or check the technique parameters")
    rate = local_exchange_rate(fx, fy)
    notes = []
    clipped_start = bool(cols[0] == 0 or first[0] == y.size - 1)
    at_bound = y[0] <= np.log10(technique.min_inference_compute) + 1e-12 \
        if technique.min_inference_compute > 0 else False
    at_max = x[-1] >= np.log10(technique.max_train_compute) - 1e-12
    clipped_end = bool((first[eff][-1] == 0 and not at_bound)
                       or (cols[eff][-1] == x.size - 1 and not at_max))
    span = measure_span(fx, fy, rate, r_min, clipped_start, clipped_end)
    if span.clipped_by_grid:
        notes.append(_clipped_note())
    if fx.size >= 3 and span.end - span.start < 2:
        notes.append("no part of the frontier has a local exchange rate between "
                     f"min_exchange_rate = {r_min:.3g} and its inverse: the span is (nearly) 0")
    if fx.size < 3:
        notes.append("the frontier has fewer than 3 points on this grid: no tradeoff at this "
                     "level, or the grid is too coarse")
    result = Frontier(technique, float(level), fx, fy, rate, span, iso_x, iso_y, x, y, m,
                      tuple(notes))
    mx, my = EDGE_MARGIN * (x[-1] - x[0]), EDGE_MARGIN * (y[-1] - y[0])
    if span.end <= span.start:  # no span: nothing to grow for
        return result, (False, False, False, False)
    sx, sy, ex, ey = fx[span.start], fy[span.start], fx[span.end], fy[span.end]
    return result, (bool(sx - x[0] <= mx), bool(y[-1] - sy <= my),
                    bool(x[-1] - ex <= mx and not at_max),
                    bool(ey - y[0] <= my and not at_bound))
