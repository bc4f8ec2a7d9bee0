"""Start-up (issue 15, item 5): ``import computeplan`` and ``computeplan plan`` load only what
they use. Asserted on the modules loaded (``sys.modules`` of a fresh interpreter), not on time:
bench/bench_startup.py measures the time."""

import json
import subprocess
import sys
import typing

import pytest
from hypothesis import given
from hypothesis import strategies as st

import computeplan as cp

#: What the planner never needs: fitting, tradeoffs, the serving model, the web stack, plotting,
#: pydantic (typer's option coercion, :mod:`computeplan.cli._coerce`), scipy, pyarrow, dask.
HEAVY = ("computeplan.fitting", "computeplan.tradeoffs", "computeplan.hardware.serving",
         "computeplan.hardware.training", "computeplan.web", "computeplan.sweep",
         "computeplan.plots", "matplotlib", "scipy", "fastapi", "starlette", "pydantic",
         "pyarrow", "dask", "pandas")

_PROBE = """
import json, sys
{code}
print(json.dumps(sorted(sys.modules)))
"""

_RUN_CLI = """
import contextlib, io
from computeplan.cli import main
sys.argv = ["computeplan", *{args!r}]
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        main()
    except SystemExit as done:
        assert done.code in (0, None), (done.code, out.getvalue()[-2000:])
"""


def loaded(code: str) -> list[str]:
    """The modules loaded after running ``code`` in a fresh interpreter."""
    done = subprocess.run([sys.executable, "-c", _PROBE.format(code=code)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def heavy(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)]


def test_import_loads_no_subpackage_nor_numpy():
    modules = loaded("import computeplan")
    assert heavy(modules) == []
    assert "numpy" not in modules
    assert [m for m in modules if m.startswith("computeplan.")] == []


@pytest.mark.parametrize("args", [("plan", "--json"), ("plan", "--help"), ("--help",),
                                  ("plan", "--loss", "1.9",
                                   "--objective", "usd", "--requests", "1e9",
                                   "--input-tokens", "1000", "--output-tokens", "250",
                                   "--json")])
def test_plan_loads_only_what_it_uses(args):
    modules = loaded(_RUN_CLI.format(args=list(args)))
    assert "computeplan.cli" in modules
    if args == ("--help",):
        # the command list imports every command's module, but their defaults come from
        # computeplan.defaults: no numpy, nor the numerics behind them (the web's request
        # limits come from its guard, which imports neither)
        assert "numpy" not in modules
        assert set(heavy(modules)) <= {"computeplan.web", "computeplan.web.guard"}
    else:
        assert heavy(modules) == []
    assert [m for m in modules if m.startswith("pydantic")] == []


def test_public_names_still_resolve():
    """Every name of ``__all__`` resolves (imported on first use) and dir() lists them."""
    for name in cp.__all__:
        assert getattr(cp, name) is not None, name
    assert set(cp.__all__) <= set(dir(cp))
    assert cp.fit_runs is cp.fitting.fit_runs
    assert cp.GPU is cp.hardware.GPU
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        cp.nonexistent  # noqa: B018


def test_command_modules_list_every_command_in_order():
    """:data:`computeplan.cli.COMMAND_MODULES` names each command's module, in --help order."""
    from computeplan.cli import COMMAND_MODULES, app

    names = [c.name for c in app.registered_commands]
    assert names == list(COMMAND_MODULES)
    for c in app.registered_commands:
        assert c.callback.__module__ == f"computeplan.cli.{COMMAND_MODULES[c.name]}", c.name


# ----------------------------------------------------------------------------- option coercion
def _typer_and_fast(annotation, parameter_info=None):
    from computeplan.cli import _coerce

    if _coerce.RuntimeParam is None:
        pytest.skip("this typer has no coercion layer to replace")
    from typer._coercion import build_runtime_param, resolve_type_descriptor
    from typer.models import OptionInfo

    descriptor = resolve_type_descriptor(annotation, parameter_info or OptionInfo())
    fast = _coerce.FastCoercion(parameter_info=descriptor.parameter_info,
                                annotation=descriptor.annotation, descriptor=descriptor)
    return build_runtime_param(descriptor), fast


def _outcome(coercion, value):
    from typer._click.exceptions import BadParameter

    try:
        out = coercion._coerce_value(value, param=None, ctx=None)
    except BadParameter as exc:
        return "error", str(exc)
    return type(out).__name__, repr(out)


_NUMBER_TEXT = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-10**20, 10**20).map(str),
    st.from_regex(r"\A[ +-]?[0-9_]{0,4}\.?[0-9]{0,3}([eE][+-]?[0-9]{1,4})?\s?\Z"),
    st.text(max_size=6))


