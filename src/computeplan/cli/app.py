"""The typer application and what every command shares: error handling, law options, output."""

from __future__ import annotations

import contextlib
import functools
import inspect
import sys
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from typer.core import TyperCommand

from ..errors import USER_ERRORS, InputError
from ..vocabulary import flag, option, render, spelling
from ._coerce import FastGroup

try:  # typer >= 0.2x carries its own copy of click
    from typer._click.exceptions import UsageError
except ImportError:  # pragma: no cover - older typer, on click
    from click.exceptions import UsageError


def _flags_without_metavar(params: list) -> list:
    """Flags take no value, so help shows none after them (typer prints ``<bool>``, which reads
    as if ``--json true`` were the spelling)."""
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    return params


class Command(TyperCommand):
    """Every command: its help shows no ``<bool>`` after a flag (``--help`` included); its
    usage errors name it (click leaves some, e.g. an option without its value, unplaced)."""

    def get_params(self, ctx):
        return _flags_without_metavar(super().get_params(ctx))

    def parse_args(self, ctx, args):
        try:
            if not ctx.resilient_parsing:
                _refuse_repeats(self.make_parser(ctx), ctx, args)
            return super().parse_args(ctx, args)
        except UsageError as exc:
            if exc.ctx is None:
                exc.ctx = ctx
            raise


def _refuse_repeats(parser, ctx, args: list[str]) -> None:
    """A usage error for an option of one value given more than once (``--loss 2 --loss 3``:
    click keeps the last and drops the others unsaid); options that take several (``--where``)
    may repeat."""
    _, _, order = parser.parse_args(args=list(args))
    seen: dict[str, int] = {}
    for param in order:
        if (param.param_type_name != "option" or getattr(param, "multiple", False)
                or getattr(param, "count", False) or param.is_eager):
            continue
        seen[param.name] = seen.get(param.name, 0) + 1
        if seen[param.name] == 2:
            names = " / ".join([*param.opts, *param.secondary_opts])
            raise UsageError(f"option {names} is given more than once; give it once", ctx=ctx)


def _joined(lines: list[str]) -> str:
    """Lines as one: a list that follows a colon, one item a line ending in a comma (``Choose
    from:``), stays a list; other lines are joined by semicolons."""
    text = lines[0] if lines else ""
    for line in lines[1:]:
        text += (" " if text.endswith((":", ",")) else "; ") + line
    return text


def usage_message(exc: UsageError) -> str:
    """One line for a usage error (an unknown option or command, a value that does not parse, a
    missing argument): click's message, lines joined, and where the valid ones are listed."""
    text = _joined([line.strip() for line in exc.format_message().splitlines() if line.strip()])
    text = text.replace("Value error, ", "")  # pydantic's prefix to a validator's message
    if text[:1].isupper() and text[1:2].islower():
        text = text[0].lower() + text[1:]
    where = exc.ctx.command_path if exc.ctx is not None else "computeplan"
    return f"{text.rstrip('.')} (see '{where} --help')"


@contextlib.contextmanager
def _one_line_usage_errors():
    """Print a usage error as one line, ``error: ...``, and exit with its status (2), as every
    other user error does (typer draws it in a box of several lines under the usage)."""
    try:
        yield
    except UsageError as exc:
        print(f"error: {usage_message(exc)}", file=sys.stderr)
        raise typer.Exit(exc.exit_code) from None


class Group(FastGroup):
    """The top-level ``computeplan``: as :class:`Command`; options coerced without pydantic
    (:class:`~computeplan.cli._coerce.FastGroup`); usage errors, its own and those of the
    command it runs, one line each (:func:`usage_message`)."""

    def get_params(self, ctx):
        return _flags_without_metavar(super().get_params(ctx))

    def make_context(self, *args, **kwargs):
        with _one_line_usage_errors():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx):
        with _one_line_usage_errors():
            return super().invoke(ctx)


class LazyTyper(typer.Typer):
    """A typer application whose commands are registered on first use: reading its list of
    commands (typer does when it runs or tests the application) first calls
    :attr:`load_commands`, once, which imports the modules that register them
    (:func:`computeplan.cli.load_commands`). ``computeplan plan`` thus imports the plan command
    alone, not the numerics that other commands take their defaults from (fitting, hardware,
    tradeoffs): :func:`computeplan.cli.main` imports the one command it runs and clears the hook."""

    #: Imports every command's module; None once called (or cleared by ``main``).
    load_commands: typing.Callable[[], None] | None = None

    @property
    def registered_commands(self) -> list:
        load, self.load_commands = self.load_commands, None
        if load is not None:
            load()
        return self.__dict__["_registered_commands"]

    @registered_commands.setter
    def registered_commands(self, value: list) -> None:
        self.__dict__["_registered_commands"] = value


app = LazyTyper(
    name="computeplan",
    cls=Group,
    help="Split compute between training and inference: inference-aware scaling laws, "
         "tradeoffs and real hardware costs. Run `computeplan plan` for the built-in example.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


@app.callback()
def _group() -> None:
    """(A group callback: the application stays a group of commands when ``main`` registers
    one command alone.)"""


def user_message(exc: BaseException) -> str:
    """One line for a user error; a bare ``OverflowError`` (e.g. ``(34, 'Numerical result out of
    range')``) is reworded to say what it means for the user."""
    if isinstance(exc, OverflowError):
        reason = exc.args[-1] if exc.args else "overflow"
        return (f"a result is beyond floating-point range ({reason}): an input is out of range; "
                "use less extreme values")
    if isinstance(exc, OSError):
        from ..files import shown_path

        return f"cannot use {shown_path(exc.filename)}: {exc.strerror or exc}"
    return str(exc)


def command(*args, **kwargs):
    """Register a command whose user errors (:data:`~computeplan.errors.USER_ERRORS`, and any
    file-system error naming a file, e.g. a name too long for the file system) become a
    one-line ``error: ...`` message and exit status 2. Messages and notes spell options as flags
    (:func:`computeplan.vocabulary.spelling`). Floating-point warnings are silenced: an overflow
    either ends in a non-finite result, which :func:`emit` refuses, or does not matter."""

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*a, **k):
            import numpy as np

            try:
                with np.errstate(all="ignore"), spelling("cli"):
                    return fn(*a, **k)
            except USER_ERRORS as exc:
                print(f"error: {user_message(exc)}", file=sys.stderr)
                raise typer.Exit(2) from None
            except OSError as exc:
                if exc.filename is None:  # stdout itself (full disk, closed pipe): cli.main
                    raise
                print(f"error: {user_message(exc)}", file=sys.stderr)
                raise typer.Exit(2) from None

        return app.command(*args, **({"cls": Command} | kwargs))(wrapper)

    return decorate


