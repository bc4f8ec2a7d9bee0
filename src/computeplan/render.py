"""One JSON encoder and one table renderer for every result object (CLI and web share them)."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from .errors import InputError


def jsonable(obj: Any) -> Any:
    """Plain JSON data from results: dicts, lists, numpy arrays and scalars, ``to_dict`` objects."""
    if hasattr(obj, "to_dict"):
        return jsonable(obj.to_dict())
    if isinstance(obj, dict):
        return {str(k): jsonable(val) for k, val in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(x) for x in obj]
    if isinstance(obj, np.ndarray):
        return obj.item() if obj.ndim == 0 else obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def whole(x: Any) -> Any:
    """``x`` as integers when every element is a whole number (GPUs, heads, layers), so JSON
    says ``"gpus": 5``, not ``5.0``; unchanged otherwise."""
    arr = np.asarray(x)
    if arr.dtype.kind == "f" and arr.size and np.all(np.isfinite(arr)) and np.all(
            arr == np.round(arr)) and np.all(np.abs(arr) < 2**53):
        return arr.astype(np.int64)
    return x


def _first_nonfinite(data: Any, path: str = "") -> tuple[str, float] | None:
    """The key path (``a.b[2]``) and value of the first NaN or infinity in plain JSON data."""
    if isinstance(data, float):
        return None if math.isfinite(data) else (path, data)
    if isinstance(data, dict):
        items = ((f"{path}.{k}" if path else str(k), v) for k, v in data.items())
    elif isinstance(data, list):
        items = ((f"{path}[{i}]", v) for i, v in enumerate(data))
    else:
        return None
    for sub, v in items:
        found = _first_nonfinite(v, sub)
        if found is not None:
            return found
    return None


def finite_jsonable(obj: Any) -> Any:
    """:func:`jsonable` data, refusing NaN or infinity with an :class:`InputError` naming the
    first such value's key path (extreme inputs can push a result beyond floating-point range)."""
    data = jsonable(obj)
    found = _first_nonfinite(data)
    if found is not None:
        path, value = found
        raise InputError(f"result {path or 'value'} is not finite ({value}): an input is out of "
                         "range; use less extreme values")
    return data


def _encode(obj: Any) -> Any:
    """What :func:`json.dumps` calls for the values it cannot encode itself: the same plain data
    as :func:`jsonable` (``to_dict`` objects, numpy arrays and scalars; NumPy's float64 is a
    float and is encoded as one)."""
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if isinstance(obj, np.ndarray):
        return obj.item() if obj.ndim == 0 else obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def dumps(obj: Any, *, indent: int | None = 2) -> str:
    """JSON text of :func:`jsonable` data in one pass (the encoder converts as it goes); NaN or
    infinity in a result raises :class:`InputError` naming it (:func:`finite_jsonable`), never
    prints ``NaN``."""
    try:
        return json.dumps(obj, indent=indent, allow_nan=False, default=_encode)
    except InputError:
        raise
    except ValueError:
        finite_jsonable(obj)  # raises, naming the first NaN or infinity
        raise


def _elementwise(f):
    """Apply a scalar formatter element by element to arrays (``"a, b, c"``); None is ``-``."""

    def wrapper(x: Any, *args, **kwargs) -> str:
        if isinstance(x, np.ndarray) and x.ndim:
            return ", ".join(wrapper(e, *args, **kwargs) for e in x.ravel())
        if x is None:
            return "-"
        if isinstance(x, str):
            return x
        return f(float(x), *args, **kwargs)

    wrapper.__doc__, wrapper.__name__ = f.__doc__, f.__name__
    return wrapper


# Rounding is half away from zero on the exact binary value, as JavaScript's toExponential and
# toFixed do, so the web page (static/format.js, the same rules) prints the same text. Python's
# float formatting rounds the exact binary value correctly too, half to even, which differs only
# at an exact tie: a value whose exact decimal expansion ends in a 5 just after the last digit
# kept. Such a tie shows as 5 and fifteen zeros in the 16 digits after it (correctly rounded, so
# exact); only values showing that take the exact decimal path.
_TIE = "5" + "0" * 15


