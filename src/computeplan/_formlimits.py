"""Finite data under a law of any form: Muennighoff et al. 2023's effective data and parameters
substituted into the form's loss, L(N, D; U) = L_form(N', D'), vectorised.

Source: Muennighoff et al. 2023, "Scaling Data-Constrained Language Models" (arXiv 2305.16264),
eq. (5), as :mod:`computeplan.data_limits` implements it for the Chinchilla form:

- D' = U_D + U_D R_D* (1 - exp(-R_D / R_D*)), U_D = min(D, U), R_D = max(D / U - 1, 0);
- N' = U_N + U_N R_N* (1 - exp(-R_N / R_N*)), U_N = min(N, N_opt(U)), R_N = max(N / U_N - 1, 0),
  N_opt(U) the compute-optimal size for D = U tokens *under the same law*: the root of
  dL/d ln N = dL/d ln D at D = U (:func:`computeplan._formsolve.optimal_at_tokens`; for the
  Chinchilla form this is Hoffmann et al.'s eq. 4 at D = U, datablations ``D_to_N``).

The paper fitted R_D*, R_N* with the Chinchilla form only; ``computeplan fit --form FORM
--unique-tokens-col COL`` fits them for any form, in this module's data-limited loss
(:mod:`computeplan.fitting.repetition`), and saves them in the law file. A law of another form
that sets none (no ``rd_star``/``rn_star`` in its file or options) assumes the paper's
15.387756 and 5.309743 (:func:`repetition`), and plans say so (``repetition_assumed``).

D' saturates at U (1 + R_D*) and N' at N_opt(U) (1 + R_N*): the lowest reachable loss is the
form's loss there (:func:`lowest_reachable_loss`, the infimum for forms whose loss falls in N
and D).

**Optimum at a target loss** (minimise N (D + r), r = q / p, subject to L_form(N', D') = l). On
the form's contour in effective coordinates, ln D' = w(x) at x = ln N' (closed form,
:meth:`~computeplan.forms.Form.log_tokens_at_loss`), N and D follow from N' and D' (the inverse
of eq. 5 below the caps), and the log-cost ln N + ln(D + r) has slope in x

    1 / eps_N + s (dw/dx) / eps_D,   dw/dx = -L_N / L_D,   s = D / (D + r),

eps = d ln x' / d ln x (1 below the repetition thresholds), L_N, L_D the form's derivatives in
ln N', ln D'. Multiplied by eps_N > 0: g(x) = 1 - s eps_N L_N / (L_D eps_D), -inf where D'
reaches its cap (D infinite: x = ln N' at which L_form(N', U (1 + R_D*)) = l) and 1 where N'
reaches its cap (N infinite); its root in between, by the bracketed Illinois root finder of
:mod:`computeplan._formsolve`, is the optimum. Without repetition (eps = 1) g is the fixed-loss
condition of that module.

**Optimum within a budget** (minimise L_form(N', D') subject to N (D + r) = K): with t = ln D and
ln N = ln K - ln(D + r), dL/dt = L_D eps_D - s L_N eps_N runs from < 0 (tiny D) to > 0 (tiny N);
its root on the bracket of :func:`computeplan._formsolve.budget_bracket`.

Where the limit does not bind (the unlimited optimum has D <= U and N <= N_opt(U): then its loss
is the same with the limit, and no model of the limited law reaching the same loss is cheaper,
the limited loss being at least the unlimited one everywhere), the unlimited plan is kept
unchanged; the solvers run only on the scenarios that bind.
"""

from __future__ import annotations

import numpy as np

from . import _formsolve as solve
from . import _validate as v
from .errors import InputError
from .laws import DEFAULT_RD_STAR, DEFAULT_RN_STAR, REPETITION_COEFFICIENTS
from .vocabulary import option

#: The root finder's tolerance in ln N' (fixed loss) and ln D (budget), relative to max(1, |x|):
#: N and D then hold to ~1e-12 and better than 1e-10 even where eps is small.
XTOL = 1e-14
#: Muennighoff et al.'s fitted values, assumed for forms nobody has fitted them for.
DEFAULTS = {"rd_star": DEFAULT_RD_STAR, "rn_star": DEFAULT_RN_STAR}


