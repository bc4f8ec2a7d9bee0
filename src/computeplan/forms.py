"""Scaling-law forms L(N, D): the Chinchilla form and forms proposed for better extrapolation.

Each form gives the loss for named coefficients, the exact gradient of the loss with respect to
its fitting coordinates (for the batched multi-start fit in :mod:`computeplan.fitting.forms`),
its derivatives in log N and log D (for the planner's first-order conditions, see
:mod:`computeplan.formlaw`) and a start grid in the spirit of Hoffmann et al.'s.

Forms (N parameters, D training tokens, losses in nats/token):

- ``chinchilla``: L = E + A N^-alpha + B D^-beta (Hoffmann et al. 2022, eq. 2).
- ``tied``: the Chinchilla form with alpha = beta, L = E + A N^-alpha + B D^-alpha: the form
  behind Gadre et al. 2024's L(C, M) = E + (a M^eta + b M^-eta) C^-eta (arXiv 2403.08540,
  eq. 4; with C = 6 N D and M = D / N, a M^eta C^-eta = a 6^-eta N^-2eta, so alpha = 2 eta).
- ``kaplan``: L = E + (A N^(-alpha/beta) + B / D)^beta: Kaplan et al. 2020's joint law
  L(N, D) = [(N_c / N)^(alpha_N / alpha_D) + D_c / D]^alpha_D (arXiv 2001.08361, eq. 1.5) with
  an irreducible term E added (Henighan et al. 2020, arXiv 2010.14701, eq. 1.1, and Hoffmann et
  al.'s E), A = N_c^(alpha/beta), B = D_c, alpha = alpha_N, beta = alpha_D.
- ``beta-of-n``: L = E + A N^-alpha + B D^-beta(N), beta(N) = beta0 + beta1 ln(N / 1e9): a data
  exponent that varies with model size, the first-order (in ln N) version of Farseer's
  size-dependent data exponent (Li et al. 2025, below).
- ``farseer``: L = exp(a3 N^gamma + b3) + exp(a2 N^beta + b2) D^(-exp(a1 N^alpha + b1))
  (Li et al. 2025, "Predictable Scale: Part II, Farseer: A Refined Scaling Law in Large
  Language Models", arXiv 2506.10972, eq. 3 of v3): the loss at infinite data, the data-term
  scale and the data exponent each a stretched exponential of N. Nine coefficients. Checked
  against the authors' code (github.com/Farseer-Scaling-Law/Farseer,
  ``scalinglaw_utils/scaling_law_fiting/non_linear_model.py``, class ``ExpExpExpFit``:
  exp(s N^q + S) + exp(B N^b + Q) D^-exp(A N^a + E), i.e. a3, gamma, b3 = s, q, S;
  a2, beta, b2 = B, b, Q; a1, alpha, b1 = A, a, E), which takes N in parameters and D in
  tokens (its fits select runs such as N > 3e9, D > 6e9; its loss is in bits per character).
  Here N is in *billions* of parameters, the same family of laws (a unit change of N only
  rescales a1, a2, a3): the authors' coefficients convert as a_i = a_i' 1e9^exponent_i
  (:func:`farseer_from_authors`). D is in tokens as in their code: the unit of D is *not*
  absorbed (D^-k with k depending on N), so D in billions would be another family of laws.

The fitting coordinates ``x`` are the natural coefficients re-expressed at the centre of the
runs (ln N - c_N, ln D - c_D) so that the prefactors are nearly uncorrelated with the exponents;
:meth:`Form.to_natural` and :meth:`Form.from_natural` convert exactly.
"""

from __future__ import annotations

import itertools
import math
import numbers

import numpy as np

from ._lawdata import EXPONENT_RANGE, MIN_EXPONENT, MIN_REPLICATES
from .errors import InputError

#: ln(1e9): beta-of-n's reference size and Farseer's unit (billions).
LN_1E9 = math.log(1e9)


def _above(loss, floor, name: str) -> np.ndarray:
    """``loss`` as an array after checking it is above the law's irreducible loss ``floor``
    (called ``name``; an array of them for law replicates)."""
    from . import _validate as v

    what = (f"{name} = {float(floor):g} (the law's irreducible loss)" if np.ndim(floor) == 0
            else f"{name} (the law's irreducible loss) of every replicate")
    return v.greater_than("loss", loss, floor, what)


def _grid(*axes) -> np.ndarray:
    return np.array(list(itertools.product(*axes)), dtype=float)