def _sci(x: float, digits: int) -> tuple[str, int]:
    """Mantissa text with ``digits - 1`` decimals and the decimal exponent of ``x`` (nonzero,
    finite): ``(2.418, 10)``, like JavaScript's ``x.toExponential(digits - 1)``."""
    a = abs(x)
    if digits >= 1 and f"{a:.{digits + 15}e}"[digits + 1:digits + 17] != _TIE:
        m, e = f"{a:.{digits - 1}e}".split("e")
        return ("-" if x < 0 else "") + m, int(e)
    return _sci_exact(x, digits)


def _sci_exact(x: float, digits: int) -> tuple[str, int]:
    """:func:`_sci` in exact decimal arithmetic (rounding half up)."""
    from decimal import ROUND_HALF_UP, Decimal, localcontext  # on first use (start-up time)

    with localcontext(prec=800):
        d = abs(Decimal(x))
        e = d.adjusted()
        q = Decimal(1).scaleb(-(digits - 1))
        m = d.scaleb(-e).quantize(q, ROUND_HALF_UP)
        if m >= 10:
            e += 1
            m = d.scaleb(-e).quantize(q, ROUND_HALF_UP)
    return ("-" if x < 0 else "") + str(m), e


def _fixed(x: float, decimals: int) -> str:
    """``x`` with ``decimals`` decimals, like JavaScript's ``x.toFixed(decimals)``."""
    x += 0.0  # -0.0 prints as 0, as in JavaScript
    if decimals >= 0 and f"{x:.{decimals + 16}f}"[-16:] != _TIE:
        return f"{x:.{decimals}f}"
    return _fixed_exact(x, decimals)


def _fixed_exact(x: float, decimals: int) -> str:
    """:func:`_fixed` in exact decimal arithmetic (rounding half up)."""
    from decimal import ROUND_HALF_UP, Decimal, localcontext

    with localcontext(prec=800):
        return str(Decimal(x + 0.0).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP))


def _trim(text: str) -> str:
    """``1.800`` -> ``1.8``, ``2.000`` -> ``2`` (a number without trailing zeros)."""
    return text.rstrip("0").rstrip(".") if "." in text else text


def _group(text: str) -> str:
    """Digit grouping of a plain decimal: ``-12345.6`` -> ``-12,345.6``."""
    sign, text = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole_part, dot, frac = text.partition(".")
    return sign + f"{int(whole_part):,}" + dot + frac


def _plain(x: float, digits: int, e: int) -> str:
    """``x`` (decimal exponent ``e`` after rounding) with ``digits`` significant digits, in
    positional notation without trailing zeros."""
    return _trim(_fixed(x, max(digits - 1 - e, 0)))


@_elementwise
def fmt(x: float, digits: int = 4) -> str:
    """A dimensionless number (loss, MFU, exponents): ``0.7096``, ``1000``, ``2.418e10``:
    positional from 10^-3 to 10^4, scientific outside, ``digits`` significant digits."""
    if not math.isfinite(x):
        raise InputError(f"a shown value is not finite ({x}): an input is out of range; use "
                         "less extreme values")
    if x == 0:
        return "0"
    m, e = _sci(x, digits)
    return _plain(x, digits, e) if -3 <= e < 4 else f"{m}e{e}"


_SI = ((12, "T"), (9, "B"), (6, "M"), (3, "k"))


def _si(m: str, e: int) -> str:
    """A number of mantissa text ``m`` and decimal exponent ``e`` (:func:`_sci`, 3 <= e < 15)
    with an SI-style suffix: ``("3.408", 10)`` -> ``34.08B`` (the decimal point of ``m`` moved,
    trailing zeros dropped)."""
    power, suffix = next((p, u) for p, u in _SI if e >= p)
    shift = e - power
    whole_part, _, frac = m.partition(".")
    frac = frac.ljust(shift, "0")
    return _trim(f"{whole_part}{frac[:shift]}.{frac[shift:]}") + suffix


@_elementwise
def count(x: float, digits: int = 4) -> str:
    """A count of things (parameters, tokens, requests): ``34.08B``, ``1.81T``, ``2,048``,
    ``109.9``; below 10^4 with digit grouping, up to 10^15 with a suffix (k = 10^3, M = 10^6,
    B = 10^9, T = 10^12), beyond (and below 1) as :func:`fmt`. ``digits`` significant digits."""
    if not math.isfinite(x) or x == 0:
        return fmt(x)
    m, e = _sci(x, digits)
    if 0 <= e < 4:
        return _group(_plain(x, digits, e))
    return _si(m, e) if 4 <= e < 15 else fmt(x, digits)


