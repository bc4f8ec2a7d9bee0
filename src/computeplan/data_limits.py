"""Finite data: unique-token limits and repeated epochs.

Source: Muennighoff et al. 2023, "Scaling Data-Constrained Language Models" (arXiv 2305.16264),
eq. (5) and section 3; the definitions follow their public code
(github.com/huggingface/datablations, README "Parametric Fit", ``scaling_law`` and ``D_to_N``).

This module's formulas and solvers are the Chinchilla form's; every public function here also
takes a law of another form (:mod:`computeplan.forms`) and hands it to
:mod:`computeplan._formlimits` (D' and N' in that form's loss, its own N_opt(U), R_D* and R_N*
assumed from Muennighoff et al. unless the law sets them).

With U unique tokens, D total training tokens and N parameters, repeated tokens and excess
parameters are worth less than fresh ones:

- U_D = min(D, U), R_D = max(D / U - 1, 0) (repetitions: epochs - 1),
  D' = U_D + U_D R_D* (1 - exp(-R_D / R_D*));
- U_N = min(N, N_opt(U)), where N_opt(U) is the compute-optimal size for D = U tokens under the
  same law (N = G (D G)^(beta/alpha), G = (alpha A / (beta B))^(1/(alpha+beta)); Hoffmann et al.
  2022, eq. 4; datablations ``D_to_N``), R_N = max(N / U_N - 1, 0),
  N' = U_N + U_N R_N* (1 - exp(-R_N / R_N*));
- L = E + A / N'^alpha + B / D'^beta.

D' <= D and N' <= N, with equality when D <= U and N <= N_opt(U); with U = infinity the law is
the plain Chinchilla law. D' saturates at U (1 + R_D*) and N' at N_opt(U) (1 + R_N*), so no
model trained on U unique tokens gets below (:func:`lowest_reachable_loss`)
L_min(U) = E + A / (N_opt(U) (1 + R_N*))^alpha + B / (U (1 + R_D*))^beta.

**The data-limited lifetime optimum.** Minimise cost N (p D + q) (r = q / p, as in
:mod:`computeplan.lifetime`) subject to L(N, D; U) = l, or minimise L subject to N (p D + q) = X.
In n = log N, d = log D both problems are convex: the elasticities
eps_D = dlog D' / dlog D = (D / U) exp(-R_D / R_D*) / (D' / U) (1 below U) and likewise eps_N
are non-increasing (d log eps / d log x = 1 - x / R* - eps <= 0, because eps >= phi' =
exp(-R / R*) >= 1 - R / R*, x = 1 + R), so log D', log N' are concave, A N'^-alpha + B D'^-beta is
convex in (n, d), and so is log cost = n + log(p e^d + q). Eliminating N with the constraint
leaves a convex function of d alone (composition rule), whose stationarity condition is the
first-order condition (Lagrange)

    alpha A N'^-alpha eps_N D / (D + r) = beta B D'^-beta eps_D,

which for U = infinity is Sardana et al.'s condition (alpha A N^-alpha = beta B D^-beta
(1 + r / D)). We solve Phi(d) = log(alpha A N'^-alpha eps_N) - log1p(r / D)
- log(beta B D'^-beta eps_D) = 0, strictly increasing in d, by Newton's method with the analytic
derivative, safeguarded by a bracket (bisection when a step leaves it), vectorised over scenarios:

- fixed loss (delta = l - E, s = B D'^-beta / delta): N' = (A / (delta (1 - s)))^(1/alpha),
  N = the inverse of N' (N'(N) is invertible below its cap); Phi = log(alpha/beta) + log1p(-s)
  - log s + log eps_N - log eps_D - log1p(r / D); the feasible d start where N -> infinity;
- fixed budget X: N = X / (p (D + r)).

Where the unlimited optimum already has D <= U (then N < N_opt(D) <= N_opt(U): at the optimum
alpha A N^-alpha > beta B D^-beta), the limit does not bind and the unlimited plan is returned
unchanged (bit for bit where no scenario of a block binds, U = infinity in particular; else to
rounding, the unlimited solver's stopping rule being per block).

**Fast fixed-loss solve.** With K = B / (delta U^beta) and rho = r / U the fixed-loss problem in
x = D / U depends on K and rho alone (s = K (D'/U)^-beta, N'/N_opt(U) = ((beta/alpha) K /
(1 - s))^(1/alpha)): the limit binds exactly when the unlimited condition at D = U fails,
alpha (1 - K) < beta K (1 + rho) (closed form, no unlimited solve), and a target is reachable
exactly when K < K_max = 1 / ((beta/alpha)(1 + R_N*)^-alpha + (1 + R_D*)^-beta). A table of
log x* on a grid of log rho and v = log((K - K_min) / (K_max - K)) (K_min the binding
threshold), solved once per law (about 8,000 scenarios), gives by bilinear interpolation a
start within ~1e-3 of the root; two plain, branch-free Newton steps then finish about nine
scenarios in ten, and the safeguarded Newton iteration takes the rest.

Objectives whose inference cost Q(N) is not linear in N (the roofline model) are solved by
bisection on the sign of the derivative of the cost (fixed loss, in d) or of the loss (fixed
budget, in log N), as in :mod:`computeplan._nonlinear`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache, partial

import numpy as np

from . import _validate as v
from ._nonlinear import _bisect_log
from ._solve import blockwise
from .demand import Demand
from .errors import ConvergenceError, InputError
from .laws import ChinchillaLaw, get_law
from .vocabulary import option

#: Newton steps in log D are capped at this (a factor e^3 = 20 in D).
MAX_STEP = 3.0
#: Relative step in log D at which the data-limited Newton iteration stops (the first-order
#: condition then holds to ~1e-12).
XTOL = 1e-13
MAXITER = 100


def check_unique_tokens(unique_tokens, law: ChinchillaLaw | None = None) -> np.ndarray:
    """``unique_tokens`` as a float array: > 0 and not NaN (infinity means no limit); and, when a
    ``law`` is given, that it has the repetition coefficients rd_star and rn_star."""
    u = v.as_float_array("unique_tokens", unique_tokens)
    bad = np.isnan(u) | (u <= 0)
    if bad.any():
        raise InputError(f"{option('unique_tokens')} must be a number > 0 (inf for no limit); "
                         f"got {v._first_bad(u, bad)}")
    if law is not None and _other(law):
        return u  # R_D*, R_N* default to Muennighoff et al.'s (:func:`_formlimits.repetition`)
    if law is not None:
        missing = [c for c in ("rd_star", "rn_star") if getattr(law, c) is None]
        if missing:
            raise InputError(f"{option('unique_tokens')} needs the law's repetition coefficients "
                             f"{' and '.join(missing)} (Muennighoff et al. 2023), which law "
                             f"{law.name!r} lacks; set them in the law file or give "
                             f"{' and '.join(map(option, missing))}")
    return u


def _other(law) -> bool:
    """Whether ``law`` is of another form than the Chinchilla form (:mod:`computeplan.
    _formlimits` then computes its data limits)."""
    return getattr(law, "form", "chinchilla") != "chinchilla"


def _stars(law) -> tuple[float, float]:
    """(R_D*, R_N*) of the law (for another form, its own or the assumed ones)."""
    if _other(law):
        from ._formlimits import repetition

        return repetition(law)[:2]
    return law.rd_star, law.rn_star


def _log_base_params(law: ChinchillaLaw, log_u):
    """log N_opt(U) = log(alpha A / (beta B)) / alpha + (beta / alpha) log U (Hoffmann et al.
    2022, eq. 4 at D = U; datablations ``D_to_N``): :func:`computeplan._formsolve.log_base_params`
    of the Chinchilla form."""
    from ._formsolve import log_base_params
    from .forms import FORMS

    return log_base_params(FORMS["chinchilla"], _chinchilla_coef(law), log_u)


def _chinchilla_coef(law) -> dict:
    """The five coefficients of a :class:`ChinchillaLaw` or of a
    :class:`computeplan.uncertainty.Ensemble` of its replicates (arrays; it has no
    ``coefficients()``, hence the attributes)."""
    return {"E": law.E, "A": law.A, "B": law.B, "alpha": law.alpha, "beta": law.beta}


def base_params(law: ChinchillaLaw, unique_tokens) -> np.ndarray:
    """N_opt(U): the compute-optimal parameter count for D = U tokens, beyond which extra
    parameters count as 'repeated' (Muennighoff et al. 2023, sec. 3.1; datablations
    ``D_to_N(U) = (U G)^(beta/alpha) G``; :func:`computeplan._formsolve.base_params`)."""
    u = check_unique_tokens(unique_tokens)
    if _other(law):
        from . import _formlimits

        return _formlimits.base_params(law, u)
    from ._formsolve import base_params as of_form
    from .forms import FORMS

    return of_form(FORMS["chinchilla"], _chinchilla_coef(law), u)


def _effective(x, base, star):
    """base_x = min(x, base), R = max(x / base_x - 1, 0), x' = base_x + base_x R* (1 - e^(-R/R*))
    (Muennighoff et al. 2023, eq. 5), with 1 - e^(-R/R*) = -expm1(-R/R*): exact for R << R*
    (a large R*), where 1 - e^(-R/R*) would cancel."""
    with np.errstate(invalid="ignore", over="ignore"):
        ux = np.minimum(x, base)
        r = np.maximum(x / ux - 1.0, 0.0)
        # min: x' <= x (eq. 5), which rounding could break by an ulp for a large R*
        return np.minimum(x, ux * (1.0 - star * np.expm1(r / -star)))


def effective_tokens(law: ChinchillaLaw, train_tokens, unique_tokens) -> np.ndarray:
    """D' = U_D + U_D R_D* (1 - exp(-R_D / R_D*)), U_D = min(D, U), R_D = max(D / U - 1, 0)
    (Muennighoff et al. 2023, eq. 5; datablations ``scaling_law``). Equals D when D <= U."""
    u = check_unique_tokens(unique_tokens, law)
    d = v.positive("train_tokens", train_tokens)
    return _effective(d, u, _stars(law)[0])


def effective_params(law: ChinchillaLaw, params, unique_tokens) -> np.ndarray:
    """N' = U_N + U_N R_N* (1 - exp(-R_N / R_N*)), U_N = min(N, N_opt(U)), R_N = max(N / U_N - 1,
    0) (Muennighoff et al. 2023, eq. 5; datablations ``scaling_law``)."""
    u = check_unique_tokens(unique_tokens, law)
    n = v.positive("params", params)
    return _effective(n, base_params(law, u), _stars(law)[1])


def limited_loss(law: ChinchillaLaw, params, train_tokens, unique_tokens) -> np.ndarray:
    """L(N, D; U) = E + A / N'^alpha + B / D'^beta (Muennighoff et al. 2023, eq. 5). With
    ``muennighoff2023``: L(6.34e9, 242e9, 25e9) = 2.2256440889984477 (datablations README)."""
    law = get_law(law, any_form=True)
    if _other(law):
        from . import _formlimits

        u = check_unique_tokens(unique_tokens, law)
        return _formlimits.limited_loss(law, v.positive("params", params),
                                        v.positive("train_tokens", train_tokens), u)
    n_eff = effective_params(law, params, unique_tokens)
    d_eff = effective_tokens(law, train_tokens, unique_tokens)
    # Written as law.loss writes it, so that U = inf gives law.loss bit for bit.
    return law.E + law.A * n_eff**-law.alpha + law.B * d_eff**-law.beta


def lowest_reachable_loss(law: ChinchillaLaw, unique_tokens) -> np.ndarray:
    """The infimum of L(N, D; U) over all N, D: E + A / (N_opt(U) (1 + R_N*))^alpha
    + B / (U (1 + R_D*))^beta, approached as N and D go to infinity (D' and N' saturate)."""
    law = get_law(law, any_form=True)
    u = check_unique_tokens(unique_tokens, law)
    if _other(law):
        from . import _formlimits

        return _formlimits.lowest_reachable_loss(law, u)
    log_u = np.log(u)
    return (law.E + law.A * np.exp(-law.alpha * (_log_base_params(law, log_u)
                                                 + np.log1p(law.rn_star)))
            + law.B * np.exp(-law.beta * (log_u + np.log1p(law.rd_star))))


def _inverse_effective(x_eff, base, star):
    """x from x' = base_x (1 + R* (1 - e^(-R/R*))) (inverse of eq. 5 below its cap
    base (1 + R*); infinite at or beyond it): R = -R* log(1 - y / R*), y = x' / base - 1, with
    log1p (exact for y << R*)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        z = np.maximum(x_eff / base - 1.0, 0.0) / star
        return np.where(z < 1.0, np.minimum(x_eff, base) * (1.0 - star * np.log1p(-z)), np.inf)