class Form:
    """A law form: ``name``, ``coefficients`` (names, in the order of every array of them),
    ``positive`` (coefficients that must be > 0), ``exponents`` (those whose value near 0 makes
    a term flat), ``formula`` and ``source``."""

    name: str = ""
    coefficients: tuple[str, ...] = ()
    positive: tuple[str, ...] = ()
    exponents: tuple[str, ...] = ()
    formula: str = ""
    source: str = ""

    @property
    def n_coefficients(self) -> int:
        return len(self.coefficients)

    # ---------------------------------------------------------------- coefficients
    def check(self, coef: dict, what: str = "law") -> dict[str, float]:
        """Validated natural coefficients: exactly this form's names, each a real number in its
        range (:meth:`check_range`); a one-line InputError otherwise."""
        if not isinstance(coef, dict):
            raise InputError(f"{what} coefficients must be an object with keys "
                             f"{', '.join(self.coefficients)}")
        missing = [c for c in self.coefficients if c not in coef]
        if missing:
            raise InputError(f"{what} of form {self.name!r} is missing coefficient(s) "
                             f"{missing}; the form needs {list(self.coefficients)}")
        out = {}
        for c in self.coefficients:
            value = coef[c]
            if type(value) is not float and (isinstance(value, bool | np.bool_)
                                             or not isinstance(value, numbers.Real)):
                raise InputError(f"{what} coefficient {c} must be a number; got {value!r}")
            out[c] = self.check_range(c, float(value), what)
        return out

    def check_replicates(self, value) -> np.ndarray:
        """A read-only (K, k) float array of coefficient rows in this form's order (e.g. the
        bootstrap refits of :mod:`computeplan._lawdata`), K >= MIN_REPLICATES, every column in
        its coefficient's range (:meth:`check_range`); a one-line InputError otherwise."""
        k = self.n_coefficients
        what = f"law replicates (rows of [{', '.join(self.coefficients)}])"
        try:
            arr = np.array(value, dtype=float)
        except (TypeError, ValueError):
            raise InputError(f"{what} must be a list of rows of {k} numbers") from None
        if arr.ndim != 2 or arr.shape[1] != k or arr.shape[0] < MIN_REPLICATES:
            raise InputError(f"{what} must be a list of at least {MIN_REPLICATES} rows of {k} "
                             f"numbers; got shape {arr.shape}")
        for j, c in enumerate(self.coefficients):
            self.check_range(c, arr[:, j])
        arr.setflags(write=False)
        return arr

    def check_range(self, name: str, x, what: str = "law"):
        """``x`` (a coefficient's value, or an array of it: a column of replicates) after the one
        check of a coefficient's range: finite; > MIN_EXPONENT for the ``exponents`` (the
        fitter's boundary, :data:`computeplan._lawdata.EXPONENT_RANGE`), > 0 for the
        ``positive`` ones. A one-line InputError naming the coefficient, the form and the
        range (and for an array the first row outside it) otherwise."""
        if name in self.exponents:
            floor, valid = MIN_EXPONENT, EXPONENT_RANGE
        elif name in self.positive:
            floor, valid = 0.0, "a finite number > 0"
        else:
            floor, valid = -math.inf, "a finite number"
        ok = (floor < x) & (x < math.inf)  # NaN fails both
        if not isinstance(x, np.ndarray):
            if not ok:
                raise InputError(f"{what} coefficient {name} must be {valid} for form "
                                 f"{self.name!r}; got {float(x)}")
        elif not ok.all():
            row = int(np.argmin(ok))
            raise InputError(f"{what} replicates: {name} must be {valid} for form {self.name!r} "
                             f"in every row; got {float(x[row])} in row {row}")
        return x

    def as_dict(self, theta) -> dict[str, np.ndarray]:
        """(..., k) array -> {name: (...) array} in coefficient order."""
        t = np.asarray(theta, dtype=float)
        return {c: t[..., j] for j, c in enumerate(self.coefficients)}

    def as_array(self, coef: dict) -> np.ndarray:
        return np.stack([np.asarray(coef[c], dtype=float) for c in self.coefficients], axis=-1)

    # ------------------------------------------------------------------- numerics
    def loss(self, coef: dict, params, train_tokens) -> np.ndarray:
        """L(N, D) for natural coefficients (dict of numbers or broadcastable arrays)."""
        ln_n, ln_d = np.log(np.asarray(params, float)), np.log(np.asarray(train_tokens, float))
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            return self._loss(coef, ln_n, ln_d)

    def log_slopes(self, coef: dict, params, train_tokens):
        """(L, dL/d ln N, dL/d ln D): what the planner's first-order conditions need."""
        return self.log_slopes_at(coef, np.log(np.asarray(params, float)),
                                  np.log(np.asarray(train_tokens, float)))

    def log_slopes_at(self, coef: dict, ln_n, ln_d):
        """:meth:`log_slopes` at ln N, ln D (the solvers' coordinates: no exp and log again)."""
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            return self._slopes(coef, np.asarray(ln_n, float), np.asarray(ln_d, float))

    def loss_at(self, coef: dict, ln_n, ln_d):
        """:meth:`loss` at ln N, ln D."""
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            return self._loss(coef, np.asarray(ln_n, float), np.asarray(ln_d, float))

    def irreducible(self, coef: dict) -> float | None:
        """The loss as N and D grow without bound (E where the form has it)."""
        return float(coef["E"]) if "E" in coef else None

    def log_params_limits(self, coef: dict) -> tuple[float, float]:
        """(lo, hi) of ln N that the planner's solvers search: where the form is a law
        (-inf, inf unless a form says otherwise)."""
        return -np.inf, np.inf

    def log_params_range(self, coef: dict, loss):
        """(lo, hi) of ln N between which some D reaches ``loss`` (at lo the loss needs
        infinite data; hi is +inf unless the form stops being a law beyond it); the planner's
        bracket. A one-line InputError for a loss at or below the irreducible loss."""
        raise NotImplementedError  # pragma: no cover

    def log_tokens_at_loss(self, coef: dict, ln_n, loss):
        """ln D at which a model of e^ln_n parameters reaches ``loss`` (closed form: at fixed N
        every form's data term is invertible); NaN outside :meth:`log_params_range`."""
        raise NotImplementedError  # pragma: no cover

    def contour_slopes(self, coef: dict, ln_n, loss):
        """(ln D, dL/d ln N, dL/d ln D) on the loss contour L(N, D) = ``loss`` at ln N: what the
        fixed-loss solver evaluates at every step (:func:`computeplan._formsolve.fixed_loss`).
        :meth:`log_tokens_at_loss` then :meth:`log_slopes_at`; forms override it to share
        the terms that depend on N alone and to use the loss itself for the data term."""
        ln_d = self.log_tokens_at_loss(coef, ln_n, loss)
        _, d_n, d_d = self.log_slopes_at(coef, ln_n, ln_d)
        return ln_d, d_n, d_d

    def _loss(self, c, ln_n, ln_d):  # pragma: no cover - abstract
        raise NotImplementedError

    def _slopes(self, c, ln_n, ln_d):  # pragma: no cover - abstract
        raise NotImplementedError

    # ------------------------------------------------------------------ fitting
    def value_jac(self, x: np.ndarray, ln: np.ndarray, ld: np.ndarray, cn: float, cd: float):
        """Predicted loss (S, n) and its gradient w.r.t. the fitting coordinates (S, n, k) for
        rows ``x`` (S, k) at centred logs ``ln = ln N - cn``, ``ld = ln D - cd``."""
        raise NotImplementedError  # pragma: no cover

    def to_natural(self, x, cn: float, cd: float) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover

    def from_natural(self, theta, cn: float, cd: float) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover

    def starts(self, loss_min: float, cn: float, cd: float) -> np.ndarray:
        """Start grid in fitting coordinates for runs whose lowest loss is ``loss_min``
        (centres ``cn``, ``cd`` of ln N, ln D)."""
        raise NotImplementedError  # pragma: no cover

    def from_chinchilla(self, theta5: np.ndarray, cn: float, cd: float) -> np.ndarray:
        """Fitting coordinates of this form closest to Chinchilla-form coefficients
        (E, A, B, alpha, beta) rows: warm starts from a Chinchilla fit."""
        raise NotImplementedError  # pragma: no cover

    def __repr__(self) -> str:
        return f"Form({self.name!r})"


