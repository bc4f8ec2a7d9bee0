"""Predictive intervals for held-out runs (``computeplan fit --holdout``), and their coverage.

The law fitted without the held-out runs predicts each of them with log-loss
mu_i = ln L_hat(N_i, D_i). Its predictive spread combines three independent parts, added in
variance on the log scale:

- coefficient uncertainty: the spread over ``HOLDOUT_BOOTSTRAP`` bootstrap refits of the fitted
  runs (Efron & Tibshirani 1993, ch. 6) of ln L_hat at the held-out run, as a variance from
  the central 68.3% of the replicates (:func:`replicate_log_variance`);
- run-to-run scatter: the rms log residual of the fitted runs, s;
- extrapolation: c d_i, where d_i is how far the run lies outside the fitted runs, in natural
  log units, sqrt(d_N^2 + d_T^2) with d_N the distance of ln N and d_T that of ln(D/N) beyond
  the fitted range (0 inside), and c is estimated by extrapolation cross-validation on the fitted
  runs alone: c = rms(e_j / d_j) over the runs each fold of :func:`.select.cv_folds` holds out
  (e_j their log error, d_j their distance from that fold's fitted runs). A form that is wrong
  far out has large CV errors for its distance, hence wide intervals there.

The interval at ``level`` is exp(mu_i +- z sd_i), z the normal quantile, and the coverage is the
share of held-out runs inside. The coverage without the extrapolation term is reported too, so
the widening is visible.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..forms import get_form
from .runs import Runs, check_identifiable

#: Bootstrap refits of the fitted runs behind each interval.
HOLDOUT_BOOTSTRAP = 100
#: Default level of the predictive intervals.
DEFAULT_HOLDOUT_LEVEL = 0.9


def check_level(level) -> float:
    if isinstance(level, bool) or not isinstance(level, int | float) or not 0 < level < 1:
        from ..vocabulary import option

        raise InputError(f"{option('holdout_level')} must be in (0, 1); got {level!r}")
    return float(level)


def _outside(x: np.ndarray, ref: np.ndarray) -> np.ndarray:
    lx, lo, hi = np.log(x), np.log(ref.min()), np.log(ref.max())
    return np.maximum(lo - lx, 0.0) + np.maximum(lx - hi, 0.0)


def extrapolation_distance(fitted: Runs, params, train_tokens) -> np.ndarray:
    """sqrt(d_N^2 + d_T^2) of each (N, D) from the fitted runs (weight > 0), module docstring."""
    used = fitted.weights > 0
    n, d = np.asarray(params, float), np.asarray(train_tokens, float)
    return np.hypot(_outside(n, fitted.params[used]),
                    _outside(d / n, fitted.tokens_per_param[used]))


def held_out_error(test: Runs, predicted) -> float:
    """Mean |relative error| of ``predicted`` on the held-out runs ``test`` (weight > 0): a
    cross-validation fold's score."""
    used = test.weights > 0
    return float(np.mean(np.abs(np.asarray(predicted) / test.loss - 1.0)[used]))


def distance_ratios(fitted: Runs, test: Runs, predicted) -> list[float]:
    """e_j / d_j for the held-out runs ``test`` (weight > 0) beyond the ``fitted`` runs (d_j >
    0), e_j the log error of ``predicted``: what the extrapolation scale c is the rms of
    (module docstring)."""
    used = test.weights > 0
    e = np.log(np.asarray(predicted) / test.loss)[used]
    d = extrapolation_distance(fitted, test.params, test.train_tokens)[used]
    far = (d > 0) & np.isfinite(e)
    return (e[far] / d[far]).tolist()


def rms(ratios: list[float]) -> float:
    """The extrapolation scale c from the ratios of :func:`distance_ratios` (0 with none)."""
    return float(np.sqrt(np.mean(np.square(ratios)))) if ratios else 0.0


def distance_scale(runs: Runs, form: str, **kw) -> tuple[float, int]:
    """c (module docstring) from the extrapolation folds of ``runs``, and how many held-out runs
    it rests on; (0, 0) when no fold can be fitted."""
    from .forms import fit_form
    from .select import cv_folds

    ratios = []
    for mask in cv_folds(runs).values():
        train, test = runs.subset(~mask), runs.subset(mask)
        try:
            check_identifiable(train, form, what="runs in a cross-validation fold")
            fit, _, _ = fit_form(train, form, **kw)
        except InputError:
            continue
        ratios += distance_ratios(train, test, fit.predict(test.params, test.train_tokens))
    return rms(ratios), len(ratios)


