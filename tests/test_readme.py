"""Every README command that quotes its output's numbers prints those numbers.

The commands are read from the README's ``bash`` blocks; what a command prints is quoted in the
comment on its line (``computeplan model ... # loss 1.9473``) or in the indented comment lines
under it (``#   optimal N = 2.418e10, ...``). Each command runs in-process (typer's CliRunner,
in a temporary directory, with ``examples/`` and ``../shared/`` resolved against the
repository), and every number quoted must be one the command printed, to the digits quoted
(``2.418e10`` matches a printed ``24.18B`` or a JSON ``24178...``; ``70.96%`` a printed
``70.96%`` or a JSON ``0.70958``). ``exit N`` in the quote is the exit status expected (else 0),
and a quoted ``error: ...`` line must be printed as it stands up to its ``...``. A dated plan's
quote may name the undated plan's figures (``(undated: 62.65%)``): the command is also run without
its timeline options, and its numbers count too.
"""

from __future__ import annotations

import math
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from computeplan.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()

#: Commands whose line comment says what they do, not what they print (their digits are inputs
#: or formulas): ``--holdout`` rules, the attention term ``6 layers context d_attn``, the URL.
DESCRIBED = ("computeplan fit examples/runs.csv --holdout",
             "computeplan train --params 7e9 --tokens 1e12 --attention",
             ".venv/bin/computeplan web")

#: How many README commands quote numbers (counted in the README of this commit): a parser
#: that stopped finding them would otherwise pass with nothing checked.
QUOTING_COMMANDS = 29


def readme_commands(text: str = README) -> list[tuple[str, str]]:
    """(command, the output it quotes) for every ``computeplan`` command of the ``bash`` blocks;
    continuation lines are joined. The quote is the command's line comment and the comment lines
    right under it; a comment after a blank line describes the next command."""
    out = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        lines, i, current = block.splitlines(), 0, None
        while i < len(lines):
            line = lines[i]
            if re.match(r"\s*(\.venv/bin/)?computeplan ", line):
                while line.rstrip().endswith("\\"):
                    i += 1
                    line = line.rstrip()[:-1] + " " + lines[i].strip()
                command, _, comment = line.partition(" #")
                current = [command.strip(), comment.strip()]
                out.append(current)
            elif current is not None and line.startswith("#"):
                current[1] = f"{current[1]} {line[1:].strip()}".strip()
            else:
                current = None
            i += 1
    return [(c, q) for c, q in out]


# A number as printed or quoted: optional $ and sign, digits with thousands commas, decimals, an
# exponent, a suffix (k, M, B, T: 1e3..1e12; % and x). Not part of a word (h100, fp8, R_N*).
NUMBER = re.compile(r"(?<![\w.*-])([-+]?)(\$?)(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(e[-+]?\d+)?"
                    r"([kMBT%x](?![A-Za-z0-9]))?(?![\w.]*[A-Za-z_(])")
SCALE = {"k": 1e3, "M": 1e6, "B": 1e9, "T": 1e12, "%": 1e-2, "x": 1.0, "": 1.0, None: 1.0}


def numbers(text: str) -> list[tuple[float, float]]:
    """(value, half a unit of its last digit) for every number in ``text``."""
    out = []
    for sign, _dollar, whole, decimals, exponent, suffix in NUMBER.findall(text):
        digits = len(decimals) - 1 if decimals else 0
        scale = SCALE[suffix] * (10 ** int(exponent[1:]) if exponent else 1)
        value = float(whole.replace(",", "") + (decimals or "")) * scale
        out.append((-value if sign == "-" else value, 0.5 * 10 ** -digits * scale))
    return out


def printed(value: float, half_unit: float, output: list[tuple[float, float]]) -> bool:
    """Whether a quoted number is one of the printed ones, to the digits either shows."""
    return any(math.isclose(value, v, rel_tol=1e-9, abs_tol=half_unit + h) for v, h in output)


QUOTING = [(c, q) for c, q in readme_commands() if re.search(r"\d", q)
           and not c.startswith(DESCRIBED)]


def test_the_readme_commands_that_quote_numbers_are_found():
    """The parser sees every command that quotes its output (a broken parser checks nothing),
    and the example files they name are shipped."""
    assert len(QUOTING) == QUOTING_COMMANDS, [c for c, _ in QUOTING]
    commands = [c for c, _ in readme_commands()]
    assert "computeplan model --params 70e9 --tokens 1e12 --law sardana2024" in commands
    assert dict(QUOTING)["computeplan model --params 70e9 --tokens 1e12 --law sardana2024"] \
        == "loss 1.9473"
    for command, _ in QUOTING:
        for arg in shlex.split(command):
            if arg.startswith("examples/"):
                assert (ROOT / arg).is_file(), (command, arg)


#: Arguments naming a file the command writes, not one it reads.
OUTPUT_FLAGS = ("--out", "--plot")


