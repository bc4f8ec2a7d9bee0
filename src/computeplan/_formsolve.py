"""Optimal models under a law of any form (:mod:`computeplan.forms`), vectorised.

The Chinchilla form has closed forms and Newton solvers of its own (:mod:`computeplan.laws`,
:mod:`computeplan.lifetime`); every other form is planned here by one-dimensional first-order
conditions, each solved by a bracketed root finder to 1e-13 in its variable. With
L_N = dL/d ln N, L_D = dL/d ln D (both < 0) and r = q / p the inference demand in
training-token equivalents (lifetime cost p N (D + r), Sardana et al. 2024, eq. 1):

- **fixed loss** (minimise N (D + r) subject to L(N, D) = l): along the loss contour
  ln D = w(ln N) (closed form for every form: the data term is invertible at fixed N,
  :meth:`~computeplan.forms.Form.log_tokens_at_loss`) the log-cost ln N + ln(D + r) has slope
  1 - s L_N / L_D with s = D / (D + r), which runs from -inf where the contour leaves to
  infinite data (the smallest N that can reach l) to 1 for large N; its root is the optimum.
  The variable is z = ln(ln N - ln N_min), so the bracket is fixed and the step near the
  floor well scaled. r = 0 gives the compute-optimal model for a target loss.
- **fixed budget** (minimise L subject to N (D + r) = K): with t = ln D and
  N = K / (D + r), dL/dt = L_D - s L_N runs from -inf (tiny D) to +inf (tiny N); its root is
  the optimum (the same condition as above: the two problems are dual). r = 0, K = C / 6 gives
  the compute-optimal model at budget C (Hoffmann et al. 2022, section 3.3: L_N = L_D).

The root finder is the Illinois variant of regula falsi (Dowell & Jarratt 1971, BIT 11),
superlinear, with bisection whenever a step leaves the bracket, on whole arrays. A condition
value that overflows (only near the ends of a bracket, where its sign is known) takes that
end's sign.
"""

from __future__ import annotations

import numpy as np

from .errors import ConvergenceError, InputError

#: Widest range of ln N searched above the smallest model that can reach a loss (e^60).
LOG_SPAN = 60.0
#: Half-width of the ln D bracket around ln sqrt(K) for a budget (D/N within e^+-80).
LOG_HALF_WIDTH = 40.0
#: Smallest ln(C/6) a Chinchilla-optimal model of a budget is searched at (C/6 = 1e6).
MIN_LOG_C6 = float(np.log(1e6))
#: Equal parts a bracket is cut into before the Illinois steps (:func:`bracketed_root`).
PRE_GRID = 8
#: Closest approach (in ln N - ln N_min) to the infinite-data end of a loss contour.
NEAR_FLOOR = 1e-12


def _flat(data: dict, shape) -> dict:
    """``data`` (arrays, or dicts of arrays, broadcastable to ``shape``) as 1-d arrays of the
    elements of ``shape``; 0-d values stay as they are."""
    out = {}
    for key, val in data.items():
        if isinstance(val, dict):
            out[key] = _flat(val, shape)
        else:
            a = np.asarray(val, float)
            out[key] = a if a.ndim == 0 else np.broadcast_to(a, shape).ravel()
    return out


def _take(data: dict, keep) -> dict:
    return {key: _take(val, keep) if isinstance(val, dict) else (val if val.ndim == 0 else
                                                                   val[keep])
            for key, val in data.items()}


def _shapes(data: dict):
    for val in data.values():
        if isinstance(val, dict):
            yield from _shapes(val)
        else:
            yield np.shape(val)


def signed(func, x, data, lo, hi):
    """``func(x, data)`` with any non-finite value replaced by the sign of the nearer end of
    [lo, hi] (only near the ends, where the sign is known, does a condition overflow)."""
    g = func(x, data)
    return np.where(np.isfinite(g), g, np.where(x < 0.5 * (lo + hi), -1.0, 1.0))


