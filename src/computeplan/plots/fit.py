"""Figure for `computeplan fit`: loss versus training compute, runs and fitted curves."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..fitting.outliers import Z_CUTOFF
from ..laws import TRAIN_FLOPS_PER_PARAM_TOKEN
from . import pyplot, save

#: Iso-parameter curves drawn (log-spaced over the runs' model sizes).
N_CURVES = 6


#: Characters per line of the title's coefficients (a law of any form fits the figure's width).
TITLE_WIDTH = 90


def title(form: str, coefficients: dict) -> str:
    """The figure's title: the form, then its coefficients wrapped to ``TITLE_WIDTH`` (an
    average of forms has a dozen or more)."""
    values = ", ".join(f"{k}={val:.4g}" for k, val in coefficients.items())
    return f"Fitted law ({form})\n" + textwrap.fill(values, TITLE_WIDTH)


def plot_fit(result, path: str | Path) -> Path:
    """Scatter the runs (loss against C = 6 N D, coloured by model size; runs held out in the
    hold-out check ringed, runs far off the law crossed, :mod:`..fitting.outliers`),
    draw the fitted law along iso-parameter lines L(N, C / 6N) (Hoffmann et al. 2022, fig. 4
    style) and the compute-optimal frontier (eq. 4), and save to ``path``."""
    plt = pyplot()
    law = result.law
    if law is None:
        raise InputError("cannot plot: the fitted coefficients do not form a valid law "
                         f"({result.coefficients})")
    runs = result.runs
    held = result.holdout.held_out if result.holdout else None
    all_n, all_c = runs.params, runs.train_flops
    c_grid = np.geomspace(all_c.min() / 2, all_c.max() * 2, 200)
    n_curves = np.geomspace(all_n.min(), all_n.max(), N_CURVES)
    norm = plt.matplotlib.colors.LogNorm(all_n.min(), all_n.max())
    cmap = plt.get_cmap("viridis")

    fig, ax = plt.subplots(figsize=(7, 4.5), constrained_layout=True)
    for n in n_curves:
        ax.plot(c_grid, law.loss(n, c_grid / (6 * n)), color=cmap(norm(n)), lw=1, alpha=0.8)
    opt = law.compute_optimal(train_flops=c_grid)
    ax.plot(c_grid, opt.loss, "k--", lw=1.2, label="compute-optimal (fitted law)")
    sc = ax.scatter(runs.train_flops, runs.loss, c=runs.params, norm=norm, cmap=cmap, s=14,
                    label=f"runs ({len(runs)})")
    if held is not None:
        ax.scatter(held.train_flops, held.loss, facecolors="none", edgecolors="red", s=40,
                   lw=0.8, label=f"held out in the check: {result.holdout.rule} ({len(held)})")
    far = result.outliers
    if far:
        ax.scatter([TRAIN_FLOPS_PER_PARAM_TOKEN * o["params"] * o["train_tokens"] for o in far],
                   [o["loss"] for o in far],
                   marker="x", color="black", s=36, lw=1.0,
                   label=f"far off the law (|modified z| > {Z_CUTOFF:g}, {len(far)})")
    ax.set(xscale="log", yscale="log", xlabel="training FLOPs C = 6ND", ylabel="loss")
    ax.set_title(title(result.form, law.coefficients()), fontsize=9)
    ax.set_ylim(runs.loss.min() * 0.95, runs.loss.max() * 1.15)
    fig.colorbar(sc, ax=ax, label="parameters N (curves: iso-N)")
    ax.legend(fontsize=8)
    return save(fig, path)
