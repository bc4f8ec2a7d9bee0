"""One vocabulary: every option a message, note or help text names exists, in every shell.

An option has one name (Python keyword = JSON/HTTP field; the CLI flag is the name with dashes).
Messages spell names through :func:`computeplan.vocabulary.option`, so the same error names
``--input-tokens`` on the command line and ``input_tokens`` on the web. These tests collect every
name the commands print (errors, notes, help) and check it against the CLI's parameters and the
web API's fields.
"""

import ast
import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from computeplan.cli import app
from computeplan.errors import USER_ERRORS
from computeplan.vocabulary import PROBE, flag, option, render, spelling

SRC = Path(__file__).resolve().parents[1] / "src" / "computeplan"
FLAG = re.compile(r"(?<![\w-])--([A-Za-z][A-Za-z0-9-]*)")
CLICK = typer.main.get_command(app)
runner = CliRunner()


def cli_params(command: str) -> dict[str, list[str]]:
    """Parameter name -> its flags, for one CLI command (hidden aliases included)."""
    return {p.name: list(p.opts) for p in CLICK.commands[command].params}


def visible_flags(command: str) -> set[str]:
    return {o for p in CLICK.commands[command].params if not getattr(p, "hidden", False)
            for o in p.opts if o.startswith("--")} | {"--help"}


def all_flags() -> set[str]:
    return set().union(*(visible_flags(c) for c in CLICK.commands))


# ----------------------------------------------------------------------------- static checks
def _strings(tree: ast.AST, *, skip_docstrings: bool) -> list[str]:
    docstrings = set()
    if skip_docstrings:
        for node in ast.walk(tree):
            if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef):
                body = node.body
                if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value,
                                                                         ast.Constant):
                    docstrings.add(id(body[0].value))
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
            and isinstance(n.value, str) and id(n) not in docstrings]


def _modules(under: Path):
    return sorted(p for p in under.rglob("*.py"))


#: A command line quoted in text (``computeplan report --json``): its flags are the CLI's own.
QUOTED_COMMAND = re.compile(r"computeplan [^()`'\"]*")


def test_messages_outside_the_cli_never_spell_a_flag():
    """The command layer and the core name options with option(), never as '--flag' text, so
    the web API and Python callers get field names. Only the vocabulary module (which defines
    the CLI's spelling) and quoted command lines write flags."""
    offenders = []
    for path in _modules(SRC):
        if "cli" in path.relative_to(SRC).parts or path.name == "vocabulary.py":
            continue
        for text in _strings(ast.parse(path.read_text()), skip_docstrings=True):
            if FLAG.search(QUOTED_COMMAND.sub("", text)):
                offenders.append(f"{path.relative_to(SRC)}: {text!r}")
    # the one allowed: option("params", cli="--set") spells the CLI's own name for the field
    assert offenders == ["commands/tradeoff.py: '--set'"]


def _option_calls(tree: ast.AST) -> list[ast.Call]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)
            and getattr(node.func, "id", None) == "option"]


def test_every_option_name_in_the_code_exists_in_the_cli():
    """Every name a message spells with option("name") is a parameter of some CLI command (and,
    by test_names_in_messages_exist_in_both_shells, a field of the web API)."""
    names, users = set(), []
    for path in _modules(SRC):
        tree = ast.parse(path.read_text())
        calls = _option_calls(tree)
        literal = {c.args[0].value for c in calls if c.args and isinstance(c.args[0],
                                                                          ast.Constant)}
        if literal:
            users.append(path.relative_to(SRC).as_posix())
        names |= literal
    # modules whose messages name options: the scan must reach each of them
    assert {"commands/plan.py", "commands/tradeoff.py", "demand.py", "files.py",
            "sweep/run.py", "fitting/runs.py"} <= set(users), users
    params = set().union(*(cli_params(c) for c in CLICK.commands))
    assert sorted(names - params) == []


