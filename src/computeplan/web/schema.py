"""Request models derived from the commands layer: option groups or function signatures.

The web API takes exactly the options the CLI passes to the commands layer, so each request model
is built with :func:`pydantic.create_model` from the command's option groups
(:func:`options_model`, e.g. ``plan``'s :class:`~computeplan.commands.plan.PlanOptions`: each
option's type, default and help) or from the function's signature (:func:`request_model`: the
type hint of each argument or, for an unannotated argument defaulting to ``None``, an optional
number, and its default), with two web-only rules. Clients never name server files: arguments typed
as paths or named in ``SERVER_SIDE`` are left out, and ``law`` is a preset name or an inline
law (:data:`LawObject`), never a path.
Callbacks (``on_progress``) are Python-only. Range checks stay in the commands layer (one place
for them); its :class:`InputError` becomes HTTP 422 like a validation error here. The ranges and
choices an option group declares (``opt(bounds=..., choices=...)``), and the ranges a function
declares (:func:`~computeplan.commands.options.bounded`), checked there, are published in the
schema (:func:`published`, :func:`bounds_schema`).
"""

from __future__ import annotations

import inspect
import typing
from pathlib import PurePath
from types import UnionType
from typing import Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Json,
    Strict,
    WrapValidator,
    create_model,
)
from pydantic_core import PydanticCustomError

from ..laws import PRESETS, form_presets
from ..numbertext import NUMBER_FORM, WHOLE_FORM, parse_number, parse_whole
from ..vocabulary import render

#: Arguments that name server-side files: never taken from a client.
SERVER_SIDE = frozenset({"gpu_file", "path", "csv", "out"})
#: Arguments that are Python callbacks: no JSON value is one.
CALLBACKS = frozenset({"on_progress"})
#: Longest string accepted in any field (GPU names, dtypes, presets are short).
MAX_STR_LENGTH = 200

#: Every preset, the Chinchilla-form ones and those of other forms (as ``--law`` takes them).
LawPreset = Literal[(*PRESETS, *form_presets())]  # type: ignore[valid-type]
#: An inline law: the JSON object of a law file of any form (what ``computeplan fit --out``
#: writes and ``GET /api/meta`` lists), checked by :func:`computeplan.laws.law_from_dict`
#: (its one-line errors are 422). In a JSON body it is an object; in a query string (the
#: ``/report.html`` link) the object's JSON text.
LawObject = typing.Annotated[dict[str, Any], Field(
    description="A law file's JSON object, of any form (as computeplan fit writes it)")]

_CONFIG = ConfigDict(extra="forbid", allow_inf_nan=False, str_max_length=MAX_STR_LENGTH)
_GUESSED = {bool: bool, int: int, float: float, str: str}


def _map_numbers(tp: Any, extra) -> Any:
    """``tp`` with every ``int``/``float`` in it (in unions, lists, ...) annotated with
    ``extra(int)``/``extra(float)`` (a tuple of metadata), after its own metadata: a
    validator given last runs first, on the raw input, before the number's own constraints
    (``Field(ge=0)``, which stay constraints the schema publishes)."""
    if tp in (int, float):
        return typing.Annotated[(tp, *extra(tp))]
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Annotated:
        if args[0] in (int, float):
            return typing.Annotated[(args[0], *tp.__metadata__, *extra(args[0]))]
        return typing.Annotated[(_map_numbers(args[0], extra), *tp.__metadata__)]
    if origin in (typing.Union, UnionType):
        return typing.Union[tuple(_map_numbers(a, extra) for a in args)]  # noqa: UP007
    if origin in (list, tuple, dict) and args:
        return origin[tuple(a if a is Ellipsis else _map_numbers(a, extra) for a in args)]
    return tp


def _strict_numbers(tp: Any) -> Any:
    """``tp`` with every ``int``/``float`` strict: JSON ``true``/``false`` and strings are not
    numbers (pydantic's lax mode takes them), while an integer is still a valid float."""
    return _map_numbers(tp, lambda t: (Strict(),))


def _number_text(kind: type):
    """A validator of the text of a number of type ``kind`` (query strings, form fields): as
    :mod:`computeplan.numbertext` spells numbers (pydantic reads ``'2_0'`` as 20)."""
    parse, what = ((parse_number, f"a number written as {NUMBER_FORM}") if kind is float
                   else (parse_whole, f"a whole number written as {WHOLE_FORM}"))

    def check(value):
        if not isinstance(value, str):
            return value
        number = parse(value)
        if number is None:  # the message gets '; got <value>' (web.app)
            raise PydanticCustomError("number_text", "Input should be {what}", {"what": what})
        return number
    return BeforeValidator(check)


def _text_numbers(tp: Any) -> Any:
    """``tp`` with every ``int``/``float`` read from text as the CLI reads it
    (:func:`_number_text`)."""
    return _map_numbers(tp, lambda t: (_number_text(t),))


def _mentions_path(tp: Any) -> bool:
    if isinstance(tp, type) and issubclass(tp, PurePath):
        return True
    return any(_mentions_path(arg) for arg in typing.get_args(tp))


