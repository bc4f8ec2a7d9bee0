"""The typer application and what every command shares: error handling, law options, output."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from ..errors import USER_ERRORS, InputError

app = typer.Typer(
    name="computeplan",
    help="Split compute between training and inference: inference-aware scaling laws, "
         "tradeoffs and real hardware costs. Run `computeplan plan` for the built-in example.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def user_message(exc: BaseException) -> str:
    """One line for a user error; a bare ``OverflowError`` (e.g. ``(34, 'Numerical result out of
    range')``) is reworded to say what it means for the user."""
    if isinstance(exc, OverflowError):
        reason = exc.args[-1] if exc.args else "overflow"
        return (f"a result is beyond floating-point range ({reason}): an input is out of range; "
                "use less extreme values")
    return str(exc)


def command(*args, **kwargs):
    """Register a command whose user errors (:data:`~computeplan.errors.USER_ERRORS`) become a
    one-line ``error: ...`` message and exit status 2. Floating-point warnings are silenced: an
    overflow either ends in a non-finite result, which :func:`emit` refuses, or does not matter."""

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*a, **k):
            import numpy as np

            try:
                with np.errstate(all="ignore"):
                    return fn(*a, **k)
            except USER_ERRORS as exc:
                print(f"error: {user_message(exc)}", file=sys.stderr)
                raise typer.Exit(2) from None

        return app.command(*args, **kwargs)(wrapper)

    return decorate


# ----------------------------------------------------------------------------- law options
LawName = Annotated[str, typer.Option("--law", help="Preset (hoffmann2022, sardana2024, "
                                      "besiroglu2024) or a law JSON file.", rich_help_panel="Law")]
CoefE = Annotated[float | None, typer.Option("--E", help="Override E (irreducible loss).",
                                             rich_help_panel="Law")]
CoefA = Annotated[float | None, typer.Option("--A", help="Override A.", rich_help_panel="Law")]
CoefB = Annotated[float | None, typer.Option("--B", help="Override B.", rich_help_panel="Law")]
CoefAlpha = Annotated[float | None, typer.Option("--alpha", help="Override alpha.",
                                                 rich_help_panel="Law")]
CoefBeta = Annotated[float | None, typer.Option("--beta", help="Override beta.",
                                                rich_help_panel="Law")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")]
GpuFile = Annotated[Path | None, typer.Option("--gpu-file", help="TOML/JSON file adding or "
                                              "overriding GPUs in the catalog.")]


def emit(result, as_json: bool, render) -> None:
    """Print ``result`` as JSON, or call ``render(console)`` to draw tables. Either way a NaN or
    infinity in ``result`` raises :class:`InputError` instead of being shown."""
    from ..render import dumps, finite_jsonable

    if as_json:
        typer.echo(dumps(result))
        return
    finite_jsonable(result)
    from rich.console import Console

    render(Console())


def writable_path(flag: str, path: Path) -> None:
    """Refuse an output path whose directory is missing or not writable, or that is a
    directory, before any slow work (the write itself still reports its own failure)."""
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise InputError(f"{flag}: cannot write {str(path)!r}: it is a directory")
    if not parent.is_dir():
        raise InputError(f"{flag}: cannot write {str(path)!r}: no directory {str(parent)!r}")
    if not os.access(parent, os.W_OK):
        raise InputError(f"{flag}: cannot write {str(path)!r}: directory {str(parent)!r} is "
                         "not writable")