# ----------------------------------------------------------------------------- law options
LawName = Annotated[str, typer.Option("--law", help="Preset (hoffmann2022, sardana2024, "
                                      "besiroglu2024, muennighoff2023, or one fitted on "
                                      "over-trained runs: sardana2024-mpt, gadre2024-c4, "
                                      "gadre2024-rpj, gadre2024-rw) or a law JSON file.",
                                      rich_help_panel="Law")]
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


# ----------------------------------------------------------------------------- option groups
def help_text(text: str) -> str:
    """Help of an option group's field for the CLI: names as flags, ``[`` escaped for rich."""
    return render(text, "cli").replace("[", "\\[")


def option_parameters(option_set) -> list[inspect.Parameter]:
    """CLI parameters of every option of ``option_set`` (a
    :class:`~computeplan.commands.options.OptionSet`): one flag per option (its name with
    dashes, :func:`computeplan.vocabulary.flag`) in its group's help panel, and a hidden
    parameter for each old spelling (alias)."""
    out = []
    for o in option_set.options():
        panel = help_text(o.panel)
        tp = Literal[o.choices] | None if o.choices else o.type  # type: ignore[valid-type]
        if str in typing.get_args(tp):  # a number or a name (e.g. a preset): text here
            tp = str | None
        extra: dict = {}
        out.append(inspect.Parameter(o.name, inspect.Parameter.KEYWORD_ONLY, default=o.default,
                                     annotation=Annotated[tp, typer.Option(
                                         flag(o.name), help=help_text(o.help),
                                         rich_help_panel=panel, **extra)]))
        for alias in o.aliases:
            out.append(inspect.Parameter(alias, inspect.Parameter.KEYWORD_ONLY, default=None,
                                         annotation=Annotated[tp, typer.Option(
                                             flag(alias), hidden=True, **extra)]))
    return out


def old_spelling(name: str, help_panel: str | None = None) -> Any:
    """A hidden CLI parameter for ``name``, an old spelling of an option kept so that existing
    commands still run; merge it into the option with :func:`merge_old`."""
    return typer.Option(flag(name), hidden=True, rich_help_panel=help_panel)


def merge_old(old_name: str, old: Any, name: str, value: Any) -> Any:
    """The value of option ``name`` given as ``value`` or under its old spelling ``old_name``
    (``old``); both, with different values, is an error naming them."""
    if old is None:
        return value
    if value not in (None, old):
        raise InputError(f"{flag(old_name)} is the old name of {option(name)}: give one")
    return old


def options_from_cli(option_set, values: dict[str, Any]):
    """``option_set`` from the CLI's parameter values, old spellings merged into their option
    (giving both is an error naming them)."""
    values = dict(values)
    for o in option_set.options():
        for alias in o.aliases:
            values[o.name] = merge_old(alias, values.pop(alias, None), o.name, values.get(o.name))
    return option_set.from_flat(**values)


def emit(result, as_json: bool, render) -> None:
    """Print ``result`` as JSON, or call ``render(console)`` to draw tables. Either way a NaN or
    infinity in ``result`` raises :class:`InputError` instead of being shown."""
    from ..render import dumps, finite_jsonable

    if as_json:
        typer.echo(dumps(result))
        return
    finite_jsonable(result)
    from rich.console import Console

    render(Console(markup=False, emoji=False))  # names from files are text, not markup


class Output:
    """An output file named by a CLI option (``--out``, ``--plot``): checked before the work
    (:func:`computeplan.files.check_output`: not a directory, writable, not one of ``inputs``),
    written atomically after it (:func:`computeplan.files.write_atomic`: a failed write leaves
    an existing file intact), with ``note: replaced existing file ...`` on stderr when it
    replaced one. A ``None`` path means the option was not given: every method does nothing."""

    def __init__(self, flag: str, path: Path | None, *, inputs=()):
        from ..files import check_output

        self.flag, self.path = flag, path
        self.existed = path is not None and check_output(path, flag=flag, inputs=inputs)

    def __bool__(self) -> bool:
        return self.path is not None

    def write(self, data: bytes | str) -> None:
        """Write ``data`` to the file atomically and say if it replaced an existing one."""
        from ..files import write_atomic

        if self.path is not None:
            self.written(write_atomic(self.path, data, flag=self.flag))

    def written(self, replaced: bool | None = None) -> None:
        """Call after writing the file some other way (e.g. :func:`computeplan.plots.save`)."""
        if self.path is not None and (self.existed if replaced is None else replaced):
            print(f"note: replaced existing file {str(self.path)!r}", file=sys.stderr)


def law_input(law) -> Path | None:
    """The file behind a ``--law`` value, if it names one (a preset names none)."""
    from ..laws import PRESETS

    return None if law is None or str(law) in PRESETS else Path(str(law))