def bracketed_root(func, lo, hi, data: dict | None = None, *, ends=None, xtol: float = 1e-13,
                   maxiter: int = 300, grid: int = PRE_GRID):
    """x in [lo, hi] with func(x, data) = 0 elementwise, where func < 0 at lo and > 0 at hi
    (checked by the caller, :func:`signed`); ``data`` holds the per-element arrays (or dicts
    of them, one level) that ``func`` needs, broadcastable with lo and hi: each call gets them
    restricted to the elements still unsolved, so converged elements cost nothing more. An
    element stops when its bracket is narrower than ``xtol * max(1, |x|)``. The bracket is
    first narrowed to one of ``grid`` equal parts (one evaluation per interior point), then
    refined by Illinois steps. ``ends``: the signed values at lo and hi when the caller has
    them (:func:`_ends`)."""
    data = {} if data is None else data
    shape = np.broadcast_shapes(np.shape(lo), np.shape(hi), *_shapes(data))
    lo, hi = (np.broadcast_to(np.asarray(a, float), shape).ravel().copy() for a in (lo, hi))
    d = _flat(data, shape)
    end_lo, end_hi = lo.copy(), hi.copy()
    if ends is None:
        flo, fhi = signed(func, lo, d, end_lo, end_hi), signed(func, hi, d, end_lo, end_hi)
    else:
        flo, fhi = (np.broadcast_to(np.asarray(e, float), shape).ravel() for e in ends)
    start, step = lo.copy(), (hi - lo) / grid
    for k in range(1, grid):
        x = start + step * k
        f = signed(func, x, d, end_lo, end_hi)
        below = (f < 0) & (x > lo) & (x < hi)
        lo, flo = np.where(below, x, lo), np.where(below, f, flo)
        above = (f >= 0) & (x > lo) & (x < hi)
        hi, fhi = np.where(above, x, hi), np.where(above, f, fhi)
    out = np.empty(lo.shape)
    idx = np.arange(lo.size)
    side = np.zeros(lo.shape, dtype=np.int8)
    for it in range(maxiter):
        with np.errstate(all="ignore"):
            x = (lo * fhi - hi * flo) / (fhi - flo)
        mid = 0.5 * (lo + hi)
        x = np.where(np.isfinite(x) & (x > lo) & (x < hi) & (it % 16 != 15), x, mid)
        f = signed(func, x, d, end_lo, end_hi)
        neg = f < 0
        # Illinois: halve the value kept at an end that has not moved twice in a row.
        flo = np.where(neg, f, np.where(side == 1, 0.5 * flo, flo))
        fhi = np.where(neg, np.where(side == -1, 0.5 * fhi, fhi), f)
        lo, hi = np.where(neg, x, lo), np.where(neg, hi, x)
        side = np.where(neg, -1, 1).astype(np.int8)
        done = (hi - lo <= xtol * np.maximum(1.0, np.abs(x))) | (f == 0)
        if done.any():
            out[idx[done]] = x[done]
            if done.all():
                return out.reshape(shape)
            keep = ~done
            idx, lo, hi, flo, fhi, side, end_lo, end_hi = (
                a[keep] for a in (idx, lo, hi, flo, fhi, side, end_lo, end_hi))
            d = _take(d, keep)
    raise ConvergenceError(f"optimal-model solver did not converge in {maxiter} iterations")


def _ends(func, lo, hi, data):
    return signed(func, lo, data, lo, hi), signed(func, hi, data, lo, hi)


def _check_bracket(ends, what: str) -> None:
    g_lo, g_hi = ends
    if not (np.all(g_lo < 0) and np.all(g_hi > 0)):
        raise InputError(f"this law has no {what}: its first-order condition does not change "
                         "sign over the searched range (the law's coefficients give a loss that "
                         "does not fall and then rise along the constraint)")


