"""One JSON encoder and one table renderer for every result object (CLI and web share them)."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np


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


def dumps(obj: Any, *, indent: int | None = 2) -> str:
    """JSON text; NaN or infinity in a result is a bug and raises rather than printing ``NaN``."""
    return json.dumps(jsonable(obj), indent=indent, allow_nan=False)


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