def limited_tokens_for_loss(law: ChinchillaLaw, loss, params, unique_tokens) -> np.ndarray:
    """Training tokens D with L(N, D; U) = ``loss`` for ``params`` N: D' = (B / (l - E
    - A N'^-alpha))^(1/beta), then D from D' (inverse of Muennighoff et al. 2023, eq. 5).
    InputError, naming the lowest loss this N reaches with U unique tokens, when none does."""
    law = get_law(law, any_form=True)
    u = check_unique_tokens(unique_tokens, law)
    if _other(law):
        from . import _formlimits

        return _formlimits.tokens_for_loss(law, loss, params, u)
    n_eff = effective_params(law, params, u)
    return _for_loss(law, loss, u, law.A * n_eff**-law.alpha, (law.B, law.beta, u, law.rd_star),
                     "tokens", "these parameters")


def limited_params_for_loss(law: ChinchillaLaw, loss, train_tokens, unique_tokens) -> np.ndarray:
    """Parameters N with L(N, D; U) = ``loss`` for ``train_tokens`` D (as
    :func:`limited_tokens_for_loss`, solving for N' and then N)."""
    law = get_law(law, any_form=True)
    u = check_unique_tokens(unique_tokens, law)
    if _other(law):
        from . import _formlimits

        return _formlimits.params_for_loss(law, loss, train_tokens, u)
    d_eff = effective_tokens(law, train_tokens, u)
    return _for_loss(law, loss, u, law.B * d_eff**-law.beta,
                     (law.A, law.alpha, base_params(law, u), law.rn_star), "params",
                     "these training tokens")