def fixed_loss(form, coef: dict, loss, r):
    """(ln N, ln D) of the model minimising N (D + r) subject to L(N, D) = ``loss``
    (module docstring); ``loss``, ``r`` and array coefficients broadcast."""
    loss = np.asarray(loss, float)
    lo_n, hi_n = form.log_params_range(coef, loss)
    r = np.asarray(r, float)
    lo_n, hi_n, loss, r = np.broadcast_arrays(lo_n, hi_n, loss, r)
    span = np.minimum(hi_n - lo_n, LOG_SPAN)
    if not np.all(span > 0):
        raise InputError("this law has no model that reaches the target loss")
    z_lo, z_hi = np.log(NEAR_FLOOR * span), np.log(span * (1 - 1e-9))
    data = {"coef": coef, "lo_n": lo_n, "loss": loss, "r": r}

    def point(z, d):
        ln_n = d["lo_n"] + np.exp(z)
        return ln_n, form.log_tokens_at_loss(d["coef"], ln_n, d["loss"])

    def slope(z, d):
        ln_n = d["lo_n"] + np.exp(z)
        with np.errstate(all="ignore"):
            ln_d, dn, dd = form.contour_slopes(d["coef"], ln_n, d["loss"])
            s = 1.0 / (1.0 + d["r"] * np.exp(-ln_d))
            return 1.0 - s * dn / dd

    ends = _ends(slope, z_lo, z_hi, data)
    _check_bracket(ends, "optimal model at this loss")
    return point(bracketed_root(slope, z_lo, z_hi, data, ends=ends), data)


def budget(form, coef: dict, log_k, r):
    """(ln N, ln D) of the model minimising L subject to N (D + r) = e^``log_k`` (module
    docstring); broadcasts."""
    log_k = np.asarray(log_k, float)
    r = np.asarray(r, float)
    log_k, r = np.broadcast_arrays(log_k, r)
    with np.errstate(divide="ignore"):
        log_r = np.log(r)
    t_lo, t_hi = budget_bracket(form, coef, log_k, log_r)
    data = {"coef": coef, "log_k": log_k, "log_r": log_r}

    def point(t, d):
        return d["log_k"] - np.logaddexp(t, d["log_r"]), t

    def slope(t, d):
        ln_n, ln_d = point(t, d)
        with np.errstate(all="ignore"):
            _, dn, dd = form.log_slopes_at(d["coef"], ln_n, ln_d)
            return dd - np.exp(ln_d - np.logaddexp(ln_d, d["log_r"])) * dn

    ends = _ends(slope, t_lo, t_hi, data)
    _check_bracket(ends, "optimal model within this budget")
    return point(bracketed_root(slope, t_lo, t_hi, data, ends=ends), data)


def budget_bracket(form, coef: dict, log_k, log_r):
    """(lo, hi) of t = ln D that :func:`budget` searches on the line N (D + r) = e^log_k
    (``log_r`` = ln r): D/N within e^+-80 of 1 (or of r), D and N at least one, N within the
    form's limits (:meth:`~computeplan.forms.Form.log_params_limits`)."""
    # At least one token and one parameter: below, ln D and ln N change sign and forms whose
    # exponents depend on N (beta-of-n) stop being laws.
    t_lo = np.maximum(0.5 * log_k - LOG_HALF_WIDTH, 0.0)
    t_hi = np.maximum(0.5 * log_k + LOG_HALF_WIDTH, log_r + LOG_HALF_WIDTH)
    n_lo, n_hi = form.log_params_limits(coef)
    n_lo = np.maximum(n_lo, 0.0)
    with np.errstate(all="ignore"):  # ln N = ln K - ln(D + r) below n_hi, above n_lo
        a = log_k - n_hi
        t_lo = np.where(a > log_r, np.maximum(t_lo, a + np.log1p(-np.exp(log_r - a)) + 1e-9),
                        t_lo)
        b = log_k - n_lo
        t_hi = np.where(b > log_r,
                        np.minimum(t_hi, b + np.log1p(-np.exp(log_r - b)) - 1e-9), t_hi)
    return t_lo, t_hi