def _refused(annotation, value):
    """The error the CLI gives for the text of a number that :mod:`computeplan.numbertext`
    does not read (typer's pydantic reads '2_0' as 20), or None."""
    from computeplan.numbertext import not_a_number, not_whole, parse_number, parse_whole

    if not isinstance(value, str) or annotation not in (float, int):
        return None
    if annotation is float:
        return None if parse_number(value) is not None else ("error", not_a_number(value))
    return None if parse_whole(value) is not None else ("error", not_whole(value))


@given(value=st.one_of(_NUMBER_TEXT, st.floats(), st.integers(-2**60, 2**60), st.booleans()))
def test_fast_coercion_is_typers(value):
    """The start-up coercion gives typer's value, or typer's error, for any value; but the text
    of a number is read as :mod:`computeplan.numbertext` reads it: refused with its error when
    malformed, and for an integer option any whole number ('3.0', '1e3', which typer refuses)."""
    from computeplan.numbertext import parse_whole

    for annotation in (float, int, str):
        slow, fast = _typer_and_fast(annotation)
        expected = _refused(annotation, value) or (
            ("int", repr(parse_whole(value))) if annotation is int and isinstance(value, str)
            else _outcome(slow, value))
        assert _outcome(fast, value) == expected, annotation


@given(lo=_NUMBER_TEXT, hi=_NUMBER_TEXT)
def test_fast_coercion_of_pairs_and_lists_is_typers(lo, hi):
    for annotation, value in ((tuple[float, float], (lo, hi)), (list[float], (lo, hi)),
                              (list[str], (lo,))):
        slow, fast = _typer_and_fast(annotation)
        item = typing.get_args(annotation)[0]
        refused = [r for r in (_refused(item, x) for x in value) if r]
        assert _outcome(fast, value) == (refused[0] if refused else _outcome(slow, value)), \
            annotation


@given(value=st.one_of(st.sampled_from(["flops", "usd", "USD", "flop", ""]), st.text(max_size=4)))
def test_fast_coercion_of_choices_is_typers(value):
    from typing import Literal

    slow, fast = _typer_and_fast(Literal["flops", "usd"])
    assert _outcome(fast, value) == _outcome(slow, value)


_PATH_INFOS = ({}, {"exists": True}, {"exists": True, "dir_okay": False},
               {"exists": True, "file_okay": False}, {"resolve_path": True},
               {"allow_dash": True, "exists": True}, {"writable": True, "exists": True})


@given(name=st.one_of(st.sampled_from(["", ".", "-", "a//b/", "./missing.csv", "\x00x",
                                       "FILE", "DIR", "DIR/", "DIR//FILE"]),
                      st.text(max_size=8)),
       as_path=st.booleans(), info=st.sampled_from(_PATH_INFOS))
def test_fast_coercion_of_paths_is_typers(name, as_path, info, tmp_path_factory):
    """A Path argument or option (``fit RUNS.csv``, ``--out``): typer's value, or typer's error
    for a missing file or a folder where a file is wanted, without pydantic."""
    from pathlib import Path

    from typer.models import OptionInfo

    root = tmp_path_factory.getbasetemp()
    (root / "DIR").mkdir(exist_ok=True)
    (root / "DIR" / "FILE").touch()
    name = name.replace("DIR", str(root / "DIR")).replace("FILE", "FILE")
    value = Path(name) if as_path and "\x00" not in name else name
    slow, fast = _typer_and_fast(Path, OptionInfo(**info))
    assert _outcome(fast, value) == _outcome(slow, value), (value, info)


def test_fit_coerces_its_paths_without_pydantic(tmp_path):
    """`computeplan fit RUNS.csv --out LAW.json` loads no pydantic (its Path argument and
    option are coerced by :mod:`computeplan.cli._coerce`), nor what it does not use."""
    runs = tmp_path / "runs.csv"
    runs.write_text("params,tokens,loss\n" + "".join(
        f"{n:g},{20 * n * k:g},{1.7 + 400 * n**-0.34 + 410 * (20 * n * k)**-0.28:.6f}\n"
        for n in (1e7, 3e7, 1e8, 3e8, 1e9) for k in (0.5, 1, 2)))
    modules = loaded(_RUN_CLI.format(args=["fit", str(runs), "--out",
                                           str(tmp_path / "law.json"), "--json"]))
    assert "computeplan.cli.fit" in modules
    assert [m for m in modules if m.startswith("pydantic")] == []
    assert "scipy" not in modules and "matplotlib" not in modules
    # nor what a plain fit does not do: bootstrap, hold-out, repetition (statistics: intervals)
    for unused in ("computeplan.fitting.bootstrap", "computeplan.fitting.holdout",
                   "computeplan.fitting.repetition", "statistics"):
        assert unused not in modules, unused
