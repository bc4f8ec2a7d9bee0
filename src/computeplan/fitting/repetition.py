"""Fit the repetition coefficients R_D*, R_N* of a law to runs that repeat data.

Method (Muennighoff et al. 2023, "Scaling Data-Constrained Language Models", arXiv 2305.16264,
sec. 3.1 and appendix; datablations "Parametric Fit"): the base law (of any form,
:mod:`computeplan.forms`) is fitted to the runs without repetition (D <= U), then R_D* and R_N*
to all runs with the base law held fixed, minimising sum_i w_i Huber_delta(log L(N_i, D_i; U_i)
- log L_i) (delta = 1e-3, as for the base fit) with L(N, D; U) = L_form(N', D') the data-limited
loss of :func:`computeplan.data_limits.limited_loss` (eq. 5: D' = U_D (1 + R_D* (1 -
e^(-R_D/R_D*))), likewise N' about N_opt(U), the form's compute-optimal size at D = U, as
:mod:`computeplan._formlimits` plans with it; for the Chinchilla form E + A / N'^alpha + B /
D'^beta, the paper's own). The fit runs in log R* by L-BFGS-B from a small grid of starts,
keeping the best; the gradient is exact (the chain rule through the form's slopes
dL/d ln N', dL/d ln D'; for the Chinchilla form in closed form).

Uncertainty: ``fit --bootstrap K`` refits R_D*, R_N* under each base-law bootstrap replicate on a
resample of the runs outside the base set (:func:`bootstrap_repetition`); ``fit --holdout RULE``
(e.g. ``epochs>10``) refits both stages without the held-out runs and predicts them with the
data-limited law.

R_D* is determined only when some run repeats data (D > U), R_N* only when some run has more
parameters than N_opt(U), the compute-optimal size for U tokens (R_N > 0); a coefficient the runs
do not determine keeps the law's value (Muennighoff et al.'s by default), and the result says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import _formsolve
from ..errors import InputError
from ..forms import get_form
from ..laws import ChinchillaLaw
from ..vocabulary import option
from ._objective import HUBER_DELTA

#: The form of a :class:`computeplan.ChinchillaLaw` (E + A / N^alpha + B / D^beta).
CHINCHILLA = get_form("chinchilla")

#: Starting values of R_D*, R_N* (the grid's product), around the paper's 15.4 and 5.3.
STARTS = (1.0, 4.0, 16.0, 64.0)
#: Bounds of log R* during the fit (R* in [1e-3, 1e6]).
LOG_BOUNDS = (np.log(1e-3), np.log(1e6))


@dataclass(frozen=True)
class RepetitionBootstrap:
    """R_D*, R_N* refitted to ``K`` resamples (see :func:`bootstrap_repetition`): standard
    errors and percentile intervals of the fitted coefficients over the usable replicates."""

    level: float
    fitted: tuple[str, ...]
    rd_star: np.ndarray  # (K,)
    rn_star: np.ndarray  # (K,)
    ok: np.ndarray  # (K,) base replicate usable, refit converged, R* inside [1e-3, 1e6]

    def intervals(self) -> dict[str, dict[str, float | None]]:
        """Standard error and percentile interval of each fitted coefficient (None when fewer
        than two replicates are usable)."""
        out = {}
        tail = 100 * (1 - self.level) / 2
        for k in self.fitted:
            x = getattr(self, k)[self.ok]
            if len(x) < 2:
                out[k] = {"se": None, "lo": None, "hi": None}
                continue
            lo, hi = np.percentile(x, [tail, 100 - tail])
            out[k] = {"se": float(np.std(x, ddof=1)), "lo": float(lo), "hi": float(hi)}
        return out

    def to_dict(self) -> dict:
        return {"replicates": len(self.ok), "used": int(self.ok.sum()),
                "failed": int((~self.ok).sum()), "level": self.level,
                "intervals": self.intervals(),
                "method": "stratified case bootstrap: each replicate pairs a base-law bootstrap "
                          "replicate with a resample of the runs outside the base set, R_D*, "
                          "R_N* refitted with that base law held fixed"}


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
    #: With ``fit --bootstrap K``: the coefficients' uncertainty.
    bootstrap: RepetitionBootstrap | None = None
    #: The fitted coefficients that ended on an edge of [1e-3, 1e6] (the runs barely
    #: constrain them).
    at_bound: tuple[str, ...] = ()
    #: The range [lo, hi] of the epochs D/U of the runs fitted (weight > 0): the law's domain
    #: records it (``domain["epochs"]``), and plans beyond it are warned of
    #: (:func:`computeplan.extrapolation.epochs_warnings`).
    epochs: tuple[float, float] | None = None

    def to_dict(self) -> dict:
        return {"rd_star": self.rd_star, "rn_star": self.rn_star, "fitted": list(self.fitted),
                "epochs": None if self.epochs is None else list(self.epochs),
                "n_repeated": self.n_repeated, "n_excess_params": self.n_excess_params,
                "objective_value": self.objective_value, "notes": list(self.notes),
                "at_bound": list(self.at_bound),
                "bootstrap": self.bootstrap.to_dict() if self.bootstrap else None,
                "method": "Muennighoff et al. 2023: base law on runs with D <= U, then R_D*, "
                          "R_N* on all runs (Huber on log loss, base held fixed)"}


def _huber(r: np.ndarray, delta: float) -> np.ndarray:
    a = np.abs(r)
    return np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))


def _effective_and_slope(x, base, star):
    """x' = base_x (1 + R* (1 - e^(-R/R*))) (Muennighoff et al. 2023, eq. 5; base_x = min(x,
    base), R = max(x / base_x - 1, 0)) and its derivative in log R*,
    dx'/dlog R* = base_x (R* (1 - e^(-R/R*)) - R e^(-R/R*)); 1 - e^(-R/R*) = -expm1(-R/R*), which
    does not cancel for R << R*."""
    ux = np.minimum(x, base)
    rep = np.maximum(x / ux - 1.0, 0.0)
    em1 = np.expm1(rep / -star)
    return ux * (1.0 - star * em1), -ux * (star * em1 + rep * (1.0 + em1))


def _loss_and_partials(form, coef: dict, n_eff, d_eff):
    """L_form(N', D') and its partial derivatives dL/dN', dL/dD': for the chinchilla and tied
    forms in closed form, E + A N'^-alpha + B D'^-beta, -alpha A N'^(-alpha-1), -beta B
    D'^(-beta-1) (Hoffmann et al. 2022, eq. 2); for other forms from the form's slopes in logs,
    (dL/d ln N') / N', (dL/d ln D') / D' (:meth:`computeplan.forms.Form.log_slopes_at`)."""
    from ..formlaw import CHINCHILLA_FORMS

    if form.name in CHINCHILLA_FORMS:
        a = coef["alpha"]
        b = coef.get("beta", a)
        pred = coef["E"] + coef["A"] * n_eff ** -a + coef["B"] * d_eff ** -b
        return pred, -a * coef["A"] * n_eff ** (-a - 1.0), -b * coef["B"] * d_eff ** (-b - 1.0)
    own = {k: coef[k] for k in form.coefficients}
    pred, l_n, l_d = form.log_slopes_at(own, np.log(n_eff), np.log(d_eff))
    return pred, l_n / n_eff, l_d / d_eff


def no_base_error(form: str, what: str) -> InputError:
    """The one-line error of a base law (of ``form``, fitted to ``what``) without N_opt(U) at
    the runs' unique tokens: R_N (Muennighoff et al. 2023, eq. 5) is not defined under it."""
    return InputError(f"the {form}-form law fitted to the {what} has no compute-optimal size "
                      "N_opt(U) for the runs' unique tokens (dL/d ln N = dL/d ln D has no root "
                      "there), which the repetition fit needs (N' counts parameters beyond "
                      f"N_opt(U)); fit another {option('form')}")


def predict(coef: dict, n, d, u, form=None, base=None):
    """L(N, D; U) = L_form(N', D') (Muennighoff et al. 2023, eq. 5, in the law's form: for the
    Chinchilla form E + A / N'^alpha + B / D'^beta) for coefficients ``coef`` (the form's and
    rd_star, rn_star: scalars or arrays that broadcast against the runs); ``form`` the
    :class:`computeplan.forms.Form` (default the Chinchilla form), ``base`` N_opt(U)
    (:func:`base_params` when None). Also (N', dN'/dlog R_N*), (D', dD'/dlog R_D*) and
    (dL/dN', dL/dD')."""
    form = CHINCHILLA if form is None else form
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if base is None:
            base = _formsolve.base_params(form, coef, u)
        d_eff = _effective_and_slope(d, u, coef["rd_star"])
        n_eff = _effective_and_slope(n, base, coef["rn_star"])
        pred, l_n, l_d = _loss_and_partials(form, coef, n_eff[0], d_eff[0])
    return pred, n_eff, d_eff, (l_n, l_d)


def repetition_objective(x, fitted, coef, n, d, u, log_y, w, delta=HUBER_DELTA, *, form=None,
                         base=None):
    """sum_i w_i Huber(log L(N_i, D_i; U_i) - log L_i) and its gradient in x = log R* (module
    docstring), for every row of ``x`` (K, len(fitted)) at once: ``coef`` holds the base law's
    coefficients (of ``form``, default the Chinchilla form) and the kept rd_star, rn_star
    (scalars or (K, 1) arrays), ``w`` the weights (m,) or (K, m) of the runs ``n``, ``d``,
    ``u``, ``log_y`` (m,); ``base`` N_opt(U) (fixed with the base law: computed once by the
    callers). dL/dlog R_D* = (dL/dD') (dD'/dlog R_D*), likewise R_N*."""
    x = np.atleast_2d(x)
    coef = dict(coef)
    for j, k in enumerate(fitted):
        coef[k] = np.exp(x[:, j])[:, None]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        pred, (_, n_slope), (_, d_slope), (l_n, l_d) = predict(coef, n, d, u, form, base)
        r = np.log(pred) - log_y
        f = np.sum(w * _huber(r, delta), axis=-1)
        psi = w * np.clip(r, -delta, delta) / pred
        slopes = {"rd_star": l_d * d_slope, "rn_star": l_n * n_slope}
        grad = [np.broadcast_to(np.sum(psi * slopes[k], axis=-1), (len(x),)) for k in fitted]
    return (np.broadcast_to(f, (len(x),)),
            np.stack(grad, axis=-1) if grad else np.zeros((len(x), 0)))


def law_form(law) -> tuple:
    """(form, coefficients with rd_star, rn_star) of a law of any form: a
    :class:`computeplan.ChinchillaLaw` (the chinchilla and tied forms) in the Chinchilla form;
    R_D*, R_N* the law's own, else Muennighoff et al.'s
    (:func:`computeplan._formlimits.repetition`)."""
    from .._formlimits import repetition

    rd, rn, _ = repetition(law)
    if isinstance(law, ChinchillaLaw):
        return CHINCHILLA, law.coefficients() | {"rd_star": rd, "rn_star": rn}
    return law.shape, dict(law.coef) | {"rd_star": rd, "rn_star": rn}


def fit_repetition(law, params, train_tokens, unique_tokens, loss, weights=None,
                   *, delta: float = HUBER_DELTA) -> RepetitionFit:
    """R_D*, R_N* of ``law`` (a law of any form, its base coefficients held fixed) fitted to
    runs (arrays) with ``unique_tokens`` U each (module docstring)."""
    from scipy.optimize import minimize

    n, d, u, y = (np.asarray(x, float) for x in (params, train_tokens, unique_tokens, loss))
    w = np.ones_like(n) if weights is None else np.asarray(weights, float)
    used = w > 0
    form, coef = law_form(law)
    log_y = np.log(y[used])
    n, d, u, w = n[used], d[used], u[used], w[used]
    try:
        base = _formsolve.base_params(form, coef, u)
    except InputError:
        raise no_base_error(form.name, "runs without repetition") from None
    repeated = int(np.count_nonzero(d > u))
    excess = int(np.count_nonzero(n > base))
    fitted = tuple(k for k, m in (("rd_star", repeated), ("rn_star", excess)) if m)
    notes = []
    if not repeated:
        notes.append("no run repeats data (D > U): rd_star is not determined; kept "
                     f"{coef['rd_star']:g}")
    if not excess:
        notes.append("no run has more parameters than N_opt(U), the compute-optimal size for its "
                     f"unique tokens: rn_star is not determined; kept {coef['rn_star']:g}")

    def objective(x):
        f, g = repetition_objective(x[None, :], fitted, coef, n, d, u, log_y, w, delta,
                                    form=form, base=base)
        return float(f[0]), g[0]

    if not fitted:
        return RepetitionFit(coef["rd_star"], coef["rn_star"], (), repeated, excess,
                             objective(np.zeros(0))[0], tuple(notes))
    grid = np.array(np.meshgrid(*[np.log(STARTS)] * len(fitted), indexing="ij"))
    starts = grid.reshape(len(fitted), -1).T
    best = None
    for x0 in starts:
        res = minimize(objective, x0, jac=True, method="L-BFGS-B",
                       bounds=[LOG_BOUNDS] * len(fitted),
                       options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 2000})
        if best is None or res.fun < best.fun:
            best = res
    values = dict(zip(fitted, np.exp(best.x), strict=True))
    at_bound = [k for k, x in zip(fitted, best.x, strict=True)
                if min(abs(x - LOG_BOUNDS[0]), abs(x - LOG_BOUNDS[1])) < 1e-6]
    if at_bound:
        notes.append(f"{' and '.join(at_bound)} at the edge of [1e-3, 1e6]: the runs barely "
                     "constrain it")
    return RepetitionFit(values.get("rd_star", coef["rd_star"]),
                         values.get("rn_star", coef["rn_star"]),
                         fitted, repeated, excess, float(best.fun), tuple(notes),
                         at_bound=tuple(at_bound))


def bootstrap_repetition(point: RepetitionFit, law, base: dict, base_ok, params,
                         train_tokens, unique_tokens, loss, weights, in_base, *, seed=None,
                         level=0.95, delta: float = HUBER_DELTA,
                         form=None) -> RepetitionBootstrap | None:
    """R_D*, R_N* refitted under each of K base-law bootstrap replicates (``base``: the
    coefficients of ``form`` (default the law's, :func:`law_form`) as (K,) arrays; ``base_ok``
    the usable ones; the others are refitted under the point base ``law`` and marked
    unusable), each on its own resample of the
    runs outside the base set (``in_base`` False): a stratified case bootstrap (Davison &
    Hinkley 1997, "Bootstrap Methods and their Application", sec. 3.2). The base-set runs (no
    repetition) hardly enter the R* objective, so pairing the base replicate (a resample of the
    base runs) with an independent resample of the others resamples every run once. All
    replicates are refitted together (batched L-BFGS, :mod:`._lbfgs`) from the point estimate,
    each with its own N_opt(U). None when the point fit determines no coefficient."""
    from . import _lbfgs
    from .bootstrap import resample_counts

    if not point.fitted:
        return None
    fitted = point.fitted
    n, d, u, y, w = (np.asarray(x, float) for x in (params, train_tokens, unique_tokens, loss,
                                                      weights))
    base_ok = np.asarray(base_ok, bool)
    k = len(base_ok)
    rng = np.random.default_rng(None if seed is None else [int(seed), 12])
    other = np.flatnonzero(~np.asarray(in_base, bool) & (w > 0))
    weights_k = np.broadcast_to(w, (k, len(w))).copy()
    weights_k[:, other] = resample_counts(len(other), k, rng) * w[other]
    law_shape, law_coef = law_form(law)
    form = law_shape if form is None else form

    def replicates(ok):
        return {c: np.where(ok, np.asarray(base[c], float), law_coef[c])[:, None]
                for c in form.coefficients}

    coef = replicates(base_ok)
    try:
        n_opt = _formsolve.base_params(form, coef, u)
    except InputError:  # some replicate has no N_opt(U): unusable, like a failed base refit
        def has_base(i):
            try:
                _formsolve.base_params(form, {c: v[i] for c, v in coef.items()}, u)
            except InputError:
                return False
            return True

        base_ok = base_ok & np.array([has_base(i) for i in range(k)])
        coef = replicates(base_ok)
        n_opt = _formsolve.base_params(form, coef, u)
    n_opt = np.broadcast_to(n_opt, (k, len(u)))
    coef |= {"rd_star": point.rd_star, "rn_star": point.rn_star}
    log_y = np.log(y)
    x0 = np.tile(np.log([getattr(point, c) for c in fitted]), (k, 1))

    def fun(x, rows):
        sub = {c: (v[rows] if np.ndim(v) else v) for c, v in coef.items()}
        return repetition_objective(x, fitted, sub, n, d, u, log_y, weights_k[rows], delta,
                                    form=form, base=n_opt[rows])

    res = _lbfgs.minimize(fun, x0, ftol=1e-15, gtol=1e-12, maxiter=2000)
    inside = np.all((res.x > LOG_BOUNDS[0]) & (res.x < LOG_BOUNDS[1]), axis=1)
    values = {c: np.full(k, getattr(point, c)) for c in ("rd_star", "rn_star")}
    for j, c in enumerate(fitted):
        values[c] = np.exp(res.x[:, j])
    ok = base_ok & res.converged & inside & np.isfinite(res.f)
    return RepetitionBootstrap(level, fitted, values["rd_star"], values["rn_star"], ok)
