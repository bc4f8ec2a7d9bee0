"""Fit the repetition coefficients R_D*, R_N* of a law to runs that repeat data.

Method (Muennighoff et al. 2023, "Scaling Data-Constrained Language Models", arXiv 2305.16264,
sec. 3.1 and appendix; datablations "Parametric Fit"): the base law (E, A, B, alpha, beta) is fitted
to the runs without repetition (D <= U), then R_D* and R_N* to all runs with the base law held
fixed, minimising sum_i w_i Huber_delta(log L(N_i, D_i; U_i) - log L_i) (delta = 1e-3, as for the
base fit) with L(N, D; U) the data-limited loss of :func:`computeplan.data_limits.limited_loss`.
The fit runs in log R* by L-BFGS-B from a small grid of starts, keeping the best.

R_D* is determined only when some run repeats data (D > U), R_N* only when some run has more
parameters than N_opt(U), the compute-optimal size for U tokens (R_N > 0); a coefficient the runs
do not determine keeps the law's value (Muennighoff et al.'s by default), and the result says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..laws import ChinchillaLaw
from ._objective import HUBER_DELTA

#: Starting values of R_D*, R_N* (the grid's product), around the paper's 15.4 and 5.3.
STARTS = (1.0, 4.0, 16.0, 64.0)
#: Bounds of log R* during the fit (R* in [1e-3, 1e6]).
LOG_BOUNDS = (np.log(1e-3), np.log(1e6))


@dataclass(frozen=True)
class RepetitionFit:
    """R_D*, R_N* fitted to runs that repeat data, and which of them the runs determine."""

    rd_star: float
    rn_star: float
    fitted: tuple[str, ...]  # "rd_star" and/or "rn_star"
    n_repeated: int  # runs with D > U
    n_excess_params: int  # runs with N > N_opt(U)
    objective_value: float
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"rd_star": self.rd_star, "rn_star": self.rn_star, "fitted": list(self.fitted),
                "n_repeated": self.n_repeated, "n_excess_params": self.n_excess_params,
                "objective_value": self.objective_value, "notes": list(self.notes),
                "method": "Muennighoff et al. 2023: base law on runs with D <= U, then R_D*, "
                          "R_N* on all runs (Huber on log loss, base held fixed)"}


def _huber(r: np.ndarray, delta: float) -> np.ndarray:
    a = np.abs(r)
    return np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))


def fit_repetition(law: ChinchillaLaw, params, train_tokens, unique_tokens, loss, weights=None,
                   *, delta: float = HUBER_DELTA) -> RepetitionFit:
    """R_D*, R_N* of ``law`` (its base coefficients held fixed) fitted to runs (arrays) with
    ``unique_tokens`` U each (module docstring)."""
    from scipy.optimize import minimize

    from ..data_limits import base_params, limited_loss

    n, d, u, y = (np.asarray(x, float) for x in (params, train_tokens, unique_tokens, loss))
    w = np.ones_like(n) if weights is None else np.asarray(weights, float)
    used = w > 0
    repeated = int(np.count_nonzero((d > u) & used))
    excess = int(np.count_nonzero((n > base_params(law, u)) & used))
    fitted = tuple(k for k, m in (("rd_star", repeated), ("rn_star", excess)) if m)
    notes = []
    if not repeated:
        notes.append("no run repeats data (D > U): rd_star is not determined; kept "
                     f"{law.rd_star:g}")
    if not excess:
        notes.append("no run has more parameters than N_opt(U), the compute-optimal size for its "
                     f"unique tokens: rn_star is not determined; kept {law.rn_star:g}")
    log_y = np.log(y[used])
    n, d, u, w = n[used], d[used], u[used], w[used]

    def objective(x):
        coef = dict(zip(fitted, np.exp(x), strict=True))
        pred = limited_loss(law.with_overrides(**coef), n, d, u)
        return float(np.sum(w * _huber(np.log(pred) - log_y, delta)))

    if not fitted:
        return RepetitionFit(law.rd_star, law.rn_star, (), repeated, excess,
                             objective(np.zeros(0)), tuple(notes))
    grid = np.array(np.meshgrid(*[np.log(STARTS)] * len(fitted), indexing="ij"))
    starts = grid.reshape(len(fitted), -1).T
    best = None
    for x0 in starts:
        res = minimize(objective, x0, method="L-BFGS-B", bounds=[LOG_BOUNDS] * len(fitted),
                       options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 2000})
        if best is None or res.fun < best.fun:
            best = res
    values = dict(zip(fitted, np.exp(best.x), strict=True))
    at_bound = [k for k, x in zip(fitted, best.x, strict=True)
                if min(abs(x - LOG_BOUNDS[0]), abs(x - LOG_BOUNDS[1])) < 1e-6]
    if at_bound:
        notes.append(f"{' and '.join(at_bound)} at the edge of [1e-3, 1e6]: the runs barely "
                     "constrain it")
    return RepetitionFit(values.get("rd_star", law.rd_star), values.get("rn_star", law.rn_star),
                         fitted, repeated, excess, float(best.fun), tuple(notes))


def check_unique_tokens_fit(runs, bootstrap, holdout) -> None:
    """The repetition fit takes neither a bootstrap nor a hold-out check (not yet)."""
    if runs.unique_tokens is not None and (bootstrap or holdout is not None):
        what = "bootstrap" if bootstrap else "holdout"
        raise InputError(f"{what} is not available with unique tokens per run (the repetition "
                         "fit); fit without one of them")
