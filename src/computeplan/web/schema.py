"""Request models derived from the signatures of the commands-layer functions.

The web API takes exactly the keyword arguments the CLI passes to the commands layer, so each
request model is built from the function's signature with :func:`pydantic.create_model`: the
type hint of each argument (or, for an unannotated argument defaulting to ``None``, an optional
number), its default, and two web-only rules. Clients never name server files: arguments typed
as paths or named in ``SERVER_SIDE`` are left out, and ``law`` is a preset name, not a path.
Range checks stay in the commands layer (one place for them); its :class:`InputError` becomes
HTTP 422 like a validation error here.
"""

from __future__ import annotations

import inspect
import typing
from pathlib import PurePath
from types import UnionType
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Strict, create_model

from ..laws import PRESETS

#: Arguments that name server-side files: never taken from a client.
SERVER_SIDE = frozenset({"gpu_file", "path", "csv", "out"})
#: Longest string accepted in any field (GPU names, dtypes, presets are short).
MAX_STR_LENGTH = 200

LawPreset = Literal[tuple(PRESETS)]  # type: ignore[valid-type]

_CONFIG = ConfigDict(extra="forbid", allow_inf_nan=False, str_max_length=MAX_STR_LENGTH)
_GUESSED = {bool: bool, int: int, float: float, str: str}


def _strict_numbers(tp: Any) -> Any:
    """``tp`` with every ``int``/``float`` strict: JSON ``true``/``false`` and strings are not
    numbers (pydantic's lax mode takes them), while an integer is still a valid float."""
    if tp in (int, float):
        return typing.Annotated[tp, Strict()]
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Annotated:
        return typing.Annotated[(_strict_numbers(args[0]), *tp.__metadata__)]
    if origin in (typing.Union, UnionType):
        return typing.Union[tuple(_strict_numbers(a) for a in args)]  # noqa: UP007
    if origin in (list, tuple, dict) and args:
        return origin[tuple(a if a is Ellipsis else _strict_numbers(a) for a in args)]
    return tp


def _mentions_path(tp: Any) -> bool:
    if isinstance(tp, type) and issubclass(tp, PurePath):
        return True
    return any(_mentions_path(arg) for arg in typing.get_args(tp))


def _field_type(param: inspect.Parameter, hints: dict) -> Any:
    if param.name == "law":
        return LawPreset | None if param.default is None else LawPreset
    if param.name in hints:
        return hints[param.name]
    default = param.default
    if default is None or default is inspect.Parameter.empty:
        return float | None
    return _GUESSED.get(type(default), Any)


def request_model(fn, name: str, *, exclude: tuple[str, ...] = (),
                  types: dict[str, Any] | None = None, strict: bool = False) -> type[BaseModel]:
    """A pydantic model of ``fn``'s keyword arguments (less ``exclude`` and server-side files).

    ``types`` overrides the type of some arguments. Unknown fields, NaN/infinity and strings
    longer than ``MAX_STR_LENGTH`` are rejected with 422. ``strict`` (JSON bodies; query strings
    and forms are text) accepts only numbers for number fields, never booleans or strings.
    """
    hints = typing.get_type_hints(fn)
    fields: dict[str, Any] = {}
    for param in inspect.signature(fn).parameters.values():
        if param.kind not in (param.KEYWORD_ONLY, param.POSITIONAL_OR_KEYWORD):
            continue
        if param.name in exclude or param.name in SERVER_SIDE:
            continue
        tp = (types or {}).get(param.name) or _field_type(param, hints)
        if _mentions_path(tp):
            if param.default is inspect.Parameter.empty:
                raise TypeError(f"{fn.__qualname__}: required argument {param.name!r} is a path; "
                                "the web API never takes server paths from clients")
            continue
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[param.name] = (_strict_numbers(tp) if strict else tp, default)
    return create_model(name, __config__=_CONFIG, **fields)
