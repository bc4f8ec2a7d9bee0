"""Fit a Chinchilla law to runs: the Hoffmann et al. 2022 Approach 3 protocol, batched.

Protocol (Hoffmann et al. 2022, appendix D.2; Besiroglu et al. 2024, arXiv 2404.10102, sec. 2):
minimise sum_i Huber_1e-3(LSE(a - alpha log N_i, b - beta log D_i, e) - log L_i) over
(a, b, e, alpha, beta) by L-BFGS from every point of the grid alpha, beta in {0, 0.5, ..., 2},
e in {-1, -0.5, ..., 1}, a, b in {0, 5, ..., 25} (4,500 starts) and keep the best; then
A = e^a, B = e^b, E = e^e. All starts run together (:mod:`._lbfgs`) with exact gradients
(:mod:`._objective`); the best few distinct results are polished to a tight tolerance.

Screening (issue 15, the default): the objective is evaluated once at every grid start (one
vectorised pass) and L-BFGS runs only from the ``SCREEN`` starts with the lowest distinct
values; when the screened optimum is not a usable law (any warning of :func:`fit_warnings`:
not converged, on a boundary or implausible) the remaining starts are minimised too, so such
fits end exactly as with the full grid. ``full_grid=True``
minimises from every start. tests/test_fit_screening.py checks that both reach the same
objective on every published dataset and on synthetic ladders.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .._lawdata import MIN_EXPONENT
from ..errors import InputError
from ..forms import get_form
from ..laws import COEFFICIENTS, ChinchillaLaw
from . import _lbfgs
from ._objective import DEFAULT_ASYMMETRY, HUBER_DELTA, OBJECTIVES, Problem
from .plausible import implausible

#: Hoffmann et al. 2022 initialisation grid (appendix D.2), natural coordinates (a, b, e, alpha,
#: beta).
GRID_AXES = {
    "a": np.arange(0.0, 25.1, 5.0),
    "b": np.arange(0.0, 25.1, 5.0),
    "e": np.arange(-1.0, 1.01, 0.5),
    "alpha": np.arange(0.0, 2.01, 0.5),
    "beta": np.arange(0.0, 2.01, 0.5),
}
#: Compute budgets (FLOPs) at which the fitted law's compute-optimal tokens per parameter are
#: reported.
DEFAULT_BUDGETS = (1e21, 1e23, 1e25)
#: Exponents at or below this, or E below this, count as a boundary solution; a law's exponents
#: must exceed it (:data:`computeplan._lawdata.MIN_EXPONENT`, this value).
BOUNDARY = MIN_EXPONENT
#: A term whose spread across the runs is below this share of every run's predicted loss is not
#: determined by the data (it is indistinguishable from a constant absorbed into E).
NEGLIGIBLE_TERM = 1e-3
#: The terms of the law and the exponent and coefficient each one carries.
TERMS = {"A/N^alpha": ("alpha", "A"), "B/D^beta": ("beta", "B")}
#: Batch-phase and polish tolerances on the relative decrease of the objective per iteration.
BATCH_FTOL, POLISH_FTOL = 1e-8, 1e-15
BATCH_MAXITER, POLISH_MAXITER = 300, 5000
#: A result is converged when max |gradient| <= GRAD_RTOL * objective + GRAD_ATOL (optimiser
#: coordinates, in which every coordinate is O(1)).
GRAD_RTOL, GRAD_ATOL = 1e-5, 1e-14
N_POLISH = 5
#: Starts minimised after screening the grid: those with the lowest distinct objective values.
SCREEN = 100
#: Start values within this relative difference count as one value when screening (grid points
#: whose differences the data cannot see, e.g. a term far below the loss at every run).
SCREEN_RTOL = 1e-12


def hoffmann_grid() -> np.ndarray:
    """The 4,500 starting points (a, b, e, alpha, beta) of Hoffmann et al. 2022."""
    axes = [GRID_AXES[k] for k in ("a", "b", "e", "alpha", "beta")]
    return np.array(list(itertools.product(*axes)))


def coefficients_from_theta(theta: np.ndarray) -> dict[str, np.ndarray]:
    """(a, b, e, alpha, beta) -> {E, A, B, alpha, beta} with A = e^a, B = e^b, E = e^e."""
    t = np.asarray(theta, dtype=float)
    with np.errstate(over="ignore"):
        return {"E": np.exp(t[..., 2]), "A": np.exp(t[..., 0]), "B": np.exp(t[..., 1]),
                "alpha": t[..., 3], "beta": t[..., 4]}


def optimal_tokens_per_param(coef: dict, train_flops) -> np.ndarray:
    """D/N of the compute-optimal model at budget C: (C/6)^((alpha-beta)/(alpha+beta)) / G^2 with
    G = (alpha A / (beta B))^(1/(alpha+beta)) (Hoffmann et al. 2022, eq. 4). Broadcasts over
    coefficient arrays (e.g. bootstrap replicates) and budgets."""
    al, be = np.asarray(coef["alpha"])[..., None], np.asarray(coef["beta"])[..., None]
    A, B = np.asarray(coef["A"])[..., None], np.asarray(coef["B"])[..., None]
    c6 = np.asarray(train_flops, dtype=float) / 6.0
    with np.errstate(all="ignore"):
        log_g = (np.log(al * A) - np.log(be * B)) / (al + be)
        return np.exp((al - be) / (al + be) * np.log(c6) - 2.0 * log_g)


def predict_loss(coef: dict, params, train_tokens) -> np.ndarray:
    """L = E + A N^-alpha + B D^-beta (Hoffmann et al. 2022, eq. 2) for raw fitted coefficients,
    which (unlike :class:`ChinchillaLaw`) may lie on a boundary."""
    with np.errstate(over="ignore"):
        return (coef["E"] + coef["A"] * np.asarray(params, dtype=float) ** -coef["alpha"]
                + coef["B"] * np.asarray(train_tokens, dtype=float) ** -coef["beta"])


def _terms(coef: dict, log_n: np.ndarray, log_d: np.ndarray):
    """Per-run values of A/N^alpha and B/D^beta and of the predicted loss (last axis: runs)."""
    c = {k: np.asarray(val, dtype=float)[..., None] for k, val in coef.items()}
    with np.errstate(all="ignore"):
        terms = {"A/N^alpha": c["A"] * np.exp(-c["alpha"] * log_n),
                 "B/D^beta": c["B"] * np.exp(-c["beta"] * log_d)}
        return c, terms, c["E"] + terms["A/N^alpha"] + terms["B/D^beta"]


def undetermined_terms(coef: dict, log_n: np.ndarray, log_d: np.ndarray
                       ) -> dict[str, np.ndarray]:
    """For each term of the law, whether the data leave it undetermined: its exponent is at or
    below ``BOUNDARY`` or its spread across the runs (max - min) is below ``NEGLIGIBLE_TERM`` of
    every run's predicted loss. Either way the term acts as a constant (absorbed into E) or as
    nothing, and data without that dependence are fitted equally well by every such optimum
    (alpha -> 0, or A -> 0, or alpha -> large), so the diagnosis does not depend on which one the
    optimiser returns. Broadcasts over coefficient arrays (e.g. bootstrap replicates)."""
    c, terms, loss = _terms(coef, log_n, log_d)
    out = {}
    with np.errstate(all="ignore"):
        for name, (exponent, _) in TERMS.items():
            t = terms[name]
            flat = (t.max(axis=-1) - t.min(axis=-1)) < NEGLIGIBLE_TERM * loss.min(axis=-1)
            out[name] = flat | ~(c[exponent][..., 0] > BOUNDARY)
    return out


def effective_e(coef: dict, log_n: np.ndarray, log_d: np.ndarray) -> np.ndarray:
    """E plus the smallest value over the runs of every undetermined term: the constant part of
    the loss, which tied optima split differently between E and a flat term."""
    _, terms, _ = _terms(coef, log_n, log_d)
    e = np.asarray(coef["E"], dtype=float)
    with np.errstate(all="ignore"):
        for name, flat in undetermined_terms(coef, log_n, log_d).items():
            e = e + np.where(flat, terms[name].min(axis=-1), 0.0)
    return e


def is_ok(coef: dict, log_n: np.ndarray, log_d: np.ndarray) -> np.ndarray:
    """Coefficients that are a usable law: finite, no undetermined term and an effective E
    above ``BOUNDARY`` (:func:`boundary_warnings` says why not). Broadcasts like
    :func:`undetermined_terms`."""
    ok = np.all([np.isfinite(coef[k]) for k in COEFFICIENTS], axis=0)
    for flat in undetermined_terms(coef, log_n, log_d).values():
        ok &= ~flat
    return ok & (effective_e(coef, log_n, log_d) > BOUNDARY)


def converged(f: np.ndarray, g: np.ndarray, flag: np.ndarray) -> np.ndarray:
    """A finite objective where the optimiser converged (``flag``) or the gradient is small:
    max |g| <= GRAD_RTOL |f| + GRAD_ATOL (rows of ``g``)."""
    grad_ok = np.abs(g).max(axis=-1) <= GRAD_RTOL * np.abs(f) + GRAD_ATOL
    return np.isfinite(f) & (flag | grad_ok)


def boundary_warnings(coef: dict, log_n: np.ndarray, log_d: np.ndarray) -> list[str]:
    """Why a solution is degenerate (the messages of :func:`is_ok`), by one rule that gives the
    same messages for every optimum of a tie:

    - one message per undetermined term (:func:`undetermined_terms`), naming the term and its
      coefficients but not their values (tied optima differ exactly there);
    - E at or below ``BOUNDARY``, judged on :func:`effective_e` (E plus the constant part of any
      undetermined term), with its value.
    """
    out = []
    for name, flat in undetermined_terms(coef, log_n, log_d).items():
        if flat:
            exponent, scale = TERMS[name]
            out.append(f"boundary: the term {name} is flat or negligible across the runs "
                       f"({exponent} <= {BOUNDARY:g} or a spread below {NEGLIGIBLE_TERM:.1%} of "
                       f"the predicted loss), so {scale} and {exponent} are not determined")
    e = float(effective_e(coef, log_n, log_d))
    if not e > BOUNDARY:
        out.append(f"boundary: E = {e:.4g} is at or below {BOUNDARY:g}")
    return out


@dataclass(frozen=True)
class Optimum:
    """Best point of a multi-start fit (natural coordinates) and how it was reached."""

    theta: np.ndarray
    value: float
    converged: bool
    n_starts: int
    n_starts_converged: int
    n_starts_at_best: int
    local_optima: np.ndarray  # distinct local optima (natural coords), best first
    n_starts_minimised: int | None = None  # starts L-BFGS ran from (None: all n_starts)


def _distinct(x: np.ndarray, f: np.ndarray, k: int, rtol: float = 1e-4) -> np.ndarray:
    """Indices of up to ``k`` lowest-``f`` rows whose points differ by more than ``rtol``."""
    order = np.argsort(f)
    order = order[np.isfinite(f[order])]
    chosen: list[int] = []
    for i in order[: 50 * k]:  # short scan over sorted candidates, not over data rows
        if all(np.max(np.abs(x[i] - x[j]) / (1.0 + np.abs(x[j]))) > rtol for j in chosen):
            chosen.append(int(i))
            if len(chosen) == k:
                break
    return np.array(chosen, dtype=int)


def screen(f0: np.ndarray, k: int = SCREEN, rtol: float = SCREEN_RTOL) -> np.ndarray:
    """Indices of the ``k`` starts with the lowest distinct finite values ``f0`` (ties within
    ``rtol`` keep their first start; ties broken by index, so the choice is deterministic)."""
    order = np.argsort(f0, kind="stable")
    order = order[np.isfinite(f0[order])]
    v = f0[order]
    fresh = np.ones(len(v), dtype=bool)
    fresh[1:] = np.diff(v) > rtol * np.maximum(np.abs(v[1:]), 1e-300)
    return order[fresh][:k]


def _merge(a: _lbfgs.BatchResult, rows_a: np.ndarray, b: _lbfgs.BatchResult,
           rows_b: np.ndarray) -> _lbfgs.BatchResult:
    """The results of the starts ``rows_a`` and ``rows_b`` together, in the order of the starts:
    the batch the full grid gives, so that ties among its optima are broken alike."""
    order = np.argsort(np.concatenate([rows_a, rows_b]), kind="stable")
    return _lbfgs.BatchResult(*(np.concatenate([getattr(a, k), getattr(b, k)])[order]
                                for k in ("x", "f", "g", "n_iter", "status")))


def multistart(problem: Problem, starts: np.ndarray | None = None, *,
               full_grid: bool = False, usable: Callable[[Optimum], bool] | None = None
               ) -> Optimum:
    """Run L-BFGS from the starts (natural coordinates; default the Hoffmann grid), polish the
    best few distinct results, and return the best. Unless ``full_grid``, only the ``SCREEN``
    best starts by objective value are minimised first, and the rest only when that optimum is
    not ``usable`` (default: converged and :func:`is_ok`; :func:`fit_law` asks for no warning
    at all, :func:`fit_warnings`)."""
    usable = usable or (lambda o: _usable(problem, o))
    starts = hoffmann_grid() if starts is None else np.asarray(starts, dtype=float)
    x0 = problem.from_natural(starts)

    def run(x):
        return _lbfgs.minimize(lambda x, rows: problem.value_grad(x), x, ftol=BATCH_FTOL,
                               gtol=GRAD_ATOL, maxiter=BATCH_MAXITER)

    if full_grid or len(x0) <= SCREEN:
        opt = _polish(problem, run(x0), len(starts))
    else:
        f0, _ = problem.value_grad(x0)
        first = screen(f0)
        batch = run(x0[first])
        opt = _polish(problem, batch, len(starts))
        if opt is None or not usable(opt):  # the full grid, reusing the screened
            rest = np.setdiff1d(np.arange(len(x0)), first)
            opt = _polish(problem, _merge(batch, first, run(x0[rest]), rest), len(starts))
    if opt is None:
        raise InputError("the fit failed from every starting point: the objective is not finite "
                         "(check that losses are > 0 and of a sensible size)")
    return opt


def _usable(problem: Problem, opt: Optimum) -> bool:
    """A converged optimum whose coefficients are a usable law (:func:`is_ok`)."""
    coef = coefficients_from_theta(opt.theta)
    return opt.converged and bool(is_ok(coef, problem.log_n, problem.log_d))


def _polish(problem, batch: _lbfgs.BatchResult, n_starts: int, *,
            natural: bool = True) -> Optimum | None:
    """Polish the best few distinct results of ``batch``; None when none is finite. ``problem``
    has ``value_grad`` (and ``to_natural``: the optimum in natural coordinates, unless not
    ``natural``: a form's fit, :func:`computeplan.fitting.forms.multistart`, keeps its fitting
    coordinates)."""
    to_natural = problem.to_natural if natural else (lambda x: x)
    picks = _distinct(batch.x, batch.f, N_POLISH)
    if not len(picks):
        return None
    polish = _lbfgs.minimize(lambda x, rows: problem.value_grad(x), batch.x[picks],
                             ftol=POLISH_FTOL, gtol=GRAD_ATOL, maxiter=POLISH_MAXITER)
    best = int(np.argmin(polish.f))
    value = float(polish.f[best])
    done = bool(converged(polish.f[best], polish.g[best], polish.converged[best]))
    at_best = np.sum(batch.f <= value * (1 + 1e-6) + 1e-15)
    order = np.argsort(polish.f)
    return Optimum(
        theta=to_natural(polish.x[best]),
        value=value,
        converged=done,
        n_starts=n_starts,
        n_starts_converged=int(batch.converged.sum()),
        n_starts_at_best=int(at_best),
        local_optima=to_natural(polish.x[order]),
        n_starts_minimised=len(batch.f),
    )


def summarise(problem, x) -> dict[str, float]:
    """:func:`summarise_residuals` of the runs with weight > 0 (those fitted) of ``problem``
    (a :class:`._objective.Problem` or a :class:`.forms.FormProblem`) at its parameters ``x``."""
    return summarise_residuals(problem.residuals(x)[problem.weights > 0])


def summarise_residuals(r: np.ndarray) -> dict[str, float]:
    """The residual summary of log predicted - log actual losses ``r`` (the used runs'): log
    residuals and relative loss errors."""
    rel = np.expm1(r)
    return {"rms_log_residual": float(np.sqrt(np.mean(r * r))),
            "mean_log_residual": float(np.mean(r)),
            "max_abs_log_residual": float(np.max(np.abs(r))),
            "median_abs_relative_error": float(np.median(np.abs(rel))),
            "max_abs_relative_error": float(np.max(np.abs(rel))),
            "share_over_predicted": float(np.mean(r > 0))}


@dataclass(frozen=True)
class LawFit:
    """One fitted law: coefficients, objective value, convergence and warnings."""

    coefficients: dict[str, float]
    objective: str
    objective_value: float
    n_runs: int
    residuals: dict[str, float]
    converged: bool
    warnings: tuple[str, ...]
    starts: dict[str, int] = field(default_factory=dict)
    name: str = "fit"
    source: str = ""

    @property
    def ok(self) -> bool:
        """Converged and not on a boundary: the law can be trusted as a fit."""
        return self.converged and not self.warnings

    @property
    def law(self) -> ChinchillaLaw | None:
        """The fitted :class:`ChinchillaLaw`, or None when a coefficient is not > 0."""
        c = self.coefficients
        if not all(np.isfinite(c[k]) and c[k] > 0 for k in COEFFICIENTS):
            return None
        return ChinchillaLaw(**c, name=self.name, source=self.source)

    def to_dict(self) -> dict:
        return {"coefficients": self.coefficients, "objective": self.objective,
                "objective_value": self.objective_value, "n_runs": self.n_runs,
                "residuals": self.residuals, "converged": self.converged, "ok": self.ok,
                "warnings": list(self.warnings), "starts": self.starts}


def fit_warnings(problem: Problem, opt: Optimum) -> list[str]:
    """Why the optimum is not a usable law: not converged, on a boundary
    (:func:`boundary_warnings`) or implausible (:func:`.plausible.implausible`); empty when
    it is one."""
    coef = coefficients_from_theta(opt.theta)
    if not all(np.isfinite(coef[k]) for k in COEFFICIENTS):
        return ["a coefficient is not finite"]
    warnings = boundary_warnings(coef, problem.log_n, problem.log_d)
    used = problem.weights > 0
    if not warnings:  # a boundary solution is already not ok, with one diagnosis per tie
        warnings += implausible(get_form("chinchilla"), {k: float(v) for k, v in coef.items()},
                                np.exp(problem.log_n[used]), np.exp(problem.log_d[used]),
                                np.exp(problem.log_l[used]), starts_at_best=opt.n_starts_at_best)
    if not opt.converged:
        warnings.insert(0, "the optimiser did not converge (gradient not small at the best point)")
    return warnings


def check_objective(objective: str, delta: float, asymmetry: float) -> None:
    if objective not in OBJECTIVES:
        raise InputError(f"objective must be one of {', '.join(OBJECTIVES)}; got {objective!r}")
    if not (np.isfinite(delta) and delta > 0):
        raise InputError(f"delta (Huber threshold) must be a finite number > 0; got {delta}")
    if not (0.5 < asymmetry < 1):
        raise InputError(f"asymmetry must be in (0.5, 1) (share of the penalty on "
                         f"over-prediction); got {asymmetry}")


def fit_law(params, tokens, loss, weights=None, *, objective: str = "huber",
            delta: float = HUBER_DELTA, asymmetry: float = DEFAULT_ASYMMETRY,
            starts: np.ndarray | None = None, full_grid: bool = False, name: str = "fit",
            source: str = "") -> tuple[LawFit, Optimum, Problem]:
    """Fit on validated arrays (see :func:`computeplan.fitting.check_identifiable`). A fit whose
    coefficients leave double precision (losses of absurd size) is an InputError.
    ``full_grid``: minimise from every start instead of the screened ones (:func:`multistart`)."""
    check_objective(objective, delta, asymmetry)
    problem = Problem.build(params, tokens, loss, weights, objective=objective, delta=delta,
                            asymmetry=asymmetry)
    opt = multistart(problem, starts, full_grid=full_grid,
                     usable=lambda o: not fit_warnings(problem, o))
    coef = {k: float(v) for k, v in coefficients_from_theta(opt.theta).items()}
    bad = [k for k in COEFFICIENTS if not np.isfinite(coef[k])]
    if bad:
        raise InputError(
            f"the fit diverged: coefficient {bad[0]} = {coef[bad[0]]:g} is not finite (losses "
            f"from {float(np.exp(problem.log_l.min())):.3g} to "
            f"{float(np.exp(problem.log_l.max())):.3g}); check the loss column: losses must be "
            "of a sensible size (nats per token)")
    warnings = fit_warnings(problem, opt)
    fit = LawFit(
        coefficients=coef, objective=objective, objective_value=opt.value,
        n_runs=int(np.count_nonzero(problem.weights)),
        residuals=summarise(problem, opt.theta), converged=opt.converged,
        warnings=tuple(warnings), name=name, source=source,
        starts={"total": opt.n_starts, "minimised": opt.n_starts_minimised,
                "converged": opt.n_starts_converged, "reaching_best": opt.n_starts_at_best})
    return fit, opt, problem
