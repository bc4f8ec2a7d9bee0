"""Fit Chinchilla laws to training runs, with bootstrap uncertainty and hold-out checks.

Python API mirroring ``computeplan fit``::

    from computeplan.fitting import read_runs, filter_runs, fit_runs
    runs = filter_runs(read_runs("runs.csv", params_col="Model Size", flops_col="Training FLOP"),
                       drop_highest_loss=5)
    result = fit_runs(runs, bootstrap=200, seed=0, holdout="tokens_per_param>100")
    result.law, result.objective_value, result.bootstrap.intervals(), result.to_dict()

Method: Hoffmann et al. 2022 Approach 3 (Huber delta 1e-3 on log loss, log-sum-exp form,
L-BFGS from the 4,500-point grid screened by objective value, best kept), see :mod:`.core`;
bootstrap in :mod:`.bootstrap`; hold-out in :mod:`.holdout`; reading and filtering in
:mod:`.runs`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from .. import _lazy_attributes
from .._lawdata import MIN_REPLICATES, domain_of
from ..errors import InputError
from ..laws import ChinchillaLaw
from ._objective import DEFAULT_ASYMMETRY, HUBER_DELTA, OBJECTIVES
from .core import (
    DEFAULT_BUDGETS,
    LawFit,
    fit_law,
    hoffmann_grid,
    optimal_tokens_per_param,
    predict_loss,
)
from .intervals import DEFAULT_HOLDOUT_LEVEL, check_level, holdout_intervals
from .outliers import fit_outliers
from .runs import Runs, check_identifiable, filter_runs, optimal_tokens_per_param_rows, read_runs

if TYPE_CHECKING:  # imported on use: a plain fit needs neither bootstrap, hold-out nor repetition
    from .bootstrap import BootstrapResult
    from .holdout import HoldoutResult
    from .repetition import RepetitionFit


@dataclass(frozen=True)
class FitResult:
    """A fitted law with its diagnostics, and optionally bootstrap intervals and a hold-out
    check. ``ok`` is False when the optimiser did not converge or the solution lies on a
    boundary; ``warnings`` say why."""

    fit: LawFit
    runs: Runs
    budgets: np.ndarray
    bootstrap: BootstrapResult | None = None
    holdout: HoldoutResult | None = None
    #: How ``fit --form auto`` chose the form (:func:`.select.select_form`), else None.
    selection: dict | None = None
    form = "chinchilla"
    #: With unique tokens per run: the base law is fitted to the runs without repetition, and
    #: R_D*, R_N* to all runs (:mod:`.repetition`).
    repetition: RepetitionFit | None = None

    @property
    def domain(self) -> dict:
        """The ranges of params, training tokens and tokens per parameter of the runs fitted
        (weight > 0); with unique tokens, the epochs R_D*, R_N* were fitted on."""
        used = self.runs.weights > 0
        return with_epochs(domain_of(self.runs.params[used], self.runs.train_tokens[used]),
                           self.repetition)

    @property
    def law(self) -> ChinchillaLaw | None:
        """The fitted law, with the domain of the runs fitted (weight > 0) and, after a
        bootstrap, its usable replicates (``law.replicates``, rows E, A, B, alpha, beta)."""
        law = self.fit.law
        if law is None:
            return None
        replicates = None
        if self.bootstrap is not None and self.bootstrap.ok.sum() >= MIN_REPLICATES:
            replicates = self.bootstrap.replicates()
        if self.repetition is not None:
            law = replace(law, rd_star=self.repetition.rd_star, rn_star=self.repetition.rn_star)
        return replace(law, domain=self.domain, replicates=replicates)

    # Delegated to the full-data fit.

    @property
    def coefficients(self) -> dict[str, float]:
        return self.fit.coefficients

    @property
    def objective_value(self) -> float:
        return self.fit.objective_value

    @property
    def n_runs(self) -> int:
        return self.fit.n_runs

    @property
    def residuals(self) -> dict[str, float]:
        return self.fit.residuals

    @property
    def converged(self) -> bool:
        return self.fit.converged

    @property
    def ok(self) -> bool:
        return self.fit.ok

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.fit.warnings

    #: The fitted runs far off the fitted law (:func:`.outliers.off_law`), worst first.
    outliers = property(fit_outliers)

    @property
    def tokens_per_param(self) -> np.ndarray | None:
        """Compute-optimal tokens per parameter at each of ``budgets`` (Hoffmann et al. eq. 4);
        None when the fit is not reliable (not converged or on a boundary)."""
        if not self.ok:
            return None
        return optimal_tokens_per_param(self.coefficients, self.budgets)

    def to_dict(self) -> dict:
        out = {"form": self.form} | self.fit.to_dict() | {
            "source": self.runs.source, "notes": list(self.runs.notes),
            "domain": self.domain,
            "compute_optimal_tokens_per_param": optimal_tokens_per_param_rows(
                self.budgets, self.tokens_per_param, self.runs),
        }
        out["outliers"] = self.outliers
        out["bootstrap"] = self.bootstrap.to_dict() if self.bootstrap else None
        out["holdout"] = self.holdout.to_dict() if self.holdout else None
        out["selection"] = self.selection
        if self.repetition is not None:
            out["repetition"] = self.repetition.to_dict()
        return out


def check_resampling(bootstrap, seed, n_runs: int | None = None) -> None:
    """``bootstrap`` is 0 (none) or an integer in [2, MAX_BOOTSTRAP] (with ``n_runs``, also
    within the memory bound, see :func:`~.bootstrap.check_bootstrap`); ``seed`` None or an
    integer >= 0."""
    if isinstance(bootstrap, bool) or bootstrap != 0:
        from .bootstrap import check_bootstrap

        check_bootstrap(bootstrap, n_runs)
    if seed is not None and (isinstance(seed, bool) or int(seed) != seed or seed < 0):
        raise InputError(f"seed must be an integer >= 0; got {seed}")


#: Refits of the base law while the set of runs without repetition changes (module docstring
#: of :mod:`.repetition`).
MAX_BASE_REFITS = 4


def _check_base(runs: Runs, form: str, what: str) -> None:
    """Enough runs (and distinct sizes and token counts) to fit the base law of ``form``."""
    check_identifiable(runs, form, what=what)


def _fit_base(runs: Runs, form: str, **kw):
    """(fit, optimum, problem) of a law of ``form`` on ``runs``: Hoffmann et al.'s fit for the
    Chinchilla form (:func:`.core.fit_law`), :func:`.forms.fit_form` for the others."""
    if form == "chinchilla":
        return fit_law(runs.params, runs.train_tokens, runs.loss, runs.weights, **kw)
    from .forms import fit_form

    return fit_form(runs, form, **kw)


@dataclass(frozen=True)
class BaseFitter:
    """How the base law of a repetition fit is fitted: as a law of ``form`` with the objective
    options ``kw`` (:func:`_fit_base`). :class:`.average.FixedWeights` fits an average of forms
    with fixed weights the same way."""

    form: str
    kw: dict

    def check(self, runs: Runs, what: str) -> None:
        """An InputError unless ``runs`` (described as ``what``) can be fitted."""
        _check_base(runs, self.form, what)

    def fit(self, runs: Runs, name: str = "fit", source: str = ""):
        """(the base law's fit to ``runs``, ``bootstrap(k, seed, level=0.95, **options)``: its
        bootstrap of ``k`` resamples; ``options`` (the Chinchilla form's ``budgets``,
        ``on_progress``) go to :func:`.bootstrap.bootstrap`)."""
        fit, opt, problem = _fit_base(runs, self.form, name=name, source=source, **self.kw)

        def bootstrap(k: int, seed, level: float = 0.95, **options):
            if self.form == "chinchilla":
                from .bootstrap import bootstrap as run_bootstrap

                return run_bootstrap(problem, opt, k, seed=seed, level=level, **options)
            if options:  # not dropped unsaid: the other forms' bootstrap takes none
                raise TypeError(f"bootstrap options {sorted(options)} apply to the Chinchilla "
                                f"form only; got form {self.form!r}")
            from .forms import bootstrap_form

            return bootstrap_form(problem, opt, k, seed=seed, level=level)

        return fit, bootstrap


def _unrepeated(runs: Runs, form: str = "chinchilla", *, fitter: BaseFitter | None = None,
                **kw) -> tuple[Runs, tuple | None]:
    """The runs that repeat neither data (D <= U) nor parameters (N <= N_opt(U), judged by the
    base law of ``form`` (or ``fitter``'s) fitted to the previous such set, starting from
    D <= U alone), and ``fitter.fit``'s result on them when the last refit was of that set
    (:func:`_labelled` names it; None when :data:`MAX_BASE_REFITS` ran out first): the base
    law's fit, which the caller need not repeat."""
    from ..data_limits import base_params
    from .repetition import no_base_error

    fitter = BaseFitter(form, kw) if fitter is None else fitter
    what = "runs without repetition (D <= U, N <= N_opt(U))"
    keep = ~runs.repeated
    fitted = None
    for i in range(MAX_BASE_REFITS):
        sub = runs.subset(keep)
        fitter.check(sub, what)
        fitted = fitter.fit(sub)
        law = fitted[0].law
        if law is None:
            break
        try:
            n_opt = base_params(law, runs.unique_tokens)
        except InputError:
            fitted_to = "runs with D <= U" if i == 0 else what
            raise no_base_error(fitter.form, f"{int(keep.sum())} {fitted_to}") from None
        new = ~runs.repeated & (runs.params <= n_opt)
        if np.array_equal(new, keep):
            break
        keep, fitted = new, None
    return runs.subset(keep, f"base law fitted to the {int(keep.sum())} {what}"), fitted


def _labelled(fitted, base: Runs, fitter: BaseFitter, name: str = "fit", source: str = ""):
    """``fitter.fit(base, name, source)``: ``fitted`` (:func:`_unrepeated`'s fit to ``base``)
    named so, or a fit of ``base`` when there is none. The fit depends on the runs alone; the
    name and source only label it."""
    if fitted is None:
        return fitter.fit(base, name=name, source=source)
    fit, bootstrap = fitted
    return replace(fit, name=name, source=source), bootstrap


def fit_runs(runs: Runs, *, form: str = "chinchilla", objective: str = "huber",
             delta: float = HUBER_DELTA, asymmetry: float = DEFAULT_ASYMMETRY,
             bootstrap: int = 0, seed: int | None = None, level: float = 0.95,
             holdout: str | None = None, holdout_level: float = DEFAULT_HOLDOUT_LEVEL,
             budgets=DEFAULT_BUDGETS, name: str = "fit", on_progress=None,
             full_grid: bool = False):
    """Fit a Chinchilla law to ``runs`` (see :class:`Runs`, :func:`read_runs`).

    ``objective``: ``huber`` (Hoffmann et al., threshold ``delta``), ``asymmetric`` (Huber with
    share ``asymmetry`` of the penalty on over-prediction: a lower envelope) or ``lsq`` (least
    squares on log loss). ``bootstrap`` > 0 refits that many resamples (seeded by ``seed``) for
    standard errors and ``level`` percentile intervals. ``holdout`` (e.g.
    ``'tokens_per_param>100'``) refits without the selected runs and reports prediction errors
    on them, with predictive intervals at ``holdout_level`` and their coverage
    (:mod:`.intervals`). ``form``: the law form (:data:`computeplan.forms.FORMS`, or ``auto``:
    chosen by extrapolation cross-validation, :mod:`.select`); other forms than the Chinchilla
    form give a :class:`.select.FormFitResult` with the same attributes. ``on_progress(done,
    total)`` follows the bootstrap refits of the Chinchilla form (a progress bar).
    ``full_grid``: run L-BFGS from every start of the grid instead of the default screened
    starts (the best by objective value, falling back to the full grid when their optimum is
    not usable; :func:`.core.multistart`).

    With unique tokens per run (``runs.unique_tokens``, any form): the base law is fitted to
    the runs repeating neither data nor parameters, then R_D*, R_N* to all runs with it held
    fixed (:mod:`.repetition`); ``bootstrap`` and ``holdout`` cover both stages.
    """
    if form != "chinchilla":
        from .select import fit_form_runs

        return fit_form_runs(runs, form, objective=objective, delta=delta, asymmetry=asymmetry,
                             bootstrap=bootstrap, seed=seed, level=level, holdout=holdout,
                             holdout_level=holdout_level, budgets=budgets, name=name,
                             full_grid=full_grid)
    everything = runs
    fitted = None
    if runs.unique_tokens is not None:
        runs, fitted = _unrepeated(runs, objective=objective, delta=delta, asymmetry=asymmetry,
                                   full_grid=full_grid)
    check_identifiable(runs)
    budgets = np.atleast_1d(np.asarray(budgets, dtype=float))
    if not (budgets.ndim == 1 and np.all(np.isfinite(budgets)) and np.all(budgets > 0)):
        raise InputError(f"budgets must be finite FLOP counts > 0; got {budgets.tolist()}")
    check_resampling(bootstrap, seed, len(runs))
    check_level(holdout_level)
    train = test = mask = None
    repeats = everything.unique_tokens is not None
    if holdout is not None:  # validated before any fitting
        # with unique tokens, both stages are refitted without the runs held out of all runs
        mask = _held_out(everything if repeats else runs, holdout)
        if not repeats:
            train, test = runs.subset(~mask), runs.subset(mask)
            check_identifiable(train, what=f"runs left after holding out {holdout!r}")

    kw = dict(objective=objective, delta=delta, asymmetry=asymmetry, full_grid=full_grid)
    n_used = int(np.count_nonzero(runs.weights))
    source = f"fitted to {n_used} runs from {runs.source} ({objective} objective)"
    fit, run_bootstrap = _labelled(fitted, runs, BaseFitter("chinchilla", kw), name, source)
    boot = None
    if bootstrap:
        boot = run_bootstrap(int(bootstrap), None if seed is None else int(seed), level,
                             budgets=budgets, on_progress=on_progress)
    held = None
    if train is not None:
        sub, _, _ = fit_law(train.params, train.train_tokens, train.loss, train.weights,
                            name=f"{name} (without {holdout})", **kw)
        pred = predict_loss(sub.coefficients, test.params, test.train_tokens)
        intervals = holdout_intervals("chinchilla", train, test, level=holdout_level, seed=seed,
                                      **kw)
        from .holdout import HoldoutResult

        held = HoldoutResult(holdout, sub, test, pred, intervals)
    rep = None
    if everything.unique_tokens is not None and fit.law is not None:
        rep, rep_held = repetition_stage(fit.law, everything, runs, boot, holdout, mask,
                                         seed=seed, level=level, holdout_level=holdout_level,
                                         kw=kw, name=name)
        held = held if rep_held is None else rep_held
    return FitResult(fit, runs, budgets, boot, held, repetition=rep)


def repetition_stage(law, everything: Runs, base: Runs, boot, holdout, mask, *, seed, level,
                     holdout_level, kw, name, fitter: BaseFitter | None = None):
    """The second stage of a fit with unique tokens, for a base ``law`` (fitted as ``fitter``
    fits it; default: a Chinchilla-form law with the options ``kw``) to the runs ``base`` of
    ``everything``: (R_D*, R_N* with their bootstrap under the base law's ``boot``, the
    two-stage hold-out check of the runs ``mask`` selects by the rule ``holdout``, or None)."""
    rep = _fit_repetition(law, everything, base, boot, seed=seed, level=level,
                          delta=kw["delta"])
    held = None
    if holdout is not None:
        held = _repetition_holdout(everything, holdout, mask, holdout_level, seed, name,
                                   BaseFitter("chinchilla", kw) if fitter is None else fitter,
                                   kw["delta"])
    return rep, held


def _replicates(boot):
    """(coefficients by name as (K,) arrays, their form or None for the law's own) of a
    base-law bootstrap of any form (:class:`.bootstrap.BootstrapResult` or
    :class:`.forms.FormBootstrap`)."""
    if isinstance(boot.coefficients, dict):
        return boot.coefficients, None
    from ..forms import get_form

    form = get_form(boot.form)
    return form.as_dict(boot.coefficients), form


def with_epochs(domain: dict, repetition) -> dict:
    """``domain`` with the epochs of a repetition fit (``epochs``), when there is one."""
    if repetition is None or repetition.epochs is None:
        return domain
    return domain | {"epochs": list(repetition.epochs)}


def _fit_repetition(law, everything: Runs, base: Runs, boot, *, seed, level, delta):
    """R_D*, R_N* of the base ``law`` on all runs, with their bootstrap when the base law has
    one (:mod:`.repetition`), and a note on runs with D < U (they repeat nothing)."""
    from .repetition import bootstrap_repetition, fit_repetition

    rep = fit_repetition(law, everything.params, everything.train_tokens,
                         everything.unique_tokens, everything.loss, everything.weights,
                         delta=delta)
    epochs = (everything.train_tokens / everything.unique_tokens)[everything.weights > 0]
    rep = replace(rep, epochs=(float(epochs.min()), float(epochs.max())))
    below = everything.train_tokens < everything.unique_tokens
    if below.any():
        i = int(np.flatnonzero(below)[0])
        rep = replace(rep, notes=(*rep.notes, (
            f"{int(below.sum())} of {len(everything)} runs train on fewer tokens than their "
            f"unique tokens (D < U; first: row {everything.rows[i]}, D = "
            f"{everything.train_tokens[i]:.4g} < U = {everything.unique_tokens[i]:.4g}): they "
            "repeat no data and see only D unique tokens; check the unique-tokens column if "
            "these runs repeat data")))
    if boot is not None:
        in_base = np.isin(everything.rows, base.rows)
        coef, form = _replicates(boot)
        rep = replace(rep, bootstrap=bootstrap_repetition(
            rep, law, coef, boot.ok, everything.params, everything.train_tokens,
            everything.unique_tokens, everything.loss, everything.weights, in_base,
            seed=seed, level=level, delta=delta, form=form))
    return rep


def _held_out(runs: Runs, rule: str) -> np.ndarray:
    from .holdout import holdout_mask

    mask = holdout_mask(runs, rule)
    if not mask.any():
        raise InputError(f"holdout {rule!r} selects none of the {len(runs)} runs")
    return mask


def _repetition_holdout(everything: Runs, rule: str, mask, level, seed, name,
                        fitter: BaseFitter, delta: float):
    """Both stages (base law, as ``fitter`` fits it, then R_D*, R_N*) refitted without the runs
    ``rule`` selects; the held-out runs predicted with the data-limited law L(N, D; U)
    (Muennighoff et al. 2023, eq. 5). Predictive intervals: normal on log loss with the
    variance of the log predictions over ``HOLDOUT_BOOTSTRAP`` two-stage bootstrap replicates
    plus the run scatter (rms log residual of the refitted data-limited law on its runs); no
    extrapolation term (it is not measured for the repetition fit; the intervals say so)."""
    from statistics import NormalDist

    from ..data_limits import limited_loss
    from .holdout import HoldoutResult
    from .intervals import HOLDOUT_BOOTSTRAP
    from .repetition import predict as predict_limited

    train, test = everything.subset(~mask), everything.subset(mask)
    base, fitted = _unrepeated(train, fitter=fitter)
    fitter.check(base, f"runs without repetition left after holding out {rule!r}")
    sub, bootstrap = _labelled(fitted, base, fitter, name=f"{name} (without {rule})")
    if sub.law is None:
        raise InputError(f"the fit without the runs {rule!r} holds out gives no law (a "
                         "coefficient is not > 0): hold out fewer runs")
    seed = 0 if seed is None else seed  # as every hold-out interval: the same on every run
    boot = bootstrap(HOLDOUT_BOOTSTRAP, seed)
    rep = _fit_repetition(sub.law, train, base, boot, seed=seed, level=level, delta=delta)
    law = replace(sub.law, rd_star=rep.rd_star, rn_star=rep.rn_star)
    pred = limited_loss(law, test.params, test.train_tokens, test.unique_tokens)
    used = train.weights > 0
    fitted_pred = limited_loss(law, train.params[used], train.train_tokens[used],
                               train.unique_tokens[used])
    scatter = float(np.sqrt(np.mean((np.log(fitted_pred) - np.log(train.loss[used])) ** 2)))
    mu = np.log(pred)
    var = np.zeros_like(mu)
    rb = rep.bootstrap
    if rb is not None and rb.ok.sum() >= 2:
        ok = rb.ok
        reps, rep_form = _replicates(boot)
        coef = {c: np.asarray(val)[ok][:, None] for c, val in reps.items()}
        coef |= {"rd_star": rb.rd_star[ok][:, None], "rn_star": rb.rn_star[ok][:, None]}
        with np.errstate(all="ignore"):
            spread = np.log(predict_limited(coef, test.params, test.train_tokens,
                                            test.unique_tokens, rep_form)[0])
        var = np.nanvar(spread, axis=0, ddof=1)
    z = NormalDist().inv_cdf(0.5 + level / 2)
    sd = np.sqrt(var + scatter**2)
    lo, hi = np.exp(mu - z * sd), np.exp(mu + z * sd)
    inside = (test.loss >= lo) & (test.loss <= hi)
    intervals = {
        "level": level, "coverage": float(np.mean(inside)),
        "mean_relative_half_width": float(np.mean(0.5 * (hi - lo) / pred)),
        "coverage_without_extrapolation_term": float(np.mean(inside)),
        "method": "normal on log loss: variance over two-stage bootstrap replicates (base law "
                  "and R_D*, R_N*) + run scatter^2 of the data-limited law; no extrapolation "
                  "term (not measured for the repetition fit)",
        "bootstrap_replicates": int(0 if rb is None else rb.ok.sum()),
        "run_scatter": scatter, "extrapolation_scale": 0.0, "extrapolation_scale_runs": None,
        "runs": {"lo": lo, "hi": hi, "inside": inside, "distance": np.zeros_like(mu)},
    }
    return HoldoutResult(rule, sub, test, pred, intervals, repetition=rep, n_fit=len(train))


__all__ = [
    "OBJECTIVES",
    "BootstrapResult",
    "FitResult",
    "HoldoutResult",
    "LawFit",
    "RepetitionFit",
    "Runs",
    "filter_runs",
    "fit_law",
    "fit_runs",
    "hoffmann_grid",
    "read_runs",
]


#: The result classes of bootstrap, hold-out and repetition, imported on first use (PEP 562).
__getattr__, __dir__ = _lazy_attributes(__name__, {
    "BootstrapResult": ".bootstrap", "HoldoutResult": ".holdout", "RepetitionFit": ".repetition"},
    globals())