def _for_loss(law, loss, u, fixed_term, term, what, given):
    """x with E + ``fixed_term`` + c / x'^e = ``loss``, ``term`` = (c, e, base, R*): x' = (c /
    (l - E - fixed_term))^(1/e), then x from x' (inverse of Muennighoff et al. 2023, eq. 5);
    InputError naming the lowest reachable loss, E + fixed_term + c / (base (1 + R*))^e, when x
    is infinite."""
    coef, exponent, base, star = term
    lv = np.asarray(loss, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        rest = lv - law.E - fixed_term
        x_eff = (coef / rest) ** (1.0 / exponent)
        x = np.where(rest > 0, _inverse_effective(x_eff, base, star), np.inf)
    _check_finite(what, x, law, lv, u,
                  law.E + fixed_term + coef * (base * (1.0 + star)) ** -exponent, given)
    return x


def _check_finite(what, x, law, loss, u, floor, given):
    bad = ~np.isfinite(x)
    if bad.any():
        i = np.flatnonzero(np.broadcast_to(bad, np.shape(x)).ravel())[0]

        def pick(a):
            return float(np.broadcast_to(a, np.shape(x)).ravel()[i])

        raise InputError(f"{option('loss')} {pick(loss):.6g} cannot be reached with {given} "
                         f"and {option('unique_tokens')} {pick(u):.4g} at any number of {what}: "
                         f"it must be above {pick(floor):.6g}, the lowest reachable loss (law "
                         f"{law.name}); target a higher loss")


def epochs(train_tokens, unique_tokens) -> np.ndarray:
    """Epochs over the unique data, D / U (0 for an unlimited U)."""
    with np.errstate(over="ignore"):
        return np.asarray(train_tokens, float) / np.asarray(unique_tokens, float)


# ------------------------------------------------------------------ log-space building blocks
def _forward(log_x, log_base, star):
    """x' = base_x (1 + R* (1 - e^(-R/R*))) in logs: log x', log eps, eps = dlog x'/dlog x,
    g = dlog eps/dlog x and x / base (module docstring). Three transcendental calls (exp and log
    only: the solvers' cost is dominated by them; expm1 for 1 - e^(-R/R*), which would cancel
    for R << R*)."""
    with np.errstate(over="ignore", invalid="ignore"):
        x = np.exp(log_x - log_base)                          # x / base
        rep = np.maximum(x - 1.0, 0.0)                        # R
        em1 = np.expm1(rep / -star)                           # e^(-R/R*) - 1
        e = 1.0 + em1
        ratio = 1.0 - star * em1                              # x' / base_x
        log_ratio = np.log(ratio)
        log_xe = np.minimum(log_x, log_base) + log_ratio
        eps = (1.0 + rep) * e / ratio
        log_eps = np.maximum(log_x - log_base, 0.0) - rep / star - log_ratio
        g = np.where(rep > 0, 1.0 - (1.0 + rep) / star - eps, 0.0)
    return log_xe, log_eps, eps, g, x


def _inverse(log_xe, log_base, star):
    """Inverse of :func:`_forward` for x' below its cap base (1 + R*): log x, log eps, eps and g
    (NaN at or beyond the cap, where x is infinite; log1p and expm1 keep y << R* exact)."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        y = np.maximum(np.expm1(log_xe - log_base), 0.0)      # x' / base - 1, in [0, R*)
        w = 1.0 - y / star                                     # e^(-R/R*)
        log_w = np.log1p(-y / star)
        rep = -star * log_w                                    # R
        log_1r = np.log(1.0 + rep)
        log_x = np.minimum(log_xe, log_base) + log_1r
        eps = (1.0 + rep) * w / (1.0 + y)
        log_eps = log_1r + log_w - np.maximum(log_xe - log_base, 0.0)
        g = np.where(y > 0, 1.0 - (1.0 + rep) / star - eps, 0.0)
    return log_x, log_eps, eps, g


def _newton(phi, args, x0, lo, hi, *, xtol=XTOL, maxiter=MAXITER):
    """Root of each element of the increasing ``phi(x, *args)`` (``args`` per-element arrays)
    bracketed by ``lo`` < root < ``hi`` (either may be infinite), with quantities that depend
    on x carried to the root: ``phi`` returns (Phi, Phi', aux, aux') (aux a tuple of arrays, aux'
    their derivatives in x); returns (root, aux at the root).

    Newton steps capped at MAX_STEP; where Phi > 0 (root to the left, where Phi grows like e^d:
    repeated tokens lose value exponentially in epochs) the step is taken in e^d,
    d + log(1 - Phi/Phi'), which needs fewer steps; bisection when a step leaves the bracket
    (and where Phi is NaN, left of the feasible range, a step of MAX_STEP to the right).
    An element is done when its step is below ``xtol * max(1, |x|)``, or its bracket has
    collapsed to that width (rounding noise in Phi), or the error left after its step,
    estimated from quadratic convergence as |step|^3 / |previous step|^2 (both full Newton
    steps), is below that tolerance and step^2 below it too: then no further evaluation is made
    and aux moves to the root to first order (aux + aux' step, exact to O(step^2), the same
    order as the root's own tolerance). Done elements are frozen, and the
    active set is compressed whenever it has halved (compressing costs as much as a step's
    arithmetic), so the cost follows the average number of steps, not the largest.
    """
    x = np.array(x0, float)
    n = x.size
    out = np.empty(n)
    idx = np.arange(n)
    lo = np.broadcast_to(np.asarray(lo, float), (n,)).copy()
    hi = np.broadcast_to(np.asarray(hi, float), (n,)).copy()
    prev = np.full(n, np.nan)                    # |previous step| (none yet)
    active = np.ones(n, bool)
    f, df, aux, daux = phi(x, *args)
    aux_out = [np.empty(n) for _ in aux]
    for _ in range(maxiter):
        neg = ~(f >= 0)                          # NaN: left of the feasible range
        lo = np.where(neg, x, lo)
        hi = np.where(neg, hi, x)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            full = f / df
            step = np.clip(full, -MAX_STEP, MAX_STEP)
            newton = np.where(step > 0, x + np.log(1.0 - np.minimum(step, 0.5)), x - step)
            scale = xtol * np.maximum(1.0, np.abs(x))
            # A converged step may land on (or by rounding just past) an end of the bracket.
            inside = ((newton >= lo) & (newton <= hi)) | (np.abs(step) <= scale)
            fallback = np.where(np.isfinite(lo) & np.isfinite(hi), 0.5 * (lo + hi),
                                np.where(neg, x + MAX_STEP, x - MAX_STEP))
            x_new = np.where(inside, newton, fallback)
            dx = x_new - x
            size = np.abs(dx)
            done = active & ((size <= scale) | (hi - lo <= scale)
                             | (inside & (size < prev) & (size**3 <= scale * prev**2)
                                & (size**2 <= scale)))
        if done.any():
            out[idx[done]] = x_new[done]
            for o, a, da in zip(aux_out, aux, daux, strict=True):
                o[idx[done]] = a[done] + da[done] * dx[done]
        active &= ~done
        x = np.where(active, x_new, x)          # done elements stay frozen
        # Only a full Newton step predicts the next one's size.
        prev = np.where(inside & (full >= -MAX_STEP) & (full <= 0.5), size, np.nan)
        count = np.count_nonzero(active)
        if count == 0:
            return out, aux_out
        if 2 * count <= x.size:
            idx, x, lo, hi, prev = idx[active], x[active], lo[active], hi[active], prev[active]
            args = [a[active] for a in args]
            active = np.ones(count, bool)
        f, df, aux, daux = phi(x, *args)
    raise ConvergenceError(f"data-limited optimum did not converge in {maxiter} iterations")


def _fixed_loss_state(law, d, log_u, log_no, log_bd, log_adn, r_u):
    """The data-limited iso-loss curve at d = log D (fixed loss, module docstring), with eight
    transcendental calls and no branches (NaN beyond the feasible range, where N is infinite):
    Phi, dPhi/dd and (as :func:`_newton`'s aux, with derivatives) log N' / N_opt(U), 1 + R_N
    and log D'. ``log_bd`` = log(B / delta), ``log_adn`` = log(A / delta) / alpha
    - log N_opt(U), ``r_u`` = r / U."""
    a, b, rd, rn = law.alpha, law.beta, law.rd_star, law.rn_star
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        t = d - log_u
        x = np.exp(t)                                          # D / U
        mx = np.maximum(x, 1.0)                                # 1 + R_D
        rep = mx - 1.0                                         # R_D
        em1 = np.expm1(rep / -rd)                              # e^(-R_D/R_D*) - 1
        e = 1.0 + em1
        ratio = 1.0 - rd * em1                                 # D' / U_D (exact for a large R_D*)
        log_ratio = np.log(ratio)
        log_de = np.minimum(d, log_u) + log_ratio              # log D'
        log_s = log_bd - b * log_de                            # s = B D'^-beta / delta
        s = np.exp(log_s)
        om = 1.0 - s
        log_1s = np.log(om)
        log_y1 = log_adn - log_1s * (1.0 / a)                  # log N' / N_opt(U)
        y = np.maximum(np.expm1(log_y1), 0.0)                  # y = N' / N_opt(U) - 1
        y1 = 1.0 + y
        w = 1.0 - y / rn                                       # e^(-R_N / R_N*)
        log_w = np.log1p(-y / rn)
        np1 = 1.0 - rn * log_w                                 # 1 + R_N
        r_d = r_u / x                                          # r / D
        opr = 1.0 + r_d
        # log(alpha/beta) + log(1 - s) - log s + log eps_N - log eps_D - log(1 + r / D)
        val = (np.log(a / b) + log_1s - log_s + np.log(np1 / (opr * y1)) + log_w
               - (np.maximum(t, 0.0) - log_ratio) + rep / rd)
        eps_d = mx * e / ratio
        eps_n = np1 * w / y1
        g_d = (1.0 - mx / rd - eps_d) * (x > 1.0)              # dlog eps_D / dlog D
        dnp = (y1 > 1.0)
        g_n = (1.0 - np1 / rn - eps_n) * dnp
        dn = (-b / a) * s * eps_d / (om * eps_n)               # dlog N / dlog D on the curve
        dval = (g_n - a * eps_n) * dn + r_d / opr + b * eps_d - g_d
        aux = (log_y1, np1, log_de)
        daux = (eps_n * dn, np1 * dn * dnp, eps_d)
    return val, dval, aux, daux


def _two_steps(phi, args, x0, *, xtol=XTOL):
    """Two plain Newton steps from a close ``x0`` (no brackets, no branches): (x, aux at x,
    done), done where the error left after the second step, estimated from quadratic
    convergence as in :func:`_newton`, and that step squared are below ``xtol * max(1, |x|)``."""
    f, df, _, _ = phi(x0, *args)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        s0 = f / df
        x1 = x0 - s0
        f, df, aux, daux = phi(x1, *args)
        s1 = f / df
        scale = xtol * np.maximum(1.0, np.abs(x0))
        s1sq = s1 * s1
        done = (s1sq <= scale) & (s1sq * np.abs(s1) <= scale * (s0 * s0))
        x = x1 - s1
        aux = [u - du * s1 for u, du in zip(aux, daux, strict=True)]
    return x, aux, done, x1


def _fixed_loss_newton(law, delta, r, log_u, log_no, d0):
    """(N, D, loss) on the data-limited iso-loss curve L(N, D; U) = E + delta where Phi = 0, by
    :func:`_newton` from log D = ``d0`` (1-D arrays)."""
    log_delta = np.log(delta)
    args = (log_u, log_no, np.log(law.B) - log_delta,
            (np.log(law.A) - log_delta) / law.alpha - log_no, r * np.exp(-log_u))
    phi = partial(_fixed_loss_state, law)
    d, (log_y1, rep_n1, log_de), done, d1 = _two_steps(phi, args, d0)
    if not done.all():                   # the rest, safeguarded, from the better start
        rest = np.flatnonzero(~done)
        start = np.where(np.isfinite(d1[rest]), d1[rest], d0[rest])
        d[rest], (log_y1[rest], rep_n1[rest], log_de[rest]) = _newton(
            phi, [a[rest] for a in args], start, -np.inf, np.inf)
    with np.errstate(over="ignore"):
        # log N = log N_opt(U) + min(log N' / N_opt(U), 0) + log(1 + R_N) (inverse of eq. 5)
        n = np.exp(log_no + np.minimum(log_y1, 0.0) + np.log(rep_n1))
        loss = (law.E + law.A * np.exp(-law.alpha * (log_no + log_y1))
                + law.B * np.exp(-law.beta * log_de))
    return n, np.exp(d), loss


#: The starting-point table of the fixed-loss solver: log(D / U) at the data-limited optimum on
#: a grid of log rho (rho = r / U) and v (module docstring), spacing GUESS_STEP.
GUESS_LOG_RHO = (-10.0, 10.0)
GUESS_V = (-12.0, 12.0)
GUESS_STEP = 0.25


def _k_bounds(law, rho):
    """K_min(rho), K_max: the limit binds for K > K_min = alpha / (alpha + beta (1 + rho)) and
    a target is reachable for K < K_max = 1 / ((beta/alpha) (1 + R_N*)^-alpha
    + (1 + R_D*)^-beta) (module docstring)."""
    a, b = law.alpha, law.beta
    k_max = 1.0 / ((b / a) * (1.0 + law.rn_star) ** -a + (1.0 + law.rd_star) ** -b)
    return a / (a + b * (1.0 + rho)), k_max


@lru_cache(maxsize=16)
def _guess_table(alpha, beta, rd_star, rn_star) -> np.ndarray:
    """log(D / U) of the data-limited fixed-loss optimum on the (log rho, v) grid, solved once
    per law from the unlimited optimum (about 8,000 scenarios)."""
    from .lifetime import _solve_fixed_loss

    law = ChinchillaLaw(E=1.0, A=1.0, B=1.0, alpha=alpha, beta=beta, rd_star=rd_star,
                        rn_star=rn_star, name="guess")
    p = np.arange(GUESS_LOG_RHO[0], GUESS_LOG_RHO[1] + GUESS_STEP / 2, GUESS_STEP)
    v = np.arange(GUESS_V[0], GUESS_V[1] + GUESS_STEP / 2, GUESS_STEP)
    p, v = (g.ravel() for g in np.meshgrid(p, v, indexing="ij"))
    rho = np.exp(p)
    k_min, k_max = _k_bounds(law, rho)
    k = (k_min + k_max * np.exp(v)) / (1.0 + np.exp(v))
    table = np.full(p.shape, np.nan)
    ok = k_min < k_max                   # else no reachable target binds at this rho
    u = np.ones(np.count_nonzero(ok))    # U = 1: delta = B / K, r = rho
    delta, r = 1.0 / k[ok], rho[ok]
    _, d_unl = _solve_fixed_loss(law, delta, r)
    log_u = np.zeros_like(u)
    _, d, _ = _fixed_loss_newton(law, delta, r, log_u, _log_base_params(law, log_u),
                                 np.log(d_unl))
    table[ok] = np.log(d)
    return table.reshape(-1, round((GUESS_V[1] - GUESS_V[0]) / GUESS_STEP) + 1)


def _guess(law, log_k, k, rho, log_u):
    """Starting log D from :func:`_guess_table` by bilinear interpolation (NaN where the
    table has no value)."""
    table = _guess_table(law.alpha, law.beta, law.rd_star, law.rn_star)
    k_min, k_max = _k_bounds(law, rho)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = (np.log(rho) - GUESS_LOG_RHO[0]) / GUESS_STEP
        v = (np.log(k - k_min) - np.log(k_max - k) - GUESS_V[0]) / GUESS_STEP
    p = np.clip(p, 0.0, table.shape[0] - 1.0)
    v = np.clip(v, 0.0, table.shape[1] - 1.0)
    i = np.minimum(p.astype(np.intp), table.shape[0] - 2)
    j = np.minimum(v.astype(np.intp), table.shape[1] - 2)
    fp, fv = p - i, v - j
    flat = table.ravel()
    at = i * table.shape[1] + j
    t00, t01 = flat[at], flat[at + 1]
    t10, t11 = flat[at + table.shape[1]], flat[at + table.shape[1] + 1]
    return log_u + (t00 + (t01 - t00) * fv) * (1.0 - fp) + (t10 + (t11 - t10) * fv) * fp


def _fixed_loss_block(law, delta, r, u):
    """(N, D, loss) of the data-limited fixed-loss optimum for 1-D arrays.

    With K = B / (delta U^beta), rho = r / U the unlimited optimum has D > U (the limit binds)
    exactly when alpha (1 - K) < beta K (1 + rho) (its first-order condition at D = U; module
    docstring). Where it does not bind, the unlimited optimum with its plain loss (where no
    scenario of the block binds, :func:`~computeplan.lifetime.lifetime_optimal` bit for bit);
    where it binds, Newton's method on Phi from :func:`_guess`."""
    log_u = np.log(u)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        log_k = np.log(law.B) - np.log(delta) - law.beta * log_u
        k = np.exp(log_k)
        rho = r / u
    mask = law.alpha * (1.0 - k) < law.beta * k * (1.0 + rho)
    if not mask.any():
        return _free_block(law, delta, r)
    n, d, loss = np.empty_like(delta), np.empty_like(delta), np.empty_like(delta)
    free = np.flatnonzero(~mask)   # index arrays: boolean masks of random scenarios are slow
    if free.size:
        n[free], d[free], loss[free] = _free_block(law, delta[free], r[free])
    k_max = _k_bounds(law, 0.0)[1]
    bind = np.flatnonzero(mask & (k < k_max))    # K >= K_max: unreachable, NaN (the caller)
    unreachable = np.flatnonzero(mask & ~(k < k_max))
    n[unreachable] = d[unreachable] = loss[unreachable] = np.nan
    delta, r, log_u, log_k, k, rho = (a[bind] for a in (delta, r, log_u, log_k, k, rho))
    d0 = _guess(law, log_k, k, rho, log_u)
    lost = np.flatnonzero(np.isnan(d0))
    if lost.size:                           # outside the table: from the unlimited optimum
        d0[lost] = np.log(_free_block(law, delta[lost], r[lost])[1])
    n[bind], d[bind], loss[bind] = _fixed_loss_newton(law, delta, r, log_u,
                                                      _log_base_params(law, log_u), d0)
    return n, d, loss


def _free_block(law, delta, r):
    """(N, D, loss): the unlimited optimum (Sardana et al. 2024) with its plain loss."""
    from .lifetime import _solve_fixed_loss

    n, d = _solve_fixed_loss(law, delta, r)
    return n, d, law.loss(n, d)


def _budget_state(law, d, log_u, log_no, log_xp, r_u):
    """Phi, dPhi/dd and (aux, with derivatives) log N, log N', log D' at d = log D on the
    budget line N = X / (p (D + r)) (``log_xp`` = log(X / p), ``r_u`` = r / U; module
    docstring)."""
    a, b, rd, rn = law.alpha, law.beta, law.rd_star, law.rn_star
    log_de, log_eps_d, eps_d, g_d, x = _forward(d, log_u, rd)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        r_d = r_u / x                                      # r / D
        log_1r = np.log(1.0 + r_d)
        log_n = log_xp - d - log_1r
        log_ne, log_eps_n, eps_n, g_n, _ = _forward(log_n, log_no, rn)
        val = (np.log(a * law.A / (b * law.B)) - a * log_ne + log_eps_n - log_1r + b * log_de
               - log_eps_d)
        dn = -1.0 / (1.0 + r_d)
        dval = (g_n - a * eps_n) * dn + r_d / (1.0 + r_d) + b * eps_d - g_d
    return val, dval, (log_n, log_ne, log_de), (dn, eps_n * dn, eps_d)


def _budget_block(law, x, p, r, u, n_unl, d_unl):
    """(N, D, loss) of the data-limited fixed-budget optimum for 1-D arrays (as
    :func:`_fixed_loss_block`)."""
    n, d = n_unl.copy(), d_unl.copy()
    mask = d > u
    if not mask.any():
        return n, d, law.loss(n, d)
    loss = np.empty_like(d)
    loss[~mask] = law.loss(n[~mask], d[~mask])
    u = u[mask]
    log_u = np.log(u)
    args = (log_u, _log_base_params(law, log_u), np.log(x[mask]) - np.log(p[mask]), r[mask] / u)

    d_l, (log_n, log_ne, log_de) = _newton(partial(_budget_state, law), args,
                                           np.log(d_unl[mask]), -np.inf, np.inf)
    with np.errstate(over="ignore"):
        n[mask], d[mask] = np.exp(log_n), np.exp(d_l)
    loss[mask] = law.E + law.A * np.exp(-law.alpha * log_ne) + law.B * np.exp(-law.beta * log_de)
    return n, d, loss


def foc_residual(law: ChinchillaLaw, params, train_tokens, unique_tokens, r) -> np.ndarray:
    """Phi = log(alpha A N'^-alpha eps_N D / (D + r)) - log(beta B D'^-beta eps_D): zero at the
    data-limited optimum with inference demand r = q / p (module docstring)."""
    u = check_unique_tokens(unique_tokens, law)
    n, d = v.positive("params", params), v.positive("train_tokens", train_tokens)
    log_u = np.log(u)
    log_de, log_eps_d = _forward(np.log(d), log_u, law.rd_star)[:2]
    log_ne, log_eps_n = _forward(np.log(n), _log_base_params(law, log_u), law.rn_star)[:2]
    return (np.log(law.alpha * law.A) - law.alpha * log_ne + log_eps_n - np.log1p(r / d)
            - np.log(law.beta * law.B) + law.beta * log_de - log_eps_d)


# ------------------------------------------------------------------ solvers on arrays
def _binding(law, n, d, u):
    """Where the unlimited optimum (n, d) is changed by the limit U: D > U. (N > N_opt(U) needs
    D > U there: every optimum has alpha A N^-alpha >= beta B D^-beta, i.e. N <= N_opt(D).)
    Under a law of another form, D > U or N > N_opt(U)."""
    if _other(law):
        from ._formlimits import binding

        return binding(law, n, d, u)
    return np.asarray(d > u)


def check_reachable(law: ChinchillaLaw, loss, unique_tokens) -> None:
    """InputError when a target loss is at or below the lowest loss reachable with U unique
    tokens at any model size (:func:`lowest_reachable_loss`), naming that loss."""
    floor = lowest_reachable_loss(law, unique_tokens)
    lv = np.asarray(loss, float)
    bad = np.broadcast_to(lv <= floor, np.broadcast_shapes(lv.shape, np.shape(floor)))
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0]) if bad.ndim else ()
        lb = np.broadcast_to(lv, bad.shape)[idx]
        fb = np.broadcast_to(floor, bad.shape)[idx]
        ub = np.broadcast_to(np.asarray(unique_tokens, float), bad.shape)[idx]
        where = f" (at index {idx[0] if len(idx) == 1 else idx})" if idx else ""
        raise InputError(f"{option('loss')} {float(lb):.6g}{where} cannot be reached with "
                         f"{option('unique_tokens')} {float(ub):.4g}: it must be above "
                         f"{float(fb):.6g}, the lowest reachable loss with that many unique "
                         f"tokens at any model size (law {law.name}); target a higher loss or "
                         "give more unique tokens")


def limited_fixed_loss(law: ChinchillaLaw, delta, r, unique_tokens):
    """(N, D, loss) minimising N (D + r) at L(N, D; U) = E + delta: the unlimited optimum (with
    its plain loss) where the limit does not bind; NaN where E + delta is not above the lowest
    reachable loss (:func:`check_reachable` says so). Runs in cache-sized blocks
    (:func:`~computeplan._solve.blockwise`)."""
    return blockwise(lambda *a: _fixed_loss_block(law, *a), delta, r, unique_tokens)


def limited_budget(law: ChinchillaLaw, budget, p, r, unique_tokens, n_unl, d_unl):
    """(N, D, loss) minimising L(N, D; U) at N (p D + p r) = budget, given the unlimited
    optimum (as :func:`limited_fixed_loss`)."""
    return blockwise(lambda *a: _budget_block(law, *a), budget, p, r, unique_tokens, n_unl,
                     d_unl)


# --------------------------------------------- objectives with a non-linear inference cost Q(N)
def dependent_limited_fixed_loss(law, delta, objective, demand, unique_tokens, n_unl, d_unl):
    """argmin over d = log D of p N D + Q(N) on the data-limited iso-loss curve, by bisection on
    the sign of its derivative p N D (1 + n'(d)) + N Q'(N) n'(d) (module docstring)."""
    a, b = law.alpha, law.beta
    shape = np.broadcast_shapes(np.shape(delta), np.shape(unique_tokens), np.shape(n_unl),
                                np.shape(demand.total_tokens))
    delta, u = (np.broadcast_to(np.asarray(y, float), shape) for y in (delta, unique_tokens))
    log_u = np.log(u)
    log_no = _log_base_params(law, log_u)
    p = objective.train_usd_per_param_token
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        n_cap_term = law.A * np.exp(-a * (log_no + np.log1p(law.rn_star)))
        d_min = _inverse((np.log(law.B) - np.log(delta - n_cap_term)) / b, log_u,
                         law.rd_star)[0]

    def curve(d):
        log_de, _, eps_d, _, _ = _forward(d, log_u, law.rd_star)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            s = law.B * np.exp(-b * log_de) / delta
            log_ne = (np.log(law.A / delta) - np.log1p(-s)) / a
            log_n, _, eps_n, _ = _inverse(log_ne, log_no, law.rn_star)
            dn = -(b * s * eps_d) / (a * (1.0 - s) * eps_n)
        return log_n, dn

    def slope(d):
        log_n, dn = curve(d)
        with np.errstate(over="ignore", invalid="ignore"):
            n = np.exp(log_n)
            out = p * n * np.exp(d) * (1.0 + dn) + n * objective.marginal_cost(n, demand) * dn
        return np.nan_to_num(out, nan=-np.inf)

    hi = np.maximum(np.log(np.asarray(d_unl, float)), d_min + 1.0) + np.zeros(shape)
    for _ in range(200):
        pos = slope(hi) > 0
        if np.all(pos):
            break
        hi = np.where(pos, hi, hi + np.log(10.0))
    else:
        raise ConvergenceError("no upper bracket for the data-limited roofline optimum")
    d = _bisect_log(slope, d_min + 1e-12 * np.maximum(1.0, np.abs(d_min)), hi)
    log_n, _ = curve(d)
    return np.exp(log_n), np.exp(d)


def dependent_limited_budget(law, x, objective, demand, unique_tokens, n_unl, d_unl):
    """argmin over t = log N of L(N, (X - Q(N)) / (p N); U), by bisection on the sign of
    -alpha A N'^-alpha eps_N + beta B D'^-beta eps_D (1 + N Q'(N) / (X - Q(N)))."""
    a, b = law.alpha, law.beta
    p = objective.train_usd_per_param_token
    u = np.asarray(unique_tokens, float)
    log_u = np.log(u)
    log_no = _log_base_params(law, log_u)
    t_max = np.log(np.asarray(n_unl, float))
    # Upper end: the N whose inference alone spends the budget (Q increases with N).
    for _ in range(200):
        over = objective.inference_cost(np.exp(t_max), demand) >= x
        if np.all(over):
            break
        t_max = np.where(over, t_max, t_max + np.log(10.0))
    else:
        raise ConvergenceError("no model size spends the whole budget on inference")
    t_max = _bisect_log(lambda t: objective.inference_cost(np.exp(t), demand) - x,
                        t_max - 200 * np.log(10.0), t_max)

    def tokens(n):
        return (x - objective.inference_cost(n, demand)) / (p * n)

    def slope(t):
        n = np.exp(t)
        q_total = objective.inference_cost(n, demand)
        d = (x - q_total) / (p * n)
        log_ne, _, eps_n, _, _ = _forward(t, log_no, law.rn_star)
        log_de, _, eps_d, _, _ = _forward(np.log(d), log_u, law.rd_star)
        out = (-a * law.A * np.exp(-a * log_ne) * eps_n
               + b * law.B * np.exp(-b * log_de) * eps_d
               * (1.0 + n * objective.marginal_cost(n, demand) / (x - q_total)))
        return np.nan_to_num(out, nan=np.inf, posinf=np.inf)

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        t = _bisect_log(slope, t_max - 200 * np.log(10.0), t_max - 1e-12)
    n = np.exp(t)
    return n, tokens(n)


# ------------------------------------------------------------------ plans
@dataclass(frozen=True)
class DataLimit:
    """What a unique-token limit does to a plan: the limited plan's epochs and effective data,
    the unlimited plan beside it, and what the limit costs (more lifetime cost at a target loss,
    a higher loss within a budget)."""

    unique_tokens: np.ndarray
    epochs: np.ndarray  # D / U of the limited plan
    effective_tokens: np.ndarray  # D' (Muennighoff et al. 2023, eq. 5)
    effective_params: np.ndarray  # N'
    binding: np.ndarray  # the unlimited plan needs more than U tokens
    lowest_reachable_loss: np.ndarray  # with U unique tokens at any model size
    base_params: np.ndarray  # N_opt(U): parameters beyond it count less
    unlimited: object  # LifetimePlan: the plan without the limit
    unlimited_epochs: np.ndarray
    unlimited_loss_with_limit: np.ndarray  # the unlimited plan's (N, D) trained on U tokens
    extra_cost: np.ndarray  # limited - unlimited lifetime cost (FLOPs or USD)
    extra_cost_ratio: np.ndarray  # limited / unlimited - 1
    loss_given_up: np.ndarray  # limited - unlimited loss (0 at a target loss)
    cost_unit: str  # "flops" or "usd"
    chinchilla_epochs: np.ndarray | None = None  # D / U of the Chinchilla-optimal reference
    rd_star: float | None = None
    rn_star: float | None = None
    #: A dated plan (:mod:`computeplan.timeline`): ``extra_cost`` is in present value.
    present_value: bool = False
    #: The repetition coefficients assumed (Muennighoff et al.'s, fitted with the Chinchilla
    #: form) for a law of another form that sets none (:mod:`computeplan._formlimits`).
    repetition_assumed: tuple[str, ...] = ()
    #: One plan repeating its data beyond the epochs R_D*, R_N* were fitted on, in words
    #: (:func:`computeplan.extrapolation.epochs_warnings`).
    warnings: tuple[str, ...] = ()

    @property
    def cost_key(self) -> str:
        return "total_cost_usd" if self.cost_unit == "usd" else "total_flops"

    def to_dict(self) -> dict:
        extra = ({"chinchilla_epochs": self.chinchilla_epochs}
                 if self.chinchilla_epochs is not None else {})
        if self.present_value:
            extra["extra_cost_is_present_value"] = True
        return {
            "unique_tokens": self.unique_tokens,
            "binding": self.binding,
            "epochs": self.epochs,
            "effective_tokens": self.effective_tokens,
            "effective_params": self.effective_params,
            "lowest_reachable_loss": self.lowest_reachable_loss,
            "base_params": self.base_params,
            f"extra_{self.cost_key}": self.extra_cost,
            "extra_cost_ratio": self.extra_cost_ratio,
            "loss_given_up": self.loss_given_up,
            "unlimited": self.unlimited.to_dict(),
            "unlimited_epochs": self.unlimited_epochs,
            "unlimited_loss_with_limit": self.unlimited_loss_with_limit,
            **extra,
            "rd_star": self.rd_star,
            "rn_star": self.rn_star,
            "definition": "Muennighoff et al. 2023 (arXiv 2305.16264) eq. 5: repeated tokens "
                          "and excess parameters decay with R_D* = rd_star, R_N* = rn_star",
        } | _assumed_dict(self.repetition_assumed) | {"warnings": list(self.warnings)}


@dataclass(frozen=True)
class ModelLimit:
    """One model (N, D) trained on U unique tokens: epochs, effective data and parameters
    (Muennighoff et al. 2023, eq. 5), its loss beside the loss with unlimited unique data."""

    unique_tokens: np.ndarray
    epochs: np.ndarray
    effective_tokens: np.ndarray
    effective_params: np.ndarray
    base_params: np.ndarray
    loss: np.ndarray
    unlimited_loss: np.ndarray
    lowest_reachable_loss: np.ndarray
    rd_star: float
    rn_star: float
    repetition_assumed: tuple[str, ...] = ()
    #: Repetition beyond the epochs R_D*, R_N* were fitted on, in words (as :class:`DataLimit`).
    warnings: tuple[str, ...] = ()

    @property
    def binding(self) -> np.ndarray:
        """Whether the limit changes the loss (D > U or N > N_opt(U))."""
        return np.asarray(self.loss > self.unlimited_loss)

    def to_dict(self) -> dict:
        return {"unique_tokens": self.unique_tokens, "binding": self.binding,
                "epochs": self.epochs, "effective_tokens": self.effective_tokens,
                "effective_params": self.effective_params, "base_params": self.base_params,
                "loss": self.loss, "unlimited_loss": self.unlimited_loss,
                "loss_given_up": self.loss - self.unlimited_loss,
                "lowest_reachable_loss": self.lowest_reachable_loss,
                "rd_star": self.rd_star, "rn_star": self.rn_star
                } | _assumed_dict(self.repetition_assumed) | {"warnings": list(self.warnings)}


def _assumed_dict(assumed) -> dict:
    """The JSON of assumed repetition coefficients (none: nothing)."""
    if not assumed:
        return {}
    return {"repetition_assumed": list(assumed),
            "repetition_note": ASSUMED_NOTE}


#: What an assumed repetition coefficient is (:mod:`computeplan._formlimits`).
ASSUMED_NOTE = ("Muennighoff et al. 2023's fitted values (R_D* 15.39, R_N* 5.31), fitted with the "
                "Chinchilla form only, assumed for this law, which sets none of its own "
                "(computeplan fit --unique-tokens-col fits them for any form); effective "
                "tokens and parameters enter the form's own loss")


def _assumed(law) -> tuple[str, ...]:
    if _other(law):
        from ._formlimits import repetition

        return repetition(law)[2]
    return ()


def model_limit(law: ChinchillaLaw, params, train_tokens, unique_tokens,
                label: str = "the model") -> ModelLimit:
    """The :class:`ModelLimit` of the model (N, D) with U unique tokens (``label`` names it in
    its warnings)."""
    law = get_law(law, any_form=True)
    u = check_unique_tokens(unique_tokens, law)
    n_epochs = epochs(train_tokens, u)
    return ModelLimit(u, n_epochs, effective_tokens(law, train_tokens, u),
                      effective_params(law, params, u), base_params(law, u),
                      limited_loss(law, params, train_tokens, u), law.loss(params, train_tokens),
                      lowest_reachable_loss(law, u), *_stars(law), _assumed(law),
                      _epochs_warnings(law, label, n_epochs))


def _epochs_warnings(law, label: str, n_epochs) -> tuple[str, ...]:
    """:func:`computeplan.extrapolation.epochs_warnings` of one model (none for arrays of
    scenarios, whose columns carry the epochs)."""
    if np.ndim(n_epochs) != 0:
        return ()
    from .extrapolation import epochs_warnings

    return tuple(epochs_warnings(law, label, n_epochs))


def data_limit(law: ChinchillaLaw, unique_tokens, limited, unlimited, objective,
               chinchilla=None, *, at_budget: bool = False) -> DataLimit:
    """The :class:`DataLimit` of a limited plan beside the unlimited one (both LifetimePlans;
    ``chinchilla``, the reference model, for its epochs). Both plans reach the same loss (the
    limit costs lifetime cost, ``loss_given_up`` is 0) or, ``at_budget``, cost the same (the
    limit costs loss, ``extra_cost`` is 0): the other difference is rounding, and reported as 0."""
    u = np.asarray(unique_tokens, float)
    key = "total_cost_usd" if objective.priced else "total_flops"
    lim_cost, unl_cost = getattr(limited, key), getattr(unlimited, key)
    if at_budget:
        lim_cost = unl_cost + 0.0 * lim_cost
    unl_epochs = epochs(unlimited.train_tokens, u)
    lim_epochs = epochs(limited.train_tokens, u)
    rd_star, rn_star = _stars(law)
    return DataLimit(
        unique_tokens=u,
        epochs=lim_epochs,
        effective_tokens=_effective(limited.train_tokens, u, rd_star),
        effective_params=_effective(limited.params, base_params(law, u), rn_star),
        binding=np.asarray(_binding(law, unlimited.params, unlimited.train_tokens, u)),
        lowest_reachable_loss=lowest_reachable_loss(law, u),
        base_params=base_params(law, u),
        unlimited=unlimited,
        unlimited_epochs=unl_epochs,
        unlimited_loss_with_limit=limited_loss(law, unlimited.params, unlimited.train_tokens, u),
        extra_cost=lim_cost - unl_cost,
        extra_cost_ratio=lim_cost / unl_cost - 1.0,
        loss_given_up=np.where(at_budget, limited.loss - unlimited.loss, 0.0),  # no -0.0
        cost_unit="usd" if objective.priced else "flops",
        chinchilla_epochs=None if chinchilla is None else epochs(chinchilla.train_tokens, u),
        rd_star=rd_star, rn_star=rn_star, repetition_assumed=_assumed(law),
        warnings=_epochs_warnings(law, "the optimum", lim_epochs),
    )


def with_limited_loss(law: ChinchillaLaw, plan, unique_tokens):
    """The plan with its loss under the unique-token limit."""
    return replace(plan, loss=limited_loss(law, plan.params, plan.train_tokens, unique_tokens))


def limited_optimal(law: str | ChinchillaLaw = "sardana2024", *, loss, unique_tokens,
                    inference_tokens=None, demand: Demand | None = None, cost=None):
    """The model reaching ``loss`` at the lowest lifetime cost when only ``unique_tokens`` unique
    tokens exist (module docstring), as a :class:`~computeplan.lifetime.LifetimePlan` whose loss
    is the data-limited loss. ``unique_tokens = inf`` gives :func:`lifetime_optimal` exactly.
    Raises InputError, naming the lowest reachable loss, when no model reaches ``loss``."""
    from .lifetime import _dependent, _lifetime_optimal, _setup

    law, demand, objective = _setup(law, demand, inference_tokens, cost)
    u = check_unique_tokens(unique_tokens, law)
    n = d = None
    if _dependent(objective) or _other(law):
        plan = _lifetime_optimal(law, loss, demand, objective)
        n, d = plan.params, plan.train_tokens
    return limited_plan(law, u, demand, objective, n, d, loss=loss)


def limited_budget_optimal(law: str | ChinchillaLaw = "sardana2024", *, budget, unique_tokens,
                           inference_tokens=None, demand: Demand | None = None, cost=None):
    """The lowest data-limited loss within a lifetime ``budget`` (FLOPs, or USD with ``cost``);
    round-trips with :func:`limited_optimal`."""
    from .lifetime import _budget_optimal, _setup

    law, demand, objective = _setup(law, demand, inference_tokens, cost)
    u = check_unique_tokens(unique_tokens, law)
    plan = _budget_optimal(law, budget, demand, objective)
    return limited_plan(law, u, demand, objective, plan.params, plan.train_tokens, budget=budget)


def limited_plan(law, u, demand, objective, n_unl, d_unl, *, loss=None, budget=None):
    """The data-limited plan (a LifetimePlan with the data-limited loss) for a target ``loss`` or
    a ``budget``, from the unlimited optimum (n_unl, d_unl), kept where the limit does not bind
    (unused, and may be None, for a target loss with a linear objective)."""
    from .lifetime import _budget_inputs, _dependent, _loss_inputs, _ratio, evaluate

    if _other(law):
        from . import _formlimits

        return _formlimits.limited_plan(law, u, demand, objective, n_unl, d_unl, loss=loss,
                                        budget=budget)
    if loss is not None:
        inputs = _loss_inputs(objective)
        delta = law._reducible(loss)
        if _dependent(objective):
            check_reachable(law, loss, u)
    else:
        inputs = _budget_inputs(objective)
        x = v.positive("budget_usd" if objective.priced else "budget_flops", budget)
    if _dependent(objective):
        mask = _binding(law, n_unl, d_unl, u)
        n, d = np.array(n_unl, float), np.array(d_unl, float)
        if np.any(mask):
            solver = dependent_limited_fixed_loss if loss is not None else (
                dependent_limited_budget)
            n_l, d_l = solver(law, delta if loss is not None else x, objective, demand, u,
                              n_unl, d_unl)
            n, d = np.where(mask, n_l, n), np.where(mask, d_l, d)
    else:
        p, q = objective.coefficients(demand)
        r = _ratio(p, q, inputs)
        if loss is not None:
            n, d, lim = limited_fixed_loss(law, delta, r, u)
            if np.isnan(lim).any():      # the solver marks targets it cannot reach
                check_reachable(law, loss, u)
                raise ConvergenceError("data-limited optimum: a target near the lowest "
                                       "reachable loss could not be solved")
        else:
            n, d, lim = limited_budget(law, x, p, r, u, n_unl, d_unl)
        return evaluate(law, n, d, demand, objective, inputs=inputs, loss=lim)
    return with_limited_loss(law, evaluate(law, n, d, demand, objective, inputs=inputs), u)


__all__ = [
    "DataLimit", "ModelLimit", "base_params", "check_reachable", "check_unique_tokens",
    "data_limit",
    "effective_params", "effective_tokens", "epochs", "foc_residual", "limited_budget_optimal",
    "limited_loss", "limited_optimal", "limited_params_for_loss", "limited_plan",
    "limited_tokens_for_loss", "lowest_reachable_loss", "model_limit",
]
