"""Tradeoff figure: iso-performance contours on the log-log grid with the Pareto frontier."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import pyplot, save


def plot_tradeoff(front, path: str | Path | None = None, *, combination=None, levels: int = 9):
    """Contours of the score over log10 training x log10 inference compute, the iso-curve at
    the chosen level, its Pareto frontier with the measured span marked, and (optionally) a
    combined frontier. Saves to ``path`` when given; returns the figure."""
    plt = pyplot()
    tech = front.technique
    x, y = front.grid_log10_train, front.grid_log10_inference
    score = front.grid_score if tech.higher_is_better else -front.grid_score
    fig, ax = plt.subplots(figsize=(7.5, 5.5), dpi=120)
    finite = np.isfinite(score)
    lo, hi = np.percentile(score[finite], [2, 98]) if finite.any() else (0.0, 1.0)
    cs = ax.contour(x, y, score, levels=np.linspace(lo, hi, levels), cmap="viridis",
                    linewidths=0.8)
    ax.clabel(cs, fontsize=7, fmt="%.4g")
    ax.plot(front.iso_log10_train_compute, front.iso_log10_inference_compute, color="0.6",
            lw=1.2, ls="--", label=f"iso-{tech.score_name} {front.level:.4g}")
    ax.plot(front.log10_train_compute, front.log10_inference_compute, color="C3", lw=2.2,
            label="Pareto frontier")
    s = front.span
    if s.end > s.start:
        xs = front.log10_train_compute[[s.start, s.end]]
        ys = front.log10_inference_compute[[s.start, s.end]]
        ax.plot(xs, ys, "o", color="C3", ms=6,
                label=f"span {s.train_oom:.2f} / {s.inference_oom:.2f} OOM")
    if combination is not None:
        ax.plot(combination.log10_train_compute, combination.log10_inference_compute,
                color="C1", lw=1.8, label=f"combined with {combination.second.technique.key}")
    ax.set_xlabel("log10 training compute (FLOPs)")
    ax.set_ylabel(f"log10 inference compute ({tech.inference_unit})")
    ax.set_title(f"{tech.title}: {tech.score_name} {front.level:.4g}")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    if path is not None:
        save(fig, path)
    return fig
