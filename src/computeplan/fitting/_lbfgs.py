"""Batched limited-memory BFGS: many independent minimisations advanced together with numpy.

Nocedal & Wright, "Numerical Optimization" (2nd ed., 2006): algorithm 7.4 (two-loop recursion),
eq. (7.20) (initial Hessian scaling gamma = s'y / y'y), algorithm 3.1 (backtracking Armijo line
search, here with safeguarded quadratic interpolation, section 3.5). Curvature pairs with
s'y <= eps |s| |y| are skipped (section 7.2), which keeps every H positive definite without a
Wolfe search. Rows that have stopped are dropped from the active set, so the cost per iteration
falls as starts converge. The pairs live in a ring buffer (:class:`_Pairs`): adding one copies
no history. No Python loop runs over rows: loops are over iterations, the memory length and
line-search trials only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..work import checkpoint


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise dot products of (rows, k) arrays."""
    return np.einsum("ij,ij->i", a, b)


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


class _Pairs:
    """The last ``memory`` curvature pairs (s, y) of every row, with rho = 1 / s'y, and -H g by
    the two-loop recursion over them (Nocedal & Wright, algorithm 7.4).

    A ring buffer shared by all rows, slot-major (slot i is one contiguous (rows, k) array):
    the next pair goes to slot ``head``, the newest is at ``head - 1``, and only the ``filled``
    slots ever written are visited. A new pair costs no copy of the history (the former layout
    rolled every row's whole history each iteration). Rows that get no pair while others do
    have their slots rotated by one, so that their own pairs keep their order (rare: s'y too
    small, or a failed line search). Slots with rho = 0 are empty or forgotten and contribute
    nothing.
    """

    def __init__(self, memory: int, n_rows: int, k: int):
        self.memory, self.head, self.filled = memory, 0, 0
        self._arrays(np.zeros((memory, n_rows, k)), np.zeros((memory, n_rows, k)),
                     np.zeros((memory, n_rows)))

    def _arrays(self, s, y, rho):
        self.s, self.y, self.rho = s, y, rho
        self._views = [(s[i], y[i], rho[i]) for i in range(self.memory)]  # per slot

    def direction(self, g: np.ndarray, gamma: np.ndarray) -> np.ndarray:
        """-H g, with H0 = gamma I per row (eq. 7.20)."""
        views = self._views
        slots = [views[(self.head - 1 - j) % self.memory] for j in range(self.filled)]
        q = g.copy()  # newest pair first, then back from the oldest
        alphas = []
        for s_i, y_i, rho_i in slots:
            a = _dot(s_i, q)
            a *= rho_i
            alphas.append(a)
            q -= a[:, None] * y_i
        q *= gamma[:, None]
        for (s_i, y_i, rho_i), a in zip(reversed(slots), reversed(alphas), strict=True):
            b = _dot(y_i, q)
            b *= rho_i
            np.subtract(a, b, out=b)
            q += b[:, None] * s_i
        return np.negative(q, out=q)

    def push(self, s: np.ndarray, y: np.ndarray, sy: np.ndarray, upd: np.ndarray) -> None:
        """Add the pair (s, y) (rho = 1 / ``sy``) of the rows where ``upd``; the other rows keep
        their pairs."""
        head = self.head
        if upd.all():
            self.s[head], self.y[head] = s, y
            np.divide(1.0, sy, out=self.rho[head])
        elif upd.any():
            hold = np.flatnonzero(~upd)
            rotated = np.ix_(np.arange(-1, self.memory - 1), hold)
            for hist in (self.s, self.y, self.rho):
                hist[:, hold] = hist[rotated]
            self.s[head, upd], self.y[head, upd] = s[upd], y[upd]
            self.rho[head, upd] = 1.0 / sy[upd]
        else:
            return
        self.head, self.filled = (head + 1) % self.memory, min(self.filled + 1, self.memory)

    def forget(self, rows: np.ndarray) -> None:
        """Empty the history of ``rows`` (a mask)."""
        self.rho[:, rows] = 0.0

    def keep(self, rows: np.ndarray) -> None:
        """Keep only ``rows`` (a mask), in order."""
        self._arrays(self.s[:, rows], self.y[:, rows], self.rho[:, rows])


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
    pairs = _Pairs(memory, len(rows), k)
    gamma = 1.0 / np.maximum(np.linalg.norm(g, axis=1), 1e-300)

    for it in range(1, maxiter + 1):
        n = len(rows)
        if not n:
            break
        checkpoint()  # a bounded caller (the web server) may stop the work here
        p = pairs.direction(g, gamma)
        gp = _dot(g, p)
        reset = ~(gp < 0)
        if reset.any():  # not a descent direction: forget the history, steepest descent
            pairs.forget(reset)
            p[reset] = -g[reset] / np.maximum(np.linalg.norm(g[reset], axis=1), 1e-300)[:, None]
            gp[reset] = _dot(g[reset], p[reset])

        # Backtracking Armijo line search, all rows together; the first trial (t = 1) is
        # taken by every row, so its values are the new ones except where a row backtracks.
        f_new, g_new = fun(x + p, rows)
        f_new, g_new = np.array(f_new, dtype=float), np.array(g_new, dtype=float)  # ours
        ok = f_new <= f + c1 * gp
        ok &= np.isfinite(f_new)
        ok &= np.isfinite(g_new).all(axis=1)
        failed = None
        if ok.all():
            s = p
        else:
            t = np.ones(n)
            pending = np.flatnonzero(~ok)
            tp, fp = t[pending], f_new[pending]
            for trial in range(max_backtracks):
                # Minimiser of the quadratic through f(0), f'(0), f(t), in [0.1 t, 0.5 t].
                fq, gq = f[pending], gp[pending]
                denom = 2.0 * (fp - fq - gq * tp)
                tq = -gq * tp * tp / denom
                tq = np.where(np.isfinite(tq), tq, 0.5 * tp)
                tp = np.clip(tq, 0.1 * tp, 0.5 * tp)
                t[pending] = tp
                if trial == max_backtracks - 1:
                    break
                ft, gt = fun(x[pending] + tp[:, None] * p[pending], rows[pending])
                ok = ft <= fq + c1 * tp * gq
                ok &= np.isfinite(ft)
                ok &= np.isfinite(gt).all(axis=1)
                done = pending[ok]
                f_new[done], g_new[done] = ft[ok], gt[ok]
                pending, tp, fp = pending[~ok], tp[~ok], ft[~ok]
                if not len(pending):
                    break
            s = t[:, None] * p
            if len(pending):
                failed = np.zeros(n, dtype=bool)
                failed[pending] = True
                f_new[pending], g_new[pending] = f[pending], g[pending]

        y = g_new - g
        sy, yy = _dot(s, y), _dot(y, y)
        upd = sy > 1e-12 * np.linalg.norm(s, axis=1) * np.linalg.norm(y, axis=1)
        if failed is not None:
            upd &= ~failed
        pairs.push(s, y, sy, upd)
        gam = sy / yy
        gamma = np.where(upd & np.isfinite(gam) & (gam > 0), gam, gamma)

        stop = np.abs(g_new).max(axis=1) <= gtol  # converged in the gradient
        stop_f = f - f_new <= ftol * np.maximum(np.abs(f), np.abs(f_new))
        if failed is None:
            x += s
            stop_any = stop | stop_f
        else:
            stop &= ~failed
            stop_f &= ~failed
            x[~failed] += s[~failed]
            stop_any = stop | stop_f | failed
        f, g = f_new, g_new
        if it == maxiter:
            stop_any[:] = True
        if stop_any.any():
            status = np.where(stop, CONVERGED_G, np.where(stop_f, CONVERGED_F, MAX_ITER))
            if failed is not None:
                status[failed] = LINE_SEARCH_FAILED
            idx = rows[stop_any]
            out_x[idx], out_f[idx], out_g[idx] = x[stop_any], f[stop_any], g[stop_any]
            out_it[idx], out_status[idx] = it, status[stop_any]
            keep = ~stop_any
            rows, x, f, g, gamma = rows[keep], x[keep], f[keep], g[keep], gamma[keep]
            pairs.keep(keep)
        if callback is not None:
            callback(n_rows - len(rows), n_rows)
    return BatchResult(out_x, out_f, out_g, out_it, out_status)
