"""``computeplan fit --form average``: the weighted average of every form, weighted by
extrapolation cross-validation (a law of form ``average(f1,f2,...)``,
:mod:`computeplan.formaverage`).

Rule: every form of :data:`computeplan.forms.FORMS` is scored by the extrapolation
cross-validation of :mod:`.select` (the mean over the folds of the held-out runs' mean
|relative error|, e_f). The forms with a finite score whose fit to the runs is a plausible
law take part (converged, and no warning but those about the runs, :func:`.plausible.
runs_checks`: too few per coefficient, N and D inseparable; a part's warnings are the
average's, prefixed with the part; when no form qualifies, every form with a finite score
takes part), with
weights w_f = e_f^-2 / sum_g e_g^-2: a combination of forecasts with weights inversely
proportional to each one's squared error (Bates & Granger 1969, Operational Research Quarterly
20(4), 451-468; Stock & Watson 2004, J. Forecasting 23, 405-430). Each part is its own form's
fit to the runs (:func:`.forms.fit_form`); the weights stay fixed in the bootstrap (each
replicate is the parts' replicates of the same resample: one seed, the same resamples for every
form) and in the hold-out check (parts refitted without the held-out runs, weights from the
cross-validation of the runs left).

With unique tokens per run (the repetition fit, Muennighoff et al. 2023, :mod:`.repetition`):
the weights come from the cross-validation on the runs without repetition that ``auto`` chooses
on (:func:`.select._select_unrepeated`); the base law is the average with those weights fixed
(:class:`FixedWeights`), fitted to its own runs without repetition (D <= U, N <= N_opt(U) under
the average); R_D*, R_N* are fitted to all runs in the average's data-limited loss
sum_f w_f L_f(N', D') with the base law held fixed; ``bootstrap`` and ``holdout`` cover both
stages, as for one form.

Why average rather than keep the best-scoring form (``--form auto``): with folds of a few dozen
runs the scores are noisy, and choosing by them is worse, out of sample, than weighting by
them. Measured on Gadre et al.'s runs with the 21 splits not used in developing the selection
rule (seven validation losses x three training sets; fit <= 160 tokens per parameter, predict
>= 320; ``bench/bench_selection.py``): the chosen form's mean held-out error 3.08%, the
average's 2.45%, lower on 17 of the 21 (README; these splits were used to decide to average,
and every one of eight weightings tried beat choosing there).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import InputError
from ..formaverage import AverageForm, average_name
from ..forms import get_form
from . import BaseFitter
from .core import summarise_residuals
from .forms import (
    FormBootstrap,
    FormFit,
    bootstrap_form,
    fit_form,
)
from .intervals import (
    HOLDOUT_BOOTSTRAP,
    distance_ratios,
    held_out_error,
    predictive_intervals,
    replicate_log_variance,
    rms,
)
from .plausible import runs_checks
from .runs import Runs, check_identifiable


def weights_of(selection: dict, ok: dict[str, bool] | None = None) -> dict[str, float]:
    """w_f = e_f^-2 / sum e_g^-2 over the forms with a finite cross-validation score (the module
    docstring's rule): with ``ok`` (whether each fitted form's fit is a plausible law), over
    the forms it names, and only the plausible ones when any is."""
    scored = {r["form"]: r["score"] for r in selection["table"] if r["score"] is not None}
    if ok is not None:
        scored = {f: e for f, e in scored.items() if f in ok}
        if any(ok[f] for f in scored):
            scored = {f: e for f, e in scored.items() if ok[f]}
    if not scored:
        raise InputError("no form could be fitted and scored on the cross-validation folds "
                         "(too few runs)")
    inv = {f: 1.0 / max(e, 1e-12) ** 2 for f, e in scored.items()}
    total = sum(inv.values())
    return {f: v / total for f, v in inv.items()}


def shape_of(weights: dict[str, float]):
    """The form of the average of the parts ``weights`` names: ``average(f1,f2,...)``, or the
    one form itself."""
    parts = list(weights)
    return get_form(average_name(parts) if len(parts) > 1 else parts[0])


def combine(weights: dict[str, float], fits: dict[str, FormFit], runs: Runs, problem,
            name: str = "fit", source: str = "") -> FormFit:
    """The average's :class:`.forms.FormFit` from its parts' fits to ``runs`` (``problem``:
    any part's, for the objective)."""
    parts = list(weights)
    form = shape_of(weights)
    pred = sum(weights[f] * fits[f].predict(runs.params, runs.train_tokens) for f in parts)
    r = np.log(pred) - np.log(runs.loss)
    rho, _ = problem._rho_psi(r)
    used = runs.weights > 0
    coef = (fits[parts[0]].coefficients if len(parts) == 1 else
            AverageForm.join([(weights[f], f, fits[f].coefficients) for f in parts]))
    warnings = tuple(f"part {f} (weight {weights[f]:.1%}): {w}" for f in parts
                     for w in fits[f].warnings)
    starts = {k: sum(fits[f].starts.get(k, 0) for f in parts)
              for k in ("total", "minimised", "converged", "reaching_best")}
    return FormFit(form=form.name, coefficients=coef, objective=fits[parts[0]].objective,
                   objective_value=float((rho * runs.weights)[used].sum()),
                   n_runs=int(np.count_nonzero(used)), residuals=summarise_residuals(r[used]),
                   converged=all(fits[f].converged for f in parts), warnings=warnings,
                   starts=starts, name=name, source=source)


def _law_ok(fit: FormFit, runs: Runs) -> bool:
    """The fit converged and its only warnings are about the runs (:func:`.plausible.
    runs_checks`: too few per coefficient, N and D not separable), not about the law."""
    used = runs.weights > 0
    about_runs = runs_checks(get_form(fit.form), runs.params[used], runs.train_tokens[used])
    return fit.converged and all(w in about_runs for w in fit.warnings)


def _fit_parts(runs: Runs, forms, **kw) -> dict:
    """{form: (fit, optimum, problem)} of every form of ``forms`` that can be fitted."""
    out = {}
    for f in forms:
        try:
            out[f] = fit_form(runs, f, **kw)
        except InputError:
            continue
    return out


def _bootstrap(weights: dict, parts: dict, k: int, seed, level: float) -> FormBootstrap:
    """The parts' bootstraps of the same ``k`` resamples (one seed), row by row the average's
    replicates; a replicate is usable where every part's is."""
    boots = {f: bootstrap_form(parts[f][2], parts[f][1], k, seed=seed, level=level)
             for f in weights}
    if len(weights) == 1:
        return next(iter(boots.values()))
    blocks = []
    for f in weights:
        blocks += [np.full((k, 1), weights[f]), boots[f].coefficients]
    ok = np.logical_and.reduce([b.ok for b in boots.values()])
    return FormBootstrap(shape_of(weights).name, seed, level, np.hstack(blocks), ok,
                         sum(b.starts_per_replicate for b in boots.values()))


def _cv_scale(weights: dict, predictions: dict) -> tuple[float, list[float], dict]:
    """The average's extrapolation scale (:mod:`.intervals`: rms of log error / distance over
    the folds' held-out runs), from the parts' fold predictions; and its fold scores."""
    ratios, scores = [], {}
    for fold, (train, test, pred) in predictions.items():
        if any(pred.get(f) is None for f in weights):
            scores[fold] = None
            continue
        p = sum(weights[f] * pred[f] for f in weights)
        scores[fold] = held_out_error(test, p)
        ratios += distance_ratios(train, test, p)
    return rms(ratios), ratios, scores


@dataclass(frozen=True)
class FixedWeights(BaseFitter):
    """Fits a law (the base law of a repetition fit, the hold-out's, the final one) as the
    average of the forms ``weights`` names (``form``: its name) with those weights fixed: each
    part its own form's fit (:func:`.forms.fit_form`), the bootstrap the parts' of the same
    resamples (:func:`_bootstrap`)."""

    weights: dict = field(default_factory=dict)

    def check(self, runs: Runs, what: str) -> None:
        for f in self.weights:
            check_identifiable(runs, f, what=what)

    def fit(self, runs: Runs, name: str = "fit", source: str = "", parts: dict | None = None):
        """As :meth:`BaseFitter.fit`; ``parts``: the parts' fits to ``runs`` when made already
        (:func:`_fit_parts`)."""
        parts = _fit_parts(runs, self.weights, **self.kw) if parts is None else parts
        missing = [f for f in self.weights if f not in parts]
        if missing:
            raise InputError(f"form {missing[0]} could not be fitted to the "
                             f"{int(np.count_nonzero(runs.weights))} runs")
        fit = combine(self.weights, {f: parts[f][0] for f in self.weights}, runs,
                      parts[next(iter(self.weights))][2], name=name, source=source)

        def bootstrap(k: int, seed, level: float = 0.95):
            return _bootstrap(self.weights, parts, k, seed, level)

        return fit, bootstrap


def _weights(selection: dict, runs: Runs, kw: dict) -> tuple[dict[str, float], dict]:
    """The weights of the forms ``selection`` scored, with plausibility judged by each form's
    fit to ``runs`` (:func:`weights_of`, :func:`_law_ok`), and those fits."""
    scored = [r["form"] for r in selection["table"] if r["score"] is not None]
    parts = _fit_parts(runs, scored, **kw)
    return weights_of(selection, {f: _law_ok(p[0], runs) for f, p in parts.items()}), parts


def _source(weights: dict, n_used: int, runs: Runs, what: str = "") -> str:
    return (f"{shape_of(weights).name} ({', '.join(f'{f} {w:.1%}' for f, w in weights.items())}; "
            f"weights by extrapolation cross-validation) fitted to {n_used} {what}runs from "
            f"{runs.source}")


def _record(selection: dict, weights: dict, fold_scores: dict) -> dict:
    """``selection`` with each form's weight, the average's row and rule (module docstring),
    the average chosen."""
    from .select import SCORE_RULE

    shape = shape_of(weights)
    for row in selection["table"]:
        row["weight"] = weights.get(row["form"], 0.0)
    score = (None if any(v is None for v in fold_scores.values())
             else float(np.mean(list(fold_scores.values()))))
    selection["table"].append({"form": shape.name, "n_coefficients": shape.n_coefficients,
                               "scores": fold_scores, "score": score, "weight": None})
    selection["chosen"] = shape.name
    selection["rule"] = (
        "weighted average of the forms with a finite score whose fit is a plausible law (no "
        "warning but about the runs), weights proportional to score^-2 (Bates & Granger "
        f"1969); score: the {SCORE_RULE}; the average's own score uses weights from the same "
        "folds (optimistic)")
    selection["weights"] = weights
    return selection


def fit_average(runs: Runs, *, forms=None, bootstrap: int = 0, seed: int | None = None,
                level: float = 0.95, holdout: str | None = None, holdout_level: float = 0.9,
                budgets=None, name: str = "fit", **kw):
    """The average of every form (module docstring; ``forms``: only these) as a
    :class:`.select.FormFitResult`; ``kw``: the objective options of every fit. With unique
    tokens per run, :func:`_fit_repeated`."""
    from . import _held_out
    from .holdout import HoldoutResult
    from .select import FormFitResult, _cross_validate, cv_warning

    if runs.unique_tokens is not None:
        return _fit_repeated(runs, forms=forms, bootstrap=bootstrap, seed=seed, level=level,
                             holdout=holdout, holdout_level=holdout_level, budgets=budgets,
                             name=name, **kw)
    train = test = None
    if holdout is not None:
        mask = _held_out(runs, holdout)
        train, test = runs.subset(~mask), runs.subset(mask)
    pool = runs if train is None else train
    selection, _, predictions = _cross_validate(pool, forms, **kw)
    weights, pool_parts = _weights(selection, pool, kw)
    scale, ratios, fold_scores = _cv_scale(weights, predictions)
    fitter = FixedWeights(shape_of(weights).name, kw, weights)
    held = None
    if train is not None:
        sub, sub_bootstrap = fitter.fit(train, name=f"{name} (without {holdout})",
                                        parts=pool_parts)
        pred = sub.predict(test.params, test.train_tokens)
        boot = sub_bootstrap(HOLDOUT_BOOTSTRAP, 0 if seed is None else seed, level)
        reps = boot.replicates()
        var_boot = replicate_log_variance(get_form(boot.form), reps, test)
        intervals = predictive_intervals(train, test, np.log(pred), var_boot,
                                         sub.residuals["rms_log_residual"], scale,
                                         level=holdout_level, n_replicates=len(reps),
                                         n_cv=len(ratios))
        held = HoldoutResult(holdout, sub, test, pred, intervals)
    fit, run_bootstrap = fitter.fit(runs, name=name, source=_source(
        weights, int(np.count_nonzero(runs.weights)), runs),
        parts=pool_parts if train is None else None)
    selection = _record(selection, weights, fold_scores)
    fit = replace(fit, warnings=fit.warnings + tuple(cv_warning(selection)))
    boot = None
    if bootstrap:
        boot = run_bootstrap(int(bootstrap), None if seed is None else int(seed), level)
    return FormFitResult(fit, runs, budgets, boot, held, selection)


def _fit_repeated(runs: Runs, *, forms, bootstrap, seed, level, holdout, holdout_level,
                  budgets, name, **kw):
    """The average with unique tokens per run (the repetition fit, :mod:`.repetition`): the
    weights come from the cross-validation on the runs without repetition that ``auto``
    chooses on (:func:`.select._select_unrepeated`); the base law is the average with those
    weights fixed, fitted to its own runs without repetition (D <= U, N <= N_opt(U) under the
    average); then R_D*, R_N* to all runs with the base law held fixed, in the average's
    data-limited loss. ``bootstrap`` and ``holdout`` cover both stages, as for one form."""
    from . import _held_out, _labelled, _unrepeated, repetition_stage
    from .select import FormFitResult, _select_unrepeated, cv_warning

    mask = None if holdout is None else _held_out(runs, holdout)
    pool = runs if mask is None else runs.subset(~mask)
    then = ("the average's base law (its parts with these weights) on its own runs without "
            "repetition, then R_D*, R_N* on all runs")
    selection, _, predictions, chosen_on = _select_unrepeated(pool, holdout, forms, then, **kw)
    weights, _ = _weights(selection, chosen_on, kw)
    _, _, fold_scores = _cv_scale(weights, predictions)
    fitter = FixedWeights(shape_of(weights).name, kw, weights)
    base, fitted = _unrepeated(runs, fitter=fitter)
    what = "runs without repetition (D <= U, N <= N_opt(U))"
    fitter.check(base, what)
    fit, run_bootstrap = _labelled(fitted, base, fitter, name=name, source=_source(
        weights, int(np.count_nonzero(base.weights)), runs, "of its "))
    selection = _record(selection, weights, fold_scores)
    fit = replace(fit, warnings=fit.warnings + tuple(cv_warning(selection)))
    boot = None
    if bootstrap:
        boot = run_bootstrap(int(bootstrap), None if seed is None else int(seed), level)
    rep = held = None
    if fit.law is not None:
        rep, held = repetition_stage(fit.law, runs, base, boot, holdout, mask, seed=seed,
                                     level=level, holdout_level=holdout_level, kw=kw,
                                     name=name, fitter=fitter)
    return FormFitResult(fit, base, budgets, boot, held, selection, repetition=rep)