def repetition(law) -> tuple[float, float, tuple[str, ...]]:
    """(R_D*, R_N*, the names of those assumed): the law's own values, else Muennighoff et al.
    2023's (fitted with the Chinchilla form; module docstring)."""
    values = {c: getattr(law, c, None) for c in REPETITION_COEFFICIENTS}
    assumed = tuple(c for c in REPETITION_COEFFICIENTS if values[c] is None)
    return (*(DEFAULTS[c] if values[c] is None else float(values[c])
              for c in REPETITION_COEFFICIENTS), assumed)


def _forward(log_x, log_base, star):
    from .data_limits import _forward as forward

    return forward(log_x, log_base, star)


def _inverse(log_xe, log_base, star):
    from .data_limits import _inverse as inverse

    return inverse(log_xe, log_base, star)


def _arrays(coef: dict) -> bool:
    """Whether some coefficient is an array (law replicates, :mod:`computeplan._formensemble`):
    every function here then broadcasts the coefficients with its inputs."""
    return any(np.ndim(val) for val in coef.values())


def _take(coef: dict, shape, mask) -> dict:
    """The coefficients at the elements ``mask`` of ``shape`` (scalars stay scalars)."""
    return {k: val if np.ndim(val) == 0 else np.broadcast_to(val, shape)[mask]
            for k, val in coef.items()}


def _with(law, coef: dict):
    """``law`` with other (array) coefficients: what the solvers below read of a law."""
    from types import SimpleNamespace

    rd, rn, _ = repetition(law)
    return SimpleNamespace(shape=law.shape, coef=coef, rd_star=rd, rn_star=rn, name=law.name,
                           form=law.form)


#: The last few :func:`log_base_params` results (a plan asks for N_opt(U) of the same U in its
#: solve, its reachability check, its loss and its data-limit summary).
_BASE_CACHE: dict = {}
_BASE_CACHE_SIZE = 4


def log_base_params(law, log_u) -> np.ndarray:
    """ln N_opt(U): the compute-optimal size for D = U tokens under the law
    (:func:`computeplan._formsolve.log_base_params`: the root of L_N = L_D at D = U; infinite
    for U = inf), the last few answers kept."""
    log_u = np.asarray(log_u, float)
    if _arrays(law.coef):  # replicates: every replicate's own
        return solve.log_base_params(law.shape, law.coef, log_u)
    import hashlib

    key = (law.shape.name, tuple(sorted((k, float(val)) for k, val in law.coef.items())),
           log_u.shape, hashlib.blake2b(np.ascontiguousarray(log_u).tobytes()).digest())
    hit = _BASE_CACHE.get(key)
    if hit is not None:
        return hit.copy()
    vals, inv = np.unique(log_u, return_inverse=True)  # U is often one number
    out = solve.log_base_params(law.shape, law.coef, vals)[inv.ravel()].reshape(log_u.shape)
    if len(_BASE_CACHE) >= _BASE_CACHE_SIZE:
        _BASE_CACHE.pop(next(iter(_BASE_CACHE)))
    _BASE_CACHE[key] = out.copy()
    return out


def base_params(law, unique_tokens) -> np.ndarray:
    """N_opt(U) (:func:`log_base_params`)."""
    with np.errstate(over="ignore"):
        return np.exp(log_base_params(law, np.log(np.asarray(unique_tokens, float))))


def _caps(law, log_u, log_no):
    """ln of the caps of N' and D': N_opt(U) (1 + R_N*), U (1 + R_D*)."""
    rd, rn, _ = repetition(law)
    return log_no + np.log1p(rn), log_u + np.log1p(rd)


def limited_loss(law, params, train_tokens, unique_tokens) -> np.ndarray:
    """L_form(N', D') (Muennighoff et al. 2023, eq. 5, in the law's form); U = inf gives the
    law's loss."""
    rd, rn, _ = repetition(law)
    log_u = np.log(np.asarray(unique_tokens, float))
    ln_ne = _forward(np.log(params), log_base_params(law, log_u), rn)[0]
    ln_de = _forward(np.log(train_tokens), log_u, rd)[0]
    return law.shape.loss_at(law.coef, ln_ne, ln_de)


