"""Fit a law of any form (:mod:`computeplan.forms`) to runs, with bootstrap and hold-out checks.

The objective is Hoffmann et al. 2022's (appendix D.2): sum_i w_i Huber_delta(log L_hat_i -
log L_i) with delta = 1e-3 (or the asymmetric or least-squares losses of
:mod:`._objective`), minimised by the batched L-BFGS of :mod:`._lbfgs` with exact gradients
(the chain rule through each form's :meth:`~computeplan.forms.Form.value_jac`).

Starts, in the spirit of Hoffmann et al.'s grid: each form's grid of prefactors (as shares of
the lowest loss at the centre of the runs) and exponents (plus, for the forms in
``WARM_FORMS``, starts mapped from a Chinchilla-form fit's optima); every start is evaluated
once and the ``SCREEN`` best are minimised together, then the best few distinct results are
polished to a tight tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._lawdata import domain_of
from ..errors import InputError
from ..forms import Form, get_form
from ..work import checkpoint
from . import _lbfgs
from ._objective import DEFAULT_ASYMMETRY, HUBER_DELTA
from .bootstrap import resample_counts
from .core import (
    BATCH_FTOL,
    BATCH_MAXITER,
    BOUNDARY,
    GRAD_ATOL,
    POLISH_FTOL,
    POLISH_MAXITER,
    Optimum,
    _polish,
    check_objective,
    converged,
    summarise,
)
from .plausible import implausible
from .runs import Runs, check_identifiable

#: Starts kept after evaluating the whole grid once (the rest are far worse to begin with).
SCREEN = 48
#: Forms fitted from a Chinchilla-form fit's optima as well as their own start grid.
WARM_FORMS = ("farseer",)
#: Runs per block in :meth:`FormProblem.value_grad`.
_BLOCK = 64


@dataclass(frozen=True)
class FormProblem:
    """Runs (centred log N, log D; log L; weights) and the robust loss, for one form."""

    form: Form
    ln: np.ndarray
    ld: np.ndarray
    log_l: np.ndarray
    weights: np.ndarray
    cn: float
    cd: float
    objective: str = "huber"
    delta: float = HUBER_DELTA
    asymmetry: float = DEFAULT_ASYMMETRY

    @classmethod
    def build(cls, form: Form, params, tokens, loss, weights=None, **kw) -> FormProblem:
        w = np.ones(len(params)) if weights is None else np.asarray(weights, dtype=float)
        ln_n, ln_d = np.log(params), np.log(tokens)
        used = w > 0
        cn, cd = float(ln_n[used].mean()), float(ln_d[used].mean())
        return cls(form, ln_n - cn, ln_d - cd, np.log(loss), w, cn, cd, **kw)

    def _rho_psi(self, r):
        if self.objective == "lsq":
            return 0.5 * r * r, r
        psi = np.clip(r, -self.delta, self.delta)
        rho = psi * (r - 0.5 * psi)
        if self.objective == "asymmetric":
            c = np.where(r > 0, self.asymmetry, 1 - self.asymmetry)
            rho, psi = rho * c, psi * c
        return rho, psi

    def residuals(self, x: np.ndarray) -> np.ndarray:
        """log predicted - log actual loss for fitting coordinates ``x`` (..., k)."""
        x2 = np.atleast_2d(np.asarray(x, float))
        with np.errstate(all="ignore"):
            val, _ = self.form.value_jac(x2, self.ln, self.ld, self.cn, self.cd)
            r = np.log(val) - self.log_l
        return r.reshape(np.shape(x)[:-1] + (len(self.ln),))

    def value_grad(self, x: np.ndarray, weights: np.ndarray | None = None):
        """Objective and exact gradient for every row of ``x`` (S, k); ``weights`` (S, n)
        replace the problem's row by row (bootstrap)."""
        x = np.asarray(x, float)
        f = np.empty(len(x))
        g = np.empty_like(x)
        with np.errstate(all="ignore"):
            for lo in range(0, len(x), _BLOCK):
                checkpoint()  # stop between blocks when bounded (the web server)
                hi = lo + _BLOCK
                w = self.weights if weights is None else weights[lo:hi]
                val, jac = self.form.value_jac(x[lo:hi], self.ln, self.ld, self.cn, self.cd)
                r = np.log(val) - self.log_l
                rho, psi = self._rho_psi(r)
                f[lo:hi] = (rho * w).sum(axis=1)
                g[lo:hi] = np.einsum("sn,snk->sk", psi * w / val, jac)
        bad = ~np.isfinite(f) | ~np.isfinite(g).all(axis=1)
        f[bad] = np.inf
        return f, g

    def natural(self, x) -> np.ndarray:
        with np.errstate(all="ignore"):
            return self.form.to_natural(x, self.cn, self.cd)


