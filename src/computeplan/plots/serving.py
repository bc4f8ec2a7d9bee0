"""Serving figures: decode throughput and cost per million output tokens versus batch size."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import pyplot, save


def throughput_and_cost(sweep, path: str | Path) -> Path:
    """Two panels over batch size (log axes): generated tokens/s per GPU and $ per million output
    tokens, with the compute-bound batch marked when decode reaches it. ``sweep`` is a
    :class:`~computeplan.hardware.serving.ServingEstimate` over an array of batch sizes."""
    plt = pyplot()
    hw = sweep.hardware
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    batch = np.asarray(sweep.batch)
    ax1.plot(batch, sweep.tokens_per_second_per_gpu, marker=".")
    ax1.set_ylabel("generated tokens / s / GPU")
    ax2.plot(batch, sweep.usd_per_million_output_tokens, marker=".", color="C1")
    ax2.set_ylabel("$ per million output tokens")
    crit = float(np.min(sweep.critical_batch))
    for ax in (ax1, ax2):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("batch size (concurrent sequences)")
        ax.grid(True, which="both", alpha=0.3)
        if np.isfinite(crit) and crit <= batch.max():
            ax.axvline(crit, color="grey", linestyle="--", label=f"compute bound from {crit:.0f}")
            ax.legend()
    gpus = float(np.max(sweep.gpus))
    fig.suptitle(f"{float(np.max(sweep.shape.params)):.3g} params on {gpus:g} x {hw.gpu.name} "
                 f"{hw.dtype}, context {float(np.max(sweep.context)):g} "
                 f"(bandwidth x{hw.bandwidth_fraction:g}, compute x{hw.compute_fraction:g})")
    return save(fig, path)