def _best_params(law, ln_de, x_max):
    """(x*, L_form(e^x*, e^ln_de)): the x = ln N' in [0, ``x_max``] (and the form's limits)
    with the lowest loss at D' = e^ln_de: ``x_max`` where the loss still falls there (the
    Chinchilla and Kaplan forms always), else the root of dL/d ln N = 0 (forms whose data
    exponent depends on N can rise again at large N)."""
    f, c = law.shape, law.coef
    n_lo, n_hi = f.log_params_limits(c)
    shape = np.broadcast_shapes(np.shape(ln_de), np.shape(x_max), np.shape(n_lo),
                                np.shape(n_hi), *(np.shape(val) for val in c.values()))
    ln_de, x_max = (np.broadcast_to(np.asarray(a, float), shape) for a in (ln_de, x_max))
    lo = np.broadcast_to(np.maximum(n_lo + 1e-9, 0.0), shape)
    hi = np.minimum(x_max, n_hi - 1e-9)
    with np.errstate(all="ignore"):
        _, dn_hi, _ = f.log_slopes_at(c, hi, ln_de)
        rising = dn_hi > 0
        x = np.array(hi, float)
        if rising.any():
            sub = _take(c, shape, rising)
            _, dn_lo, _ = f.log_slopes_at(sub, lo[rising], ln_de[rising])
            inner = dn_lo < 0
            x[rising] = np.where(inner, x[rising], lo[rising])
            if inner.any():
                def slope(t, d):
                    with np.errstate(all="ignore"):
                        return f.log_slopes_at(d["coef"], t, d["ln_de"])[1]

                at = np.flatnonzero(rising.ravel())[inner.ravel()]
                x.ravel()[at] = solve.bracketed_root(
                    slope, lo[rising][inner], hi[rising][inner],
                    {"ln_de": ln_de[rising][inner], "coef": _take(sub, inner.shape, inner)},
                    xtol=XTOL)
        return x, f.loss_at(c, x, ln_de)


def lowest_reachable_loss(law, unique_tokens) -> np.ndarray:
    """The lowest L_form(N', D') with D' and N' below their caps (module docstring): at both
    caps for forms whose loss falls in N and D."""
    log_u = np.log(np.asarray(unique_tokens, float))
    log_nmax, log_dmax = _caps(law, log_u, log_base_params(law, log_u))
    return _best_params(law, log_dmax, log_nmax)[1]


def _first_bad(bad, *arrays):
    i = int(np.flatnonzero(np.broadcast_to(bad, np.shape(bad)).ravel())[0])
    return [float(np.broadcast_to(a, np.shape(bad)).ravel()[i]) for a in arrays]


def _unreachable(loss, u, floor, given: str, what: str, law):
    raise InputError(f"{option('loss')} {loss:.6g} cannot be reached with {given} and "
                     f"{option('unique_tokens')} {u:.4g} at any number of {what}: it must be "
                     f"above {floor:.6g}, the lowest reachable loss (law {law.name}); target a "
                     "higher loss")


def tokens_for_loss(law, loss, params, unique_tokens) -> np.ndarray:
    """D with L_form(N', D') = ``loss`` at ``params`` N: D' on the form's contour at N'
    (closed form), then D from D'; an InputError naming the lowest loss these parameters reach
    with U unique tokens when none does."""
    rd, rn, _ = repetition(law)
    f, c = law.shape, law.coef
    u = np.asarray(unique_tokens, float)
    log_u = np.log(u)
    lv = np.asarray(loss, float)
    ln_ne = _forward(np.log(v.positive("params", params)), log_base_params(law, log_u), rn)[0]
    lo, hi = f.log_params_range(c, lv)
    with np.errstate(all="ignore"):
        ln_de = f.log_tokens_at_loss(c, ln_ne, lv)
        ln_d = _inverse(ln_de, log_u, rd)[0]
        bad = ~(np.isfinite(ln_d) & (ln_ne > lo) & (ln_ne < hi))
    if np.any(bad):
        floor = f.loss_at(c, ln_ne, log_u + np.log1p(rd))
        _unreachable(*_first_bad(bad, lv, u, floor), "these parameters", "tokens", law)
    with np.errstate(over="ignore"):
        return np.exp(ln_d)