def multistart(problem: FormProblem, warm: np.ndarray | None = None,
               screen: int | None = SCREEN) -> Optimum:
    """Screen the form's start grid (and ``warm`` starts, fitting coordinates, always kept),
    minimise the best ``screen`` (None: every start) together, polish the best few distinct;
    return the best."""
    loss_min = float(np.exp(problem.log_l[problem.weights > 0].min()))
    grid = problem.form.starts(loss_min, problem.cn, problem.cd)
    keep = grid
    if screen is not None:
        f0, _ = problem.value_grad(grid)
        keep = grid[np.argsort(f0, kind="stable")[:screen]]
    if warm is not None and len(warm):
        warm = np.asarray(warm, float)
        keep = np.concatenate([warm[np.isfinite(warm).all(axis=1)], keep])
    batch = _lbfgs.minimize(lambda x, rows: problem.value_grad(x), keep, ftol=BATCH_FTOL,
                            gtol=GRAD_ATOL, maxiter=BATCH_MAXITER)
    n_starts = len(grid) + (0 if warm is None else len(warm))
    opt = _polish(problem, batch, n_starts, natural=False)
    if opt is None:
        raise InputError(f"the {problem.form.name}-form fit failed from every starting point: "
                         "the objective is not finite (check that losses are > 0 and of a "
                         "sensible size)")
    return opt


def form_warnings(form: Form, coef: dict) -> list[str]:
    """Why the coefficients are not a usable law of ``form``: a coefficient that must be > 0
    is not, an exponent at or below ``BOUNDARY`` (its term is flat), E at or below it."""
    out = []
    for c in form.positive:
        if not coef[c] > 0:
            out.append(f"boundary: {c} = {coef[c]:.4g} is not > 0")
    for c in form.exponents:
        if (coef[c] > 0 or c not in form.positive) and not coef[c] > BOUNDARY:
            out.append(f"boundary: exponent {c} = {coef[c]:.4g} is at or below {BOUNDARY:g}, "
                       "so its term is flat across the runs and not determined")
    if "E" in coef and coef["E"] > 0 and not coef["E"] > BOUNDARY:
        out.append(f"boundary: E = {coef['E']:.4g} is at or below {BOUNDARY:g}")
    return out


@dataclass(frozen=True)
class FormFit:
    """One fitted law of a form: coefficients, objective value, convergence and warnings;
    ``x`` the optimum in fitting coordinates of ``problem``."""

    form: str
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
        return self.converged and not self.warnings

    def predict(self, params, train_tokens) -> np.ndarray:
        return get_form(self.form).loss(self.coefficients, params, train_tokens)

    @property
    def law(self):
        """The fitted law (:func:`computeplan.formlaw.make_law`: a
        :class:`computeplan.ChinchillaLaw` for the chinchilla and tied forms), or None when
        the coefficients are not a valid law of the form."""
        from ..formlaw import make_law

        try:
            return make_law(self.form, self.coefficients, name=self.name, source=self.source)
        except InputError:
            return None

    def to_dict(self) -> dict:
        return {"form": self.form, "coefficients": self.coefficients,
                "objective": self.objective, "objective_value": self.objective_value,
                "n_runs": self.n_runs, "residuals": self.residuals, "converged": self.converged,
                "ok": self.ok, "warnings": list(self.warnings), "starts": self.starts}


def chinchilla_warm(problem: FormProblem, runs: Runs) -> np.ndarray:
    """Warm starts for ``problem``'s form: the distinct local optima of a Chinchilla-form fit
    of the same runs, mapped into the form's coordinates."""
    chin = get_form("chinchilla")
    sub = FormProblem(chin, problem.ln, problem.ld, problem.log_l, problem.weights,
                      problem.cn, problem.cd, problem.objective, problem.delta,
                      problem.asymmetry)
    opt = multistart(sub)
    theta5 = sub.natural(opt.local_optima)
    with np.errstate(all="ignore"):
        return problem.form.from_chinchilla(theta5, problem.cn, problem.cd)


def fit_form(runs: Runs, form: str | Form, *, objective: str = "huber",
             delta: float = HUBER_DELTA, asymmetry: float = DEFAULT_ASYMMETRY,
             name: str = "fit", source: str = "", warm: np.ndarray | None = None,
             full_grid: bool = False) -> tuple[FormFit, Optimum, FormProblem]:
    """Fit ``form`` to validated ``runs``. ``warm``: natural Chinchilla-form coefficient rows
    (E, A, B, alpha, beta) to start from as well (default: a Chinchilla-form fit's optima for
    the forms in ``WARM_FORMS``). ``full_grid``: minimise from every start of the form's grid,
    not only the ``SCREEN`` best by objective value."""
    form = get_form(form)
    check_objective(objective, delta, asymmetry)
    check_identifiable(runs, form)
    problem = FormProblem.build(form, runs.params, runs.train_tokens, runs.loss, runs.weights,
                                objective=objective, delta=delta, asymmetry=asymmetry)
    if warm is None:  # the other forms' own grids reach their optima (tested)
        x_warm = chinchilla_warm(problem, runs) if form.name in WARM_FORMS else None
    else:
        with np.errstate(all="ignore"):
            x_warm = form.from_chinchilla(np.atleast_2d(warm), problem.cn, problem.cd)
    opt = multistart(problem, x_warm, screen=None if full_grid else SCREEN)
    theta = problem.natural(opt.theta)
    coef = {c: float(v) for c, v in zip(form.coefficients, theta, strict=True)}
    bad = [c for c, v in coef.items() if not np.isfinite(v)]
    if bad:
        raise InputError(f"the {form.name}-form fit diverged: coefficient {bad[0]} is not "
                         "finite; check the loss column: losses must be of a sensible size "
                         "(nats per token)")
    warnings = form_warnings(form, coef)
    used = runs.weights > 0
    if not warnings:  # a boundary solution is already not ok
        warnings += implausible(form, coef, runs.params[used], runs.train_tokens[used],
                                runs.loss[used], starts_at_best=opt.n_starts_at_best)
    if not opt.converged:
        warnings.insert(0, "the optimiser did not converge (gradient not small at the best point)")
    fit = FormFit(form=form.name, coefficients=coef, objective=objective,
                  objective_value=opt.value, n_runs=int(np.count_nonzero(problem.weights)),
                  residuals=summarise(problem, opt.theta), converged=opt.converged,
                  warnings=tuple(warnings), name=name, source=source,
                  starts={"total": opt.n_starts, "minimised": opt.n_starts_minimised,
                          "converged": opt.n_starts_converged,
                          "reaching_best": opt.n_starts_at_best})
    return fit, opt, problem


