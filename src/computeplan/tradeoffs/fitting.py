"""Fit the S-curve technique families to measured (training compute, inference, score) data.

Families: ``mcts`` (Elo = E + s_T(log10 TC) + s_M(log10 nodes)), ``pass-at-k`` and ``n-at-k``
(solve rate versus log10 samples with exploration slope b = a log10 TC + A); the functional forms
are those of Villalobos & Atkinson 2023 (see :mod:`.techniques`). Least squares on the score
(scipy.optimize.least_squares, trust-region reflective, imported lazily) from several starts: a
data-informed guess plus ``starts - 1`` random perturbations of it drawn with ``seed``; the best
fit is kept. Positive parameters are fitted in log space and break points as x0 and a positive
width, so every fitted model is valid. The inference column is in the technique's unit: samples
(pass-at-k, n-at-k) or nodes (mcts), i.e. ``flops_per_sample``/``flops_per_node`` = 1.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import _validate as v
from ..errors import InputError
from .curves import ramp_from_zero, smooth_ramp
from .techniques import MCTS, LimitedSampling, RepeatedSampling, Technique

FAMILIES = ("mcts", "pass-at-k", "n-at-k")


@dataclass(frozen=True)
class CurveFit:
    technique: Technique
    rmse: float
    n_points: int
    starts: int

    def to_dict(self) -> dict:
        return {"family": self.technique.key, "parameters": self.technique.parameters(),
                "rmse": self.rmse, "n_points": self.n_points, "starts": self.starts}


def read_csv(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three numeric columns after a header row: training compute (FLOPs), inference compute
    (samples or nodes), score. Returns the three columns as arrays."""
    p = Path(path)
    try:
        with p.open(newline="") as fh:
            rows = [r for r in csv.reader(fh) if r and any(c.strip() for c in r)]
    except OSError as exc:
        raise InputError(f"cannot read CSV {str(p)!r}: {exc.strerror}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"CSV {str(p)!r} is not a readable text CSV file ({exc}); expected "
                         "a header row and rows of three numbers") from None
    if len(rows) < 2:
        raise InputError(f"CSV {str(p)!r} needs a header row and data rows")
    data = []
    for i, row in enumerate(rows[1:], start=2):
        if len(row) < 3:
            raise InputError(f"CSV {str(p)!r} line {i}: needs 3 columns (training compute, "
                             f"inference compute or samples, score); got {len(row)}")
        try:
            data.append([float(c) for c in row[:3]])
        except ValueError:
            raise InputError(f"CSV {str(p)!r} line {i}: non-numeric value in {row[:3]}") from None
    arr = np.array(data)
    return arr[:, 0], arr[:, 1], arr[:, 2]


def _sampling_model(theta, t, u, limited: bool, t_mid: float):
    a, b_mid, x0, d = np.exp(theta[0]), np.exp(theta[1]), theta[2], np.exp(theta[3])
    b = np.maximum(a * (t - t_mid) + b_mid, 1e-9)  # guard only inside the optimiser
    x1 = x0 + np.exp(theta[4]) if limited else x0 + 1.0 / b
    return ramp_from_zero(u, b, x0, x1, d, d)


def _mcts_model(theta, t, u):
    e, st, t0, wt, sm, u0, wu, d = theta
    d = np.exp(d)
    return (e + smooth_ramp(t, np.exp(st), t0, t0 + np.exp(wt), d, d)
            + smooth_ramp(u, np.exp(sm), u0, u0 + np.exp(wu), d, d))