@_elementwise
def integer(x: float) -> str:
    """A whole count (GPUs, heads, layers): ``5``, ``1,024``; never a fraction."""
    if not math.isfinite(x) or abs(x) >= 1e15:
        return fmt(x)
    return _group(_fixed(x, 0))


@_elementwise
def usd(x: float, digits: int = 4) -> str:
    """Dollars: ``$0.60``, ``$175.00``, ``$2,048``, ``$85.83k``, ``$1.2M``: cents below $1,000,
    whole dollars below $10,000, an SI suffix up to 10^15 with ``digits`` significant digits;
    below a cent (and from 10^15) :func:`fmt`."""
    if not math.isfinite(x):
        return fmt(x)  # raises: a table never shows $inf or $nan
    sign, a = ("-" if x < 0 else ""), abs(x)
    if 0 < a < 0.01:
        return f"{sign}${fmt(a, digits)}"
    cents = _fixed(a, 2)
    if float(cents) < 1000:
        return f"{sign}${cents}"
    m, e = _sci(a, digits)
    if e < 4:
        return f"{sign}${_group(_fixed(a, 0))}"
    return f"{sign}${_si(m, e) if e < 15 else fmt(a, digits)}"


@_elementwise
def flops(x: float, digits: int = 4) -> str:
    """FLOPs (and FLOP/s) in scientific notation: ``3.701e23``."""
    if not math.isfinite(x) or x == 0:
        return fmt(x)
    m, e = _sci(x, digits)
    return f"{m}e{e}"


@_elementwise
def pct(x: float) -> str:
    """A fraction as a percentage: ``70.96%``."""
    if not math.isfinite(x):
        fmt(x)  # raises: a table never shows inf% or nan%
    if not math.isfinite(100 * x):  # x near 1.8e308: shift the exponent instead
        m, e = _sci(x, 4)
        return f"{m}e{e + 2}%"
    if abs(100 * x) >= 1e15:
        return f"{fmt(100 * x)}%"
    return f"{_fixed(100 * x, 2)}%"


@_elementwise
def ratio(x: float) -> str:
    """A ratio of two quantities: a percentage below 10 (``70.96%``, ``182.41%``), a multiple
    from 10 on (``12.35x``, ``5,939x``), so no ratio prints as ``593856.08%``."""
    if not math.isfinite(x) or abs(x) < 10:
        return pct(x)
    return f"{count(x, 4)}x"


#: Field-name rules for :func:`quantity`: the unit is in the name (``train_cost_usd``,
#: ``total_flops``, ``inference_tokens``), whole counts are listed.
INTEGER_FIELDS = frozenset({"gpus", "min_gpus", "max_gpus", "min_gpus_for_state", "layers",
                            "heads", "kv_heads", "vocab", "max_batch", "n_runs", "replicate"})
COUNT_FIELDS = frozenset({"params", "requests", "users", "d_model", "batch", "context",
                          "scenarios", "reference_params"})


def kind(key: str) -> str:
    """How to show the field ``key`` (the last part of a dotted name): ``ratio`` (under
    ``ratios.`` or named ``ratio...``), ``usd``, ``flops``, ``integer``, ``count`` or
    ``number``."""
    *path, k = str(key).split(".")
    if "ratios" in path or k.startswith("ratio"):
        return "ratio"
    if "usd" in k:
        return "usd"
    if "flops" in k or "flop_" in k:
        return "flops"
    if k in INTEGER_FIELDS:
        return "integer"
    if k in COUNT_FIELDS or k.endswith("_params") or "tokens" in k:
        return "count"
    return "number"


def quantity(key: str, x: Any, digits: int = 4) -> str:
    """``x`` shown the way its field ``key`` calls for (:func:`kind`): ``params`` 24.18B,
    ``train_tokens`` 2.657T, ``total_cost_usd`` $85.83k, ``train_flops`` 3.701e23, ``gpus`` 5,
    ``ratios.total_flops`` 95.22%;
    the loss with 5 significant digits, other numbers with :func:`fmt`."""
    k = kind(key)
    if k == "ratio":
        return ratio(x)
    if k == "usd":
        return usd(x, digits)
    if k == "flops":
        return flops(x, digits)
    if k == "integer":
        return integer(x)
    if k == "count":
        return count(x, digits)
    return fmt(x, 5 if str(key).rsplit(".", 1)[-1] == "loss" else digits)