# ------------------------------------------------------------------------------ bootstrap
@dataclass(frozen=True)
class FormBootstrap:
    """Bootstrap refits (Efron & Tibshirani 1993, ch. 6 and 13) of a form's fit: per-replicate
    natural coefficients (K, k); ``ok`` marks converged replicates with valid coefficients."""

    form: str
    seed: int | None
    level: float
    coefficients: np.ndarray
    ok: np.ndarray
    starts_per_replicate: int

    @property
    def n_replicates(self) -> int:
        return len(self.ok)

    def replicates(self) -> np.ndarray:
        """(used, k) coefficient rows of the usable replicates (the law file's layout)."""
        return self.coefficients[self.ok]

    def intervals(self) -> dict[str, dict[str, float | None]]:
        f = get_form(self.form)
        v = self.replicates()
        out = {}
        tail = 100 * (1 - self.level) / 2
        for j, c in enumerate(f.coefficients):
            if len(v) < 2:
                out[c] = {"se": None, "lo": None, "hi": None}
                continue
            x = v[:, j]
            if np.all(x == x[0]):  # held fixed (an average's weights): no rounding noise
                out[c] = {"se": 0.0, "lo": float(x[0]), "hi": float(x[0])}
                continue
            lo, hi = np.percentile(x, [tail, 100 - tail])
            out[c] = {"se": float(np.std(x, ddof=1)), "lo": float(lo), "hi": float(hi)}
        return out

    def to_dict(self) -> dict:
        return {"replicates": self.n_replicates, "used": int(self.ok.sum()),
                "failed": int((~self.ok).sum()), "seed": self.seed, "level": self.level,
                "starts_per_replicate": self.starts_per_replicate,
                "intervals": self.intervals()}


def bootstrap_form(problem: FormProblem, optimum: Optimum, k: int, *, seed: int | None = None,
                   level: float = 0.95) -> FormBootstrap:
    """Refit ``k`` resamples of the runs, each from the full fit's distinct local optima (one
    batch for all replicates)."""
    if isinstance(k, bool) or int(k) != k or k < 2:
        raise InputError(f"bootstrap must be an integer >= 2 (number of resamples); got {k}")
    if not 0 < level < 1:
        raise InputError(f"level must be in (0, 1); got {level}")
    k = int(k)
    rng = np.random.default_rng(seed)
    used = np.flatnonzero(problem.weights > 0)
    counts = np.zeros((k, len(problem.weights)))
    counts[:, used] = resample_counts(len(used), k, rng)
    weights = counts * problem.weights
    warm = optimum.local_optima
    s = len(warm)
    x0 = np.broadcast_to(warm, (k, *warm.shape)).reshape(-1, warm.shape[1])
    batch = _lbfgs.minimize(lambda x, rows: problem.value_grad(x, weights[rows // s]), x0,
                            ftol=BATCH_FTOL, gtol=GRAD_ATOL, maxiter=BATCH_MAXITER)
    f = np.where(np.isfinite(batch.f), batch.f, np.inf).reshape(k, s)
    best = np.argmin(f, axis=1) + s * np.arange(k)
    polish = _lbfgs.minimize(lambda x, rows: problem.value_grad(x, weights[rows]),
                             batch.x[best], ftol=POLISH_FTOL, gtol=GRAD_ATOL,
                             maxiter=POLISH_MAXITER)
    theta = problem.natural(polish.x)
    form = problem.form
    ok = converged(polish.f, polish.g, polish.converged) & np.isfinite(theta).all(axis=1)
    for j, c in enumerate(form.coefficients):
        if c in form.positive:
            ok &= theta[:, j] > 0
        if c in form.exponents or c == "E":
            ok &= theta[:, j] > BOUNDARY
    return FormBootstrap(form.name, seed, level, theta, ok, s)


def runs_domain(runs: Runs) -> dict:
    used = runs.weights > 0
    return domain_of(runs.params[used], runs.train_tokens[used])