# --------------------------------------------------------------------------- Chinchilla
def _terms_grid(loss_min: float):
    e = np.log(loss_min * np.array([0.3, 0.6, 0.85]))
    t = np.log(loss_min * np.array([0.03, 0.1, 0.3, 1.0]))
    return e, t


class Chinchilla(Form):
    name = "chinchilla"
    coefficients = ("E", "A", "B", "alpha", "beta")
    positive = coefficients
    exponents = ("alpha", "beta")
    formula = "L = E + A N^-alpha + B D^-beta"
    source = "Hoffmann et al. 2022, eq. (2) (arXiv 2203.15556)"

    def _loss(self, c, ln_n, ln_d):
        return c["E"] + c["A"] * np.exp(-c["alpha"] * ln_n) + c["B"] * np.exp(-c["beta"] * ln_d)

    def _slopes(self, c, ln_n, ln_d):
        t1 = c["A"] * np.exp(-c["alpha"] * ln_n)
        t2 = c["B"] * np.exp(-c["beta"] * ln_d)
        return c["E"] + t1 + t2, -c["alpha"] * t1, -c["beta"] * t2

    def log_params_range(self, c, loss):
        delta = _above(loss, c["E"], "E") - c["E"]
        return (np.log(c["A"]) - np.log(delta)) / c["alpha"], np.full(np.shape(delta), np.inf)

    def log_tokens_at_loss(self, c, ln_n, loss):
        with np.errstate(all="ignore"):
            rest = loss - c["E"] - c["A"] * np.exp(-c["alpha"] * ln_n)
            return (np.log(c["B"]) - np.log(rest)) / c["beta"]

    # x = (a', b', e, alpha, beta): A N^-alpha = exp(a' - alpha ln), B D^-beta = exp(b' - beta ld)
    def value_jac(self, x, ln, ld, cn, cd):
        t1 = np.exp(x[:, 0, None] - x[:, 3, None] * ln)
        t2 = np.exp(x[:, 1, None] - x[:, 4, None] * ld)
        t3 = np.exp(x[:, 2])[:, None] * np.ones_like(ln)
        jac = np.stack([t1, t2, t3, -t1 * ln, -t2 * ld], axis=-1)
        return t1 + t2 + t3, jac

    def to_natural(self, x, cn, cd):
        x = np.asarray(x, float)
        return np.stack([np.exp(x[..., 2]), np.exp(x[..., 0] + x[..., 3] * cn),
                         np.exp(x[..., 1] + x[..., 4] * cd), x[..., 3], x[..., 4]], axis=-1)

    def from_natural(self, theta, cn, cd):
        t = np.asarray(theta, float)
        return np.stack([np.log(t[..., 1]) - t[..., 3] * cn, np.log(t[..., 2]) - t[..., 4] * cd,
                         np.log(t[..., 0]), t[..., 3], t[..., 4]], axis=-1)

    def starts(self, loss_min, cn, cd):
        e, t = _terms_grid(loss_min)
        ex = np.array([0.1, 0.25, 0.45, 0.8])
        g = _grid(t, t, e, ex, ex)
        return g

    def from_chinchilla(self, theta5, cn, cd):
        return self.from_natural(theta5, cn, cd)


