"""Robust losses on log loss and the batched value-and-gradient of the Hoffmann fitting objective.

Objective (Hoffmann et al. 2022, section D.2 / Approach 3; replicated by Besiroglu et al. 2024,
arXiv 2404.10102, section 2):

    f(a, b, e, alpha, beta) = sum_i w_i rho(LSE(a - alpha log N_i, b - beta log D_i, e) - log L_i)

with A = e^a, B = e^b, E = e^e, so LSE(...) = log(E + A N^-alpha + B D^-beta) is the log of the
predicted loss. ``rho`` is Huber with delta = 1e-3 (Hoffmann et al.), an asymmetric Huber that
charges over-prediction more (its minimiser is a lower envelope, as in quantile regression), or
plain least squares. Huber (Huber 1964): rho = r^2/2 for |r| <= delta, else
delta (|r| - delta/2); with psi = rho' = clip(r, -delta, delta) this is rho = psi (r - psi/2).
The asymmetric loss multiplies rho by ``asymmetry`` for over-prediction (r > 0) and by
1 - ``asymmetry`` otherwise; least squares is rho = r^2 / 2. Everything is evaluated for many
parameter vectors at once: ``theta`` has shape (S, 5) and weights (n,) or (S, n) -- one row per
start or bootstrap replicate.

Internally the optimiser works in centred, scaled coordinates (see :class:`Problem`) so that the
model-size and data terms are not nearly collinear with their prefactors; the map is linear and
:meth:`Problem.to_natural` / :meth:`Problem.from_natural` convert exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..defaults import DEFAULT_ASYMMETRY, HUBER_DELTA
from ..work import checkpoint

OBJECTIVES = ("huber", "asymmetric", "lsq")


@dataclass(frozen=True)
class Problem:
    """Runs (log N, log D, log L, weights) and the loss, ready for batched evaluation.

    Coordinates used by the optimiser: x = (a', b', e, alpha', beta') with
    alpha = alpha' / s_N, a = a' + alpha c_N (and likewise for the data term), where c and s are
    the mean and standard deviation of log N (log D). Then a - alpha log N = a' - alpha' z_N with
    z_N = (log N - c_N) / s_N standardised.
    """

    log_n: np.ndarray
    log_d: np.ndarray
    log_l: np.ndarray
    weights: np.ndarray
    objective: str = "huber"
    delta: float = HUBER_DELTA
    asymmetry: float = DEFAULT_ASYMMETRY

    @classmethod
    def build(cls, params, tokens, loss, weights=None, **kw) -> Problem:
        w = np.ones(len(params)) if weights is None else np.asarray(weights, dtype=float)
        return cls(np.log(params), np.log(tokens), np.log(loss), w, **kw)

    def __post_init__(self):
        sn, sd = self.log_n.std(), self.log_d.std()
        centres = (self.log_n.mean(), sn if sn > 0 else 1.0, self.log_d.mean(),
                   sd if sd > 0 else 1.0)
        object.__setattr__(self, "_centres", centres)
        object.__setattr__(self, "z_n", (self.log_n - centres[0]) / centres[1])
        object.__setattr__(self, "z_d", (self.log_d - centres[2]) / centres[3])
        object.__setattr__(self, "_sizes", _distinct_sizes(self.z_n))

    def to_natural(self, x: np.ndarray) -> np.ndarray:
        """(a', b', e, alpha', beta') -> (a, b, e, alpha, beta), row-wise."""
        cn, sn, cd, sd = self._centres
        x = np.asarray(x, dtype=float)
        alpha, beta = x[..., 3] / sn, x[..., 4] / sd
        return np.stack([x[..., 0] + alpha * cn, x[..., 1] + beta * cd, x[..., 2], alpha, beta],
                        axis=-1)

    def from_natural(self, theta: np.ndarray) -> np.ndarray:
        """(a, b, e, alpha, beta) -> optimiser coordinates, row-wise."""
        cn, sn, cd, sd = self._centres
        t = np.asarray(theta, dtype=float)
        return np.stack([t[..., 0] - t[..., 3] * cn, t[..., 1] - t[..., 4] * cd, t[..., 2],
                         t[..., 3] * sn, t[..., 4] * sd], axis=-1)

    def residuals(self, theta: np.ndarray) -> np.ndarray:
        """log predicted loss - log actual loss for natural parameters ``theta`` (..., 5)."""
        t = np.asarray(theta, dtype=float)[..., None, :]
        u = (np.exp(t[..., 0] - t[..., 3] * self.log_n) + np.exp(t[..., 1] - t[..., 4] * self.log_d)
             + np.exp(t[..., 2]))
        return np.log(u) - self.log_l

    def value_grad(self, x: np.ndarray, weights: np.ndarray | None = None):
        """Objective and exact gradient in optimiser coordinates for every row of ``x`` (S, 5).

        With u1 = e^(a' - alpha' z_N), u2 = e^(b' - beta' z_D), u3 = e^e and s = u1 + u2 + u3,
        the residual is r = log s - log L and dr/d(a', alpha') = (u1/s) (1, -z_N),
        dr/d(b', beta') = (u2/s) (1, -z_D), dr/de = u3/s; then df = sum_i w_i psi(r_i) dr_i.
        ``weights`` (S, n) replace the problem's weights row by row (bootstrap replicates).
        Rows are processed in cache-sized blocks (:func:`block_rows`) with in-place arithmetic (a
        loop over blocks of rows, not over rows): several times faster than whole-array
        temporaries.
        """
        x = np.asarray(x, dtype=float)
        f = np.empty(len(x))
        g = np.empty_like(x)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            block = block_rows(self.log_n.size)
            for lo in range(0, len(x), block):
                checkpoint()  # many starts on many runs: stop between blocks when bounded
                hi = lo + block
                w = self.weights if weights is None else weights[lo:hi]
                f[lo:hi], g[lo:hi] = self._block(x[lo:hi], w)
        return f, g

    def _block(self, x: np.ndarray, w: np.ndarray):
        zn, zd = self.z_n, self.z_d
        if self._sizes is None:
            u1 = np.multiply.outer(x[:, 3], zn)
            np.subtract(x[:, 0, None], u1, out=u1)
            np.exp(u1, out=u1)
        else:  # the same exponentials, once per distinct model size (ladders share sizes)
            sizes, index = self._sizes
            u1 = np.multiply.outer(x[:, 3], sizes)
            np.subtract(x[:, 0, None], u1, out=u1)
            u1 = np.exp(u1, out=u1).take(index, axis=1)
        u2 = np.multiply.outer(x[:, 4], zd)
        np.subtract(x[:, 1, None], u2, out=u2)
        np.exp(u2, out=u2)
        u3 = np.exp(x[:, 2])
        s = np.add(u1, u2)
        s += u3[:, None]
        r = np.log(s)
        r -= self.log_l
        if self.objective == "lsq":
            psi = r.copy()
            r *= 0.5
        else:
            c = np.where(r > 0, self.asymmetry, 1 - self.asymmetry) \
                if self.objective == "asymmetric" else None
            psi = np.clip(r, -self.delta, self.delta)
            r -= 0.5 * psi
            if c is not None:
                psi *= c
        r *= psi  # r now holds rho(r)
        # Row sums by einsum, not BLAS: a threaded gemv on a busy 2-core machine is up to 100x
        # slower for one long row (few starts, many runs); einsum runs on one core, never slowly.
        f = np.einsum("ij,ij->i", r, w) if w.ndim == 2 else np.einsum("ij,j->i", r, w)
        psi *= w
        psi /= s
        u1 *= psi
        u2 *= psi
        g = np.empty_like(x)
        g[:, 0] = u1.sum(axis=1)
        g[:, 3] = -np.einsum("ij,j->i", u1, zn)
        g[:, 1] = u2.sum(axis=1)
        g[:, 4] = -np.einsum("ij,j->i", u2, zd)
        g[:, 2] = psi.sum(axis=1) * u3
        return f, g


def _distinct_sizes(z: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(distinct values, index of each run's value) of the standardised log model sizes, or
    None when they are not much fewer than the runs (the exponentials of the N term are then
    computed per run). Without np.unique: numpy 2.x imports numpy.ma for it."""
    order = np.argsort(z, kind="stable")
    first = np.ones(len(z), dtype=bool)
    first[1:] = z[order][1:] != z[order][:-1]
    if first.sum() > 0.75 * len(z):
        return None
    index = np.empty(len(z), dtype=np.intp)
    index[order] = np.cumsum(first) - 1
    return z[order][first], index


#: Numbers per temporary in :meth:`Problem.value_grad`: a block's handful of (rows, runs)
#: temporaries then stay in the L2 cache whatever the number of runs, so the cost is linear in
#: starts x runs (a fixed 128 rows grows super-linearly past ~500 runs). 2^14 measured fastest of
#: 2^11..2^16 at 50, 240, 1,000 and 2,000 runs (bench/bench_fit.py).
BLOCK_ELEMENTS = 2**14


def block_rows(n_runs: int) -> int:
    """Rows (starts or replicates) per block for ``n_runs`` runs: BLOCK_ELEMENTS / n_runs."""
    return max(1, BLOCK_ELEMENTS // max(1, n_runs))