def test_flags_written_in_the_cli_package_exist():
    """Help text and messages of the CLI package name only real flags."""
    known = all_flags()
    for path in _modules(SRC / "cli"):
        for text in _strings(ast.parse(path.read_text()), skip_docstrings=False):
            for name in FLAG.findall(text):
                assert f"--{name}" in known, (path.name, text)


def _help_texts(command: str) -> list[str]:
    cmd = CLICK.commands[command]
    texts = [cmd.help or ""]
    for p in cmd.params:
        texts += [getattr(p, "help", None) or "", getattr(p, "rich_help_panel", None) or ""]
    return texts


@pytest.mark.parametrize("command", sorted(CLICK.commands))
def test_help_names_only_flags_of_its_command(command):
    mine = visible_flags(command)
    for text in _help_texts(command):
        for line in text.splitlines():
            other = re.search(r"computeplan (\w+)", line)
            if other and other.group(1) == "COMMAND":  # any command's flags
                known = all_flags()
            else:
                known = mine | (visible_flags(other.group(1)) if other and other.group(1) in
                                CLICK.commands else set())
            for name in FLAG.findall(line):
                assert f"--{name}" in known, (command, line)


def test_one_name_per_option_across_cli_and_commands():
    """Every CLI flag is its parameter's name with dashes (old spellings are hidden aliases),
    except --json (as_json) and tradeoff's --set (the field params)."""
    exceptions = {("tradeoff", "params"): "--set"}
    for command in CLICK.commands:
        for p in CLICK.commands[command].params:
            if not p.opts[0].startswith("--"):
                continue  # an argument
            want = exceptions.get((command, p.name)) or flag(p.name)
            if getattr(p, "hidden", False):
                continue
            assert p.opts == [want], (command, p.name, p.opts)


# ----------------------------------------------------------------------------- spelling
def test_option_is_spelled_by_the_running_shell():
    assert option("train_usd_per_gpu_hour") == "train_usd_per_gpu_hour"
    with spelling("cli"):
        assert option("train_usd_per_gpu_hour") == "--train-usd-per-gpu-hour"
        assert option("params", cli="--set") == "--set" and option("as_json") == "--json"
        with spelling("probe"):
            assert PROBE.fullmatch(option("days")).group(1) == "days"
        assert option("E") == "--E"
    assert render("with {{batch}} and {{context}}", "cli") == "with --batch and --context"
    assert render("with {{batch}}") == "with batch"
    with pytest.raises(ValueError, match="style"):
        spelling("shout").__enter__()