class Tied(Chinchilla):
    name = "tied"
    coefficients = ("E", "A", "B", "alpha")
    positive = coefficients
    exponents = ("alpha",)
    formula = "L = E + A N^-alpha + B D^-alpha"
    source = ("Gadre et al. 2024, eq. (4) (arXiv 2403.08540): L(C, M) = E + (a M^eta + "
              "b M^-eta) C^-eta, the Chinchilla form with alpha = beta")

    def _full(self, c):
        return {"E": c["E"], "A": c["A"], "B": c["B"], "alpha": c["alpha"], "beta": c["alpha"]}

    def _loss(self, c, ln_n, ln_d):
        return super()._loss(self._full(c), ln_n, ln_d)

    def _slopes(self, c, ln_n, ln_d):
        return super()._slopes(self._full(c), ln_n, ln_d)

    def log_params_range(self, c, loss):
        return super().log_params_range(self._full(c), loss)

    def log_tokens_at_loss(self, c, ln_n, loss):
        return super().log_tokens_at_loss(self._full(c), ln_n, loss)

    def value_jac(self, x, ln, ld, cn, cd):
        full = np.concatenate([x, x[:, 3:4]], axis=1)
        val, jac = super().value_jac(full, ln, ld, cn, cd)
        return val, np.concatenate([jac[..., :3], jac[..., 3:4] + jac[..., 4:5]], axis=-1)

    def to_natural(self, x, cn, cd):
        x = np.asarray(x, float)
        full = np.concatenate([x, x[..., 3:4]], axis=-1)
        return super().to_natural(full, cn, cd)[..., :4]

    def from_natural(self, theta, cn, cd):
        t = np.asarray(theta, float)
        full = np.concatenate([t, t[..., 3:4]], axis=-1)
        return super().from_natural(full, cn, cd)[..., :4]

    def starts(self, loss_min, cn, cd):
        e, t = _terms_grid(loss_min)
        return _grid(t, t, e, np.array([0.1, 0.2, 0.3, 0.45, 0.65, 0.9]))

    def from_chinchilla(self, theta5, cn, cd):
        t = np.asarray(theta5, float)
        tied = np.concatenate([t[..., :3], 0.5 * (t[..., 3:4] + t[..., 4:5])], axis=-1)
        return self.from_natural(tied, cn, cd)


