"""A weighted average of laws of several forms: the law that ``computeplan fit --form average``
fits, planned by the same solvers as every form (:mod:`computeplan._formsolve`).

L(N, D) = sum_i w_i L_i(N, D), w_i > 0, sum_i w_i = 1, each L_i a law of another form
(:mod:`computeplan.forms`). The weights are fixed when the law is fitted (inverse squared
extrapolation cross-validation error, :mod:`computeplan.fitting.select`): a combination of
forecasts (Bates & Granger 1969, "The Combination of Forecasts", Operational Research Quarterly
20(4), weights inversely proportional to each forecast's mean squared error; Stock & Watson
2004, J. Forecasting 23, the same weights across many series), which is more accurate than the
one forecast a noisy score picks.

The form ``average(f1,f2,...)`` has the coefficients ``f.weight`` and ``f.<c>`` for each part f
and each coefficient c of f (a law file holds them as flat keys, and replicates as rows in this
order). Its loss, slopes in ln N and ln D and lowest loss are the weighted sums of its parts'
(each a linear functional of the parts); the tokens that reach a loss at N and the smallest N
that reaches it (closed forms for every single form) are roots of monotone functions, inside
brackets the parts give: at fixed N every L_i falls with D, so the average reaches a loss at a D
between the smallest and largest of the parts' own D_i at that loss. The tokens are found by
Newton's method on ln(L - L(N, inf)) safeguarded by that bracket
(:meth:`AverageForm._tokens_root`: the planner's solvers evaluate them at every step), the
smallest model by the planner's bracketed root finder
(:func:`computeplan._formsolve.bracketed_root`).
"""

from __future__ import annotations

from functools import cache

import numpy as np

from .errors import InputError
from .forms import FORMS, Form, _above, get_form

#: The prefix of an averaged form's name.
PREFIX = "average"
#: Sum of the weights must be 1 to this tolerance.
WEIGHT_TOLERANCE = 1e-9
#: The range of ln N searched for the smallest model that reaches a loss (e^-50 to e^250).
LOG_PARAMS_SEARCH = (-50.0, 250.0)
#: How far above the largest of the parts' ln D the average's ln D is searched.
LOG_TOKENS_SPAN = 200.0
#: Most Newton steps of :meth:`AverageForm.log_tokens_at_loss`, and how often one bisects.
NEWTON_MAXITER = 300
BISECT_EVERY = 8


def average_name(parts) -> str:
    return f"{PREFIX}({','.join(parts)})"


def is_average(name) -> bool:
    return isinstance(name, str) and name.startswith(PREFIX + "(") and name.endswith(")")


@cache
def average_form(name: str) -> AverageForm:
    """The averaged form called ``average(f1,f2,...)``: distinct single forms, at least two."""
    parts = tuple(p.strip() for p in name[len(PREFIX) + 1:-1].split(","))
    bad = [p for p in parts if p not in FORMS]
    if bad or len(parts) < 2 or len(set(parts)) != len(parts):
        raise InputError(f"unknown law form {name!r}; an averaged form is average(f1,f2,...) "
                         f"with two or more distinct forms of {', '.join(FORMS)}")
    return AverageForm(parts)


