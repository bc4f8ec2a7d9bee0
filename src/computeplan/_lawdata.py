"""What a law carries besides its coefficients: coefficient replicates and its domain.

Replicates are a (K, k) array of coefficient sets in the order of the law's form (columns E,
A, B, alpha, beta for the Chinchilla form), e.g. the bootstrap refits of Efron & Tibshirani
(1993, ch. 6) that Besiroglu et al. (2024) used for the Chinchilla fit; they carry the law's
uncertainty into plans (:mod:`computeplan.uncertainty`). A law's form checks its coefficients
and their replicates against the same ranges (:meth:`computeplan.forms.Form.check`,
:meth:`~computeplan.forms.Form.check_replicates`; an exponent's is :data:`EXPONENT_RANGE`).
The domain is the range of the runs a law was fitted on (``params``, ``train_tokens``,
``tokens_per_param``, each ``[lo, hi]`` or ``None``); a plan outside it is an extrapolation,
measured in orders of magnitude by :func:`extrapolation_oom`.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .defaults import MIN_EXPONENT
from .errors import InputError

DOMAIN_KEYS = ("params", "train_tokens", "tokens_per_param")
#: A domain key only a law fitted to runs with unique tokens has: their epochs D/U, the range
#: the repetition coefficients R_D*, R_N* rest on (:mod:`computeplan.extrapolation`).
EPOCHS_KEY = "epochs"
#: Fewest replicates a law may carry (a distribution needs at least two points).
MIN_REPLICATES = 2
# MIN_EXPONENT (in computeplan.defaults, numpy-free, as --help shows it): a law's exponents
# (alpha, beta; each form's ``exponents``) must exceed it: at or below it the fitter calls an
# exponent a boundary solution (:data:`computeplan.fitting.core.BOUNDARY`, this value), its
# term flat, and the planner's closed forms (powers 1/alpha, 1/beta) cancel
# catastrophically as it goes to 0 (e.g. alpha = 1e-17 put the Chinchilla-optimal model at
# 4.4e9 parameters instead of 7e10).
#: The valid range of an exponent, as the one-line errors say it.
EXPONENT_RANGE = (f"a finite number > {MIN_EXPONENT:g} (at or below {MIN_EXPONENT:g} an "
                  "exponent is the fitter's boundary, its term flat)")


def check_domain(value) -> dict[str, list[float] | None]:
    """A domain dict with every key of :data:`DOMAIN_KEYS`, each ``[lo, hi]`` with
    0 < lo <= hi finite, or ``None``; an InputError naming the field otherwise."""
    if not isinstance(value, dict):
        raise InputError(f"law domain must be an object with keys {', '.join(DOMAIN_KEYS)}; "
                         f"got {value!r}")
    unknown = sorted(set(value) - {*DOMAIN_KEYS, EPOCHS_KEY})
    if unknown:
        raise InputError(f"law domain has unknown key(s) {unknown}; valid: "
                         f"{', '.join((*DOMAIN_KEYS, EPOCHS_KEY))}")
    out: dict[str, list[float] | None] = {}
    for key in (*DOMAIN_KEYS, EPOCHS_KEY):
        rng = value.get(key)
        if rng is None:
            if key != EPOCHS_KEY:  # absent unless the law records it
                out[key] = None
            continue
        try:
            lo, hi = (float(x) for x in rng)
        except (TypeError, ValueError):
            raise InputError(f"law domain {key} must be [lo, hi] (two numbers); got {rng!r}"
                             ) from None
        if not (np.isfinite(lo) and np.isfinite(hi) and 0 < lo <= hi):
            raise InputError(f"law domain {key} must be [lo, hi] with 0 < lo <= hi, both "
                             f"finite; got [{lo:g}, {hi:g}]")
        out[key] = [lo, hi]
    return out


def domain_of(params, train_tokens) -> dict[str, list[float]]:
    """The domain of a set of runs: the range of their params, tokens and tokens per param."""
    n, d = np.asarray(params, float), np.asarray(train_tokens, float)
    return {k: [float(x.min()), float(x.max())]
            for k, x in zip(DOMAIN_KEYS, (n, d, d / n), strict=True)}


def oom_outside(x, lo: float, hi: float) -> np.ndarray:
    """Orders of magnitude by which ``x`` lies outside [lo, hi]: max(0, log10(lo / x),
    log10(x / hi)); 0 inside, growing linearly in log10 x outside. Broadcasts."""
    lx = np.log10(np.asarray(x, float))
    return np.maximum(0.0, np.maximum(np.log10(lo) - lx, lx - np.log10(hi)))


def extrapolation_oom(domain: dict | None, params, train_tokens) -> dict | None:
    """``params_oom``, ``train_tokens_oom``, ``tokens_per_param_oom``: how far the model (N, D)
    lies outside the law's domain (:func:`oom_outside`; ``None`` for a range the domain lacks).
    ``None`` when there is no domain."""
    if domain is None:
        return None
    if np.ndim(params) == 0 and np.ndim(train_tokens) == 0:
        one = _extrapolation_one(domain, float(params), float(train_tokens))
        if one is not None:
            return one
    n, d = np.asarray(params, float), np.asarray(train_tokens, float)
    out = {}
    for key, x in zip(DOMAIN_KEYS, (n, d, d / n), strict=True):
        rng = domain.get(key)
        out[f"{key}_oom"] = None if rng is None else oom_outside(x, *rng)
    return out


def _extrapolation_one(domain: dict, n: float, d: float) -> dict | None:
    """:func:`extrapolation_oom` of one model (a web plan request) in Python floats: the same
    distances (``math.log10``, to an ulp of numpy's), as numpy scalars; ``None`` for a model
    that is not positive and finite (the array path handles it)."""
    if not (0.0 < n < math.inf and 0.0 < d < math.inf):
        return None
    out = {}
    for key, x in zip(DOMAIN_KEYS, (n, d, d / n), strict=True):
        rng = domain.get(key)
        if rng is None:
            out[f"{key}_oom"] = None
            continue
        log_lo, log_hi = _log10_range(*rng)
        lx = math.log10(x)
        out[f"{key}_oom"] = np.float64(max(0.0, log_lo - lx, lx - log_hi))
    return out


@functools.lru_cache(maxsize=256)
def _log10_range(lo: float, hi: float) -> tuple[float, float]:
    """log10 of a domain range's ends (a law's constants, so worked out once)."""
    return math.log10(lo), math.log10(hi)


_WORDS = {"params": ("has", "parameters"), "train_tokens": ("trains on", "tokens"),
          "tokens_per_param": ("trains at", "tokens per parameter")}


def extrapolation_words(label: str, domain: dict | None, oom: dict | None, values: dict,
                        fmt) -> list[str]:
    """Sentences for each quantity of a model outside the domain, e.g. "the optimum trains at
    1,522 tokens per parameter, 0.65 orders of magnitude beyond the runs this law was fitted on
    (0.456-342)". ``values`` maps each domain key to the model's value; ``fmt`` formats a
    number."""
    if domain is None or oom is None:
        return []
    out = []
    for key in DOMAIN_KEYS:
        dist = oom.get(f"{key}_oom")
        if dist is None or not float(dist) > 0:
            continue
        verb, unit = _WORDS[key]
        lo, hi = domain[key]
        side = "beyond" if float(values[key]) > hi else "below"
        how_far = f"{float(dist):.2f}" if float(dist) >= 0.01 else "less than 0.01"
        out.append(f"{label} {verb} {fmt(values[key])} {unit}, {how_far} orders of magnitude "
                   f"{side} the runs this law was fitted on ({_span(fmt, lo, hi)})")
    return out


@functools.lru_cache(maxsize=256)
def _span(fmt, lo: float, hi: float) -> str:
    """``57.3M-16.2B``: a range of the domain (a law's constants, so worked out once)."""
    return f"{fmt(lo, 3)}-{fmt(hi, 3)}"
