"""Start-up: coerce the common option values without importing pydantic.

Typer (0.2x and later) coerces every option value, given or default, through a pydantic
``TypeAdapter`` built on first use; importing pydantic costs 0.07-0.11 s at start-up, as long as
the rest of ``computeplan plan``. :class:`FastGroup` gives each option of the command it runs a
coercer (:class:`FastCoercion`) that returns the value typer would for the plain cases (a value
already of the option's type, a decimal number, a name among the choices, a path given as text)
and hands every other value (a malformed number, a bound, a path that fails typer's checks) to
typer's own coercion, built then: the results and the error messages are typer's, except that
the text of a number is first read as :mod:`computeplan.numbertext` reads it (no underscores; an
integer option takes any whole number). Other typer versions (no ``typer._coercion``): typer's
own.
"""

from __future__ import annotations

import math
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path

import typer.core

from ..numbertext import not_a_number, not_whole, parse_number, parse_whole

try:  # typer's private coercion layer (typer >= 0.2x); without it typer does its own
    from typer._click.exceptions import BadParameter
    from typer._coercion import RuntimeParam, build_runtime_param
    from typer._param_types import coerce_cli_choice, coerce_cli_path
except ImportError:  # pragma: no cover - older or newer typer
    RuntimeParam = None

#: Decimal numbers as the CLI spells them (no spaces, underscores or words such as ``inf``):
#: Python's ``float`` and pydantic's parse these alike (both correctly rounded).
_FLOAT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,3})?")
_INT = re.compile(r"[+-]?\d{1,18}")
_MISSING = object()


def _number_text(annotation, value):
    """``value`` checked as :mod:`computeplan.numbertext` spells numbers when it is the text of
    a number option (typer's pydantic reads ``'2_0'`` as 20, and refuses ``'1e3'`` for an int):
    the value to coerce (a whole number's digits for an ``int``), or a ``ValueError`` saying
    how to write one."""
    if type(value) is not str or annotation not in (float, int):
        return value
    if annotation is float:
        if parse_number(value) is None:
            raise ValueError(not_a_number(value))
        return value
    whole = parse_whole(value)
    if whole is None:
        raise ValueError(not_whole(value))
    return str(whole)


def _scalar(annotation, value):
    """``value`` coerced to ``annotation`` as typer would, or ``_MISSING`` when not a plain
    case."""
    kind = type(value)
    if annotation is float:
        if kind is float:
            return value
        if kind is int and abs(value) < 2**53:
            return float(value)
        if kind is str and _FLOAT.fullmatch(value):
            out = float(value)
            return out if math.isfinite(out) else _MISSING
        return _MISSING
    if annotation is int:
        if kind is int:
            return value
        if kind is str and _INT.fullmatch(value):
            return int(value)
        return _MISSING
    if annotation is str:
        return value if kind is str else _MISSING
    if annotation is bool:
        return value if kind is bool else _MISSING
    return _MISSING


if RuntimeParam is not None:

    @dataclass(frozen=True)
    class FastCoercion(RuntimeParam):
        """Coercion of one option: the plain cases here, the rest by typer's own coercion."""

        descriptor: typing.Any = None
        _typer: list = field(default_factory=list, compare=False, repr=False)

        def _path(self, value, param, ctx):
            """A path as typer's coercion gives it: text becomes ``path_type(text)`` (what
            pydantic's ``TypeAdapter(Path)`` does with a ``str``), then typer's own checks
            (exists, file or folder, ...) run on it. Any failure is left to typer's coercion,
            which repeats it with typer's message (naming the path as typed)."""
            d = self.descriptor
            path_type = d.parameter_info.path_type
            if path_type is None and isinstance(d.annotation, type) \
                    and issubclass(d.annotation, Path):
                path_type = d.annotation
            if not (isinstance(path_type, type) and issubclass(path_type, Path)):
                return _MISSING
            if type(value) is str:
                value = path_type(value)
            elif not isinstance(value, path_type):
                return _MISSING
            try:
                return coerce_cli_path(value, d.parameter_info, path_type=path_type,
                                       param=param, ctx=ctx)
            except Exception:  # noqa: BLE001 - typer's coercion gives its own error
                return _MISSING

        def _fast(self, value, param, ctx):
            d = self.descriptor
            info = d.parameter_info
            if info.parser is not None or d.is_file or d.is_datetime:
                return _MISSING
            if d.is_path:
                return self._path(value, param, ctx)
            if info.min is not None or info.max is not None:
                return _MISSING
            if d.is_choice:
                if d.is_list or d.is_tuple:
                    return _MISSING
                try:
                    return coerce_cli_choice(value, choices=d.choices,
                                             case_sensitive=d.case_sensitive, ctx=ctx)
                except ValueError:  # typer's message, from its own coercion
                    return _MISSING
            args = typing.get_args(d.annotation)
            if d.is_tuple:
                if not isinstance(value, (list, tuple)) or len(value) != len(args):
                    return _MISSING
                out = tuple(_scalar(a, x) for a, x in zip(args, value, strict=True))
                return _MISSING if _MISSING in out else out
            if d.is_list:
                if len(args) != 1:
                    return _MISSING
                items = value if isinstance(value, (list, tuple)) else [value]
                out = [_scalar(args[0], x) for x in items]
                return _MISSING if _MISSING in out else out
            return _scalar(d.annotation, value)

        def _checked(self, value, param, ctx):
            """``value`` with each number's text checked (:func:`_number_text`); a malformed
            one is click's ``BadParameter``, a one-line usage error."""
            d = self.descriptor
            if d.parameter_info.parser is not None:
                return value
            args = typing.get_args(d.annotation)
            try:
                if d.is_tuple and isinstance(value, (list, tuple)) and len(value) == len(args):
                    return tuple(_number_text(a, x) for a, x in zip(args, value, strict=True))
                if d.is_list and len(args) == 1 and isinstance(value, (list, tuple)):
                    return [_number_text(args[0], x) for x in value]
                return _number_text(d.annotation, value)
            except ValueError as exc:
                raise BadParameter(str(exc), ctx=ctx, param=param) from None

        def _coerce_value(self, value, param, ctx):
            value = self._checked(value, param, ctx)
            out = self._fast(value, param, ctx)
            if out is not _MISSING:
                return out
            if not self._typer:
                self._typer.append(build_runtime_param(self.descriptor))
            return self._typer[0]._coerce_value(value, param=param, ctx=ctx)


def install(command, ctx) -> None:
    """Give each option of ``command`` (its --help too, not yet coerced) a
    :class:`FastCoercion`."""
    if RuntimeParam is None or command is None:
        return
    for param in command.get_params(ctx):
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is not None and getattr(param, "_runtime_param", _MISSING) is None:
            param._runtime_param = FastCoercion(parameter_info=descriptor.parameter_info,
                                                annotation=descriptor.annotation,
                                                descriptor=descriptor)


class FastGroup(typer.core.TyperGroup):
    """The application's group: its options and those of the command it runs are coerced by
    :class:`FastCoercion`."""

    def parse_args(self, ctx, args):
        install(self, ctx)
        return super().parse_args(ctx, args)

    def resolve_command(self, ctx, args):
        name, command, rest = super().resolve_command(ctx, args)
        install(command, ctx)
        return name, command, rest