def params_for_loss(law, loss, train_tokens, unique_tokens) -> np.ndarray:
    """N with L_form(N', D') = ``loss`` at ``train_tokens`` D: N' by the bracketed root of
    :func:`computeplan._formsolve.params_for_loss` at D', then N from N' (an InputError naming
    the lowest loss these tokens reach with U unique tokens when N' would pass its cap)."""
    rd, rn, _ = repetition(law)
    u = np.asarray(unique_tokens, float)
    log_u = np.log(u)
    lv = v.positive("loss", loss)
    ln_de = _forward(np.log(v.positive("train_tokens", train_tokens)), log_u, rd)[0]
    log_no = log_base_params(law, log_u)
    x_star, floor = _best_params(law, ln_de, _caps(law, log_u, log_no)[0])
    bad = ~(lv > floor)
    if np.any(bad):
        _unreachable(*_first_bad(bad, lv, u, floor), "these training tokens", "params", law)
    ln_ne = _loss_root(law, lv, ln_de, x_star)
    with np.errstate(over="ignore"):
        return np.exp(_inverse(ln_ne, log_no, rn)[0])


def params_range(law, loss: float, unique_tokens: float) -> tuple[float, float]:
    """(lo, hi) of N between which the data-limited curve of ``loss`` exists: at lo D' reaches
    its cap (D infinite), hi where N' reaches its cap (infinite) or the form's limit."""
    lo_x, hi_x, log_no = _x_range(law, np.asarray(loss, float),
                                  np.log(np.asarray(unique_tokens, float)))
    rn = repetition(law)[1]
    with np.errstate(over="ignore", invalid="ignore"):
        lo = float(np.exp(_inverse(lo_x, log_no, rn)[0]))
        hi = float(np.exp(_inverse(hi_x, log_no, rn)[0]))
    return lo, (hi if np.isfinite(hi) else np.inf)


def _loss_root(law, loss, ln_de, x_star, *, rising: bool = False):
    """x = ln N' at which L_form(e^x, e^ln_de) = ``loss`` below ``x_star`` (the loss falls
    there; ``loss`` above L at x_star), or above it with ``rising`` (up to the form's limit)."""
    f, c = law.shape, law.coef
    n_lo, n_hi = f.log_params_limits(c)
    shape = np.broadcast_shapes(np.shape(loss), np.shape(ln_de), np.shape(x_star),
                                np.shape(n_lo), np.shape(n_hi),
                                *(np.shape(val) for val in c.values()))
    loss, ln_de, x_star = (np.broadcast_to(np.asarray(a, float), shape)
                           for a in (loss, ln_de, x_star))
    lo, hi = ((x_star, np.minimum(np.full(shape, 80.0), n_hi - 1e-9)) if rising else
              (np.maximum(np.full(shape, 0.0), n_lo + 1e-9), x_star))
    sign = -1.0 if rising else 1.0

    def gap(x, d):
        with np.errstate(all="ignore"):
            return sign * (d["loss"] - f.loss_at(d["coef"], x, d["ln_de"]))

    data = {"loss": loss, "ln_de": ln_de, "coef": c}
    ends = solve._ends(gap, lo, hi, data)
    if not (np.all(ends[0] < 0) and np.all(ends[1] > 0)):
        raise InputError(f"{option('loss')} is reached by a model of under one parameter under "
                         "this law" if not rising else "this law's loss does not rise back to "
                         "the target within the searched range of model sizes")
    return solve.bracketed_root(gap, lo, hi, data, ends=ends, xtol=XTOL)