def _balanced(form, coef: dict, fixed, at, lo, hi, what: str):
    """The root x of L_N = L_D in [lo, hi] (:func:`bracketed_root`), ``at(x, fixed)`` giving
    (ln N, ln D, sign of the condition in x)."""
    def cond(x, d):
        ln_n, ln_d, sign = at(x, d["fixed"])
        with np.errstate(all="ignore"):
            _, dn, dd = form.log_slopes_at(d["coef"], ln_n, ln_d)
        return sign * (dd - dn)

    data = {"coef": coef, "fixed": fixed}
    ends = _ends(cond, lo, hi, data)
    _check_bracket(ends, f"compute-optimal model {what}")
    return bracketed_root(cond, lo, hi, data, ends=ends)


def optimal_at_params(form, coef: dict, ln_n):
    """ln D of the compute-optimal model with e^ln_n parameters: L_N = L_D at fixed N."""
    ln_n = np.asarray(ln_n, float)
    return _balanced(form, coef, ln_n, lambda t, n: (n, t, 1.0), ln_n - LOG_HALF_WIDTH,
                     ln_n + LOG_HALF_WIDTH, "with this many parameters")


def optimal_at_tokens(form, coef: dict, ln_d):
    """ln N of the compute-optimal model trained on e^ln_d tokens: L_N = L_D at fixed D."""
    ln_d = np.asarray(ln_d, float)
    n_lo, n_hi = form.log_params_limits(coef)
    return _balanced(form, coef, ln_d, lambda x, t: (x, t, -1.0),
                     np.maximum(ln_d - LOG_HALF_WIDTH, n_lo + 1e-9),
                     np.minimum(ln_d + LOG_HALF_WIDTH, n_hi - 1e-9), "on this many tokens")


def log_base_params(form, coef: dict, log_u):
    """ln N_opt(U): ln N of the compute-optimal model trained on D = U = e^log_u tokens under the
    law ``coef`` of ``form`` (arrays broadcast with ``log_u``; infinite for U = inf), beyond
    which parameters count as repeated (Muennighoff et al. 2023, sec. 3.1). For the chinchilla
    and tied forms Hoffmann et al. 2022's eq. 4 at D = U, N_opt(U) = (U G)^(beta/alpha) G,
    G = (alpha A / (beta B))^(1/(alpha+beta)), in logs:
    ln N_opt(U) = (ln(alpha A / (beta B)) + beta ln U) / alpha (datablations ``D_to_N``); for
    other forms the root of dL/d ln N = dL/d ln D at D = U (:func:`optimal_at_tokens`; an
    InputError where it has none)."""
    from .formlaw import CHINCHILLA_FORMS

    log_u = np.asarray(log_u, float)
    if form.name in CHINCHILLA_FORMS:
        a = coef["alpha"]
        b = coef.get("beta", a)
        return (np.log(a * coef["A"] / (b * coef["B"])) + b * log_u) / a
    own = {k: coef[k] for k in form.coefficients}
    shape = np.broadcast_shapes(log_u.shape, *(np.shape(val) for val in own.values()))
    log_u = np.broadcast_to(log_u, shape)
    fin = np.isfinite(log_u)
    if fin.all():
        return optimal_at_tokens(form, own, log_u)
    out = np.full(shape, np.inf)
    if fin.any():
        out[fin] = optimal_at_tokens(form, _take(_flat(own, shape), fin.ravel()), log_u[fin])
    return out


def base_params(form, coef: dict, u):
    """N_opt(U) = e^(:func:`log_base_params`) for U = ``u`` tokens."""
    with np.errstate(over="ignore"):
        return np.exp(log_base_params(form, coef, np.log(np.asarray(u, float))))