class Kaplan(Form):
    name = "kaplan"
    coefficients = ("E", "A", "B", "alpha", "beta")
    positive = coefficients
    exponents = ("alpha", "beta")
    formula = "L = E + (A N^(-alpha/beta) + B / D)^beta"
    source = ("Kaplan et al. 2020, eq. (1.5) (arXiv 2001.08361) with an irreducible term E "
              "(Henighan et al. 2020, eq. (1.1)); A = N_c^(alpha_N/alpha_D), B = D_c")

    def _inner(self, c, ln_n, ln_d):
        u1 = c["A"] * np.exp(-(c["alpha"] / c["beta"]) * ln_n)
        u2 = c["B"] * np.exp(-ln_d)
        return u1, u2

    def _loss(self, c, ln_n, ln_d):
        u1, u2 = self._inner(c, ln_n, ln_d)
        return c["E"] + (u1 + u2) ** c["beta"]

    def _slopes(self, c, ln_n, ln_d):
        u1, u2 = self._inner(c, ln_n, ln_d)
        s = u1 + u2
        t = s ** c["beta"]
        return c["E"] + t, -c["alpha"] * t * u1 / s, -c["beta"] * t * u2 / s

    def contour_slopes(self, c, ln_n, loss):
        # On the contour the bracket is S = (l - E)^(1/beta) and u2 = S - u1 (one power, one
        # exp and one log instead of six transcendental calls).
        with np.errstate(all="ignore"):
            t = np.maximum(np.asarray(loss, float) - c["E"], 0.0)
            s = t ** (1.0 / c["beta"])
            u1 = c["A"] * np.exp(-(c["alpha"] / c["beta"]) * np.asarray(ln_n, float))
            u2 = s - u1
            q = t / s
            return np.log(c["B"]) - np.log(u2), -c["alpha"] * q * u1, -c["beta"] * q * u2

    def _bracket_sum(self, c, loss):
        """S = (l - E)^(1/beta): the bracket's value at loss l."""
        delta = _above(loss, c["E"], "E") - c["E"]
        return delta ** (1.0 / c["beta"])

    def log_params_range(self, c, loss):
        s = self._bracket_sum(c, loss)
        k = c["alpha"] / c["beta"]
        with np.errstate(divide="ignore"):
            return (np.log(c["A"]) - np.log(s)) / k, np.full(np.shape(s), np.inf)

    def log_tokens_at_loss(self, c, ln_n, loss):
        with np.errstate(all="ignore"):
            s = np.maximum(np.asarray(loss, float) - c["E"], 0.0) ** (1.0 / c["beta"])
            rest = s - c["A"] * np.exp(-(c["alpha"] / c["beta"]) * ln_n)
            return np.log(c["B"]) - np.log(rest)

    # x = (a', b', e, k, beta), k = alpha / beta: A N^-k = exp(a' - k ln), B / D = exp(b' - ld)
    def value_jac(self, x, ln, ld, cn, cd):
        u1 = np.exp(x[:, 0, None] - x[:, 3, None] * ln)
        u2 = np.exp(x[:, 1, None] - ld)
        s = u1 + u2
        log_s = np.log(s)
        beta = x[:, 4, None]
        t = np.exp(beta * log_s)
        t3 = np.exp(x[:, 2])[:, None] * np.ones_like(ln)
        q = t * beta / s
        jac = np.stack([q * u1, q * u2, t3, -q * u1 * ln, t * log_s], axis=-1)
        return t3 + t, jac

    def to_natural(self, x, cn, cd):
        x = np.asarray(x, float)
        return np.stack([np.exp(x[..., 2]), np.exp(x[..., 0] + x[..., 3] * cn),
                         np.exp(x[..., 1] + cd), x[..., 3] * x[..., 4], x[..., 4]], axis=-1)

    def from_natural(self, theta, cn, cd):
        t = np.asarray(theta, float)
        k = t[..., 3] / t[..., 4]
        return np.stack([np.log(t[..., 1]) - k * cn, np.log(t[..., 2]) - cd,
                         np.log(t[..., 0]), k, t[..., 4]], axis=-1)

    def starts(self, loss_min, cn, cd):
        e = np.log(loss_min * np.array([0.3, 0.6, 0.85]))
        # Terms inside the bracket at the centre, for L - E of 3%-100% of the loss.
        beta = np.array([0.1, 0.25, 0.45, 0.8])
        k = np.array([0.5, 1.0, 1.6, 2.5])
        rows = []
        for eb, bb, kk in itertools.product(e, beta, k):
            for share_n, total in itertools.product((0.2, 0.5, 0.8), (0.05, 0.2, 0.6)):
                s = (total * loss_min) ** (1.0 / bb)
                rows.append([np.log(share_n * s), np.log((1 - share_n) * s), eb, kk, bb])
        return np.array(rows)

    def from_chinchilla(self, theta5, cn, cd):
        # Match the exponents; the bracket's terms so that each alone gives the Chinchilla
        # term at the centre: (A' N^-k)^beta = A N^-alpha there.
        t = np.asarray(theta5, float)
        E, A, B, al, be = (t[..., j] for j in range(5))
        k = al / be
        a_c = (np.log(A) - al * cn) / be  # ln of u1 at the centre
        b_c = (np.log(B) - be * cd) / be
        return np.stack([a_c, b_c, np.log(E), k, be], axis=-1)


