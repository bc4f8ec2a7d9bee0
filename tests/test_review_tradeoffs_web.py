"""Review findings: tradeoffs, report, web. Each test failed before its fix."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from computeplan.cli import app
from computeplan.errors import InputError

runner = CliRunner()


def cli_error(*args) -> str:
    """The one-line stderr of a CLI call that must fail with exit status 2."""
    result = runner.invoke(app, list(args))
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.output
    return result.stderr


def run_json(*args):
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# ------------------------------------------------------------------------- 2. report
def test_report_loss_rounding_to_E_is_an_input_error():
    msg = cli_error("report", "--budget-flops", "1e300", "--inference-tokens", "2e12", "--json")
    assert "budget-flops" in msg and "1e+300" in msg and "E = 1.69" in msg


def test_report_zero_tokens_per_request_sweeps_nonzero_demand():
    out = run_json("report", "--requests", "1e10", "--input-tokens", "0", "--output-tokens", "0")
    tokens = np.array(out["figures"]["demand_sweep"]["inference_tokens"])
    assert np.all(tokens > 0) and tokens[-1] > tokens[0]


# --------------------------------------------------------------------- 3. --set law
@pytest.mark.parametrize("technique", ["mcts", "scaling-policy"])
def test_set_law_is_rejected(technique):
    msg = cli_error("tradeoff", technique, "--set", "law=3")
    assert "--set law" in msg and "--law" in msg


# ------------------------------------------------------- 4. single-point frontiers
@pytest.mark.parametrize("args", [
    ("mcts", "--set", "smoothing=1e300"),
    ("mcts", "--set", "train_slope=1e-300"),
    ("pass-at-k", "--set", "d0=1e300"),
])
def test_single_point_frontier_is_an_input_error(args):
    msg = cli_error("tradeoff", *args)
    assert "only one grid point: no tradeoff" in msg


# ----------------------------------------------------------- 5. one-point evaluation
def test_point_evaluation_not_finite_is_an_input_error():
    msg = cli_error("tradeoff", "pruning", "--train-compute", "1e300",
                    "--inference-compute", "1e-300")
    assert "train_compute = 1e+300" in msg and "inference_compute = 1e-300" in msg


# --------------------------------------------------------------------- 6. queries
def test_queries_overflowing_total_compute_is_an_input_error():
    msg = cli_error("tradeoff", "scaling-policy", "--queries", "1e308", "--json")
    assert "queries must" in msg and "1e+308" in msg


# ------------------------------------------------------------------ 7. grid ranges
@pytest.mark.parametrize("args, name", [
    (("scaling-policy", "--train-range", "-400", "400"), "train_range"),
    (("scaling-policy", "--inference-range", "300", "310"), "inference_range"),
    (("mcts", "--set", "train_x1=1e300"), "train_range"),
    (("mcts", "--set", "flops_per_node=1e306"), "inference_range"),
])
def test_grid_range_beyond_float_range(args, name):
    msg = cli_error("tradeoff", *args)
    assert msg.startswith(f"error: {name} must be") and "-300 <= low < high <= 300" in msg


# -------------------------------------------------------------------- 9. allocate
def test_allocate_huge_oom_counts_split_evenly():
    out = run_json("allocate", "--train-oom", "1e308", "--inference-oom", "1e308")
    assert out["train_fraction"] == 0.5 and out["inference_fraction"] == 0.5


# ---------------------------------------------------------- 13. argument names
@pytest.mark.parametrize("args, expected", [
    (("tradeoff", "scaling-policy", "--level", "1e300"), "level (loss) must be in (1.69, "),
    (("overhead", "--size-fraction", "0.5", "--critical-overhead", "0"),
     "critical_overhead must be > 0"),
    (("tradeoff", "scaling-policy", "--set", "reference_train_compute=1e308"),
     "reference_train_compute"),
])
def test_messages_name_the_argument(args, expected):
    assert expected in cli_error(*args)


def test_pass_at_k_does_not_check_x1():
    from computeplan.tradeoffs.techniques import RepeatedSampling

    RepeatedSampling(x0=5.0)  # x1 = 1.42 < x0 is irrelevant to pass@k
    with pytest.raises(InputError, match="x1"):
        RepeatedSampling(limited_trials=True, x0=5.0)


def test_pass_at_k_grid_starts_strictly_above_zero_slope():
    from computeplan.tradeoffs.techniques import RepeatedSampling

    tech = RepeatedSampling(a=1e300)
    (t_lo, _), _ = tech.grid_range(0.5)
    assert 10.0 ** t_lo > tech.min_train_compute
    msg = cli_error("tradeoff", "pass-at-k", "--set", "a=1e300")
    assert "slope" not in msg