# ----------------------------------------------------------------------------- dynamic checks
#: Inputs (command, fields) whose errors or notes name options.
CASES = [
    ("plan", {"loss": 2.0, "budget_flops": 1e24}),
    ("plan", {"inference_tokens": 1e12, "requests": 1e9}),
    ("plan", {"requests": 1e9}),
    ("plan", {"input_tokens": 100.0}),
    ("plan", {"users": 1e6}),
    ("plan", {"days": 3.0}),
    ("plan", {"batch": 8.0}),
    ("plan", {"decode_model": "roofline", "decode_mfu": 0.1}),
    ("plan", {"objective": "flops", "train_gpu": "h100"}),
    ("plan", {"budget_flops": 1e24, "train_gpu": "h100"}),
    ("plan", {"budget_usd": 1e6, "objective": "flops"}),
    ("plan", {"decode_model": "roofline", "requests": 1e9, "input_tokens": 0.0,
              "output_tokens": 0.0}),
    ("plan", {"reference_params": 1e300}),
    ("plan", {"reference_tokens": 1e12}),
    ("plan", {"reference_params": 8e9, "reference_tokens": -1.0}),
    ("plan", {"train_gpu": "h100", "requests": 1e9, "input_tokens": 100.0,
              "output_tokens": 10.0}),
    ("plan", {"decode_model": "roofline"}),
    ("plan", {}),
    ("plan", {"discount_rate_per_year": 0.1}),
    ("plan", {"price_performance_doubling_years": "ml-gpus", "train_gpus": 64.0}),
    ("plan", {"horizon_days": -5.0}),
    ("plan", {"demand_ramp_days": 400.0}),
    ("plan", {"demand_growth_per_year": 1e200, "horizon_days": 3650.0}),
    ("plan", {"users": 1e6, "requests_per_user_per_day": 1.0, "days": 100.0,
              "input_tokens": 10.0, "output_tokens": 10.0, "horizon_days": 50.0}),
    ("plan", {"rd_star": 10.0}),
    ("plan", {"unique_tokens": -1.0}),
    ("plan", {"loss": 1.8, "unique_tokens": 1e12}),
    ("plan", {"unique_tokens": 1e12, "rn_star": 4.0}),
    ("plan", {"level": 0.9}),
    ("plan", {"confidence": 0.8, "law": "besiroglu2024"}),
    ("plan", {"uncertainty": True, "law": "besiroglu2024", "confidence": 1.5}),
    ("plan", {"uncertainty": True, "law": "besiroglu2024", "level": 0.0}),
    ("plan", {"uncertainty": True, "law": "besiroglu2024", "unique_tokens": 1e12}),
    ("plan", {"inference_tokens_range": [1e11, 1e12], "budget_flops": 1e24}),
    ("plan", {"inference_tokens": 1e12, "inference_tokens_range": [1e11, 1e12]}),
    ("plan", {"users_range": [5.0, 1.0], "requests_per_user_per_day": 1.0, "days": 10.0,
              "input_tokens": 10.0, "output_tokens": 10.0}),
    ("report", {"loss": 2.0, "inference_tokens": 1e12, "budget_flops": 1e24}),
    ("model", {"chinchilla": True}),
    ("model", {"params": 1e9}),
    ("model", {"chinchilla": True, "params": 1e9, "unique_tokens": 1e10}),
    ("model", {"params": 1e9, "tokens": 1e10, "rd_star": 3.0}),
    ("tradeoff", {"technique": "mcts", "unique_tokens": 1e12}),
    ("tradeoff", {"technique": "scaling-policy", "rn_star": 3.0}),
    ("tradeoff", {"technique": "mcts", "law": "hoffmann2022"}),
    ("tradeoff", {"technique": "scaling-policy", "train_compute": 1e22}),
    ("tradeoff", {"technique": "scaling-policy", "combine_level": 1.9}),
    ("tradeoff", {"technique": "mcts", "fraction_per_round": 0.2}),
    ("tradeoff", {"technique": "mcts", "params": {"law": 3.0}}),
    ("tradeoff", {"technique": "pass-at-k", "combine": "mcts"}),
    ("train", {"params": 7e9, "tokens": 2e12, "layers": 32}),
    ("serve", {"params": 7e9}),
    ("allocate", {"train_oom": 0.01, "inference_oom": 100.0, "step_oom": 3.0}),
    ("overhead", {"size_fraction": 0.5, "train_flops": 1e21}),
    # errors that once spelled options as field names on the CLI
    ("plan", {"decode_model": "roofline", "kv_dtype": "foo"}),
    ("serve", {"params": 7e9, "kv_dtype": "nope"}),
    ("serve", {}),
    ("serve", {"params": 1e15}),
    ("serve", {"params": 7e9, "layers": 32, "d_model": 4096, "heads": 32, "kv_heads": 128}),
    ("train", {"params": 1e9, "tokens": 1e10, "gpu_hours": 1.0}),
    ("train", {"params": 1e9, "tokens": 1e10, "gpu_hours": 1000.0, "mfu": 0.4}),
    ("train", {"params": 1e9, "tokens": 1e10, "bytes_per_param": 1e300}),
    ("train", {"params": 1e9, "tokens": 1e10, "attention": True, "layers": 32}),
    ("plan", {"loss": 1.5}),
    ("plan", {"A": 1e-320}),
    ("model", {"chinchilla": True, "tokens": 1e300}),
    ("model", {"params": 1e300, "tokens": 1e300}),
    ("model", {"compute": 1e300, "tokens": 1e-300}),
    ("tradeoff", {"technique": "scaling-policy", "unique_tokens": 1e9}),
    ("tradeoff", {"technique": "scaling-policy", "grid_points": 0}),
    ("tradeoff", {"technique": "scaling-policy", "train_range": [25.0, 20.0]}),
    ("tradeoff", {"technique": "scaling-policy", "inference_range": [5.0, 1.0]}),
    ("tradeoff", {"technique": "pruning", "fraction_per_round": 0.0}),
    ("tradeoff", {"technique": "pruning", "min_density": 0.0}),
    ("tradeoff", {"technique": "n-at-k", "level": 0.999999}),
    ("overhead", {"size_fraction": 0.0}),
    ("plan", {"inference_tokens_range": [1e12, 1e13], "requests_range": [1e9, 1e10],
              "input_tokens": 100.0, "output_tokens": 10.0}),
    ("plan", {"requests_range": [1e9, 1e10]}),
    ("plan", {"train_gpus": 1e300}),
    ("plan", {"train_gpus": 1e300, "train_gpu": "h100", "train_mfu": 0.5}),
    ("plan", {"budget_usd": 1e300, "requests": 1e9, "input_tokens": 100.0,
              "output_tokens": 200.0}),
]