class AverageForm(Form):
    """sum_i w_i L_i(N, D) over ``parts`` (module docstring)."""

    def __init__(self, parts: tuple[str, ...]):
        self.parts = tuple(get_form(p) for p in parts)
        self.name = average_name(parts)
        self.coefficients = tuple(
            name for f in self.parts
            for name in (f"{f.name}.weight", *(f"{f.name}.{c}" for c in f.coefficients)))
        self.positive = tuple(f"{f.name}.weight" for f in self.parts) + tuple(
            f"{f.name}.{c}" for f in self.parts for c in f.positive)
        self.exponents = tuple(f"{f.name}.{c}" for f in self.parts for c in f.exponents)
        self.formula = "L = " + " + ".join(f"w_{f.name} L_{f.name}" for f in self.parts) + (
            ", the weights summing to 1")
        self.source = ("a combination of forecasts with fixed weights (Bates & Granger 1969); "
                       "the parts: " + "; ".join(f"{f.name}: {f.formula}" for f in self.parts))

    # ------------------------------------------------------------ coefficients
    def split(self, coef: dict) -> list[tuple[object, Form, dict]]:
        """(w_i, form_i, coefficients of part i) for every part."""
        return [(coef[f"{f.name}.weight"], f,
                 {c: coef[f"{f.name}.{c}"] for c in f.coefficients}) for f in self.parts]

    @staticmethod
    def join(parts) -> dict:
        """The coefficients of ``(weight, form, coefficients)`` triples (:meth:`split`'s
        inverse)."""
        out = {}
        for w, f, coef in parts:
            f = get_form(f)
            out[f"{f.name}.weight"] = w
            out |= {f"{f.name}.{c}": coef[c] for c in f.coefficients}
        return out

    def check(self, coef: dict, what: str = "law") -> dict[str, float]:
        out = super().check(coef, what)
        total = sum(w for w, _, _ in self.split(out))
        if not abs(total - 1.0) <= WEIGHT_TOLERANCE:
            raise InputError(f"{what} weights of form {self.name!r} must sum to 1; got "
                             f"{total:.12g}")
        return out

    def check_replicates(self, value) -> np.ndarray:
        """The replicate rows as :meth:`Form.check_replicates` checks them, each row's weights
        also summing to 1 (as :meth:`check` requires of the law's)."""
        arr = super().check_replicates(value)
        cols = [self.coefficients.index(f"{f.name}.weight") for f in self.parts]
        total = arr[:, cols].sum(axis=1)
        bad = np.flatnonzero(~(np.abs(total - 1.0) <= WEIGHT_TOLERANCE))
        if bad.size:
            raise InputError(f"law replicates: the weights of form {self.name!r} must sum to 1 in "
                             f"every row; got {total[bad[0]]:.12g} in row {int(bad[0])}")
        return arr

    # ---------------------------------------------------------------- numerics
    def _loss(self, c, ln_n, ln_d):
        return sum(w * f._loss(p, ln_n, ln_d) for w, f, p in self.split(c))

    def _slopes(self, c, ln_n, ln_d):
        total = [0.0, 0.0, 0.0]
        for w, f, p in self.split(c):
            for j, s in enumerate(f._slopes(p, ln_n, ln_d)):
                total[j] = total[j] + w * s
        return tuple(total)

    def irreducible(self, coef: dict) -> float | None:
        """sum_i w_i of the parts' irreducible losses (None when a part has none)."""
        floors = [(w, f.irreducible(p)) for w, f, p in self.split(coef)]
        if any(x is None for _, x in floors):
            return None
        return float(sum(w * x for w, x in floors))

    def log_params_limits(self, coef: dict):
        """Where every part is a law: the narrowest of the parts' limits."""
        lo, hi = -np.inf, np.inf
        for _, f, p in self.split(coef):
            a, b = f.log_params_limits(p)
            lo, hi = np.maximum(lo, a), np.minimum(hi, b)
        return lo, hi

    def floor(self, coef: dict):
        """The lowest loss at any N, D: the average's loss at infinite data at the largest N
        searched (the edge of :meth:`log_params_limits`, else N -> infinity: the weighted sum
        of the parts' irreducible losses, each part's own limit at infinite N)."""
        _, hi = self.log_params_limits(coef)
        hi = np.where(np.isfinite(hi), hi, LOG_PARAMS_SEARCH[1])
        return self.loss_at_infinite_data(coef, hi)

    def loss_at_infinite_data(self, coef: dict, ln_n):
        """L(N, inf) = sum_i w_i L_i(N, inf). Where a part's value is NaN, its limit at large N
        (:func:`computeplan._formensemble._floor`: E, or Farseer's exp(b3)): only at huge N
        does that happen, where Farseer's data exponent exp(a1 N^alpha + b1) underflows to 0
        (beyond ln N ~ 110 for tests/form_laws.py's law) and its data term at infinite data
        is 0 x inf, while its loss at infinite data has long reached exp(b3)."""
        from ._formensemble import _floor

        total = 0.0
        for w, f, p in self.split(coef):
            with np.errstate(all="ignore"):
                value = f.loss_at(p, ln_n, np.inf)
            if np.any(np.isnan(value)):
                value = np.where(np.isnan(value), _floor(f, p), value)
            total = total + w * value
        return total

    def log_params_range(self, c, loss):
        """(lo, hi) of ln N between which some D reaches ``loss``: lo the root in ln N of the
        average's loss at infinite data (falling with N, each part's does) minus ``loss``, in
        :data:`LOG_PARAMS_SEARCH` within :meth:`log_params_limits`; hi that limit."""
        from . import _formsolve as solve

        floor = self.floor(c)
        if not np.all(np.isfinite(floor)):  # a part with no loss target says why
            from ._formensemble import _floor

            for _, f, p in self.split(c):
                if not np.all(np.isfinite(_floor(f, p))):
                    try:
                        f.log_params_range(p, np.inf)
                    except InputError as exc:
                        raise InputError(f"the {f.name} part of this averaged law: "
                                         f"{exc}") from None
        loss = _above(loss, floor, "the weighted sum of the parts' lowest losses")
        lim_lo, lim_hi = self.log_params_limits(c)
        a = np.maximum(lim_lo, LOG_PARAMS_SEARCH[0])
        b = np.minimum(lim_hi, LOG_PARAMS_SEARCH[1])

        def excess(x, d):  # < 0 at small N (the loss out of reach), > 0 at large N
            return _finite(d["loss"] - self.loss_at_infinite_data(d["c"], x))

        shape = np.broadcast_shapes(np.shape(loss), np.shape(a), np.shape(b),
                                    *(np.shape(v) for v in c.values()))
        data = {"loss": loss, "c": c}
        at_a = excess(np.broadcast_to(a, shape), {"loss": loss, "c": c})
        lo = np.where(at_a >= 0, a, np.nan)
        todo = ~(at_a >= 0)
        if np.any(todo):
            root = solve.bracketed_root(excess, a, b, data)
            lo = np.where(todo, root, lo)
        return lo, np.broadcast_to(lim_hi, shape) + 0.0

    def log_tokens_at_loss(self, c, ln_n, loss):
        """ln D at which the average reaches ``loss`` at ln N: the root of loss - L(N, D) in
        ln D, bracketed by the parts' own ln D_i at ``loss`` (module docstring; a part that
        cannot reach the loss at N does not bound it above, so the bracket then extends
        :data:`LOG_TOKENS_SPAN` beyond the others'); NaN outside :meth:`log_params_range`.
        The root by :meth:`_tokens_root`."""
        ln_n = np.asarray(ln_n, float)
        loss = np.asarray(loss, float)
        with np.errstate(all="ignore"):
            at_inf = self.loss_at_infinite_data(c, ln_n)
            ts = [f.log_tokens_at_loss(p, ln_n, loss) for _, f, p in self.split(c)]
        t = np.stack(np.broadcast_arrays(*ts))
        finite = np.isfinite(t)
        reach = (at_inf < loss) & finite.any(axis=0)
        lo = np.min(np.where(finite, t, np.inf), axis=0)
        hi = np.max(np.where(finite, t, -np.inf), axis=0)
        hi = np.where(finite.all(axis=0), hi, hi + LOG_TOKENS_SPAN)
        lo, hi = np.where(reach, lo, 0.0), np.where(reach, hi, 1.0)
        out = np.full(np.broadcast_shapes(lo.shape, np.shape(ln_n), np.shape(loss)), np.nan)
        if not np.any(reach):
            return out

        shape = out.shape
        keep = np.broadcast_to(reach, shape)
        sel = {k: (np.broadcast_to(v, shape)[keep] if np.ndim(v) else v) for k, v in c.items()}
        out[keep] = self._tokens_root(sel, np.broadcast_to(ln_n, shape)[keep],
                                      np.broadcast_to(loss, shape)[keep],
                                      np.broadcast_to(lo, shape)[keep],
                                      np.broadcast_to(hi, shape)[keep],
                                      np.broadcast_to(at_inf, shape)[keep])
        return out

    def _tokens_root(self, c, ln_n, loss, lo, hi, at_inf):
        """The root x in [lo, hi] of L(N, x) = ``loss`` (1-d arrays, L(lo) >= loss >= L(hi),
        ``at_inf`` the loss at infinite data): Newton's method from lo on
        h(x) = ln(L(N, x) - L(N, inf)) = ln(``loss`` - L(N, inf)), x = ln D, safeguarded by the
        bracket (L falls with D). h is linear in x for one part of the chinchilla, tied,
        beta-of-n or farseer forms (data terms c e^(-k x)) and nearly so for their weighted
        sums and Kaplan's (u1 + B e^-x)^beta, so a few steps reach the root (about 5 from lo
        on the test laws, against about 20 evaluations of the bracketed root finder). A step
        that leaves the bracket, or is not finite (L - L(N, inf) rounded to 0 far out in D),
        or every :data:`BISECT_EVERY`-th one, bisects the bracket instead. An element stops
        when its step, or its bracket, is below ``xtol max(1, |x|)``, xtol = 1e-13 as the
        planner's root finder (:func:`computeplan._formsolve.bracketed_root`)."""
        from .errors import ConvergenceError

        x, lo, hi = lo.copy(), lo.copy(), hi.copy()
        out = np.empty(x.shape)
        idx = np.arange(x.size)
        for it in range(NEWTON_MAXITER):
            with np.errstate(all="ignore"):
                val, _, dd = self._slopes(c, ln_n, x)
                g = _finite(loss - val)  # < 0 left of the root (and where a part overflows)
                lo, hi = np.where(g < 0, x, lo), np.where(g > 0, x, hi)
                rest = val - at_inf
                new = x + (np.log(loss - at_inf) - np.log(rest)) * rest / dd
            mid = 0.5 * (lo + hi)
            ok = np.isfinite(new) & (new >= lo) & (new <= hi) & (it % BISECT_EVERY
                                                                 != BISECT_EVERY - 1)
            new = np.where(ok, new, mid)
            tol = 1e-13 * np.maximum(1.0, np.abs(new))
            done = (g == 0) | (np.abs(new - x) <= tol) | (hi - lo <= tol)
            x = np.where(g == 0, x, new)
            if done.any():
                out[idx[done]] = x[done]
                if done.all():
                    return out
                keep = ~done
                idx, x, lo, hi, ln_n, loss, at_inf = (
                    a[keep] for a in (idx, x, lo, hi, ln_n, loss, at_inf))
                c = {k: v[keep] if np.ndim(v) else v for k, v in c.items()}
        raise ConvergenceError(f"tokens-at-loss solver did not converge in {NEWTON_MAXITER} "
                               "iterations")

    def value_jac(self, x, ln, ld, cn, cd):  # pragma: no cover - fitted part by part
        raise InputError(f"a law of form {self.name!r} is fitted part by part (the fit of "
                         "form average), not as one form")

    starts = to_natural = from_natural = from_chinchilla = value_jac

    def __repr__(self) -> str:
        return f"AverageForm({self.name!r})"


def _finite(excess):
    """A target minus a loss that overflowed (a part's loss too large for a double, far inside
    the bracket) as the largest negative double: the root finder's sign is then right
    everywhere, not only near the bracket's ends (:func:`computeplan._formsolve.signed`)."""
    return np.where(np.isnan(excess), -np.finfo(float).max,
                    np.maximum(excess, -np.finfo(float).max))