def params_for_loss(form, coef: dict, loss, ln_d):
    """ln N at which a model trained on e^ln_d tokens reaches ``loss`` (the loss falls with N);
    an InputError when even e^80 parameters (or the form's limit) do not reach it."""
    loss, ln_d = np.broadcast_arrays(np.asarray(loss, float), np.asarray(ln_d, float))
    n_lo, n_hi = form.log_params_limits(coef)
    loss, ln_d, lo, hi = np.broadcast_arrays(loss, ln_d, np.maximum(0.0, n_lo + 1e-9),
                                             np.minimum(80.0, n_hi - 1e-9))
    data = {"coef": coef, "loss": loss, "ln_d": ln_d}

    def gap(x, d):
        with np.errstate(all="ignore"):
            return d["loss"] - form.loss_at(d["coef"], x, d["ln_d"])

    g_lo, g_hi = _ends(gap, lo, hi, data)
    if not np.all(g_hi > 0):
        raise InputError("loss must be above the best loss this many tokens can reach with "
                         "any model size under this law")
    if not np.all(g_lo < 0):
        raise InputError("loss is reached by a model of under one parameter under this law")
    return bracketed_root(gap, lo, hi, data, ends=(g_lo, g_hi))


def chinchilla_budget(form, coef: dict, log_x, log_p, log_q):
    """(ln N, ln D) of the compute-optimal model whose lifetime cost p N D + q N is e^log_x:
    the root in s = ln(C/6) of ln(p e^s + q N*(s)) = ln X, N*(s) the compute-optimal size at
    C (:func:`budget` with r = 0); the log-cost increases with s."""
    log_x, log_p, log_q = np.broadcast_arrays(*(np.asarray(a, float)
                                                for a in (log_x, log_p, log_q)))
    s_hi = log_x - log_p
    s_lo = np.maximum(s_hi - LOG_HALF_WIDTH, MIN_LOG_C6)
    data = {"coef": coef, "log_x": log_x, "log_p": log_p, "log_q": log_q}

    def gap(s, d):
        ln_n, _ = budget(form, d["coef"], s, 0.0)
        return np.logaddexp(d["log_p"] + s, d["log_q"] + ln_n) - d["log_x"]

    if not np.all(gap(s_lo, data) < 0):
        raise InputError("the budget is too small for any compute-optimal model under this law "
                         "(inference alone costs more)")
    return budget(form, coef, bracketed_root(gap, s_lo, s_hi, data), 0.0)


# ------------------------------------------- inference costs Q(N) that are not linear in N
def bisect_all(func, lo, hi, *, xtol: float = 1e-13, maxiter: int = 200):
    """x in [lo, hi] with func(x) = 0 elementwise, func < 0 at lo and > 0 at hi, by bisection
    on whole arrays (``func`` sees every element at every step: for conditions whose
    per-scenario inputs, like a roofline objective's, cannot be restricted to the unsolved
    elements); non-finite values take the sign of the nearer end (:func:`signed`). Stops when
    every bracket is narrower than ``xtol * max(1, |x|)``."""
    lo, hi = np.broadcast_arrays(np.asarray(lo, float), np.asarray(hi, float))
    lo, hi = lo.copy(), hi.copy()
    end_lo, end_hi = lo.copy(), hi.copy()
    for _ in range(maxiter):
        mid = 0.5 * (lo + hi)
        neg = signed(lambda x, _: func(x), mid, None, end_lo, end_hi) < 0
        lo, hi = np.where(neg, mid, lo), np.where(neg, hi, mid)
        if np.all(hi - lo <= xtol * np.maximum(1.0, np.abs(mid))):
            return 0.5 * (lo + hi)
    raise ConvergenceError(f"optimal-model solver did not converge in {maxiter} iterations")


def _all_ends(func, lo, hi):
    return (signed(lambda x, _: func(x), lo, None, lo, hi),
            signed(lambda x, _: func(x), hi, None, lo, hi))