def _messages(fn, fields) -> list[str]:
    from computeplan.render import jsonable

    try:
        out = jsonable(fn(**fields))
    except USER_ERRORS as exc:
        return [str(exc)]
    return list(out.get("notes", [])) + list(out.get("plan", {}).get("notes", []))


def _cli_args(command, fields) -> list[str]:
    args = []
    for key, value in fields.items():
        if key == "technique":
            args.insert(0, value)
        elif isinstance(value, dict):  # tradeoff: technique parameters, --set name=value
            args += [x for k, v in value.items() for x in ("--set", f"{k}={v:g}")]
        elif value is True:
            args.append(flag(key))
        elif isinstance(value, list):  # LO HI of a range option
            args += [flag(key), *map(str, value)]
        else:
            args += [flag(key), str(value)]
    return [command, *args]


@pytest.mark.parametrize("command, fields", CASES)
def test_names_in_messages_exist_in_both_shells(command, fields):
    pytest.importorskip("fastapi", reason="the web extra is not installed")
    from computeplan.web.routes import registered

    (ep, fn, model), = [r for r in registered() if r[0].name == command]
    with spelling("probe"):
        messages = _messages(fn, fields)
    names = {n for m in messages for n in PROBE.findall(m)}
    assert names, messages  # each case names at least one option
    assert names <= set(model.model_fields), (names - set(model.model_fields), messages)
    assert names <= set(cli_params(command)), (names - set(cli_params(command)), messages)
    # the CLI prints those names as its flags, and only flags of the command
    result = runner.invoke(app, _cli_args(command, fields))
    printed = set(FLAG.findall(result.stdout + result.stderr))
    assert printed, result.output
    assert {f"--{n}" for n in printed} <= visible_flags(command), result.output


@pytest.mark.parametrize("command, fields", CASES)
def test_web_messages_name_fields_not_flags(command, fields):
    pytest.importorskip("fastapi", reason="the web extra is not installed")
    pytest.importorskip("httpx2", reason="starlette's test client needs httpx2")
    from fastapi.testclient import TestClient

    from computeplan.web import create_app

    with TestClient(create_app()) as client:
        response = client.post(f"/api/{command}", json=fields)
    body = response.json()
    text = body.get("error") or " ".join(body.get("notes", []) +
                                         body.get("plan", {}).get("notes", []))
    assert text and "--" not in text, text


def test_core_arguments_are_spelled_as_the_options_bound_to_them():
    from computeplan.vocabulary import argument, called

    assert argument("train_tokens") == "train_tokens"  # a Python caller's keyword
    with spelling("cli"):
        assert argument("train_tokens") == "train_tokens"
        with called(train_tokens="tokens", loss="level"):
            assert argument("train_tokens") == "--tokens" and option("loss") == "--level"
            assert argument("params") == "params"
        assert option("loss") == "--loss"
    with called(train_tokens="tokens"):
        assert argument("train_tokens") == "tokens"


