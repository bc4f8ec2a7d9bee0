"""Runs that lie far off a fitted law: named in every fit's table and JSON, never dropped.

A run is off the law when its log residual r = ln(predicted / actual loss) is far from the
typical residual of the runs fitted: modified z-score z = 0.6745 (r - median r) / MAD, with MAD
the median of |r - median r|, beyond :data:`Z_CUTOFF` = 3.5 in absolute value (Iglewicz &
Hoaglin 1993, "How to Detect and Handle Outliers", ASQC Basic References in Quality Control
16; NIST/SEMATECH e-Handbook of Statistical Methods, section 1.3.5.17: the median and MAD are
not pulled by the outliers themselves, unlike the mean and standard deviation), and at least
:data:`MIN_LOG_DEVIATION` = 0.02 (about 2%) from the median. The floor keeps a near-exact fit
(whose MAD is rounding noise) from naming any run, and a fit to slightly noisy runs whose MAD
happens to be small: with 0.5% noise, as in examples/runs.csv, a 1% miss can reach z = 3.5
(the MAD of a few dozen fitted residuals is itself uncertain, and a fit shrinks them).

Such runs are usually not the converged end of the schedule the law describes (a warmup longer
than a short run, a divergence, a run cut short), or the form does not hold where they lie. On
Epoch's 245 digitised Chinchilla runs the Chinchilla-form fit names the five runs of highest
loss, which Besiroglu et al. 2024 leave out; on Gadre et al.'s runs the shortest runs of the
mid-sized models (5 tokens per parameter, ending before or near the end of their warmup; README).
The fit keeps them (its Huber objective bounds their pull): leaving them out is the user's call.
"""

from __future__ import annotations

import numpy as np

from .runs import Runs

#: |modified z-score| beyond which a run is off the law (Iglewicz & Hoaglin 1993).
Z_CUTOFF = 3.5
#: Least |r - median r| (log loss, about 2%) of a run off the law.
MIN_LOG_DEVIATION = 0.02


def off_law(runs: Runs, predicted) -> list[dict]:
    """The fitted runs (weight > 0) off the law that predicts loss ``predicted`` for ``runs``
    (module docstring), worst first: each as ``{row, params, train_tokens, tokens_per_param,
    loss, predicted_loss, relative_error (predicted / actual - 1), z}`` (z None when unbounded:
    MAD 0, half the runs or more have the median residual)."""
    predicted = np.asarray(predicted, dtype=float)
    used = np.flatnonzero((runs.weights > 0) & np.isfinite(predicted) & (predicted > 0))
    if used.size < 3:
        return []
    r = np.log(predicted[used] / runs.loss[used])
    dev = r - np.median(r)
    mad = np.median(np.abs(dev))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(dev == 0, 0.0, 0.6745 * dev / mad)
    far = np.flatnonzero((np.abs(z) > Z_CUTOFF) & (np.abs(dev) >= MIN_LOG_DEVIATION))
    out = []
    for k in far[np.argsort(-np.abs(dev[far]), kind="stable")]:
        i = used[k]
        out.append({"row": int(runs.rows[i]), "params": float(runs.params[i]),
                    "train_tokens": float(runs.train_tokens[i]),
                    "tokens_per_param": float(runs.tokens_per_param[i]),
                    "loss": float(runs.loss[i]), "predicted_loss": float(predicted[i]),
                    "relative_error": float(predicted[i] / runs.loss[i] - 1.0),
                    # None: unbounded (MAD 0: half the runs or more have the median residual)
                    "z": float(z[k]) if np.isfinite(z[k]) else None})
    return out


def off_law_note(outliers: list[dict], limit: int = 5) -> str | None:
    """The one-line note naming ``outliers`` (:func:`off_law`) in a fit's table, or None."""
    if not outliers:
        return None
    shown = "; ".join(
        f"row {o['row']} ({o['params']:.3g} params, {o['tokens_per_param']:.3g} tokens/param): "
        f"loss {100 * abs(o['relative_error']) / (1 + o['relative_error']):.1f}% "
        f"{'above' if o['relative_error'] < 0 else 'below'} the law, "
        + (f"z = {o['z']:+.1f}" if o["z"] is not None else "z unbounded (MAD 0)")
        for o in outliers[:limit])
    more = f"; and {len(outliers) - limit} more (JSON: outliers)" if len(outliers) > limit else ""
    n = len(outliers)
    return (f"{n} run{'s lie' if n > 1 else ' lies'} far off the fitted law (|modified z-score| "
            f"of the log residual > {Z_CUTOFF:g}, Iglewicz & Hoaglin 1993): {shown}{more}. "
            "Such runs are often not the converged end of their schedule (a warmup longer than "
            "the run, a divergence), or the form does not hold there; the fit keeps them")


def fit_outliers(result) -> list[dict]:
    """:func:`off_law` of a fit result's runs under its fitted law (none without a law)."""
    law = result.fit.law
    if law is None:
        return []
    return off_law(result.runs, law.loss(result.runs.params, result.runs.train_tokens))
