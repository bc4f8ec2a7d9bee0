"""The `fit` command: fit a Chinchilla law to a CSV file of training runs, or one law per CSV
file of a folder (an ensemble, on the sweep's backends)."""

from __future__ import annotations

from pathlib import Path

from ..defaults import DEFAULT_ASYMMETRY
from ..errors import InputError
from ..fitting import FitResult, check_resampling
from ..fitting.ensemble import EnsembleResult, fit_folder, fit_source
from ..fitting.runs import MAX_TOKENS_PER_PARAM_POWER
from ..vocabulary import option
from .options import bounded

__all__ = ["EnsembleResult", "fit", "fit_folder"]


@bounded(drop_highest_loss=">= 0", min_tokens_per_param="> 0", max_tokens_per_param="> 0",
         asymmetry="in (0.5, 1)", seed="a whole number >= 0", level="in (0, 1)",
         holdout_level="in (0, 1)",
         tokens_per_param_power=f"in [0, {MAX_TOKENS_PER_PARAM_POWER:g}]")
def fit(path: str | Path, *, params_col: str = "params", tokens_col: str | None = None,
        flops_col: str | None = None, loss_col: str = "loss", weight_col: str | None = None,
        unique_tokens_col: str | None = None,
        where: str | list[str] | None = None,
        drop_highest_loss: int = 0, min_tokens_per_param: float | None = None,
        max_tokens_per_param: float | None = None, tokens_per_param_power: float = 0.0,
        form: str = "chinchilla", objective: str = "huber",
        asymmetry: float = DEFAULT_ASYMMETRY, bootstrap: int = 0, seed: int | None = None,
        level: float = 0.95, holdout: str | None = None, holdout_level: float = 0.9,
        full_grid: bool = False, name: str = "fit", on_progress=None) -> FitResult:
    """Read, filter and fit runs (Hoffmann et al. 2022 Approach 3 by default); optionally
    bootstrap intervals (``bootstrap`` resamples, ``seed``) and a hold-out check (``holdout``
    rule such as ``tokens_per_param>100``); ``form``: the law form or ``auto``.
    ``unique_tokens_col``: a column of each run's unique tokens; the repetition coefficients are
    then fitted too (:mod:`computeplan.fitting.repetition`). ``on_progress(done, total)``
    follows the bootstrap refits (a progress bar). ``full_grid``: L-BFGS from every start of the
    grid, not only the screened ones (:func:`computeplan.fitting.fit_runs`).
    ``tokens_per_param_power``: weight each run by its tokens per parameter to this power
    (:func:`computeplan.fitting.filter_runs`)."""
    if seed is not None and not bootstrap:
        raise InputError(f"{option('seed')} needs {option('bootstrap')} K (it seeds the "
                         "resampling)")
    if asymmetry != DEFAULT_ASYMMETRY and objective != "asymmetric":
        raise InputError(f"{option('asymmetry')} needs {option('objective')} asymmetric (it "
                         f"weights that objective's penalty); got {option('objective')} "
                         f"{objective}")
    check_resampling(bootstrap, seed)  # before the runs are read
    return fit_source(path, params_col=params_col, tokens_col=tokens_col, flops_col=flops_col,
                      loss_col=loss_col, weight_col=weight_col, where=where,
                      unique_tokens_col=unique_tokens_col,
                      drop_highest_loss=drop_highest_loss,
                      min_tokens_per_param=min_tokens_per_param,
                      max_tokens_per_param=max_tokens_per_param,
                      tokens_per_param_power=tokens_per_param_power, form=form,
                      objective=objective,
                      asymmetry=asymmetry, bootstrap=bootstrap, seed=seed, level=level,
                      holdout=holdout, holdout_level=holdout_level, full_grid=full_grid,
                      name=name, on_progress=on_progress)
