"""Spend over time: training and inference per year, nominal and present value."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import pyplot, save


def draw_spend(ax, per_year: dict, priced: bool) -> None:
    """Bars per calendar year from the start of training (``DatedComparison.per_year()``):
    training (paid up front), inference at that year's prices (raw FLOPs under the FLOPs
    objective) and its present value (present-value FLOP-equivalents)."""
    unit = "cost_usd" if priced else "flops"
    year = np.asarray(per_year["year"])
    series = [(f"train_{unit}", "training", "#d0582a"),
              (f"inference_{unit}", "inference (nominal)" if priced else "inference FLOPs",
               "#9bbce6"),
              (f"present_value_inference_{unit}", "inference, present value", "#1b6ac9")]
    width = 0.27
    for i, (key, label, color) in enumerate(series):
        ax.bar(year + (i - 1) * width, np.asarray(per_year[key]), width, label=label,
               color=color)
    ax.set_xticks(year)
    ax.set_xlabel("year from the start of training")
    ax.set_ylabel("USD" if priced else "FLOPs (present value: FLOP-equivalents)")
    ax.set_title("Spend over time")
    ax.legend(fontsize=8)


def spend_over_time(dated, path: str | Path) -> Path:
    """The spend-over-time figure of the optimal plan of a
    :class:`~computeplan.timeline.DatedComparison`, written as PNG."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.2), constrained_layout=True)
    draw_spend(ax, dated.per_year(), bool(dated.comparison.objective.priced))
    ax.grid(True, axis="y", alpha=0.3)
    return save(fig, path)