def dependent_fixed_loss(form, coef: dict, loss, marginal):
    """(ln N, ln D) of the model minimising p N D + Q(N) subject to L(N, D) = ``loss``, Q any
    increasing inference cost (the roofline serving model, :class:`~computeplan.objectives.
    RooflineDollarCost`). ``marginal(ln_n, ln_d)`` gives Q'(N) / (p D) on the whole arrays.
    Along the loss contour (as :func:`fixed_loss`) the cost's derivative in ln N, divided by
    p N D, is 1 - L_N / L_D + Q'(N) / (p D): -inf where the contour leaves to infinite data,
    above 1 for large N; its root (Q = q N: Q' / (p D) = r / D, the condition of
    :func:`fixed_loss`) by :func:`bisect_all` in the variable z of :func:`fixed_loss`."""
    loss = np.asarray(loss, float)
    lo_n, hi_n = form.log_params_range(coef, loss)
    lo_n, hi_n, loss = np.broadcast_arrays(lo_n, hi_n, loss)
    span = np.minimum(hi_n - lo_n, LOG_SPAN)
    if not np.all(span > 0):
        raise InputError("this law has no model that reaches the target loss")
    z_lo, z_hi = np.log(NEAR_FLOOR * span), np.log(span * (1 - 1e-9))

    def point(z):
        ln_n = lo_n + np.exp(z)
        return ln_n, form.log_tokens_at_loss(coef, ln_n, loss)

    def slope(z):
        ln_n, ln_d = point(z)
        with np.errstate(all="ignore"):
            _, dn, dd = form.log_slopes_at(coef, ln_n, ln_d)
            return 1.0 - dn / dd + marginal(ln_n, ln_d)

    _check_bracket(_all_ends(slope, z_lo, z_hi), "optimal model at this loss")
    return point(bisect_all(slope, z_lo, z_hi))


def dependent_budget(form, coef: dict, log_x, log_p, inference, marginal):
    """(ln N, ln D) of the model minimising L subject to p N D + Q(N) = e^``log_x``:
    ``inference(ln_n)`` gives Q(N) and ``marginal(ln_n)`` Q'(N), on the whole arrays (Q
    increasing). With D(N) = (X - Q(N)) / (p N), dL/d ln N = L_N - L_D (1 + N Q'(N) / (X - Q(N)))
    runs from < 0 (small N) to > 0 where D reaches one token (p N + Q(N) = X, found first);
    its root by :func:`bisect_all` in ln N, at most e^200 below that end and above one
    parameter (and within the form's limits, :meth:`~computeplan.forms.Form.log_params_limits`).
    """
    log_x, log_p = np.broadcast_arrays(np.asarray(log_x, float), np.asarray(log_p, float))
    x = np.exp(log_x)

    def gradient(t, ln_d):
        _, dn, dd = form.log_slopes_at(coef, t, ln_d)
        q_total = inference(t)
        return dn - dd * (1.0 + np.exp(t) * marginal(t) / (x - q_total))

    return dependent_budget_root(form, coef, x, log_x, log_p, inference, gradient,
                                 "optimal model within this budget")


def dependent_budget_root(form, coef: dict, x, log_x, log_p, inference, gradient, what: str):
    """(ln N, ln D) where ``gradient(ln_n, ln_d)`` (dL/d ln N along the budget, errors ignored)
    changes sign, with D(N) = (X - Q(N)) / (p N), X = ``x`` = e^``log_x``, p = e^``log_p`` and
    ``inference(ln_n)`` = Q(N): the bracket and root of :func:`dependent_budget` (shared by
    :func:`computeplan._formlimits.dependent_budget`). Where D is below one token the slope is
    +inf; ``what`` names the optimum in the error when the bracket does not hold."""
    top = log_x - log_p  # p N = X: D(N) = 1 or less
    with np.errstate(all="ignore"):
        t_max = bisect_all(lambda t: inference(t) + np.exp(log_p + t) - x,
                           top - 200 * np.log(10.0), top)
    n_lo, n_hi = form.log_params_limits(coef)
    t_lo = np.maximum(t_max - 200 * np.log(10.0), np.maximum(n_lo + 1e-9, 0.0))
    t_top = np.minimum(t_max, n_hi - 1e-9)

    def tokens(t):
        with np.errstate(all="ignore"):
            return np.log(x - inference(t)) - log_p - t

    def slope(t):
        ln_d = tokens(t)
        with np.errstate(all="ignore"):
            g = gradient(t, ln_d)
        return np.where(ln_d >= -1e-9, g, np.inf)

    _check_bracket(_all_ends(slope, t_lo, t_top), what)
    t = bisect_all(slope, t_lo, t_top)
    return t, tokens(t)
