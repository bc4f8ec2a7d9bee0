"""Fits of any law form with bootstrap and hold-out, and the choice of form by extrapolation
cross-validation (``computeplan fit --form auto``).

Selection rule (``auto``): every form in :data:`computeplan.forms.FORMS` is fitted to the runs
once more per extrapolation fold, each time without the fold's runs, and scored on them:

- ``tokens_per_param``: the runs at the highest tokens per parameter (whole levels of D/N,
  from the top, until at least ``CV_SHARE`` of the runs are held out);
- ``tokens_per_param_deep``: likewise until at least ``CV_DEEP_SHARE`` are held out, so the
  fitted runs stop at a lower D/N and the held-out runs lie farther beyond them (skipped when
  it would hold out the same runs as ``tokens_per_param`` or leave fewer than two levels of
  D/N to fit);
- ``params``: the runs of the largest models (whole model sizes, until ``CV_SHARE``).

A form's score is the mean over the folds of the mean absolute relative error of the
predicted loss on the held-out runs (a fold the form cannot be fitted on, or predicts as
infinite, makes its score infinite: None in the table and JSON). The form with the lowest
score is kept; scores within ``CV_TIE`` (relative) of the best go to the form with fewer
coefficients. This is the extrapolation the planner needs, measured on the
runs themselves, with no use of any run the user holds out with ``--holdout``: inference-aware
optima sit far beyond the runs in D/N (hence two nested folds in that direction, the deeper
one a longer extrapolation: one fold of the nearest 20% rewards a form that bends just right
over the last factor of two and says little about a factor of four or more), large models
beyond them in N (one fold).

With unique tokens per run (the repetition fit, :mod:`.repetition`), the form is chosen on
the runs without repetition, as the base fit uses them: D <= U and N <= N_opt(U), the second
depending on a law. A first round on the runs with D <= U (after ``--holdout``) ranks the
forms; the runs without repetition under the best of them whose base law has N_opt(U) at the
runs' unique tokens (:func:`computeplan.fitting._unrepeated`) are the folds of the second round,
whose choice is kept (``selection["runs"]``, ``selection["first_round"]`` in the JSON; runs
with excess parameters, their loss raised by the repetition, would favour the forms that bend
most). The chosen form is then fitted as if it were given: its base law on its own runs
without repetition, then R_D*, R_N* on all runs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from .._lawdata import MIN_REPLICATES
from ..errors import InputError
from ..formaverage import is_average
from ..forms import FORMS, get_form
from ._objective import DEFAULT_ASYMMETRY, HUBER_DELTA
from .core import DEFAULT_BUDGETS
from .forms import (
    FormBootstrap,
    FormFit,
    fit_form,
    runs_domain,
)
from .holdout import HoldoutResult
from .intervals import DEFAULT_HOLDOUT_LEVEL, check_level, holdout_intervals
from .outliers import fit_outliers
from .runs import Runs, check_identifiable, optimal_tokens_per_param_rows

if TYPE_CHECKING:
    from .repetition import RepetitionFit

#: Least share of the runs each cross-validation fold holds out.
CV_SHARE = 0.2
#: Least share of the runs the deeper tokens-per-parameter fold holds out.
CV_DEEP_SHARE = 0.4
#: Relative margin within which a form with fewer coefficients wins a tie of scores.
CV_TIE = 0.02
#: A chosen form whose cross-validation error exceeds this is not ok (unsafe to extrapolate).
CV_MAX_ERROR = 0.03
#: The extrapolation folds of ``--form auto``.
CV_FOLDS = ("tokens_per_param", "tokens_per_param_deep", "params")
#: A form's score in the cross-validation.
SCORE_RULE = (f"mean over the folds (the highest tokens per parameter, at least {CV_SHARE:.0%} "
              f"and {CV_DEEP_SHARE:.0%} of the runs; the largest models, at least "
              f"{CV_SHARE:.0%}) of the mean |relative error| of the held-out runs' loss")


@dataclass(frozen=True)
class FormFitResult:
    """A fitted law of any form with its diagnostics, bootstrap and hold-out (the attributes
    of :class:`computeplan.fitting.FitResult`), and the cross-validation table when the form
    was chosen by ``auto``."""

    fit: FormFit
    runs: Runs
    budgets: np.ndarray
    bootstrap: FormBootstrap | None = None
    holdout: HoldoutResult | None = None
    selection: dict | None = None
    #: With unique tokens per run: the base law is fitted to the runs without repetition, and
    #: R_D*, R_N* to all runs (:mod:`.repetition`).
    repetition: RepetitionFit | None = None

    @property
    def form(self) -> str:
        return self.fit.form

    @property
    def domain(self) -> dict:
        """The ranges of params, training tokens and tokens per parameter of the runs fitted
        (weight > 0); with unique tokens, the epochs R_D*, R_N* were fitted on."""
        from . import with_epochs

        return with_epochs(runs_domain(self.runs), self.repetition)

    @property
    def law(self):
        """The fitted law (:func:`computeplan.formlaw.make_law`) with the runs' domain and,
        after a bootstrap, its usable replicates; with unique tokens, the R_D*, R_N* the runs
        determine (``rd_star``, ``rn_star``; one they do not determine keeps the law's
        default); None when the coefficients are no law."""
        from ..formlaw import make_law

        if self.fit.law is None:
            return None
        reps = None
        if self.bootstrap is not None and self.bootstrap.ok.sum() >= MIN_REPLICATES:
            reps = self.bootstrap.replicates()
        rep = self.repetition
        stars = {} if rep is None else {k: getattr(rep, k) for k in rep.fitted}
        return make_law(self.form, self.coefficients, name=self.fit.name,
                        source=self.fit.source, replicates=reps, domain=self.domain,
                        **stars)

    coefficients = property(lambda self: self.fit.coefficients)
    #: The fitted runs far off the fitted law (:func:`.outliers.off_law`), worst first.
    outliers = property(fit_outliers)
    objective_value = property(lambda self: self.fit.objective_value)
    n_runs = property(lambda self: self.fit.n_runs)
    residuals = property(lambda self: self.fit.residuals)
    converged = property(lambda self: self.fit.converged)
    ok = property(lambda self: self.fit.ok)
    warnings = property(lambda self: self.fit.warnings)

    @property
    def tokens_per_param(self) -> np.ndarray | None:
        """Compute-optimal tokens per parameter at each budget (None when the fit is not ok or
        the law has no compute-optimal model there)."""
        if not self.ok or self.fit.law is None:
            return None
        try:
            return _optimal_tpp(self.form, self.coefficients, self.budgets)
        except InputError:
            return None

    def tokens_per_param_intervals(self) -> list[dict] | None:
        boot = self.bootstrap
        law = self.fit.law
        if boot is None or law is None or boot.ok.sum() < 2:
            return None
        coef = {k: v[:, None] for k, v in get_form(self.form).as_dict(boot.replicates()).items()}
        try:
            tpp = _optimal_tpp(self.form, coef, self.budgets[None, :])
        except InputError:
            return None
        tail = 100 * (1 - boot.level) / 2
        out = []
        for j, c in enumerate(self.budgets):
            lo, hi = np.percentile(tpp[:, j], [tail, 100 - tail])
            out.append({"train_flops": float(c), "se": float(np.std(tpp[:, j], ddof=1)),
                        "lo": float(lo), "hi": float(hi)})
        return out

    def to_dict(self) -> dict:
        tpp = self.tokens_per_param
        out = self.fit.to_dict() | {
            "source": self.runs.source, "notes": list(self.runs.notes),
            "domain": self.domain,
            "compute_optimal_tokens_per_param": optimal_tokens_per_param_rows(
                self.budgets, tpp, self.runs),
        }
        boot = self.bootstrap.to_dict() if self.bootstrap else None
        if boot is not None:
            boot["tokens_per_param"] = self.tokens_per_param_intervals()
        out["outliers"] = self.outliers
        out["bootstrap"] = boot
        out["holdout"] = self.holdout.to_dict() if self.holdout else None
        out["selection"] = self.selection
        if self.repetition is not None:
            out["repetition"] = self.repetition.to_dict()
        return out


def _optimal_tpp(form: str, coef: dict, budgets) -> np.ndarray:
    """Compute-optimal D/N of a law of ``form`` at training ``budgets`` (broadcasting with array
    coefficients), by :func:`computeplan._formsolve.budget` with r = 0."""
    from .._formsolve import budget

    ln_n, ln_d = budget(get_form(form), coef, np.log(np.asarray(budgets, float) / 6.0), 0.0)
    return np.exp(ln_d - ln_n)


def _check_common(runs, budgets, bootstrap, seed):
    budgets = np.atleast_1d(np.asarray(budgets, dtype=float))
    if not (budgets.ndim == 1 and np.all(np.isfinite(budgets)) and np.all(budgets > 0)):
        raise InputError(f"budgets must be finite FLOP counts > 0; got {budgets.tolist()}")
    if isinstance(bootstrap, bool) or int(bootstrap) != bootstrap or bootstrap < 0 \
            or bootstrap == 1:
        raise InputError(f"bootstrap must be 0 (none) or an integer >= 2; got {bootstrap}")
    if seed is not None and (isinstance(seed, bool) or int(seed) != seed or seed < 0):
        raise InputError(f"seed must be an integer >= 0; got {seed}")
    return budgets


def check_fit_form(form: str) -> None:
    """An InputError unless ``form`` is one a fit takes: a form of :data:`FORMS`, ``auto``,
    ``average`` or ``average(f1,f2,...)`` (distinct forms of :data:`FORMS`)."""
    if is_average(form):
        get_form(form)
    elif form not in (*FORMS, "auto", "average"):
        raise InputError(f"unknown law form {form!r} for a fit; valid: {', '.join(FORMS)}, "
                         "auto (the best by cross-validation), average (every form weighted "
                         "by it) or average(f1,f2,...) (those forms weighted by it)")


def fit_form_runs(runs: Runs, form: str = "kaplan", *, objective: str = "huber",
                  delta: float = HUBER_DELTA, asymmetry: float = DEFAULT_ASYMMETRY,
                  bootstrap: int = 0, seed: int | None = None, level: float = 0.95,
                  holdout: str | None = None, holdout_level: float = DEFAULT_HOLDOUT_LEVEL,
                  budgets=DEFAULT_BUDGETS, name: str = "fit",
                  selection: dict | None = None, full_grid: bool = False) -> FormFitResult:
    """Fit a law of ``form`` (a name in :data:`computeplan.forms.FORMS`; ``auto``: chosen by
    :func:`select_form` on the runs left after ``holdout``; ``average`` or ``average(f1,...)``:
    the forms weighted by the same cross-validation, :mod:`.average`) with optional bootstrap and
    hold-out check, as :func:`computeplan.fitting.fit_runs` does for the Chinchilla form.

    With unique tokens per run, as for the Chinchilla form: the base law is fitted to the runs
    repeating neither data nor parameters, R_D*, R_N* to all runs with it held fixed
    (:mod:`.repetition`, the form's own data-limited loss), ``bootstrap`` and ``holdout`` over
    both stages. ``auto`` then chooses the form on the runs that repeat no data (D <= U,
    after ``holdout``; module docstring), and the chosen form's base law (on its own runs
    without repetition) and R_D*, R_N* are fitted as with that form given."""
    from . import BaseFitter, _check_base, _held_out, _labelled, _unrepeated, repetition_stage

    budgets = _check_common(runs, budgets, bootstrap, seed)
    check_level(holdout_level)
    check_fit_form(form)  # an unknown form fails before any fitting
    if form == "average" or is_average(form):
        from .average import fit_average

        parts = None if form == "average" else [f.name for f in get_form(form).parts]
        return fit_average(runs, forms=parts, bootstrap=bootstrap, seed=seed, level=level,
                           holdout=holdout, holdout_level=holdout_level, budgets=budgets,
                           name=name, objective=objective, delta=delta, asymmetry=asymmetry,
                           full_grid=full_grid)
    everything = runs
    repeats = runs.unique_tokens is not None
    train = test = mask = None
    if holdout is not None:
        mask = _held_out(runs, holdout)
        if not repeats:  # with unique tokens both stages are refitted without them
            train, test = runs.subset(~mask), runs.subset(mask)
    kw = dict(objective=objective, delta=delta, asymmetry=asymmetry, full_grid=full_grid)
    scale = None
    if form == "auto":
        pool = runs if mask is None else runs.subset(~mask)
        if repeats:
            selection, scales, _, _ = _select_unrepeated(pool, holdout, **kw)
        else:
            selection, scales, _ = _cross_validate(pool, **kw)
        form = selection["chosen"]
        scale = scales[form]
        if form == "chinchilla":
            from . import fit_runs

            res = fit_runs(runs, objective=objective, delta=delta, asymmetry=asymmetry,
                           bootstrap=bootstrap, seed=seed, level=level, holdout=holdout,
                           holdout_level=holdout_level, budgets=budgets, name=name,
                           full_grid=full_grid)
            fit = replace(res.fit, warnings=res.fit.warnings + tuple(cv_warning(selection)))
            return replace(res, fit=fit, selection=selection)
    f = get_form(form)
    fitted = None
    if repeats:
        runs, fitted = _unrepeated(everything, f.name, **kw)
        _check_base(runs, f.name, "runs without repetition (D <= U, N <= N_opt(U))")
    check_identifiable(runs, f)
    if train is not None:
        check_identifiable(train, f, what=f"runs left after holding out {holdout!r}")
    n_used = int(np.count_nonzero(runs.weights))
    source = (f"{f.name} form ({f.formula}) fitted to {n_used} runs from {runs.source} "
              f"({objective} objective)")
    fit, run_bootstrap = _labelled(fitted, runs, BaseFitter(f.name, kw), name, source)
    if selection is not None:
        fit = replace(fit, warnings=fit.warnings + tuple(cv_warning(selection)))
    boot = None
    if bootstrap:
        boot = run_bootstrap(int(bootstrap), None if seed is None else int(seed), level)
    held = None
    if train is not None:
        sub_fit = fit_form(train, f, name=f"{name} (without {holdout})", **kw)
        sub = sub_fit[0]
        intervals = holdout_intervals(f.name, train, test, level=holdout_level, seed=seed,
                                      scale=scale, sub_fit=sub_fit, **kw)
        held = HoldoutResult(holdout, sub, test, sub.predict(test.params, test.train_tokens),
                             intervals)
    rep = None
    if repeats and fit.law is not None:
        rep, held = repetition_stage(fit.law, everything, runs, boot, holdout, mask, seed=seed,
                                     level=level, holdout_level=holdout_level, kw=kw,
                                     name=name, fitter=BaseFitter(f.name, kw))
    return FormFitResult(fit, runs, budgets, boot, held, selection, repetition=rep)


def _select_unrepeated(pool: Runs, holdout: str | None, forms=None,
                       then: str = "the chosen form's base law (on its own runs without "
                                   "repetition) and R_D*, R_N* are then fitted as with that "
                                   "form given",
                       **kw) -> tuple[dict, dict, dict, Runs]:
    """:func:`_cross_validate` (of ``forms``, default all) for runs with unique tokens (module
    docstring): a first round on the runs that repeat no data (D <= U), then the final one on
    the runs without repetition (D <= U, N <= N_opt(U)) of the best form of the first round
    that has them (its base law has N_opt(U) at the runs' unique tokens); the first round's
    choice when none has. Also the final round's fold predictions and the runs it used.
    ``then``: what the fit does next, for the JSON's ``selection["runs"]``."""
    from . import _unrepeated

    first_runs = pool.subset(~pool.repeated)
    first, scales, predictions = _cross_validate(first_runs, forms, **kw)
    after = "" if holdout is None else f", after holding out {holdout!r}"
    n_first = int(np.count_nonzero(~pool.repeated & (pool.weights > 0)))
    ranked = [first["chosen"]] + [row["form"] for row in sorted(
        (r for r in first["table"] if r["score"] is not None), key=lambda r: r["score"])
        if row["form"] != first["chosen"]]
    for name in ranked:
        try:
            base, _ = _unrepeated(pool, name, **kw)
        except InputError:  # this form's law has no N_opt(U) there, or too few runs left
            continue
        selection, scales, predictions = _cross_validate(base, forms, **kw)
        selection["first_round"] = {"runs": n_first, "chosen": first["chosen"],
                                    "table": first["table"]}
        selection["runs"] = (
            f"the {int(np.count_nonzero(base.weights))} runs without repetition (D <= U, "
            f"N <= N_opt(U) under the {name}-form base law, the best of a first round on the "
            f"{n_first} runs with D <= U{after} that has N_opt(U)); {then}")
        return selection, scales, predictions, base
    first["runs"] = (f"the {n_first} runs with D <= U{after} (no form's base law has N_opt(U) "
                     "at the runs' unique tokens)")
    return first, scales, predictions, first_runs


def cv_folds(runs: Runs, share: float = CV_SHARE) -> dict[str, np.ndarray]:
    """The held-out masks of the extrapolation folds (module docstring): ``tokens_per_param``
    and ``params`` hold out at least ``share`` of the runs; ``tokens_per_param_deep`` at
    least ``CV_DEEP_SHARE``, when that is another set of runs and leaves two or more levels of
    D/N to fit."""
    used = runs.weights > 0
    out = {}
    for fold, values, min_share, keep in (
            ("tokens_per_param", runs.tokens_per_param, share, 1),
            ("tokens_per_param_deep", runs.tokens_per_param, CV_DEEP_SHARE, 2),
            ("params", runs.params, share, 1)):
        levels = np.unique(np.round(np.log(values[used]), 6))[::-1]
        mask = np.zeros(len(runs), dtype=bool)
        rounded = np.round(np.log(values), 6)
        for lv in levels[:len(levels) - keep]:
            mask |= (rounded == lv) & used
            if mask.sum() >= min_share * used.sum():
                break
        if fold == "tokens_per_param_deep" and (
                mask.sum() < min_share * used.sum()
                or np.array_equal(mask, out["tokens_per_param"])):
            continue
        out[fold] = mask
    return out


def select_form(runs: Runs, *, forms=None, objective: str = "huber", delta: float = HUBER_DELTA,
                asymmetry: float = DEFAULT_ASYMMETRY, full_grid: bool = False) -> dict:
    """Score every form by extrapolation cross-validation and choose one (module docstring).
    Returns ``{"rule", "folds", "table": [{form, n_coefficients, scores, score}], "chosen"}``."""
    return _cross_validate(runs, forms, objective=objective, delta=delta,
                           asymmetry=asymmetry, full_grid=full_grid)[0]


def _cross_validate(runs: Runs, forms=None, **kw) -> tuple[dict, dict[str, float], dict]:
    """:func:`select_form`'s selection; per form, the extrapolation scale of its folds'
    held-out runs (:func:`.intervals.distance_scale`, from the same fits); and per fold its
    fitted and held-out runs and each form's predictions of them (None where the form could
    not be fitted): ``{fold: (train, test, {form: predicted loss})}``."""
    from .intervals import distance_ratios, held_out_error, rms

    forms = list(FORMS) if forms is None else [get_form(f).name for f in forms]
    folds = cv_folds(runs)
    fold_info = {}
    errors: dict[str, dict[str, float]] = {f: {} for f in forms}
    ratios: dict[str, list[float]] = {f: [] for f in forms}
    predictions: dict[str, tuple] = {}
    for fold, mask in folds.items():
        train, test = runs.subset(~mask), runs.subset(mask)
        fold_info[fold] = {"n_fit": int(np.count_nonzero(train.weights)),
                           "n_held_out": int(np.count_nonzero(test.weights))}
        if not mask.any() or not (~mask).any():
            raise InputError(f"too few distinct {fold.replace('_', ' ')} levels among the "
                             f"{len(runs)} runs to hold any out for cross-validation")
        warm = None
        predictions[fold] = (train, test, dict.fromkeys(forms))
        for name in forms:
            f = get_form(name)
            try:
                check_identifiable(train, f, what="runs left in a cross-validation fold")
                fit, opt, problem = fit_form(train, f, warm=warm, **kw)
            except InputError:
                errors[name][fold] = float("inf")
                continue
            if name == "chinchilla":
                warm = problem.natural(opt.local_optima)
            pred = fit.predict(test.params, test.train_tokens)
            predictions[fold][2][name] = pred
            errors[name][fold] = held_out_error(test, pred)
            ratios[name] += distance_ratios(train, test, pred)
    table = []
    for name in forms:
        scores = errors[name]
        score = float(np.mean(list(scores.values())))
        # A fold the form could not be fitted on (or that it predicts as infinite) is None in
        # the table and JSON, and so is the form's score: it is never chosen.
        table.append({"form": name, "n_coefficients": get_form(name).n_coefficients,
                      "scores": {k: v if np.isfinite(v) else None for k, v in scores.items()},
                      "score": score if np.isfinite(score) else None})
    finite = [row for row in table if row["score"] is not None]
    if not finite:
        raise InputError("no form could be fitted and scored on the cross-validation folds "
                         "(too few runs)")
    best = min(row["score"] for row in finite)
    close = [row for row in finite if row["score"] <= best * (1 + CV_TIE)]
    chosen = min(close, key=lambda row: (row["n_coefficients"], row["score"]))["form"]
    selection = {"rule": f"lowest {SCORE_RULE}; within {CV_TIE:.0%} the form with fewer "
                         "coefficients",
                 "folds": fold_info, "table": table, "chosen": chosen}
    scales = {k: rms(r) for k, r in ratios.items()}
    return selection, scales, predictions


def cv_warning(selection: dict) -> list[str]:
    """The ``implausible:`` warning of a chosen form whose cross-validation error is large."""
    score = next(r["score"] for r in selection["table"] if r["form"] == selection["chosen"])
    if score is not None and score > CV_MAX_ERROR:
        return [f"implausible: the chosen form's extrapolation error in cross-validation is "
                f"{100 * score:.2f}% (above {100 * CV_MAX_ERROR:g}%)"]
    return []