class BetaOfN(Form):
    name = "beta-of-n"
    coefficients = ("E", "A", "B", "alpha", "beta0", "beta1")
    positive = ("E", "A", "B", "alpha")
    exponents = ("alpha", "beta0")
    formula = "L = E + A N^-alpha + B D^-(beta0 + beta1 ln(N / 1e9))"
    source = ("size-dependent data exponent: first order in ln N of Farseer's (Li et al. 2025, "
              "arXiv 2506.10972, eq. 5)")

    def _beta(self, c, ln_n):
        return c["beta0"] + c["beta1"] * (ln_n - LN_1E9)

    def _loss(self, c, ln_n, ln_d):
        return (c["E"] + c["A"] * np.exp(-c["alpha"] * ln_n)
                + c["B"] * np.exp(-self._beta(c, ln_n) * ln_d))

    def _slopes(self, c, ln_n, ln_d):
        t1 = c["A"] * np.exp(-c["alpha"] * ln_n)
        b = self._beta(c, ln_n)
        t2 = c["B"] * np.exp(-b * ln_d)
        return c["E"] + t1 + t2, -c["alpha"] * t1 - c["beta1"] * ln_d * t2, -b * t2

    def log_params_limits(self, c):
        # Searched only where beta(N) >= beta(1e9) / 2: beyond, the data exponent (and with it
        # the sign of dL/dN at large D) is an artefact of the linear term. Elementwise for
        # array coefficients (law replicates).
        b0, b1 = c["beta0"], c["beta1"]
        if np.ndim(b0) == 0 and np.ndim(b1) == 0:
            if b1 == 0 or b0 <= 0:
                return -np.inf, np.inf
            edge = LN_1E9 - 0.5 * b0 / b1
            return (-np.inf, edge) if b1 < 0 else (edge, np.inf)
        b0, b1 = np.broadcast_arrays(np.asarray(b0, float), np.asarray(b1, float))
        with np.errstate(divide="ignore", invalid="ignore"):
            edge = LN_1E9 - 0.5 * b0 / b1
        ok = (b1 != 0) & (b0 > 0)
        return (np.where(ok & (b1 > 0), edge, -np.inf), np.where(ok & (b1 < 0), edge, np.inf))

    def log_params_range(self, c, loss):
        delta = _above(loss, c["E"], "E") - c["E"]
        lo = (np.log(c["A"]) - np.log(delta)) / c["alpha"]
        lim_lo, lim_hi = self.log_params_limits(c)
        return np.maximum(lo, lim_lo), np.full(np.shape(delta), lim_hi)

    def log_tokens_at_loss(self, c, ln_n, loss):
        with np.errstate(all="ignore"):
            rest = loss - c["E"] - c["A"] * np.exp(-c["alpha"] * ln_n)
            return (np.log(c["B"]) - np.log(rest)) / self._beta(c, ln_n)

    # x = (a', b', e, alpha, g0, g1): beta(N) = g0 + g1 ln (ln centred);
    # B D^-beta(N) = exp(b' - g1 cd ln - (g0 + g1 ln) ld) with b' = ln B - g0 cd.
    def value_jac(self, x, ln, ld, cn, cd):
        t1 = np.exp(x[:, 0, None] - x[:, 3, None] * ln)
        g0, g1 = x[:, 4, None], x[:, 5, None]
        t2 = np.exp(x[:, 1, None] - g1 * cd * ln - (g0 + g1 * ln) * ld)
        t3 = np.exp(x[:, 2])[:, None] * np.ones_like(ln)
        jac = np.stack([t1, t2, t3, -t1 * ln, -t2 * ld, -t2 * ln * (ld + cd)], axis=-1)
        return t1 + t2 + t3, jac

    def to_natural(self, x, cn, cd):
        x = np.asarray(x, float)
        g0, g1 = x[..., 4], x[..., 5]
        return np.stack([np.exp(x[..., 2]), np.exp(x[..., 0] + x[..., 3] * cn),
                         np.exp(x[..., 1] + g0 * cd), x[..., 3], g0 + g1 * (LN_1E9 - cn), g1],
                        axis=-1)

    def from_natural(self, theta, cn, cd):
        t = np.asarray(theta, float)
        g1 = t[..., 5]
        g0 = t[..., 4] - g1 * (LN_1E9 - cn)
        return np.stack([np.log(t[..., 1]) - t[..., 3] * cn, np.log(t[..., 2]) - g0 * cd,
                         np.log(t[..., 0]), t[..., 3], g0, g1], axis=-1)

    def starts(self, loss_min, cn, cd):
        e, t = _terms_grid(loss_min)
        ex = np.array([0.1, 0.25, 0.45, 0.8])
        return _grid(t, t, e, ex, ex, np.array([-0.04, 0.0, 0.04]))

    def from_chinchilla(self, theta5, cn, cd):
        t = np.asarray(theta5, float)
        full = np.concatenate([t, np.zeros(t.shape[:-1] + (1,))], axis=-1)
        return self.from_natural(full, cn, cd)


