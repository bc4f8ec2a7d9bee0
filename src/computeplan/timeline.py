"""Dated plans: demand that ramps or grows, hardware that gets cheaper, money that is discounted.

Training is paid up front, at today's prices. Inference is paid over the model's service life
of H years, which starts when training ends (after t0 years), for demand that follows a shape
w(s) over service time s in [0, H], on hardware whose price-performance doubles every T years
(so the cost of a FLOP falls as 2^(-t/T); Hobbhahn & Besiroglu 2022, "Trends in GPU
price-performance", Epoch: FLOP/s per dollar doubles every 2.46 years for all GPUs, 95% CI
2.24-2.72; 2.07 years, CI 1.54-3.13, for GPUs used in ML research; 2.95 years, CI 2.54-3.52, for
top GPUs), with money discounted at a rate r per year.

**Conventions.** Rates per year are annual (effective) rates by default: demand grows by a
factor (1 + g) per year, and a dollar (or FLOP-equivalent) paid t years from now is worth
(1 + r)^(-t) today, i.e. the continuously compounded rates are log(1 + g) and log(1 + r).
With ``compounding="continuous"`` they are g and r themselves. A year is 365.25 days. The
demand you state (tokens, requests, or users x rate x days) is the lifetime total over the
horizon; the shape only says when it is served.

**Shape.** w(s) = b(s) u(s) e^(gamma s) / W, with gamma the growth rate, b(s) = min(s/R, 1) a
linear ramp to the peak over R years (b = 1 without a ramp), u(s) = min(1, (H - s)/tau) a linear
fade to zero over the last tau years (the optional tail; u = 1 without one), and W the
normalisation that makes the lifetime total the demand stated.

**Present value.** Everything that decays exponentially in time folds into one rate
k = ln 2 / T + rho (rho = log(1 + r), or r when continuous), so the present value of the
inference bill is the static bill times

    f = e^(-k t0) F,    F = integral_0^H w(s) e^(-k s) ds,

and the optimum at a target loss (or within a present-value budget) is today's solver fed the
effective demand f D_inf (Sardana et al. 2024's objective with q -> f q). F is in closed form:
on each piece of [0, H] between the end of the ramp and the start of the tail, b u is a
polynomial of degree <= 2, and integral_0^1 u^j e^(z u) du is elementary (:func:`_moments`).
For constant demand F = (1 - e^(-kH)) / (kH) (REFERENCES.md section 10).

**Training time.** With the training throughput S (GPUs x peak FLOP/s x MFU), training a model
(N, D) takes t0 = 6 N D / S, so f depends on the plan. Each plan is then the self-consistent
one, today's solver fed the effective demand its own training time implies: a small fixed
point in f per scenario, solved to machine precision (:func:`consistent_plan`; why not the
minimum over the training time too: :func:`dated_compare`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from . import _validate as v
from .demand import Demand
from .errors import ConvergenceError, InputError
from .laws import TRAIN_FLOPS_PER_PARAM_TOKEN, ChinchillaLaw
from .numbertext import parse_number
from .vocabulary import option

DAYS_PER_YEAR = 365.25
SECONDS_PER_YEAR = DAYS_PER_YEAR * 86400.0
#: Longest horizon (100 years): the per-year table has one row a year.
MAX_HORIZON_DAYS = 100 * DAYS_PER_YEAR
#: Longest training time the per-year table covers (100 years; its rows run from the start of
#: training, so a plan training for millions of years would need millions of rows).
MAX_TRAIN_YEARS = 100.0
#: Years for FLOP/s per dollar to double, with their 95% confidence intervals (Hobbhahn &
#: Besiroglu 2022, "Trends in GPU price-performance", Epoch, Table 1).
PRICE_PERFORMANCE_PRESETS = {
    "all-gpus": (2.46, (2.24, 2.72)),
    "ml-gpus": (2.07, (1.54, 3.13)),
    "top-gpus": (2.95, (2.54, 3.52)),
}
PRICE_PERFORMANCE_SOURCE = ("Hobbhahn & Besiroglu 2022, Trends in GPU price-performance (Epoch), "
                            "FLOP/s per dollar doubling times")
COMPOUNDING = ("annual", "continuous")
#: log of the largest double: growth over the horizon beyond e^this overflows.
_LOG_MAX = math.log(np.finfo(float).max)


def doubling_years(spec) -> tuple[float | None, str | None]:
    """(T in years, preset name) from a number of years or a preset name (``all-gpus`` 2.46,
    ``ml-gpus`` 2.07, ``top-gpus`` 2.95; Hobbhahn & Besiroglu 2022); ``None``: no decline."""
    if spec is None:
        return None, None
    if isinstance(spec, str):
        key = spec.strip().lower()
        if key in PRICE_PERFORMANCE_PRESETS:
            return PRICE_PERFORMANCE_PRESETS[key][0], key
        number = parse_number(key)
        if number is None:
            raise InputError(
                f"{option('price_performance_doubling_years')} must be a number of years > 0 or "
                f"one of "
                f"{', '.join(PRICE_PERFORMANCE_PRESETS)}; got {spec!r}")
        spec = number
    if isinstance(spec, bool):
        raise InputError(f"{option('price_performance_doubling_years')} must be a number; got "
                         f"{spec!r}")
    return float(v.positive(option("price_performance_doubling_years"), spec)), None


@dataclass(frozen=True)
class Timeline:
    """When demand arrives, how fast FLOPs get cheaper, how money is discounted.

    ``horizon_days``: the service life H, which starts when training ends. Demand shape:
    ``demand_ramp_days`` (linear ramp from zero to the peak; 0: none), ``demand_growth_per_year``
    (exponential growth g; 0: none; negative: decline), ``demand_tail_days`` (linear fade to
    zero at the end; 0: none). ``price_performance_doubling_years``: T, or a preset name
    (``all-gpus``, ``ml-gpus``, ``top-gpus``), or ``None`` for prices that stay put.
    ``discount_rate_per_year``: r > -1. ``compounding``: ``"annual"`` ((1 + r)^-t, (1 + g)^t)
    or ``"continuous"`` (e^(-r t), e^(g t)). ``train_flops_per_second``: the training
    cluster's throughput S (GPUs x peak x MFU), or ``None`` to start serving at once.
    """

    horizon_days: float = 365.0
    demand_ramp_days: float = 0.0
    demand_growth_per_year: float = 0.0
    demand_tail_days: float = 0.0
    price_performance_doubling_years: float | str | None = None
    discount_rate_per_year: float = 0.0
    compounding: str = "annual"
    train_flops_per_second: float | None = None
    price_performance_preset: str | None = field(default=None, init=False)

    def __post_init__(self):
        set_ = object.__setattr__
        if self.compounding not in COMPOUNDING:
            raise InputError(f"{option('compounding')} must be 'annual' or 'continuous'; "
                             f"got {self.compounding!r}")
        h = v.in_range(option("horizon_days"), self.horizon_days, 0.0, MAX_HORIZON_DAYS)
        set_(self, "horizon_days", h)
        for name in ("demand_ramp_days", "demand_tail_days"):
            val = v.finite(option(name), getattr(self, name))
            bad = (val < 0) | (val > h)
            if np.any(bad):
                raise InputError(f"{option(name)} must be in [0, {option('horizon_days')} = "
                                 f"{float(np.max(h)):g}]; got {v._first_bad(val, bad)}")
            set_(self, name, val)
        t, preset = doubling_years(self.price_performance_doubling_years)
        set_(self, "price_performance_doubling_years", t)
        set_(self, "price_performance_preset", preset)
        annual = self.compounding == "annual"
        for name in ("demand_growth_per_year", "discount_rate_per_year"):
            val = v.finite(option(name), getattr(self, name))
            if annual:
                val = v.greater_than(option(name), val, -1.0, "-1 (annual compounding)")
            set_(self, name, val)
        if self.train_flops_per_second is not None:
            set_(self, "train_flops_per_second",
                 v.positive("train_flops_per_second", self.train_flops_per_second))
        self._check_growth()

    # -- rates (per year, continuously compounded) ----------------------------------------
    @property
    def horizon_years(self) -> np.ndarray:
        return self.horizon_days / DAYS_PER_YEAR

    def _rate(self, x) -> np.ndarray:
        return np.log1p(x) if self.compounding == "annual" else np.asarray(x, float)

    @property
    def growth_rate(self) -> np.ndarray:
        """gamma = log(1 + g) (annual) or g (continuous), per year."""
        return self._rate(self.demand_growth_per_year)

    @property
    def price_decline_rate(self) -> np.ndarray:
        """ln 2 / T per year (0 when prices stay put)."""
        t = self.price_performance_doubling_years
        return np.asarray(0.0) if t is None else math.log(2.0) / t

    @property
    def discount_rate(self) -> np.ndarray:
        """rho = log(1 + r) (annual) or r (continuous), per year."""
        return self._rate(self.discount_rate_per_year)

    @property
    def decline_rate(self) -> np.ndarray:
        """k = ln 2 / T + rho: the rate at which a future FLOP's present cost falls."""
        return self.price_decline_rate + self.discount_rate

    @property
    def trends_off(self) -> bool:
        """No price decline and no discount: present values equal today's bills."""
        return bool(np.all(self.decline_rate == 0.0))

    @property
    def shape(self) -> str:
        parts = []
        if np.any(self.demand_ramp_days > 0):
            parts.append("ramp")
        if np.any(self.demand_growth_per_year != 0):
            parts.append("exponential")
        if not parts:
            parts.append("constant")
        if np.any(self.demand_tail_days > 0):
            parts.append("tail")
        return "+".join(parts)

    def _check_growth(self):
        """Growth (or a negative discount) compounding past double precision over the horizon."""
        h = self.horizon_years
        for what, lam in (("demand_growth_per_year", self.growth_rate),
                          ("discount_rate_per_year", self.growth_rate - self.decline_rate)):
            z = lam * h
            bad = np.broadcast_to(z > _LOG_MAX - 10.0, np.broadcast_shapes(np.shape(z),
                                                                           np.shape(h)))
            if np.any(bad):
                name = option("demand_growth_per_year") if what == "demand_growth_per_year" else (
                    f"{option('demand_growth_per_year')} minus "
                    f"{option('discount_rate_per_year')} and price decline")
                raise InputError(
                    f"{name} over {option('horizon_days')} overflows double precision: the growth "
                    "exponent "
                    f"{float(np.max(z)):.6g} must be below {_LOG_MAX - 10.0:.1f}; use a slower "
                    "growth or a shorter horizon")

    # -- the closed-form integrals ---------------------------------------------------------
    def integral(self, lam, lo=None, hi=None) -> np.ndarray:
        """integral over service time s in [lo, hi] (years; default [0, H]) of b(s) u(s) e^(lam s)
        (module docstring), in closed form, broadcasting over every argument and field."""
        h = self.horizon_years
        ramp, tail = self.demand_ramp_days / DAYS_PER_YEAR, self.demand_tail_days / DAYS_PER_YEAR
        lo = np.zeros_like(h) if lo is None else np.asarray(lo, float)
        hi = h if hi is None else np.asarray(hi, float)
        lam = np.asarray(lam, float)
        a1, a2 = np.minimum(ramp, h - tail), np.maximum(ramp, h - tail)
        overlap = ramp > h - tail
        safe_r, safe_t = np.where(ramp > 0, ramp, 1.0), np.where(tail > 0, tail, 1.0)

        def over_r(x):  # x / R, 0 without a ramp (every ratio below is <= 1: no overflow)
            return np.where(ramp > 0, x / safe_r, 0.0)

        def over_t(x):
            return np.where(tail > 0, x / safe_t, 0.0)

        total = 0.0
        for k, (start, end) in enumerate(((0.0, a1), (a1, a2), (a2, h))):
            a = np.maximum(start, lo)
            length = np.maximum(np.minimum(end, hi) - a, 0.0)
            if k == 0:  # s / R
                c = (over_r(a), over_r(length), 0.0)
            elif k == 1:  # 1, or s (H - s) / (R tau) where the ramp runs into the tail
                c = (np.where(overlap, over_r(a) * over_t(h - a), 1.0),
                     np.where(overlap, over_t(h - 2.0 * a) * over_r(length), 0.0),
                     np.where(overlap, -over_r(length) * over_t(length), 0.0))
            else:  # (H - s) / tau
                c = (over_t(h - a), -over_t(length), 0.0)
            i0, i1, i2 = _moments(lam * length)
            with np.errstate(over="ignore", invalid="ignore"):
                piece = length * np.exp(lam * a) * (c[0] * i0 + c[1] * i1 + c[2] * i2)
            total = total + np.where(length > 0, piece, 0.0)
        return total

    def service_factor(self) -> np.ndarray:
        """F = integral_0^H w(s) e^(-k s) ds: the present value of the inference bill per unit of
        the static bill, for serving that starts now (module docstring)."""
        gamma = self.growth_rate
        with np.errstate(over="ignore", invalid="ignore"):
            f = self.integral(gamma - self.decline_rate) / self.integral(gamma)
        v.representable("the present-value factor", {"F": f},
                        f"{option('demand_growth_per_year')}, {option('discount_rate_per_year')} "
                        f"or {option('horizon_days')}",
                        positive=True)
        return f

    def train_years(self, train_flops) -> np.ndarray:
        """Training wall-clock t0 = C / S in years (0 without a training throughput)."""
        if self.train_flops_per_second is None:
            return np.zeros_like(np.asarray(train_flops, float))
        return np.asarray(train_flops, float) / (self.train_flops_per_second * SECONDS_PER_YEAR)

    def inference_factor(self, train_flops=0.0) -> np.ndarray:
        """f = e^(-k t0) F for a model whose training takes ``train_flops``."""
        return np.exp(-self.decline_rate * self.train_years(train_flops)) * self.service_factor()

    def yearly(self, train_flops, years: int) -> dict[str, np.ndarray]:
        """Per calendar year y = 1..``years`` from the start of training (axis -1): the share of
        the lifetime demand served, its nominal cost (at that time's prices) and its present
        value, each per unit of the static inference bill."""
        t0 = self.train_years(train_flops)[..., None]
        y = np.arange(1, years + 1, dtype=float)
        lo, hi = y - 1.0 - t0, y - t0
        gamma = self.growth_rate
        g, kp, k = (np.asarray(x, float)[..., None] for x in (
            gamma, self.price_decline_rate, self.decline_rate))
        timeline = self._expanded()
        norm = timeline.integral(g)
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            share = timeline.integral(g, lo, hi) / norm
            nominal = np.exp(-kp * t0) * timeline.integral(g - kp, lo, hi) / norm
            present = np.exp(-k * t0) * timeline.integral(g - k, lo, hi) / norm
        return {"year": y, "demand_share": share, "nominal_factor": nominal,
                "present_value_factor": present}

    def _expanded(self) -> Timeline:
        """This timeline with every array field given a trailing axis (for per-year windows)."""
        out = object.__new__(Timeline)
        for name in self.__dataclass_fields__:
            val = getattr(self, name)
            if isinstance(val, np.ndarray):
                val = val[..., None]
            object.__setattr__(out, name, val)
        return out

    def to_dict(self) -> dict:
        t = self.price_performance_doubling_years
        out = {
            "horizon_days": self.horizon_days,
            "shape": self.shape,
            "demand_ramp_days": self.demand_ramp_days,
            "demand_growth_per_year": self.demand_growth_per_year,
            "demand_tail_days": self.demand_tail_days,
            "price_performance_doubling_years": t,
            "price_performance_preset": self.price_performance_preset,
            "discount_rate_per_year": self.discount_rate_per_year,
            "compounding": self.compounding,
            "decline_rate_per_year": self.decline_rate,
            "train_flops_per_second": self.train_flops_per_second,
        }
        if self.price_performance_preset is not None:
            lo, hi = PRICE_PERFORMANCE_PRESETS[self.price_performance_preset][1]
            out["price_performance_ci95_years"] = [lo, hi]
            out["price_performance_source"] = PRICE_PERFORMANCE_SOURCE
        return out