def law_type(default: Any, strict: bool) -> Any:
    """The type of a ``law`` field: a preset or an inline :data:`LawObject` (an object in JSON
    bodies, ``strict``; its JSON text in query strings), None allowed when it is the default.
    A value that is neither is one error naming both (not one per branch of the union)."""
    inline = LawObject if strict else Json[LawObject]
    tp = typing.Annotated[LawPreset | inline, WrapValidator(_one_law_error(strict))]
    return tp | None if default is None else tp


def _one_law_error(strict: bool):
    what = "a law file's JSON object" if strict else "a law file's JSON object as text"

    def check(value, handler):
        try:
            return handler(value)
        except ValueError:  # pydantic's ValidationError
            raise PydanticCustomError(
                "law", f"Input should be a {_presets()} or {what} (of any form)") from None
    return check


def _one_numbers_error(value, handler):
    try:
        return handler(value)
    except ValueError:  # pydantic's ValidationError: one error, not one per branch
        raise PydanticCustomError("numbers", "Input should be a number or a non-empty list of "
                                  "numbers") from None


#: A field that takes a number or an array of them (the CLI's repeatable options): at least one
#: number, as an empty array has nothing to compute (and the CLI cannot give one).
Numbers = typing.Annotated[float | typing.Annotated[list[float], Field(min_length=1)],
                           WrapValidator(_one_numbers_error)]


def _presets() -> str:
    """'preset (name, name, ...)': every law preset, as the messages and schema list them
    (read when called: tests add presets)."""
    return f"preset ({', '.join(typing.get_args(LawPreset))})"


def _field_type(param: inspect.Parameter, hints: dict, strict: bool) -> Any:
    if param.name == "law":
        return law_type(param.default, strict)
    if param.name in hints:
        return hints[param.name]
    default = param.default
    if default is None or default is inspect.Parameter.empty:
        return float | None
    return _GUESSED.get(type(default), Any)


def _model(name: str, entries, strict: bool) -> type[BaseModel]:
    """The model of ``entries`` (name, type, default, description, where): server-side files,
    and paths, are left out; a required path is a TypeError."""
    fields: dict[str, Any] = {}
    for field_name, tp, default, description, where, *extra in entries:
        if field_name in SERVER_SIDE or field_name in CALLBACKS:
            continue
        if _mentions_path(tp):
            if default is inspect.Parameter.empty:
                raise TypeError(f"{where}: required argument {field_name!r} is a path; the web "
                                "API never takes server paths from clients")
            continue
        default = ... if default is inspect.Parameter.empty else default
        tp = _strict_numbers(tp) if strict else _text_numbers(tp)
        if field_name == "law":  # the web's kinds of law, not the CLI's (a file's path)
            description = (f"A {_presets()} or, inline, a law file's JSON object "
                           "of any form" + ("" if strict else " as JSON text"))
        schema = extra[0] if extra and extra[0] else None
        fields[field_name] = (tp, Field(default, description=description,
                                        json_schema_extra=schema)
                              if description or schema else default)
    return create_model(name, __config__=_CONFIG, **fields)


def request_model(fn, name: str, *, exclude: tuple[str, ...] = (),
                  types: dict[str, Any] | None = None, strict: bool = False) -> type[BaseModel]:
    """A pydantic model of ``fn``'s keyword arguments (less ``exclude`` and server-side files).

    ``types`` overrides the type of some arguments. Unknown fields, NaN/infinity and strings
    longer than ``MAX_STR_LENGTH`` are rejected with 422. ``strict`` (JSON bodies; query strings
    and forms are text) accepts only numbers for number fields, never booleans or strings.
    """
    from ..commands.options import bounds_schema

    hints = typing.get_type_hints(fn)
    bounds = getattr(fn, "bounds", {})
    entries = []
    for param in inspect.signature(fn).parameters.values():
        if param.kind not in (param.KEYWORD_ONLY, param.POSITIONAL_OR_KEYWORD):
            continue
        if param.name in exclude:
            continue
        tp = (types or {}).get(param.name) or _field_type(param, hints, strict)
        spec = bounds.get(param.name)
        entries.append((param.name, tp, param.default, None, fn.__qualname__,
                        bounds_schema(spec) if spec else None))
    return _model(name, entries, strict)


def options_model(option_set, name: str, *, strict: bool = False) -> type[BaseModel]:
    """A pydantic model of every option of ``option_set`` (a
    :class:`~computeplan.commands.options.OptionSet`), with its help as the description; same
    rules as :func:`request_model`."""
    entries = []
    for o in option_set.options():
        tp = law_type(o.default, strict) if o.name == "law" else o.type
        entries.append((o.name, tp, o.default, render(o.help, "field"), option_set.__name__,
                        published(o)))
    return _model(name, entries, strict)


def published(o) -> dict[str, Any]:
    """The schema keywords of an option's declared validation: its ``bounds`` (checked by
    :meth:`~computeplan.commands.options.OptionSet.from_flat`) as ``minimum``/``exclusiveMinimum``
    /..., and its ``choices`` as an ``enum`` (with null when the option may be left out)."""
    from ..commands.options import bounds_schema

    out: dict[str, Any] = bounds_schema(o.bounds) if o.bounds else {}
    if o.choices:
        out["enum"] = [*o.choices, *([None] if o.default is None else [])]
    return out