def test_range_errors_write_a_range_as_the_shell_does():
    from computeplan.commands.plan import plan
    from computeplan.errors import InputError

    fields = dict(users_range=[5.0, 1.0], requests_per_user_per_day=1.0, days=10.0,
                  input_tokens=10.0, output_tokens=10.0)
    with pytest.raises(InputError, match=r"^users_range must be finite numbers \[lo, hi\] "
                                         r"with 0 <= lo <= hi; got \[5, 1\]$"):
        plan(**fields)
    with spelling("cli"), pytest.raises(InputError, match=r"^--users-range must be finite "
                                                          r"numbers LO HI with 0 <= LO <= HI; "
                                                          r"got 5 1$"):
        plan(**fields)


#: CLI command lines (some need files, which the web cases above cannot give) whose error
#: names options: every flag it prints is one of its command's.
CLI_ERRORS = [
    ["fit", "examples/runs.csv", "--drop-highest-loss", "100"],
    ["fit", "examples/runs.csv", "--min-tokens-per-param", "50", "--max-tokens-per-param", "10"],
]


@pytest.mark.parametrize("args", CLI_ERRORS)
def test_cli_errors_name_only_flags_of_their_command(args, monkeypatch):
    monkeypatch.chdir(SRC.parents[1])  # examples/ are relative to the repository root
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    printed = set(FLAG.findall(result.stderr))
    assert printed, result.stderr
    assert {f"--{n}" for n in printed} <= visible_flags(args[0]), result.stderr
    assert "_" not in "".join(printed), result.stderr


def test_old_cli_spellings_are_hidden_aliases():
    from cli_helpers import run_json

    new = run_json("plan", "--train-usd-per-gpu-hour", "1.5", "--inference-usd-per-gpu-hour",
                   "0.5", "--requests", "1e9", "--input-tokens", "100", "--output-tokens", "10")
    old = run_json("plan", "--train-usd-per-hour", "1.5", "--inference-usd-per-hour", "0.5",
                   "--requests", "1e9", "--input-tokens", "100", "--output-tokens", "10")
    assert old == new and new["assumptions"]["train_usd_per_gpu_hour"] == 1.5
    help_text = runner.invoke(app, ["plan", "--help"], env={"COLUMNS": "200"}).stdout
    assert "--train-usd-per-gpu-hour" in help_text and "--train-usd-per-hour " not in help_text
    both = runner.invoke(app, ["plan", "--train-usd-per-hour", "1", "--train-usd-per-gpu-hour",
                               "2"])
    assert both.exit_code == 2
    assert "--train-usd-per-hour is the old name of --train-usd-per-gpu-hour" in both.stderr


@pytest.mark.parametrize("command, args", [
    ("serve", ["--params", "7e9"]),
    ("train", ["--params", "7e9", "--tokens", "1e12"]),
])
def test_usd_per_hour_is_a_hidden_alias_of_usd_per_gpu_hour(command, args):
    from cli_helpers import run_json

    new = run_json(command, *args, "--usd-per-gpu-hour", "3.5")
    assert run_json(command, *args, "--usd-per-hour", "3.5") == new
    assert new != run_json(command, *args)
    help_text = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"}).stdout
    assert "--usd-per-gpu-hour" in help_text and "--usd-per-hour " not in help_text


def test_sweep_names_a_mistyped_law_preset_as_given(monkeypatch):
    pytest.importorskip("pyarrow", reason="sweep needs the sweep extra")
    monkeypatch.chdir(SRC.parents[1])
    result = runner.invoke(app, ["sweep", "--scenarios", "examples/scenarios.csv", "--law",
                                 "nope"])
    assert result.exit_code == 2, result.output
    assert "unknown law 'nope'" in result.stderr and "/nope" not in result.stderr
