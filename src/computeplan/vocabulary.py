"""One vocabulary of option names, spelled per shell.

Every option has one name: the Python keyword argument, which is also the JSON/HTTP field. The CLI
spells it with dashes (``train_usd_per_gpu_hour`` -> ``--train-usd-per-gpu-hour``). Messages and
notes never write a spelling themselves: they call :func:`option`, which spells the name the way
the shell that is running spells it. The CLI switches to flag spelling for the duration of a
command (:func:`spelling`); the web API and Python callers keep the default, field names. Static
text (help) marks names as ``{{decode_model}}``, spelled by :func:`render`.

The core (laws, solvers) names its own arguments (``ChinchillaLaw.point(params, train_tokens)``);
a command that feeds one of them from an option of its own binds the two (:func:`called`:
``model``'s ``tokens`` is the law's ``train_tokens``), and the core spells the argument with
:func:`argument`: the command's option where bound, the argument's own name otherwise.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from collections.abc import Iterator, Mapping
from types import MappingProxyType

#: ``field`` (Python/JSON/HTTP: ``input_tokens``), ``cli`` (``--input-tokens``) or ``probe``
#: (``⟦input_tokens⟧``, tests collect the names a message uses).
_STYLE: contextvars.ContextVar[str] = contextvars.ContextVar("computeplan_spelling",
                                                             default="field")
STYLES = ("field", "cli", "probe")
#: Where the CLI spells an option differently from ``--`` + its name with dashes.
CLI_SPELLING = {"as_json": "--json"}
#: Core argument -> the running command's option that feeds it (see :func:`called`).
_CALLED: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar(
    "computeplan_called", default=MappingProxyType({}))
#: A name marked in static text: ``{{name}}`` (see :func:`render`).
_MARKED = re.compile(r"\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}")


def flag(name: str) -> str:
    """The CLI flag of option ``name``: ``--`` and the name with dashes for underscores."""
    return CLI_SPELLING.get(name) or "--" + name.replace("_", "-")


def option(name: str, *, cli: str | None = None) -> str:
    """Option ``name`` as the running shell spells it: ``name`` for Python and the web API,
    ``--name-with-dashes`` (or ``cli``, a flag the CLI spells differently) on the command line.
    Inside :func:`called`, a bound ``name`` is spelled as the option bound to it."""
    bound = _CALLED.get().get(name)
    if bound is not None and bound != name:
        return option(bound)
    style = _STYLE.get()
    if style == "cli":
        return cli or flag(name)
    if style == "probe":
        return f"\u27e6{name}\u27e7"
    return name


def on_cli() -> bool:
    """Whether the running shell is the command line: for text other than option names that the
    shells write differently (a range ``LO HI`` on the CLI, ``[lo, hi]`` in JSON; a command line
    to run)."""
    return _STYLE.get() == "cli"


def argument(name: str) -> str:
    """A core function's argument ``name`` as the running command calls it: the option bound to
    it by :func:`called`, spelled by :func:`option`; unbound, ``name`` itself (the keyword a
    Python caller passed)."""
    bound = _CALLED.get().get(name)
    return name if bound is None else option(bound)


@contextlib.contextmanager
def called(**names: str) -> Iterator[None]:
    """Inside the block, the core's argument (or option) ``key`` is fed by the running command's
    option ``value``: :func:`argument` and :func:`option` spell ``key`` as ``value``, e.g.
    ``called(train_tokens="tokens")`` for ``model``, whose ``tokens`` the law calls
    ``train_tokens``."""
    token = _CALLED.set(MappingProxyType({**_CALLED.get(), **names}))
    try:
        yield
    finally:
        _CALLED.reset(token)


@contextlib.contextmanager
def spelling(style: str) -> Iterator[None]:
    """Spell option names in ``style`` (one of :data:`STYLES`) inside the block."""
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}; got {style!r}")
    token = _STYLE.set(style)
    try:
        yield
    finally:
        _STYLE.reset(token)


def render(text: str, style: str | None = None) -> str:
    """Static text with option names marked as ``{{name}}``, spelled in ``style`` (default: the
    running shell's)."""
    if style is None:
        return _MARKED.sub(lambda m: option(m.group(1)), text)
    with spelling(style):
        return render(text)


#: How :func:`option` writes a name in the ``probe`` style.
PROBE = re.compile("\u27e6([A-Za-z_][A-Za-z0-9_]*)\u27e7")