class Farseer(Form):
    name = "farseer"
    coefficients = ("a1", "b1", "alpha", "a2", "b2", "beta", "a3", "b3", "gamma")
    positive = ()
    exponents = ()
    formula = ("L = exp(a3 N^gamma + b3) + exp(a2 N^beta + b2) D^-exp(a1 N^alpha + b1), "
               "N in billions, D in tokens")
    source = ("Li et al. 2025, Predictable Scale: Part II, Farseer: A Refined Scaling Law in "
              "Large Language Models, eq. (3) (arXiv 2506.10972v3; the authors' ExpExpExpFit, "
              "github.com/Farseer-Scaling-Law/Farseer), N in billions")

    def irreducible(self, coef):
        # exp(a3 N^gamma + b3) tends to e^b3 for gamma < 0, to 0 or infinity otherwise.
        if coef["gamma"] < 0:
            return float(np.exp(coef["b3"]))
        return 0.0 if coef["a3"] < 0 else None

    def _parts(self, c, ln_n, ln_d):
        lnb = ln_n - LN_1E9
        p3 = c["a3"] * np.exp(c["gamma"] * lnb)
        p2 = c["a2"] * np.exp(c["beta"] * lnb)
        q1 = c["a1"] * np.exp(c["alpha"] * lnb)
        bd = np.exp(q1 + c["b1"])
        t3 = np.exp(p3 + c["b3"])
        t2 = np.exp(p2 + c["b2"] - bd * ln_d)
        return p3, p2, q1, bd, t3, t2

    def _loss(self, c, ln_n, ln_d):
        *_, t3, t2 = self._parts(c, ln_n, ln_d)
        return t3 + t2

    def _slopes(self, c, ln_n, ln_d):
        p3, p2, q1, bd, t3, t2 = self._parts(c, ln_n, ln_d)
        d_n = (t3 * c["gamma"] * p3
               + t2 * (c["beta"] * p2 - bd * c["alpha"] * q1 * ln_d))
        return t3 + t2, d_n, -bd * t2

    def contour_slopes(self, c, ln_n, loss):
        # On the contour the data term is t2 = l - t3: five exps and one log (the terms in N
        # computed once) instead of twelve transcendental calls.
        with np.errstate(all="ignore"):
            lnb = np.asarray(ln_n, float) - LN_1E9
            p3 = c["a3"] * np.exp(c["gamma"] * lnb)
            p2 = c["a2"] * np.exp(c["beta"] * lnb)
            q1 = c["a1"] * np.exp(c["alpha"] * lnb)
            bd = np.exp(q1 + c["b1"])
            t3 = np.exp(p3 + c["b3"])
            t2 = loss - t3
            ln_d = (p2 + c["b2"] - np.log(t2)) / bd
            d_n = t3 * c["gamma"] * p3 + t2 * (c["beta"] * p2 - bd * c["alpha"] * q1 * ln_d)
            return ln_d, d_n, -bd * t2

    def log_params_range(self, c, loss):
        if not (np.all(np.asarray(c["gamma"]) < 0) and np.all(np.asarray(c["a3"]) > 0)):
            from .errors import InputError

            raise InputError("this farseer-form law's loss at infinite data, exp(a3 N^gamma + "
                             "b3), does not fall with N (needs a3 > 0 and gamma < 0), so it "
                             "has no loss target to plan for")
        lv = _above(loss, np.exp(c["b3"]), "exp(b3)")
        lo = LN_1E9 + np.log((np.log(lv) - c["b3"]) / c["a3"]) / c["gamma"]
        return lo, np.full(np.shape(lv), np.inf)

    def log_tokens_at_loss(self, c, ln_n, loss):
        lnb = ln_n - LN_1E9
        with np.errstate(all="ignore"):
            t3 = np.exp(c["a3"] * np.exp(c["gamma"] * lnb) + c["b3"])
            bd = np.exp(c["a1"] * np.exp(c["alpha"] * lnb) + c["b1"])
            return (c["a2"] * np.exp(c["beta"] * lnb) + c["b2"] - np.log(loss - t3)) / bd

    # x: the natural coefficients with N measured at the centre of the runs (n = N / e^cn,
    # a_i' = a_i (e^cn / 1e9)^(exponent_i)); D stays in tokens (its unit is not separable).
    def value_jac(self, x, ln, ld, cn, cd):
        a1, b1, al, a2, b2, be, a3, b3, ga = (x[:, j, None] for j in range(9))
        lb = ld + cd
        e3 = np.exp(ga * ln)
        e2 = np.exp(be * ln)
        e1 = np.exp(al * ln)
        bd = np.exp(a1 * e1 + b1)
        t3 = np.exp(a3 * e3 + b3)
        t2 = np.exp(a2 * e2 + b2 - bd * lb)
        w = -t2 * bd * lb
        jac = np.stack([w * e1, w, w * a1 * e1 * ln, t2 * e2, t2, t2 * a2 * e2 * ln,
                        t3 * e3, t3, t3 * a3 * e3 * ln], axis=-1)
        return t3 + t2, jac

    def _rescale(self, t, shift):
        t = np.array(t, float)
        for a, ex in ((0, 2), (3, 5), (6, 8)):
            t[..., a] = t[..., a] * np.exp(t[..., ex] * shift)
        return t

    def to_natural(self, x, cn, cd):
        return self._rescale(x, LN_1E9 - cn)

    def from_natural(self, theta, cn, cd):
        return self._rescale(theta, cn - LN_1E9)

    def starts(self, loss_min, cn, cd):
        rows = []
        for e_share, g, a3, b_exp, a1, al, a2, be in itertools.product(
                (0.5, 0.8), (-0.3, -0.6), (0.05, 0.3), (0.2, 0.4), (-0.2, 0.0, 0.2),
                (-0.3, 0.3), (-0.5, 0.0, 0.5), (-0.3, 0.3)):
            rows.append([a1, np.log(b_exp), al, a2,
                         np.log(0.3 * loss_min) + b_exp * cd, be, a3,
                         np.log(e_share * loss_min), g])
        return np.array(rows)

    def from_chinchilla(self, theta5, cn, cd):
        # exp(a3 n^gamma + b3) ~ E (1 + (A/E) N^-alpha) near the centre; data term B D^-beta.
        t = np.asarray(theta5, float)
        E, A, B, al, be = (t[..., j] for j in range(5))
        a3 = np.exp(np.log(A) - al * cn) / E
        b2 = np.log(B)
        z = np.zeros_like(E)
        return np.stack([z, np.log(be), z + 0.1, z, b2, z + 0.1, a3, np.log(E), -al], axis=-1)