def holdout_intervals(form: str, fitted: Runs, held_out: Runs, *, level: float,
                      seed: int | None = None, scale: float | None = None, sub_fit=None,
                      **kw) -> dict:
    """Predictive intervals of the ``held_out`` runs from a law of ``form`` fitted to ``fitted``
    (module docstring), with their coverage; ``kw``: the objective options of the fit.
    ``scale``: the extrapolation scale when the cross-validation already measured it;
    ``sub_fit``: :func:`.forms.fit_form`'s result on ``fitted`` when already at hand."""
    from .forms import bootstrap_form, fit_form

    level = check_level(level)
    f = get_form(form)
    fit, opt, problem = sub_fit if sub_fit is not None else fit_form(fitted, f, **kw)
    boot = bootstrap_form(problem, opt, HOLDOUT_BOOTSTRAP, seed=0 if seed is None else seed)
    reps = boot.replicates()
    mu = np.log(fit.predict(held_out.params, held_out.train_tokens))
    var_boot = replicate_log_variance(f, reps, held_out)
    n_cv = None
    if scale is None:
        scale, n_cv = distance_scale(fitted, f.name, **kw)
    return predictive_intervals(fitted, held_out, mu, var_boot, fit.residuals["rms_log_residual"],
                                scale, level=level, n_replicates=len(reps), n_cv=n_cv)


def replicate_log_variance(form, reps: np.ndarray, held_out: Runs) -> np.ndarray:
    """The coefficient part of each held-out run's predictive variance: the squared half-width
    of the central 68.3% of the bootstrap replicates' log-loss predictions (the variance, for
    normal replicates; robust to the few wild refits that a resample of few runs can give,
    which would make a plain variance, and the interval, arbitrarily wide). Zero with fewer
    than two replicates."""
    if len(reps) < 2:
        return np.zeros(len(held_out))
    coef = {k: v[:, None] for k, v in form.as_dict(reps).items()}
    with np.errstate(all="ignore"):
        spread = np.log(form.loss(coef, held_out.params, held_out.train_tokens))
    lo, hi = np.nanpercentile(spread, [15.865, 84.135], axis=0)
    return (0.5 * (hi - lo)) ** 2


def predictive_intervals(fitted: Runs, held_out: Runs, mu, var_boot, scatter: float,
                         scale: float, *, level: float, n_replicates: int,
                         n_cv: int | None = None) -> dict:
    """The intervals and coverage (module docstring) of the ``held_out`` runs from their
    predicted log-loss ``mu``, the bootstrap variance ``var_boot`` of it, the run scatter and
    the extrapolation scale of a law fitted to ``fitted``."""
    dist = extrapolation_distance(fitted, held_out.params, held_out.train_tokens)
    from statistics import NormalDist  # on use: statistics imports decimal and fractions

    z = NormalDist().inv_cdf(0.5 + level / 2)
    base = var_boot + scatter**2
    sd = np.sqrt(base + (scale * dist) ** 2)
    lo, hi = np.exp(mu - z * sd), np.exp(mu + z * sd)
    inside = (held_out.loss >= lo) & (held_out.loss <= hi)
    narrow = np.abs(np.log(held_out.loss) - mu) <= z * np.sqrt(base)
    return {
        "level": level, "coverage": float(np.mean(inside)),
        "mean_relative_half_width": float(np.mean(0.5 * (hi - lo) / np.exp(mu))),
        "coverage_without_extrapolation_term": float(np.mean(narrow)),
        "method": "normal on log loss: bootstrap coefficient variance + run scatter^2 + "
                  "(extrapolation scale x distance)^2, the scale from extrapolation "
                  "cross-validation on the fitted runs",
        "bootstrap_replicates": int(n_replicates), "run_scatter": float(scatter),
        "extrapolation_scale": scale, "extrapolation_scale_runs": n_cv,
        "runs": {"lo": lo, "hi": hi, "inside": inside, "distance": dist},
    }