def constant_demand_factor(decline_rate, horizon_years) -> np.ndarray:
    """(1 - e^(-kH)) / (kH), the present-value factor of constant demand over H years at
    decline rate k (REFERENCES.md section 10; -> 1 as kH -> 0)."""
    z = np.asarray(decline_rate, float) * np.asarray(horizon_years, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(z == 0.0, 1.0, -np.expm1(-z) / np.where(z == 0.0, 1.0, z))


#: Below this |z| the moments come from their Taylor series (no cancellation).
_SERIES_BELOW = 0.5
_SERIES_TERMS = 18


def _moments(z) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """I_j(z) = integral_0^1 u^j e^(z u) du for j = 0, 1, 2:
    I_0 = (e^z - 1)/z, I_1 = (z e^z - e^z + 1)/z^2, I_2 = (e^z (z^2 - 2z + 2) - 2)/z^3, and for
    |z| < 0.5 the series sum_n z^n / (n! (n + j + 1)) (18 terms: error below 1e-21), which
    avoids the cancellation of the closed forms near 0 (at |z| = 0.5 they lose at most ~1.5
    digits)."""
    z = np.asarray(z, float)
    small = np.abs(z) < _SERIES_BELOW
    zl = np.where(small, 1.0, z)
    with np.errstate(over="ignore", invalid="ignore"):
        em1 = np.expm1(zl)
        e = em1 + 1.0  # exact enough for |z| >= 0.5 (no cancellation there)
        z2 = zl * zl
        out = [np.asarray(x) for x in (em1 / zl, (zl * e - em1) / z2,
                                       (e * (z2 - 2.0 * zl + 2.0) - 2.0) / (z2 * zl))]
    if np.any(small):
        zs = z[small]
        terms = np.ones_like(zs)
        s0, s1, s2 = terms.copy(), terms / 2.0, terms / 3.0
        for n in range(1, _SERIES_TERMS):
            terms *= zs / n
            s0 += terms / (n + 1)
            s1 += terms / (n + 2)
            s2 += terms / (n + 3)
        for arr, series in zip(out, (s0, s1, s2), strict=True):
            arr[small] = series
    return tuple(out)


def scaled(demand: Demand, factor) -> Demand:
    """The demand times ``factor`` (the effective demand f D_inf)."""
    f = np.asarray(factor, float)
    if not demand.has_split:
        return Demand(demand.total_tokens * f)
    return Demand(demand.total_tokens * f, demand.input_tokens * f, demand.output_tokens * f)


def local_exchange_rate(law: ChinchillaLaw, params, train_tokens, inference_elasticity=1.0):
    """r = -dlog IC / dlog TC along the iso-loss curve through (N, D), with TC = 6 N D and IC
    proportional to N^e (e = ``inference_elasticity``, 1 for 2 N FLOPs per token): on
    L = E + A N^-alpha + B D^-beta, dlog D/dlog N = -alpha A N^-alpha / (beta B D^-beta), so
    r = e beta B D^-beta / (alpha A N^-alpha - beta B D^-beta). Erdil 2024's rule then puts
    r / (1 + r) = alpha/(alpha+beta) of the spend on training (see
    :func:`computeplan.tradeoffs.optimal_split`). A law of another form: r = e L_D / (L_N - L_D)
    with L_N, L_D its loss's derivatives in ln N, ln D (the same expression for the Chinchilla
    form)."""
    n, d = np.asarray(params, float), np.asarray(train_tokens, float)
    if getattr(law, "form", "chinchilla") != "chinchilla":
        _, l_n, l_d = law.shape.log_slopes(law.coef, n, d)
        with np.errstate(divide="ignore"):
            return inference_elasticity * l_d / (l_n - l_d)
    a_term = law.alpha * law.A * n ** -law.alpha
    b_term = law.beta * law.B * d ** -law.beta
    with np.errstate(divide="ignore"):  # at the Chinchilla point (no inference) r = inf
        return inference_elasticity * b_term / (a_term - b_term)


def erdil_train_share(exchange_rate) -> np.ndarray:
    """alpha/(alpha+beta) = r/(1+r) for exchange rate r = alpha/beta (Erdil 2024; as in
    :class:`computeplan.tradeoffs.allocation.Split`), as 1/(1 + 1/r) so that r = inf (the
    Chinchilla point) gives 1."""
    r = np.asarray(exchange_rate, float)
    with np.errstate(divide="ignore"):
        return 1.0 / (1.0 + 1.0 / r)


def _finite_or_none(x):
    """JSON for a rate that is infinite at the Chinchilla point: null there."""
    arr = np.asarray(x, float)
    if arr.ndim == 0:
        return float(arr) if np.isfinite(arr) else None
    return [_finite_or_none(a) for a in arr]


# -- planning --------------------------------------------------------------------------------

#: The training-time fixed point stops when |g(log f)| is below this (the budget solvers are
#: exact to ~1e-13, so g carries noise of about k t0 x 1e-13).
FIXED_POINT_TOL = 1e-12
FIXED_POINT_MAXITER = 100


def consistent_plan(solve, timeline: Timeline):
    """(N, D) = ``solve(f)`` (today's solver fed the effective demand f D_inf) at the factor
    its own training time implies, f = F e^(-k t0), t0 = 6 N D / S: the self-consistent plan.

    Solves g(u) = log F - k t0(solve(e^u)) - u = 0 for u = log f. At a target loss a larger
    demand trains longer, so g decreases and u0 = log F (serving at once) and its image
    u1 = u0 + g(u0) bracket the root: Illinois false position, superlinear. Where they do not
    bracket it (within a budget a larger demand trains less, and the iterates then move
    monotonically), plain iteration u <- u + g(u), contracting by about k t0 per step. Stops
    when |g| < ``FIXED_POINT_TOL``; :class:`ConvergenceError` after ``FIXED_POINT_MAXITER``."""
    log_service = np.log(timeline.service_factor())
    k = timeline.decline_rate

    def g(u):
        n, d = solve(np.exp(u))
        return log_service - k * timeline.train_years(TRAIN_FLOPS_PER_PARAM_TOKEN * n * d) - u

    a = np.asarray(log_service, float)
    ga = g(a)
    a, ga = np.broadcast_arrays(a, ga)
    b = a + ga
    gb = g(b)
    for _ in range(FIXED_POINT_MAXITER):
        if np.all(np.abs(gb) <= FIXED_POINT_TOL * np.maximum(1.0, np.abs(b))):
            return solve(np.exp(b))
        bracketed = ga * gb < 0
        with np.errstate(invalid="ignore", divide="ignore"):
            c = np.where(bracketed, (a * gb - b * ga) / (gb - ga), b + gb)
        gc = g(c)
        keep = bracketed & ~(gc * gb < 0)  # Illinois: the stale end keeps, halved
        a, ga = np.where(keep, a, b), np.where(keep, 0.5 * ga, gb)
        b, gb = c, gc
    raise ConvergenceError("the training-time fixed point did not converge: the training run "
                           "is too long for the price decline and discount given")


@dataclass(frozen=True)
class DatedPlan:
    """A plan's bill in time: the training wall-clock, the present-value factor f of its
    inference, and its present-value bill (``present``: inference FLOPs are present-value
    FLOP-equivalents, dollars present-value dollars; training is paid now, so unchanged)."""

    train_days: np.ndarray
    inference_factor: np.ndarray
    present: object  # LifetimePlan
    exchange_rate: np.ndarray

    @property
    def train_share(self) -> np.ndarray:
        """Training share of the present-value lifetime spend."""
        p = self.present
        if p.total_cost_usd is not None:
            return p.train_cost_usd / p.total_cost_usd
        return p.train_flops / p.total_flops

    def to_dict(self) -> dict:
        p = self.present
        out = {"train_days": self.train_days, "serving_starts_day": self.train_days,
               "inference_present_value_factor": self.inference_factor,
               "present_value_inference_flops": p.inference_flops,
               "present_value_total_flops": p.total_flops}
        if p.total_cost_usd is not None:
            out |= {"present_value_inference_cost_usd": p.inference_cost_usd,
                    "present_value_total_cost_usd": p.total_cost_usd}
        return out | {"train_share_of_present_value": self.train_share,
                      "local_exchange_rate": _finite_or_none(self.exchange_rate),
                      "erdil_train_share": erdil_train_share(self.exchange_rate)}


@dataclass(frozen=True)
class DatedComparison:
    """A :class:`~computeplan.lifetime.PlanComparison` of the present-value-optimal plans (raw
    bills, as today), their bills in time, and the per-year spend of the optimal plan."""

    comparison: object  # PlanComparison
    timeline: Timeline
    chinchilla: DatedPlan
    optimal: DatedPlan

    @property
    def ratios(self) -> dict[str, np.ndarray]:
        key = "total_cost_usd" if self.comparison.objective.priced else "total_flops"
        return {f"present_value_{key}": getattr(self.optimal.present, key)
                / getattr(self.chinchilla.present, key)}

    def per_year(self, which: str = "optimal") -> dict[str, np.ndarray]:
        """Per calendar year from the start of training: training spend (paid in year 1) and
        inference spend, nominal and present value, in FLOPs (raw and FLOP-equivalents) and, when
        priced, dollars."""
        raw = getattr(self.comparison, which)
        train_years = self.timeline.train_years(raw.train_flops)
        if np.max(train_years) > MAX_TRAIN_YEARS:
            raise InputError(
                f"training takes {np.max(train_years):.4g} years at the training throughput "
                f"({option('train_gpus')}); the timeline covers at most {MAX_TRAIN_YEARS:g} years "
                f"of training: give more {option('train_gpus')}, a smaller budget or a higher "
                "target loss")
        years = int(np.ceil(np.max(self.timeline.horizon_years + train_years) - 1e-12))
        years = max(years, 1)
        t = self.timeline.yearly(raw.train_flops, years)
        first = (t["year"] == 1.0).astype(float)
        out = {"year": t["year"], "demand_share": t["demand_share"],
               "train_flops": raw.train_flops[..., None] * first,
               "inference_flops": raw.inference_flops[..., None] * t["demand_share"],
               "present_value_inference_flops":
                   raw.inference_flops[..., None] * t["present_value_factor"]}
        if raw.total_cost_usd is not None:
            out |= {"train_cost_usd": raw.train_cost_usd[..., None] * first,
                    "inference_cost_usd": raw.inference_cost_usd[..., None] * t["nominal_factor"],
                    "present_value_inference_cost_usd":
                        raw.inference_cost_usd[..., None] * t["present_value_factor"]}
        return out

    def to_dict(self) -> dict:
        years = self.per_year()
        rows = [{k: val[..., i] for k, val in years.items()}
                for i in range(years["year"].shape[-1])]
        return {"inputs": self.timeline.to_dict(), "chinchilla": self.chinchilla.to_dict(),
                "optimal": self.optimal.to_dict(), "ratios": self.ratios, "per_year": rows,
                "conventions": CONVENTIONS}


CONVENTIONS = (
    "training is paid up front at today's prices; serving starts when training ends and lasts "
    "horizon_days; the demand given is the lifetime total; a future FLOP costs 2^(-t/T) of "
    "today's and is discounted by (1 + r)^(-t) (annual compounding) or e^(-r t) (continuous)")


def _dependent(objective) -> bool:
    return bool(getattr(objective, "params_dependent", False))


def dated_compare(law: ChinchillaLaw, *, loss=None, budget=None, demand: Demand, objective,
                  timeline: Timeline, unique_tokens=None) -> DatedComparison:
    """The plans minimising the present value of lifetime cost (module docstring), beside the
    equal-loss (or equal present-value cost) Chinchilla-optimal model.

    The present value of inference is f D_inf with f = e^(-k t0) F, so each plan is
    :func:`computeplan.lifetime.compare` fed the effective demand f D_inf (for every objective,
    the roofline one included: its inference cost is linear in the demand). Without a training
    throughput t0 = 0 and f = F is the same for every plan. With one, f depends on the plan
    through t0 = 6 N D / S, and each plan is the self-consistent one
    (:func:`consistent_plan`): optimal for the serving start its own training time implies.
    That is a stated choice, not the minimum of p N D + q N F e^(-kappa N D) over N and D:
    that minimum would also treat the training time as a lever, training longer only to defer
    serving to cheaper, more discounted FLOPs (with demand fixed relative to the end of
    training, deferring costs nothing in the objective); in inference-heavy plans (inference
    more than about 1 / (k t0) times training) it runs away to ever longer runs. A budget
    plan's present-value cost equals the budget exactly at the fixed point.

    With ``unique_tokens`` U the optimum is the data-limited one (Muennighoff et al. 2023,
    :func:`computeplan.data_limits.limited_plan`) fed the same effective demand, and
    ``comparison.data_limit`` compares it with the dated plan without the limit (its own fixed
    point): the extra cost (or loss given up within a present-value budget) in present value.
    With the trends off (f = 1) that is the undated data-limited plan exactly.
    """
    from .lifetime import (
        PlanComparison,
        _budget_optimal,
        _chinchilla_budget,
        _lifetime_optimal,
        compare,
        evaluate,
    )

    if (loss is None) == (budget is None):
        raise InputError("give exactly one of a target loss or a lifetime budget")
    cost = objective if objective.priced else None

    def solve(which):
        """(N, D) of today's optimal (data-limited, or Chinchilla within a budget) plan at
        factor f."""
        def run(f):
            effective = scaled(demand, f)
            if which == "chinchilla":
                plan = _chinchilla_budget(law, budget, effective, objective)
            elif loss is not None:
                plan = _lifetime_optimal(law, loss, effective, objective)
            else:
                plan = _budget_optimal(law, budget, effective, objective)
            if which == "limited":
                plan = limited_plan(law, unique_tokens, effective, objective, plan.params,
                                    plan.train_tokens, loss=loss, budget=budget)
            return plan.params, plan.train_tokens
        return run

    limited = unique_tokens is not None
    if limited:
        from .data_limits import check_unique_tokens, data_limit, limited_loss, limited_plan

        unique_tokens = check_unique_tokens(unique_tokens, law)
    opt_loss = None
    if timeline.train_flops_per_second is None or timeline.trends_off:
        f = timeline.service_factor()
        present = compare(law, loss=loss, budget=budget, demand=scaled(demand, f), cost=cost,
                          unique_tokens=unique_tokens)
        chin_n, chin_d = present.chinchilla.params, present.chinchilla.train_tokens
        opt_n, opt_d = present.optimal.params, present.optimal.train_tokens
        if limited:
            free = present.data_limit.unlimited
            free_n, free_d, opt_loss = free.params, free.train_tokens, present.optimal.loss
    else:
        opt_n, opt_d = consistent_plan(solve("limited" if limited else "optimal"), timeline)
        if limited:
            free_n, free_d = consistent_plan(solve("optimal"), timeline)
            opt_loss = limited_loss(law, opt_n, opt_d, unique_tokens)
        if loss is not None:  # the equal-loss Chinchilla model does not depend on the demand
            point = law.compute_optimal(loss=loss)
            chin_n, chin_d = point.params, point.train_tokens
        else:
            chin_n, chin_d = consistent_plan(solve("chinchilla"), timeline)
    inputs = "target, inference demand, prices or timeline"
    raw_chin = evaluate(law, chin_n, chin_d, demand, objective, inputs=inputs)
    raw_opt = evaluate(law, opt_n, opt_d, demand, objective, inputs=inputs, loss=opt_loss)
    dated_opt = _dated(law, raw_opt, demand, objective, timeline)
    limit = None
    if limited:  # what the limit costs in present value, beside the dated unlimited plan
        raw_free = evaluate(law, free_n, free_d, demand, objective, inputs=inputs)
        free_present = _dated(law, raw_free, demand, objective, timeline).present
        limit = replace(data_limit(law, unique_tokens, dated_opt.present, free_present,
                                   objective, raw_chin, at_budget=budget is not None),
                        unlimited=raw_free, present_value=not timeline.trends_off)
    comparison = PlanComparison(law, demand, objective, chinchilla=raw_chin, optimal=raw_opt,
                                target_loss=None if loss is None else np.asarray(loss, float),
                                budget=None if budget is None else np.asarray(budget, float),
                                data_limit=limit)
    return DatedComparison(comparison, timeline,
                           chinchilla=_dated(law, raw_chin, demand, objective, timeline),
                           optimal=dated_opt)


def _dated(law, raw, demand, objective, timeline) -> DatedPlan:
    from .lifetime import evaluate

    f = timeline.inference_factor(raw.train_flops)
    present = evaluate(law, raw.params, raw.train_tokens, scaled(demand, f), objective,
                       inputs="target, inference demand, prices or timeline", loss=raw.loss)
    elasticity = 1.0
    if _dependent(objective) and np.any(demand.total_tokens > 0):
        q = objective.inference_cost(raw.params, demand)
        elasticity = raw.params * objective.marginal_cost(raw.params, demand) / q
    rate = local_exchange_rate(law, raw.params, raw.train_tokens, elasticity)
    days = timeline.train_years(raw.train_flops) * DAYS_PER_YEAR
    return DatedPlan(days, f, present, rate)