def _x_range(law, loss, log_u, log_no=None):
    """(lo, hi, ln N_opt(U)) of x = ln N' on the data-limited contour of ``loss`` (module
    docstring): from where D' reaches its cap to where N' does, the form's limit, or (forms
    whose loss rises again in N) D' reaches its cap again; an InputError naming the lowest
    reachable loss for a target at or below it."""
    f, c = law.shape, law.coef
    if log_no is None:
        log_no = log_base_params(law, log_u)
    log_nmax, log_dmax = _caps(law, log_u, log_no)
    x_star, floor = _best_params(law, log_dmax, log_nmax)
    bad = ~(loss > floor)
    if np.any(bad):
        lv, uu, fl = _first_bad(bad, loss, np.exp(log_u), floor)
        raise InputError(f"{option('loss')} {lv:.6g} cannot be reached with "
                         f"{option('unique_tokens')} {uu:.4g}: it must be above {fl:.6g}, the "
                         "lowest reachable loss with that many unique tokens at any model size "
                         f"(law {law.name}); target a higher loss or give more unique tokens")
    _, hi_f = f.log_params_range(c, loss)
    lo = _loss_root(law, loss, log_dmax, x_star)
    hi = np.minimum(hi_f, log_nmax)
    with np.errstate(all="ignore"):
        back = (x_star < hi) & (f.loss_at(c, hi, log_dmax) > loss)
    if np.any(back):  # the contour leaves through D' = cap again before N' reaches its cap
        idx = np.flatnonzero(np.broadcast_to(back, np.shape(hi)))
        hi = np.array(np.broadcast_to(hi, np.shape(back)), float)
        ls, xs, dm = (np.broadcast_to(a, np.shape(back))[back] for a in (loss, x_star, log_dmax))
        hi.ravel()[idx] = _loss_root(_with(law, _take(c, np.shape(back), back)), ls, dm, xs,
                                     rising=True)
    return lo, hi, log_no


def check_reachable(law, loss, unique_tokens) -> None:
    """An InputError, naming the lowest reachable loss, for a target at or below it."""
    from .data_limits import check_reachable as check

    check(law, loss, unique_tokens)


# ------------------------------------------------------------------------------- solvers
def solve_fixed_loss(law, loss, r, log_u, log_no):
    """(ln N, ln D) minimising N (D + r) subject to L_form(N', D') = ``loss`` (1-d arrays,
    every target above the lowest reachable loss; module docstring)."""
    rd, rn, _ = repetition(law)
    f, c = law.shape, law.coef
    x_lo, x_hi, _ = _x_range(law, loss, log_u, log_no)
    with np.errstate(divide="ignore"):
        log_r = np.log(r)
    data = {"loss": loss, "log_r": log_r, "log_u": log_u, "log_no": log_no, "coef": c}

    def point(x, d):
        ln_de = f.log_tokens_at_loss(d["coef"], x, d["loss"])
        return _inverse(x, d["log_no"], rn)[0], _inverse(ln_de, d["log_u"], rd)[0]

    def slope(x, d):
        with np.errstate(all="ignore"):
            ln_de, dn, dd = f.contour_slopes(d["coef"], x, d["loss"])
            eps_n = _inverse(x, d["log_no"], rn)[2]
            ln_d, _, eps_d, _ = _inverse(ln_de, d["log_u"], rd)
            s = np.exp(ln_d - np.logaddexp(ln_d, d["log_r"]))
            return 1.0 - s * eps_n * dn / (dd * eps_d)

    ends = solve._ends(slope, x_lo, x_hi, data)
    solve._check_bracket(ends, "data-limited optimal model at this loss")
    with np.errstate(all="ignore"):
        return point(solve.bracketed_root(slope, x_lo, x_hi, data, ends=ends, xtol=XTOL), data)


def solve_budget(law, log_k, r, log_u, log_no):
    """(ln N, ln D) minimising L_form(N', D') subject to N (D + r) = e^``log_k`` (1-d arrays;
    module docstring)."""
    rd, rn, _ = repetition(law)
    f, c = law.shape, law.coef
    with np.errstate(divide="ignore"):
        log_r = np.log(r)
    t_lo, t_hi = solve.budget_bracket(f, c, log_k, log_r)
    data = {"log_k": log_k, "log_r": log_r, "log_u": log_u, "log_no": log_no, "coef": c}

    def slope(t, d):
        with np.errstate(all="ignore"):
            ln_n = d["log_k"] - np.logaddexp(t, d["log_r"])
            ln_ne, _, eps_n, _, _ = _forward(ln_n, d["log_no"], rn)
            ln_de, _, eps_d, _, _ = _forward(t, d["log_u"], rd)
            _, dn, dd = f.log_slopes_at(d["coef"], ln_ne, ln_de)
            s = np.exp(t - np.logaddexp(t, d["log_r"]))
            return dd * eps_d - s * dn * eps_n

    ends = solve._ends(slope, t_lo, t_hi, data)
    solve._check_bracket(ends, "data-limited optimal model within this budget")
    t = solve.bracketed_root(slope, t_lo, t_hi, data, ends=ends, xtol=XTOL)
    return log_k - np.logaddexp(t, log_r), t


