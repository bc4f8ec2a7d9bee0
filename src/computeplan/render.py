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


def dumps(obj: Any, *, indent: int | None = 2) -> str:
    """JSON text; NaN or infinity in a result raises :class:`InputError`, never prints ``NaN``."""
    return json.dumps(finite_jsonable(obj), indent=indent, allow_nan=False)


def fmt(x: Any, digits: int = 4) -> str:
    """Human number: ``2.418e10``, ``0.7096``, ``1000``; arrays are shown element by element."""
    if isinstance(x, np.ndarray) and x.ndim:
        return ", ".join(fmt(e, digits) for e in x.ravel())
    if isinstance(x, str) or x is None:
        return "-" if x is None else x
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    if x == 0:
        return "0"
    if 1e-3 <= abs(x) < 1e4:
        return f"{x:.{digits}g}"
    mantissa, exp = f"{x:.{digits - 1}e}".split("e")
    return f"{mantissa}e{int(exp)}"


def pct(x: Any) -> str:
    return f"{100 * float(x):.2f}%"


def table(title: str, columns: list[str], rows: list[list[str]], *, caption: str | None = None):
    """A rich table; the first column is left-aligned, the others right-aligned."""
    from rich.table import Table

    t = Table(title=title, caption=caption, title_justify="left", caption_justify="left")
    for i, c in enumerate(columns):
        t.add_column(c, justify="left" if i == 0 else "right", no_wrap=i == 0)
    for row in rows:
        t.add_row(*row)
    return t
