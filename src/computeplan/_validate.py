"""Boundary checks shared by the numerical core: they raise :class:`InputError`, never clamp.

A single number that passes is let through with Python float tests (a single plan makes dozens
of checks; numpy's reductions on 0-d arrays cost microseconds each); any other value, and every
failure, takes the array path, which words the error.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import InputError


def _first_bad(arr: np.ndarray, bad: np.ndarray) -> str:
    """Describe the first offending element: the value, and its index when ``arr`` is not scalar."""
    idx = tuple(int(i) for i in np.argwhere(bad)[0]) if arr.ndim else ()
    value = arr[idx]
    where = f" at index {idx[0] if len(idx) == 1 else idx}" if idx else ""
    return f"{float(value):.6g}{where}"


def as_float_array(name: str, value) -> np.ndarray:
    """Convert ``value`` to a float array, naming ``name`` when that is impossible."""
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number or array of numbers; got {value!r}") from None


def finite(name: str, value) -> np.ndarray:
    arr = as_float_array(name, value)
    if arr.ndim == 0 and math.isfinite(arr):
        return arr
    bad = ~np.isfinite(arr)
    if bad.any():
        raise InputError(f"{name} must be a finite number; got {_first_bad(arr, bad)}")
    return arr


def positive(name: str, value, *, allow_zero: bool = False) -> np.ndarray:
    """Check ``value`` is finite and > 0 (or >= 0 with ``allow_zero``); return a float array."""
    arr = finite(name, value)
    if arr.ndim == 0 and (float(arr) >= 0 if allow_zero else float(arr) > 0):
        return arr
    bad = arr < 0 if allow_zero else arr <= 0
    if bad.any():
        rng = ">= 0" if allow_zero else "> 0"
        raise InputError(f"{name} must be {rng}; got {_first_bad(arr, bad)}")
    return arr


def whole(name: str, value) -> np.ndarray:
    """Check ``value`` is a whole number >= 1 (GPUs, heads); return a float array."""
    arr = finite(name, value)
    bad = (arr < 1) | (arr != np.floor(arr))
    if bad.any():
        raise InputError(f"{name} must be a whole number >= 1; got {_first_bad(arr, bad)}")
    return arr


def in_range(name: str, value, lo: float, hi: float, *, lo_open=True, hi_open=False) -> np.ndarray:
    """Check ``lo < value <= hi`` (bracket openness configurable); e.g. MFU in (0, 1]."""
    arr = finite(name, value)
    x = float(arr) if arr.ndim == 0 else math.nan
    if (lo < x if lo_open else lo <= x) and (x < hi if hi_open else x <= hi):
        return arr
    bad = (arr <= lo if lo_open else arr < lo) | (arr >= hi if hi_open else arr > hi)
    if bad.any():
        lb, rb = "(" if lo_open else "[", ")" if hi_open else "]"
        raise InputError(f"{name} must be in {lb}{lo:g}, {hi:g}{rb}; got {_first_bad(arr, bad)}")
    return arr


def greater_than(name: str, value, bound, what: str) -> np.ndarray:
    """Check ``value > bound`` elementwise, where ``what`` explains the bound (e.g. 'E = 1.69')."""
    arr = finite(name, value)
    bad = arr <= bound
    if np.any(bad):
        bad_b = np.broadcast_to(bad, np.broadcast_shapes(arr.shape, np.shape(bound)))
        arr_b = np.broadcast_to(arr, bad_b.shape)
        raise InputError(f"{name} must be > {what}; got {_first_bad(arr_b, bad_b)}")
    return arr


def representable(what: str, results: dict, inputs: str, *, positive: bool = False) -> None:
    """Check computed ``results`` (name -> array) are finite (and > 0 with ``positive``): extreme
    but valid inputs can overflow (or underflow) double precision. The InputError names the
    offending result and the user-level ``inputs`` that caused it, e.g.
    ``the plan overflows double precision (total_flops = inf): loss or inference demand out of
    range``."""
    for name, value in results.items():
        arr = np.asarray(value, dtype=float)
        if arr.ndim == 0 and math.isfinite(arr) and (not positive or float(arr) > 0):
            continue
        bad = ~np.isfinite(arr)
        how = "overflows"
        if not bad.any() and positive:
            bad, how = arr <= 0, "underflows"
        if bad.any():
            raise InputError(f"{what} {how} double precision ({name} = {_first_bad(arr, bad)}): "
                             f"{inputs} out of range")