def fit_curve(family: str, train_compute, inference, score, *, starts: int = 12,
              seed: int = 0) -> CurveFit:
    """Fit ``family`` (``mcts``, ``pass-at-k``, ``n-at-k``) to the data; see module docstring."""
    if family not in FAMILIES:
        raise InputError(f"unknown curve family {family!r}; valid: {', '.join(FAMILIES)}")
    tc = v.positive("train_compute", train_compute)
    k = v.finite("inference", inference)
    if np.any(k < 1.0):
        raise InputError(f"inference (samples or nodes) must be >= 1; got {k[k < 1][0]:g}")
    y = v.finite("score", score)
    tc, k, y = np.broadcast_arrays(tc, k, y)
    t, u, y = np.log10(tc).ravel(), np.log10(k).ravel(), y.ravel().astype(float)
    n_par = 8 if family == "mcts" else (5 if family == "n-at-k" else 4)
    if y.size < n_par + 1:
        raise InputError(f"fitting {family} needs at least {n_par + 1} data points; "
                         f"got {y.size}")
    for name, col in (("train_compute", t), ("inference", u)):
        if np.ptp(col) == 0:
            raise InputError(f"{name} must take at least two different values to fit {family} "
                             f"(its effect cannot be estimated otherwise); got {10.0 ** col[0]:g} "
                             "in every row")
    if isinstance(starts, bool) or not isinstance(starts, int) or starts < 1:
        raise InputError(f"starts must be an integer >= 1; got {starts!r}")
    from scipy.optimize import least_squares

    t_mid = float(np.median(t))
    if family == "mcts":
        span_t, span_u = max(np.ptp(t), 0.1), max(np.ptp(u), 0.1)
        height = max(np.ptp(y), 1e-6)
        guess = np.array([y.max(), np.log(height / (span_t + span_u)), t.min() + 0.1 * span_t,
                          np.log(0.8 * span_t), np.log(height / (span_t + span_u)),
                          u.min() + 0.1 * span_u, np.log(0.8 * span_u), np.log(0.2)])
        scale = np.array([0.2 * height, 0.5, 0.3 * span_t, 0.3, 0.5, 0.3 * span_u, 0.3, 0.5])

        def resid(theta):
            return _mcts_model(theta, t, u) - y
    else:
        limited = family == "n-at-k"
        guess = np.array([np.log(0.05), np.log(0.2), -2.0, np.log(0.1), np.log(3.0)])[:n_par]
        scale = np.array([1.0, 0.7, 1.0, 0.7, 0.5])[:n_par]

        def resid(theta):
            return _sampling_model(theta, t, u, limited, t_mid) - y

    rng = np.random.default_rng(seed)
    best = None
    for i in range(starts):
        x0 = guess if i == 0 else guess + scale * rng.standard_normal(n_par)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            res = least_squares(resid, x0, method="trf", x_scale="jac", max_nfev=4000)
        if np.isfinite(res.cost) and (best is None or res.cost < best.cost):
            best = res
    if best is None:
        raise InputError(f"could not fit {family} to these data (every start failed)")
    th = best.x
    if family == "mcts":
        d = float(np.exp(th[7]))
        tech = MCTS(E=float(th[0]), train_slope=float(np.exp(th[1])), train_x0=float(th[2]),
                    train_x1=float(th[2] + np.exp(th[3])), nodes_slope=float(np.exp(th[4])),
                    nodes_x0=float(th[5]), nodes_x1=float(th[5] + np.exp(th[6])), smoothing=d,
                    level_default=float(np.median(y)))
    else:
        a, b_mid = float(np.exp(th[0])), float(np.exp(th[1]))
        params = dict(a=a, A=b_mid - a * t_mid, x0=float(th[2]), d0=float(np.exp(th[3])),
                      d1=float(np.exp(th[3])))
        if family == "n-at-k":
            tech = LimitedSampling(x1=float(th[2] + np.exp(th[4])), **params)
        else:
            tech = RepeatedSampling(**params)
    rmse = float(np.sqrt(2.0 * best.cost / y.size))
    return CurveFit(tech, rmse, int(y.size), starts)


def fit_csv(family: str, path: str | Path, **kwargs) -> CurveFit:
    """:func:`fit_curve` on the three columns of a CSV file (:func:`read_csv`)."""
    return fit_curve(family, *read_csv(path), **kwargs)
