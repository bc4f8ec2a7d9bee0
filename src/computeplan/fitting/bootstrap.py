"""Bootstrap uncertainty for a fitted law: resample runs with replacement and refit (Efron &
Tibshirani 1993, ch. 6 standard errors, ch. 13 percentile intervals), as Besiroglu et al. 2024
did for the Chinchilla fit.

A resample is a vector of counts over the original runs, so every replicate is the same problem
with integer weights: all replicates and their starts are minimised in one batch. Each replicate
starts from the full-data optimum and the other distinct local optima found by the full fit
(a resample is a small perturbation of the data, so its optimum lies near one of them), plus
``grid_starts`` points of the Hoffmann grid drawn at random per replicate, which can reach a
basin the full fit did not favour.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..laws import COEFFICIENTS
from ..vocabulary import option
from . import _lbfgs
from ._objective import Problem
from .core import (
    BATCH_FTOL,
    BATCH_MAXITER,
    DEFAULT_BUDGETS,
    GRAD_ATOL,
    POLISH_FTOL,
    POLISH_MAXITER,
    Optimum,
    coefficients_from_theta,
    converged,
    hoffmann_grid,
    is_ok,
    optimal_tokens_per_param,
)

#: Random grid points added to the warm starts of each replicate.
DEFAULT_GRID_STARTS = 8


@dataclass(frozen=True)
class BootstrapResult:
    """Per-replicate coefficients and derived quantities; ``ok`` marks converged, non-boundary
    replicates, the only ones used in the summaries."""

    seed: int | None
    level: float
    budgets: np.ndarray
    coefficients: dict[str, np.ndarray]  # each (K,)
    tokens_per_param: np.ndarray  # (K, len(budgets))
    ok: np.ndarray  # (K,) bool
    starts_per_replicate: int

    @property
    def n_replicates(self) -> int:
        return len(self.ok)

    def replicates(self) -> np.ndarray:
        """(used, 5) coefficients of the usable replicates, columns E, A, B, alpha, beta (the
        layout of :attr:`computeplan.ChinchillaLaw.replicates`)."""
        return np.column_stack([self.coefficients[c] for c in COEFFICIENTS])[self.ok]

    def _summary(self, values: np.ndarray) -> dict[str, float | None]:
        """Standard error and percentile interval over the usable replicates (None when fewer
        than two replicates are usable)."""
        v = values[self.ok]
        if len(v) < 2:
            return {"se": None, "lo": None, "hi": None}
        tail = 100 * (1 - self.level) / 2
        lo, hi = np.percentile(v, [tail, 100 - tail])
        return {"se": float(np.std(v, ddof=1)), "lo": float(lo), "hi": float(hi)}

    def intervals(self) -> dict[str, dict[str, float]]:
        """Standard error and percentile interval of each coefficient."""
        return {k: self._summary(self.coefficients[k]) for k in COEFFICIENTS}

    def tokens_per_param_intervals(self) -> list[dict[str, float]]:
        return [{"train_flops": float(c)} | self._summary(self.tokens_per_param[:, j])
                for j, c in enumerate(self.budgets)]

    def to_dict(self) -> dict:
        return {"replicates": self.n_replicates, "used": int(self.ok.sum()),
                "failed": int((~self.ok).sum()), "seed": self.seed, "level": self.level,
                "starts_per_replicate": self.starts_per_replicate,
                "intervals": self.intervals(),
                "tokens_per_param": self.tokens_per_param_intervals()}


def resample_counts(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """(k, n) counts: how often each run appears in each of k resamples of size n."""
    idx = rng.integers(0, n, size=(k, n))
    flat = (idx + n * np.arange(k)[:, None]).ravel()
    return np.bincount(flat, minlength=k * n).reshape(k, n).astype(float)


#: Most resamples one bootstrap may ask for (1,000 take ~3 s; 10,000 ~30 s).
MAX_BOOTSTRAP = 10_000
#: Most resample-run cells (resamples x runs) one bootstrap may hold: 20 million float64 counts
#: are 160 MB, and the weights as much again.
MAX_BOOTSTRAP_CELLS = 20_000_000


def check_bootstrap(k, n_runs: int | None = None) -> int:
    """``k`` as an int in [2, MAX_BOOTSTRAP] with k x runs <= MAX_BOOTSTRAP_CELLS, or an
    :class:`InputError` naming the range (the bound keeps a request's time and memory finite)."""
    if isinstance(k, float) and k.is_integer():
        k = int(k)
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 2 <= k <= MAX_BOOTSTRAP:
        raise InputError(f"{option('bootstrap')} must be 0 (none) or an integer in "
                         f"[2, {MAX_BOOTSTRAP}] (number of resamples); got {str(k)[:40]}")
    if n_runs is not None and k * n_runs > MAX_BOOTSTRAP_CELLS:
        raise InputError(f"{option('bootstrap')} x runs must be <= {MAX_BOOTSTRAP_CELLS:,} "
                         "(memory); got "
                         f"{k} x {n_runs}: use fewer resamples, at most "
                         f"{max(MAX_BOOTSTRAP_CELLS // n_runs, 2)}")
    return int(k)


def bootstrap(problem: Problem, optimum: Optimum, k: int, *, seed: int | None = None,
              level: float = 0.95, budgets=DEFAULT_BUDGETS,
              grid_starts: int = DEFAULT_GRID_STARTS, on_progress=None) -> BootstrapResult:
    """Refit ``k`` resamples of the runs of ``problem`` and collect coefficient distributions.

    ``on_progress(done, total)``, when given, follows the refits: starts finished in the batch
    stage, then replicates polished (``total`` = k starts + k polishes)."""
    k = check_bootstrap(k, len(problem.weights))
    if not 0 < level < 1:
        raise InputError(f"level must be in (0, 1); got {level}")
    rng = np.random.default_rng(seed)
    used = np.flatnonzero(problem.weights > 0)
    counts = np.zeros((k, len(problem.weights)))
    counts[:, used] = resample_counts(len(used), k, rng)
    weights = counts * problem.weights

    warm = optimum.local_optima  # (m, 5) natural coordinates, best first
    grid = hoffmann_grid()
    picks = rng.integers(0, len(grid), size=(k, grid_starts))
    starts = np.concatenate([np.broadcast_to(warm, (k, *warm.shape)), grid[picks]], axis=1)
    s = starts.shape[1]
    x0 = problem.from_natural(starts.reshape(-1, 5))

    def fun(x, rows):
        return problem.value_grad(x, weights[rows // s])

    total = k * s + k

    def stage(offset):
        if on_progress is None:
            return None
        return lambda done, _: on_progress(offset + done, total)

    batch = _lbfgs.minimize(fun, x0, ftol=BATCH_FTOL, gtol=GRAD_ATOL, maxiter=BATCH_MAXITER,
                            callback=stage(0))
    f = np.where(np.isfinite(batch.f), batch.f, np.inf).reshape(k, s)
    best = np.argmin(f, axis=1) + s * np.arange(k)
    polish = _lbfgs.minimize(lambda x, rows: problem.value_grad(x, weights[rows]), batch.x[best],
                             ftol=POLISH_FTOL, gtol=GRAD_ATOL, maxiter=POLISH_MAXITER,
                             callback=stage(k * s))
    coef = coefficients_from_theta(problem.to_natural(polish.x))
    ok = (converged(polish.f, polish.g, polish.converged)
          & is_ok(coef, problem.log_n, problem.log_d))
    budgets = np.asarray(budgets, dtype=float)
    return BootstrapResult(seed=seed, level=level, budgets=budgets, coefficients=coef,
                           tokens_per_param=optimal_tokens_per_param(coef, budgets), ok=ok,
                           starts_per_replicate=s)