def dependent_fixed_loss(law, loss, objective, demand, log_u, log_no):
    """(ln N, ln D) minimising p N D + Q(N) subject to L_form(N', D') = ``loss``, Q the
    roofline serving model's inference cost (any increasing Q): along the contour in x = ln N'
    (module docstring) the cost's slope times eps_N / (p N D) is
    g = 1 - eps_N L_N / (L_D eps_D) + Q'(N) / (p D), -inf where D' reaches its cap, above 1
    where N' does; its root by bisection on the whole arrays
    (:func:`computeplan._formsolve.bisect_all`: Q' is evaluated on the whole demand)."""
    rd, rn, _ = repetition(law)
    f, c = law.shape, law.coef
    x_lo, x_hi, _ = _x_range(law, loss, log_u, log_no)
    p = objective.train_usd_per_param_token

    def point(x):
        with np.errstate(all="ignore"):
            ln_de, dn, dd = f.contour_slopes(c, x, loss)
            ln_n, _, eps_n, _ = _inverse(x, log_no, rn)
            ln_d, _, eps_d, _ = _inverse(ln_de, log_u, rd)
        return ln_n, ln_d, eps_n * dn / (dd * eps_d)

    def slope(x):
        ln_n, ln_d, ratio = point(x)
        with np.errstate(all="ignore"):
            return (1.0 - ratio
                    + objective.marginal_cost(np.exp(ln_n), demand) / (p * np.exp(ln_d)))

    solve._check_bracket(solve._all_ends(slope, x_lo, x_hi),
                         "data-limited optimal model at this loss")
    ln_n, ln_d, _ = point(solve.bisect_all(slope, x_lo, x_hi))
    return ln_n, ln_d


def dependent_budget(law, budget, objective, demand, log_u, log_no):
    """(ln N, ln D) minimising L_form(N', D') subject to p N D + Q(N) = ``budget`` (Q as in
    :func:`dependent_fixed_loss`): with D(N) = (X - Q(N)) / (p N),
    dL/d ln N = L_N eps_N - L_D eps_D (1 + N Q'(N) / (X - Q(N))) runs from < 0 (small N) to
    > 0 where D reaches one token; its root by bisection in ln N, in the bracket of
    :func:`computeplan._formsolve.dependent_budget` (:func:`~computeplan._formsolve.
    dependent_budget_root`)."""
    rd, rn, _ = repetition(law)
    f, c = law.shape, law.coef
    x = np.asarray(budget, float)

    def inference(t):
        return objective.inference_cost(np.exp(t), demand)

    def gradient(t, ln_d):
        ln_ne, _, eps_n, _, _ = _forward(t, log_no, rn)
        ln_de, _, eps_d, _, _ = _forward(ln_d, log_u, rd)
        _, dn, dd = f.log_slopes_at(c, ln_ne, ln_de)
        q = inference(t)
        return dn * eps_n - dd * eps_d * (
            1.0 + np.exp(t) * objective.marginal_cost(np.exp(t), demand) / (x - q))

    return solve.dependent_budget_root(f, c, x, np.log(x),
                                       np.log(objective.train_usd_per_param_token), inference,
                                       gradient, "data-limited optimal model within this budget")


def binding(law, params, train_tokens, unique_tokens) -> np.ndarray:
    """Where the model (N, D) is changed by the limit: D > U or N > N_opt(U)."""
    u = np.asarray(unique_tokens, float)
    return np.asarray((np.asarray(train_tokens) > u) | (np.asarray(params) > base_params(law, u)))


def _plan_target(law, u, demand, objective, n_unl, d_unl, loss, budget, budget_name):
    """The opening of a data-limited plan: its inputs and target (the loss, checked reachable
    under the limit ``u``, or the budget, named ``budget_name`` in errors) and the unlimited
    optimum (n_unl, d_unl), planned at the loss when not given."""
    from .data_limits import check_reachable as check
    from .lifetime import _budget_inputs, _loss_inputs, _other_form

    if loss is not None:
        inputs = _loss_inputs(objective)
        check(law, loss, u)
        target = v.positive("loss", loss)
        if n_unl is None:
            free = _other_form(law, "lifetime", loss, demand, objective)
            n_unl, d_unl = free.params, free.train_tokens
    else:
        inputs = _budget_inputs(objective)
        target = v.positive(budget_name, budget)
    return inputs, target, n_unl, d_unl