def _resolved(args: list[str]) -> list[str]:
    return [str((ROOT / a).resolve()) if a.startswith(("examples/", "../shared/")) else a
            for a in args]


#: ``fit`` options naming the columns of the runs CSV (``read_runs`` keywords).
COLUMN_OPTIONS = {"--params-col": "params_col", "--tokens-col": "tokens_col",
                  "--flops-col": "flops_col", "--loss-col": "loss_col",
                  "--weight-col": "weight_col", "--unique-tokens-col": "unique_tokens_col"}


def test_readme_commands_on_the_example_files_run(tmp_path, monkeypatch):
    """Every README command that reads a file of examples/, or a file an earlier one wrote,
    runs as written (in README order, in one directory) and exits 0. A ``fit`` (seconds each;
    tests/test_fit_cli.py runs them) reads its CSV with the columns the command names instead,
    so the files are shipped and fit for purpose without the test taking minutes."""
    from computeplan.fitting import read_runs

    monkeypatch.chdir(tmp_path)
    written: set[str] = set()
    ran, read = [], []
    for command, _ in readme_commands():
        args = shlex.split(command)[1:]
        inputs = [a for i, a in enumerate(args) if i == 0 or args[i - 1] not in OUTPUT_FLAGS]
        if not any(a.startswith("examples/") or a in written for a in inputs):
            continue
        if args[0] == "fit":
            columns = {COLUMN_OPTIONS[a]: args[i + 1] for i, a in enumerate(args)
                       if a in COLUMN_OPTIONS}
            runs = read_runs(_resolved(args[1:2])[0], **columns)
            assert len(runs.loss) >= 20, command
            read.append(command)
            continue
        result = CliRunner().invoke(app, _resolved(args), env={"COLUMNS": "200"})
        assert result.exit_code == 0, (command, result.output[-2000:])
        written |= {a for i, a in enumerate(args) if i and args[i - 1] in OUTPUT_FLAGS}
        ran.append(command)
    assert len(ran) >= 5 and len(read) >= 10, (ran, read)
    assert any("examples/runs-unique.csv --unique-tokens-col" in c for c in read)
    assert any("--gpu-file examples/gpus.toml" in c for c in ran)


def test_example_files_are_what_make_examples_writes():
    """examples/make_examples.py --check: the shipped files are the generator's output."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_examples",
                                                  ROOT / "examples" / "make_examples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--check"]) == 0
    assert set(module.files()) <= {p.name for p in (ROOT / "examples").iterdir()}


def test_number_matching():
    """The matcher itself: a number matches the printed ones it rounds to, in any notation."""
    out = numbers("params 24.18B, tokens 2,657,000,000,000 ratio 70.96% 5,939x $1.194M 3.15e23 "
                  "283.48")
    for quoted in ("2.418e10", "2.657e12", "2.657T", "0.7096", "70.96%", "5939", "$1.194M",
                   "1.194M", "3.2e23", "24B"):
        (value, half), = numbers(quoted)
        assert printed(value, half, out), quoted
    for quoted in ("2.416e10", "70.94%", "5,937x", "$1.196M", "3.13e23", "2.659T", "283.4"):
        (value, half), = numbers(quoted)
        assert not printed(value, half, out), quoted
    assert numbers("h100 fp8 R_N* 1e+12") == [(1e12, 0.5e12)]


@pytest.mark.parametrize("command, quoted", QUOTING, ids=[c[:60] for c, _ in QUOTING])
def test_readme_command_prints_the_numbers_it_quotes(command, quoted, tmp_path, monkeypatch):
    args = _resolved(shlex.split(command)[1:])
    monkeypatch.chdir(tmp_path)  # files the command writes (--plot, --out) go here
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    status = re.search(r"\bexit (\d+)", quoted)
    assert result.exit_code == (int(status.group(1)) if status else 0), result.output
    text = result.output
    error = re.search(r"(error: .*?)(?:\.\.\.|$)", quoted)
    if error:
        assert error.group(1) in " ".join(text.split()), text
    output = numbers(text)
    if "undated" in quoted:  # the same plan without the timeline options (and its --plot)
        from computeplan.commands._timeline import TimelineOptions
        from computeplan.vocabulary import flag

        dated = {flag(o.name) for o in TimelineOptions.options()} | {"--plot"}
        undated = [a for i, a in enumerate(args) if a not in dated
                   and (i == 0 or args[i - 1] not in dated)]
        assert len(undated) < len(args)
        again = CliRunner().invoke(app, undated, env={"COLUMNS": "200"})
        assert again.exit_code == 0, again.output
        output += numbers(again.output)
    quoted = re.sub(r"\bexit \d+", "", quoted)
    missing = [q for q, (value, half) in zip(NUMBER.findall(quoted), numbers(quoted),
                                             strict=True)
               if not printed(value, half, output)]
    assert not missing, (["".join(m) for m in missing], text[-3000:])