def farseer_from_authors(coef: dict) -> dict:
    """Farseer-form coefficients (N in billions) from those of the authors' code (N in
    parameters, their names: ``ExpExpExpFit``'s s, q, S, B, b, Q, A, a, E; module docstring):
    a3 = s 1e9^q, a2 = B 1e9^b, a1 = A 1e9^a, the rest unchanged."""
    return {"a3": coef["s"] * 1e9 ** coef["q"], "gamma": coef["q"], "b3": coef["S"],
            "a2": coef["B"] * 1e9 ** coef["b"], "beta": coef["b"], "b2": coef["Q"],
            "a1": coef["A"] * 1e9 ** coef["a"], "alpha": coef["a"], "b1": coef["E"]}


FORMS: dict[str, Form] = {f.name: f for f in (Chinchilla(), Tied(), Kaplan(), BetaOfN(),
                                               Farseer())}
#: The form of laws and fits unless told otherwise (the published fits are of this form).
DEFAULT_FORM = "chinchilla"


def get_form(name) -> Form:
    """The form called ``name``; a one-line InputError naming the valid forms otherwise."""
    if isinstance(name, Form):
        return name
    if not isinstance(name, str) or name not in FORMS:
        from .formaverage import average_form, is_average

        if is_average(name):
            return average_form(name)
        raise InputError(f"unknown law form {name!r}; valid: {', '.join(FORMS)}, or "
                         "average(f1,f2,...) of two or more of them")
    return FORMS[name]
