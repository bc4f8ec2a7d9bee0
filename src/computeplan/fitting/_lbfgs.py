"""Batched limited-memory BFGS: many independent minimisations advanced together with numpy.

Nocedal & Wright, "Numerical Optimization" (2nd ed., 2006): algorithm 7.4 (two-loop recursion),
eq. (7.20) (initial Hessian scaling gamma = s'y / y'y), algorithm 3.1 (backtracking Armijo line
search, here with safeguarded quadratic interpolation, section 3.5). Curvature pairs with
s'y <= eps |s| |y| are skipped (section 7.2), which keeps every H positive definite without a
Wolfe search. Rows that have stopped are dropped from the active set, so the cost per iteration
falls as starts converge. No Python loop runs over rows: loops are over iterations, the memory
length and line-search trials only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..work import checkpoint

#: Status codes per row.
CONVERGED_F, CONVERGED_G, LINE_SEARCH_FAILED, MAX_ITER = 0, 1, 2, 3


@dataclass(frozen=True)
class BatchResult:
    x: np.ndarray  # (S, k) final points
    f: np.ndarray  # (S,) final values
    g: np.ndarray  # (S, k) final gradients
    n_iter: np.ndarray  # (S,) iterations used
    status: np.ndarray  # (S,) one of the codes above

    @property
    def converged(self) -> np.ndarray:
        return self.status <= CONVERGED_G


def _direction(g, s_hist, y_hist, rho, gamma):
    """-H g by the two-loop recursion; history slots with rho = 0 are empty and skipped."""
    q = g.copy()
    m = s_hist.shape[1]
    alphas = np.empty(rho.shape)
    for i in range(m - 1, -1, -1):
        a = rho[:, i] * np.einsum("ij,ij->i", s_hist[:, i], q)
        alphas[:, i] = a
        q -= a[:, None] * y_hist[:, i]
    q *= gamma[:, None]
    for i in range(m):
        b = rho[:, i] * np.einsum("ij,ij->i", y_hist[:, i], q)
        q += (alphas[:, i] - b)[:, None] * s_hist[:, i]
    return -q


def minimize(
    fun: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
    x0: np.ndarray,
    *,
    memory: int = 10,
    maxiter: int = 1000,
    ftol: float = 1e-10,
    gtol: float = 1e-10,
    c1: float = 1e-4,
    max_backtracks: int = 40,
    callback: Callable[[int, int], None] | None = None,
) -> BatchResult:
    """Minimise every row of ``x0`` (S, k) independently.

    ``fun(x, rows)`` returns values (len(rows),) and gradients (len(rows), k) at points ``x`` for
    the original rows ``rows`` (so a row can carry its own data, e.g. bootstrap weights).
    A row stops when the relative decrease (f_old - f_new) <= ftol max(|f_old|, |f_new|) or when
    max |g| <= gtol, when no Armijo step is found, or after ``maxiter`` iterations.
    ``callback(done, total)``, when given, is called after every iteration with the number of
    rows that have stopped (for a progress bar; it does not change the result).
    """
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _minimize(fun, np.array(x0, dtype=float), memory, maxiter, ftol, gtol, c1,
                         max_backtracks, callback)


def _minimize(fun, x, memory, maxiter, ftol, gtol, c1, max_backtracks, callback=None
              ) -> BatchResult:
    n_rows, k = x.shape
    out_x, out_f, out_g = x.copy(), np.full(n_rows, np.inf), np.zeros_like(x)
    out_it = np.zeros(n_rows, dtype=int)
    out_status = np.full(n_rows, MAX_ITER)

    rows = np.arange(n_rows)
    f, g = fun(x, rows)
    bad = ~np.isfinite(f) | ~np.isfinite(g).all(axis=1)
    if bad.any():  # a start where the objective overflows cannot be used
        out_status[rows[bad]] = LINE_SEARCH_FAILED
        out_f[rows[bad]] = np.inf
        rows, x, f, g = rows[~bad], x[~bad], f[~bad], g[~bad]
    s_hist = np.zeros((len(rows), memory, k))
    y_hist = np.zeros((len(rows), memory, k))
    rho = np.zeros((len(rows), memory))
    gamma = 1.0 / np.maximum(np.linalg.norm(g, axis=1), 1e-300)

    for it in range(1, maxiter + 1):
        if not len(rows):
            break
        checkpoint()  # a bounded caller (the web server) may stop the work here
        p = _direction(g, s_hist, y_hist, rho, gamma)
        gp = np.einsum("ij,ij->i", g, p)
        reset = ~(gp < 0)
        if reset.any():  # not a descent direction: forget the history, steepest descent
            rho[reset] = 0.0
            p[reset] = -g[reset] / np.maximum(np.linalg.norm(g[reset], axis=1), 1e-300)[:, None]
            gp[reset] = np.einsum("ij,ij->i", g[reset], p[reset])

        # Backtracking Armijo line search, all rows together.
        t = np.ones(len(rows))
        f_new, g_new = np.empty_like(f), np.empty_like(g)
        pending = np.arange(len(rows))
        for _ in range(max_backtracks):
            xt = x[pending] + t[pending, None] * p[pending]
            ft, gt = fun(xt, rows[pending])
            ok = np.isfinite(ft) & (ft <= f[pending] + c1 * t[pending] * gp[pending])
            ok &= np.isfinite(gt).all(axis=1)
            done = pending[ok]
            f_new[done], g_new[done] = ft[ok], gt[ok]
            pending = pending[~ok]
            if not len(pending):
                break
            tp, fp = t[pending], ft[~ok]
            # Minimiser of the quadratic through f(0), f'(0), f(t), kept in [0.1 t, 0.5 t].
            denom = 2.0 * (fp - f[pending] - gp[pending] * tp)
            with np.errstate(invalid="ignore", divide="ignore"):
                tq = -gp[pending] * tp * tp / denom
            tq = np.where(np.isfinite(tq), tq, 0.5 * tp)
            t[pending] = np.clip(tq, 0.1 * tp, 0.5 * tp)
        failed = np.zeros(len(rows), dtype=bool)
        failed[pending] = True
        f_new[failed], g_new[failed] = f[failed], g[failed]

        s = t[:, None] * p
        y = g_new - g
        sy = np.einsum("ij,ij->i", s, y)
        upd = ~failed & (sy > 1e-12 * np.linalg.norm(s, axis=1) * np.linalg.norm(y, axis=1))
        if upd.any():
            s_hist[upd] = np.roll(s_hist[upd], -1, axis=1)
            y_hist[upd] = np.roll(y_hist[upd], -1, axis=1)
            rho[upd] = np.roll(rho[upd], -1, axis=1)
            s_hist[upd, -1], y_hist[upd, -1] = s[upd], y[upd]
            rho[upd, -1] = 1.0 / sy[upd]
            with np.errstate(divide="ignore", invalid="ignore"):
                gam = sy[upd] / np.einsum("ij,ij->i", y[upd], y[upd])
            gamma[upd] = np.where(np.isfinite(gam) & (gam > 0), gam, gamma[upd])

        decrease = f - f_new
        x = np.where(failed[:, None], x, x + s)
        stop_f = ~failed & (decrease <= ftol * np.maximum(np.abs(f), np.abs(f_new)))
        stop_g = ~failed & (np.abs(g_new).max(axis=1) <= gtol)
        f, g = f_new, g_new
        status = np.where(stop_g, CONVERGED_G, np.where(stop_f, CONVERGED_F, LINE_SEARCH_FAILED))
        stop = stop_f | stop_g | failed
        if it == maxiter:
            status = np.where(stop, status, MAX_ITER)
            stop[:] = True
        if stop.any():
            idx = rows[stop]
            out_x[idx], out_f[idx], out_g[idx] = x[stop], f[stop], g[stop]
            out_it[idx], out_status[idx] = it, status[stop]
            keep = ~stop
            rows, x, f, g = rows[keep], x[keep], f[keep], g[keep]
            s_hist, y_hist, rho, gamma = s_hist[keep], y_hist[keep], rho[keep], gamma[keep]
        if callback is not None:
            callback(n_rows - len(rows), n_rows)
    return BatchResult(out_x, out_f, out_g, out_it, out_status)