def table(title: str, columns: list[str], rows: list[list[str]], *, caption: str | None = None):
    """A rich table; the first column is left-aligned, the others right-aligned. The title and
    caption are lines of their own, wrapped at the console's width between words (a table's own
    title and caption would wrap to the table's width, mid-word when the table is narrow)."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    t = Table()
    for i, c in enumerate(columns):
        t.add_column(c, justify="left" if i == 0 else "right", no_wrap=i == 0)
    for row in rows:
        t.add_row(*row)
    parts = [Text(title, style="italic")] if title else []
    parts.append(t)
    if caption:
        parts.append(Text(caption, style="dim"))
    return Group(*parts)


def data_limit_rows(result) -> list[list[str]]:
    """Table rows (label, Chinchilla, Optimal, ratio) for a plan with a unique-token limit:
    epochs over the unique data and effective tokens D' (Muennighoff et al. 2023)."""
    dl = result.data_limit
    if dl is None:
        return []
    return [["epochs over unique data", fmt(dl.chinchilla_epochs, 3), fmt(dl.epochs, 3), ""],
            ["effective tokens D'", "", count(dl.effective_tokens), ""]]


def data_limit_lines(result) -> list[str]:
    """Lines saying whether a unique-token limit binds, the plan without it, what the limit
    costs (lifetime cost at a target loss, loss within a budget) and the lowest loss the unique
    tokens allow. Empty without a limit."""
    dl = result.data_limit
    if dl is None:
        return []
    u, free = count(dl.unique_tokens), dl.unlimited
    floor = (f"lowest loss reachable with {u} unique tokens: {fmt(dl.lowest_reachable_loss, 5)} "
             f"(any model size, epochs -> infinity; Muennighoff et al. 2023 repetition, "
             f"R_D* = {dl.rd_star:.4g}, R_N* = {dl.rn_star:.4g})")
    warnings = [f"warning: {w}" for w in dl.warnings]
    if not np.any(dl.binding):
        return [f"data limit: {u} unique tokens do not bind (the plan trains "
                f"{fmt(dl.epochs, 3)} epochs)", floor, *warnings]
    opt = result.optimal
    lines = [f"data limit: {u} unique tokens bind: without the limit the optimum would train "
             f"{count(free.params)} parameters on {count(free.train_tokens)} tokens "
             f"({fmt(dl.unlimited_epochs, 3)} epochs; on {u} unique tokens that model reaches "
             f"loss {fmt(dl.unlimited_loss_with_limit, 5)}); with it, {count(opt.params)} "
             f"parameters on {count(opt.train_tokens)} tokens ({fmt(dl.epochs, 3)} epochs, "
             f"{count(dl.effective_tokens)} effective tokens)"]
    if np.ndim(opt.params) == 0 and float(opt.params) != float(free.params):
        larger = float(opt.params) > float(free.params)
        more = float(opt.train_tokens) > float(free.train_tokens)
        lines[0] += (f": a {'larger' if larger else 'smaller'} model on "
                     f"{'more' if more else 'fewer'} epochs")
        if not larger:
            lines[0] += (f", as parameters beyond {count(dl.base_params)} (compute-optimal for "
                         f"{u} tokens) count less (R_N* < R_D*)")
    if result.budget is not None:
        lines.append(f"the limit gives up {fmt(dl.loss_given_up, 4)} in loss (loss "
                     f"{fmt(free.loss, 5)} with unlimited unique data, same budget)")
    else:
        extra = usd(dl.extra_cost) if dl.cost_unit == "usd" else f"{flops(dl.extra_cost)} FLOPs"
        lines.append(f"the limit costs {extra} more "
                     f"{'in present value ' if dl.present_value else ''}over the lifetime "
                     f"(+{pct(dl.extra_cost_ratio)} over unlimited unique data, same loss)")
    return lines + [floor, *warnings]
