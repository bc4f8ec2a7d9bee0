"""CLI: the JSON contract, published examples end to end, and one-line errors with exit 2."""

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

import published
from cli_helpers import run_json
from computeplan.cli import app
from published import cli_args

runner = CliRunner()
SARDANA_DOLLARS = cli_args(published.SARDANA_DOLLARS)
PLAN_KEYS = {"params", "train_tokens", "tokens_per_param", "train_flops", "inference_flops",
             "total_flops"}
COST_KEYS = {"train_cost_usd", "inference_cost_usd", "total_cost_usd"}


def test_plan_json_contract_flops():
    out = run_json("plan", "--loss", "1.947", "--inference-tokens", "2e12", "--law", "sardana2024")
    assert out["target_loss"] == 1.947
    assert {k: out["law"][k] for k in ("E", "A", "B", "alpha", "beta")} == {
        "E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.336, "beta": 0.283}
    for key in ("chinchilla", "optimal"):
        assert PLAN_KEYS <= set(out[key]) and not COST_KEYS & set(out[key])
    assert set(out["ratios"]) == {"params", "train_tokens", "total_flops"}
    assert f"{out['optimal']['params']:.4g}" == "2.418e+10"
    assert round(100 * out["ratios"]["total_flops"], 2) == 95.22


def test_plan_json_contract_dollars():
    out = run_json("plan", "--loss", "1.947", "--law", "sardana2024", *SARDANA_DOLLARS)
    for key in ("chinchilla", "optimal"):
        assert PLAN_KEYS | COST_KEYS <= set(out[key])
    assert set(out["ratios"]) == {"params", "train_tokens", "total_flops", "total_cost_usd"}
    assert f"{out['optimal']['params']:.4g}" == "2.053e+10"
    assert f"{out['optimal']['train_tokens']:.4g}" == "3.302e+12"
    assert round(100 * out["ratios"]["params"], 2) == 60.23
    assert round(100 * out["ratios"]["train_tokens"], 2) == 182.41
    assert round(100 * out["ratios"]["total_cost_usd"], 2) == 88.76
    assert out["assumptions"]["train_usd_per_gpu_hour"] == 1.40
    assert out["notes"] == ["assumed defaults for the dollar objective: --train-dtype"]


def test_plan_default_example_says_so():
    result = runner.invoke(app, ["plan"])
    assert result.exit_code == 0
    assert "no target given" in result.stdout and "Chinchilla-optimal 70B" in result.stdout
    assert "2e+12" in result.stdout
    out = run_json("plan")
    assert f"{out['chinchilla']['params']:.4g}" == "7e+10"
    assert len(out["notes"]) == 2


def test_plan_table_shows_assumptions():
    result = runner.invoke(app, ["plan", "--loss", "1.947", *SARDANA_DOLLARS])
    assert result.exit_code == 0
    for text in ("88.76%", "a100-80gb bf16 at $1.4/h", "decode MFU 0.2", "law sardana2024"):
        assert text in result.stdout


def test_plan_budget_inverse_round_trip():
    fwd = run_json("plan", "--loss", "2.0", "--inference-tokens", "1e13")
    inv = run_json("plan", "--budget-flops", str(fwd["optimal"]["total_flops"]),
                   "--inference-tokens", "1e13")
    assert inv["budget_flops"] == fwd["optimal"]["total_flops"]
    assert inv["optimal"]["loss"] == pytest.approx(2.0, rel=1e-12)
    assert inv["chinchilla"]["loss"] > inv["optimal"]["loss"]


def test_plan_demand_forms():
    users = run_json("plan", "--loss", "2", "--users", "1e6", "--requests-per-user-per-day", "10",
                     "--days", "365", "--input-tokens", "500", "--output-tokens", "200")
    reqs = run_json("plan", "--loss", "2", "--requests", "3.65e9", "--input-tokens", "500",
                    "--output-tokens", "200")
    assert users["optimal"] == reqs["optimal"]
    assert users["demand"]["inference_tokens"] == pytest.approx(3.65e9 * 700)


def test_plan_law_file_and_overrides(tmp_path):
    law_file = tmp_path / "mylaw.json"
    law_file.write_text(json.dumps({"E": 1.8, "A": 480, "B": 2100, "alpha": 0.35, "beta": 0.37}))
    out = run_json("plan", "--loss", "2.0", "--law", str(law_file), "--E", "1.75")
    assert out["law"]["E"] == 1.75 and out["law"]["A"] == 480


def test_model_json_includes_loss():
    out = run_json("model", "--params", "70e9", "--tokens", "1e12", "--law", "sardana2024")
    assert round(out["loss"], 3) == 1.947
    chin = run_json("model", "--chinchilla", "--params", "30e9")
    assert f"{chin['train_tokens']:.4g}" == "1.556e+12" and round(chin["loss"], 3) == 1.958
    assert f"{chin['train_flops']:.4g}" == "2.801e+23"
    need = run_json("model", "--loss", str(out["loss"]), "--params", "70e9")
    assert need["train_tokens"] == pytest.approx(1e12, rel=1e-9)
    third = run_json("model", "--compute", "4.2e23", "--params", "70e9")
    assert third["train_tokens"] == pytest.approx(1e12)


@pytest.mark.parametrize("args, message", [
    (["plan", "--loss", "1.5"], "loss must be > E = 1.69"),
    (["plan", "--loss", "nan"], "loss must be a finite number; got nan"),
    (["plan", "--inference-tokens", "-3"], "--inference-tokens must be >= 0; got -3"),
    (["plan", "--train-mfu", "1.5"], "--train-mfu must be in (0, 1]; got 1.5"),
    (["plan", "--train-gpu", "v100"], "unknown GPU 'v100'; known GPUs:"),
    (["plan", "--inference-gpu", "a100-40gb", "--inference-dtype", "fp8", "--requests", "1",
      "--input-tokens", "1", "--output-tokens", "1"], "has no 'fp8' peak"),
    (["plan", "--law", "chinchilla"], "unknown law 'chinchilla'; valid presets"),
    (["plan", "--loss", "2", "--reference-params", "7e9"], "give one target"),
    (["plan", "--inference-tokens", "1e9", "--requests", "5"], "give one form of demand"),
    (["plan", "--requests", "5"], "--requests needs both --input-tokens and --output-tokens"),
    (["plan", "--objective", "flops", "--train-mfu", "0.4"], "conflicts with hardware"),
    (["plan", "--budget-flops", "1e24", "--train-gpu", "h100"], "--budget-flops conflicts"),
    (["plan", "--train-gpu", "h100"], "needs the input/output split"),
    (["model", "--params", "1e9"], "give --chinchilla with one of"),
    (["model", "--chinchilla", "--params", "1e9", "--tokens", "1e9"], "exactly one of"),
    (["model", "--params", "1e9", "--loss", "1.7"], "best loss this many parameters can reach"),
    # counts are whole numbers
    (["serve", "--params", "7e9", "--layers", "3.5", "--d-model", "4096", "--heads", "32"],
     "--layers must be a whole number >= 1; got 3.5"),
    (["serve", "--params", "7e9", "--layers", "32", "--d-model", "4096.5", "--heads", "32"],
     "--d-model must be a whole number >= 1; got 4096.5"),
    (["serve", "--params", "7e9", "--batch", "2.5"], "--batch must be a whole number >= 1"),
    (["serve", "--params", "7e9", "--vocab", "3.5"], "--vocab must be a whole number >= 1"),
    (["train", "--params", "7e9", "--tokens", "1e12", "--attention", "--layers", "3.5",
      "--d-model", "4096", "--heads", "32"], "--layers must be a whole number >= 1; got 3.5"),
    (["plan", "--decode-model", "roofline", "--batch", "2.5"],
     "--batch must be a whole number >= 1; got 2.5"),
    # numbers as the CLI spells them, in text options too
    (["tradeoff", "scaling-policy", "--set", "fraction_per_round=0_2"],
     "--set fraction_per_round must be a number (digits with an optional point and exponent, "
     "e.g. 2, 0.5 or 1.5e21); got '0_2'"),
    (["plan", "--price-performance-doubling-years", "2_5"],
     "--price-performance-doubling-years must be a number of years > 0 or one of"),
])
def test_bad_input_exit_2_one_line(args, message):
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    assert "Traceback" not in result.output


@pytest.mark.parametrize("args, message", [
    (["plan", "--loss", "abc"], "invalid value for '--loss': "),
    (["plan", "--nope"], "no such option: --nope (see 'computeplan plan --help')"),
    (["plan", "--objective", "x"], "'x' is not one of 'flops', 'usd'"),
    (["plan", "extra"], "unexpected extra argument"),
    (["nope"], "no such command 'nope' (see 'computeplan --help')"),
    (["fit"], "missing argument 'runs' (see 'computeplan fit --help')"),
    (["tradeoff", "nope"], "'nope' is not one of 'scaling-policy'"),
    (["tradeoff", "scaling-policy", "--nope"], "no such option: --nope"),
    (["plan", "--loss"], "option '--loss' requires an argument (see 'computeplan plan --help')"),
    (["tradeoff"], "missing argument 'technique'. Choose from: scaling-policy, pruning, mcts, "
                   "pass-at-k, n-at-k (see 'computeplan tradeoff --help')"),
    # numbers: digits, point and exponent only (Python's float reads '2_0' as 20, '２' as 2)
    (["plan", "--loss", "2_0"], "invalid value for '--loss': '2_0' is not a number; write digits "
                                "with an optional point and exponent, e.g. 2, 0.5 or 1.5e21 "
                                "(see 'computeplan plan --help')"),
    (["plan", "--loss", "２"], "'２' is not a number"),
    (["plan", "--loss", "abc"], "'abc' is not a number"),
    (["tradeoff", "scaling-policy", "--train-range", "1_0", "20"],
     "invalid value for '--train-range': '1_0' is not a number"),
    (["tradeoff", "scaling-policy", "--queries", "1e3", "--queries", "1_0"],
     "invalid value for '--queries': '1_0' is not a number"),
    (["fit", "runs.csv", "--bootstrap", "2.5"],
     "invalid value for '--bootstrap': '2.5' is not a whole number; write digits, e.g. 0, 3 or "
     "1000"),
    (["fit", "runs.csv", "--seed", "1_0"], "invalid value for '--seed': '1_0' is not a whole"),
    (["tradeoff", "scaling-policy", "--grid-points", "1_000"],
     "invalid value for '--grid-points': '1_000' is not a whole number"),
    # an option of one value given twice (click kept the last, unsaid)
    (["plan", "--loss", "2", "--loss", "3"],
     "option --loss is given more than once; give it once (see 'computeplan plan --help')"),
    (["plan", "--json", "--loss", "2.1", "--json"], "option --json is given more than once"),
])
def test_usage_errors_are_one_line(args, message):
    """A value that does not parse, an unknown option, command or choice, a missing argument:
    one line, exit status 2, as every other user error (typer draws a box under the usage)."""
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    assert "Usage:" not in result.output and "Value error" not in result.stderr


def test_options_of_several_values_may_repeat(tmp_path):
    """--where takes several conditions, one per use: repeating it is no usage error (the
    error is the missing file's)."""
    result = runner.invoke(app, ["fit", str(tmp_path / "none.csv"), "--where", "a=1", "--where",
                                 "b=2"])
    assert result.exit_code == 2 and "cannot read runs file" in result.stderr, result.output


def test_whole_numbers_may_be_written_as_decimals(tmp_path):
    """'2.0' and '1e1' are whole numbers: an integer option takes them (the error is then the
    missing file's, not the number's)."""
    for text in ("2.0", "1e1", "10"):
        result = runner.invoke(app, ["fit", str(tmp_path / "none.csv"), "--bootstrap", text])
        assert result.exit_code == 2 and "cannot read runs file" in result.stderr, result.output


def test_real_process_error_has_no_traceback():
    proc = subprocess.run([sys.executable, "-m", "computeplan", "plan", "--loss", "1.0"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: --loss must be > E") and "Traceback" not in proc.stderr
    assert proc.stdout == ""