def _plan_grid(law, u, n_unl, d_unl, shape):
    """The unlimited optimum (n, d) as writable arrays of the plan's ``shape``, U broadcast to
    it, ln U, ln N_opt(U) and where the limit binds."""
    n = np.array(np.broadcast_to(np.asarray(n_unl, float), shape))
    d = np.array(np.broadcast_to(np.asarray(d_unl, float), shape))
    uu = np.broadcast_to(np.asarray(u, float), shape)
    log_u = np.log(uu)
    log_no = log_base_params(law, log_u)
    with np.errstate(over="ignore"):
        mask = (d > uu) | (n > np.exp(log_no))
    return n, d, uu, log_u, log_no, mask


def limited_plan(law, u, demand, objective, n_unl, d_unl, *, loss=None, budget=None):
    """The data-limited plan (:func:`computeplan.data_limits.limited_plan`) under a law of
    another form: the unlimited optimum (n_unl, d_unl) where the limit does not bind, else the
    solvers above; objectives linear in N (FLOPs, dollars at fixed MFUs)."""
    from .lifetime import _dependent, _ratio, evaluate

    if _dependent(objective):
        return _dependent_plan(law, u, demand, objective, n_unl, d_unl, loss=loss,
                               budget=budget)
    p, q = objective.coefficients(demand)
    inputs, target, n_unl, d_unl = _plan_target(
        law, u, demand, objective, n_unl, d_unl, loss, budget,
        "budget_usd" if objective.priced else "budget_flops")
    r = _ratio(p, q, inputs)
    shape = np.broadcast_shapes(np.shape(target), np.shape(r), np.shape(u), np.shape(n_unl),
                                np.shape(d_unl), np.shape(p))
    n, d, uu, log_u, log_no, mask = _plan_grid(law, u, n_unl, d_unl, shape)
    if mask.any():
        args = [np.broadcast_to(np.asarray(a, float), shape)[mask]
                for a in (target, r, log_u, log_no, p)]
        if loss is not None:
            ln_n, ln_d = solve_fixed_loss(law, args[0], args[1], args[2], args[3])
        else:
            ln_n, ln_d = solve_budget(law, np.log(args[0]) - np.log(args[4]), args[1], args[2],
                                args[3])
        with np.errstate(over="ignore"):
            n[mask], d[mask] = np.exp(ln_n), np.exp(ln_d)
    lim = limited_loss(law, n, d, uu)
    return evaluate(law, n, d, demand, objective, inputs=inputs, loss=lim)


def _dependent_plan(law, u, demand, objective, n_unl, d_unl, *, loss=None, budget=None):
    """:func:`limited_plan` under the roofline serving model (an inference cost Q(N) not
    linear in N): :func:`dependent_fixed_loss` or :func:`dependent_budget` on the whole
    arrays, the unlimited optimum kept where the limit does not bind."""
    from .lifetime import evaluate

    inputs, target, n_unl, d_unl = _plan_target(law, u, demand, objective, n_unl, d_unl, loss,
                                                budget, "budget_usd")
    shape = np.broadcast_shapes(np.shape(target), np.shape(u), np.shape(n_unl),
                                np.shape(d_unl), np.shape(demand.total_tokens))
    n, d, uu, log_u, log_no, mask = _plan_grid(law, u, n_unl, d_unl, shape)
    if mask.any():
        tgt = np.broadcast_to(target, shape)
        with np.errstate(over="ignore", invalid="ignore"):
            if loss is not None:
                ln_n, ln_d = dependent_fixed_loss(law, tgt, objective, demand, log_u, log_no)
            else:
                ln_n, ln_d = dependent_budget(law, tgt, objective, demand, log_u, log_no)
            n = np.where(mask, np.exp(ln_n), n)
            d = np.where(mask, np.exp(ln_d), d)
    return evaluate(law, n, d, demand, objective, inputs=inputs,
                    loss=limited_loss(law, n, d, uu))
