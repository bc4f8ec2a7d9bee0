"""Review fixes in the shells: user errors, non-finite results, plot and law files, GPU files."""

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from computeplan.cli import app
from computeplan.errors import InputError

runner = CliRunner()


def cli_error(*args):
    """Run the CLI in-process; assert a one-line ``error: ...`` and exit 2; return the message."""
    result = runner.invoke(app, list(args))
    assert result.exit_code == 2, (result.output, result.exception)
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    return result.stderr


def cli_subprocess(*args):
    """Run the CLI as a user would: stderr is exactly one ``error:`` line (no warnings)."""
    proc = subprocess.run([sys.executable, "-m", "computeplan", *args],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr
    return proc.stderr


# ----------------------------------------------------------------------------- 1. user errors
def test_convergence_error_is_a_one_line_error():
    cli_error("plan", "--budget-usd", "1e300", "--requests", "1e9", "--input-tokens", "100",
              "--output-tokens", "100")


def test_overflow_error_is_a_one_line_error():
    err = cli_error("tradeoff", "scaling-policy", "--A", "1e300")
    assert "floating-point range" in err


def test_no_runtime_warning_leaks_to_stderr():
    err = cli_subprocess("serve", "--params", "7e9", "--batch", "1e300")
    assert "RuntimeWarning" not in err and "batch" in err


# ----------------------------------------------------------------------------- 2. non-finite
@pytest.mark.parametrize("as_json", [True, False])
def test_non_finite_plan_result_names_the_key(as_json):
    args = ["plan", "--inference-tokens", "1e300"] + (["--json"] if as_json else [])
    err = cli_error(*args)
    assert "inference_flops is not finite (inf)" in err


@pytest.mark.parametrize("as_json", [True, False])
def test_non_finite_tradeoff_result_is_refused(as_json):
    args = ["tradeoff", "scaling-policy", "--queries", "1e308"] + (["--json"] if as_json else [])
    assert "is not finite" in cli_error(*args)


def test_dumps_raises_input_error_with_key_path():
    from computeplan.render import dumps

    with pytest.raises(InputError, match=r"result a\.b\[1\] is not finite \(nan\)"):
        dumps({"a": {"b": [1.0, float("nan")]}, "c": 2.0})
    assert dumps({"a": [1.0, 2]}, indent=None) == '{"a": [1.0, 2]}'
