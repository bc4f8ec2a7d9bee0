"""Review fixes in the numerical core, planner, hardware models and fitting."""

import warnings

import numpy as np
import pytest
from typer.testing import CliRunner

from computeplan.cli import app
from computeplan.errors import InputError

runner = CliRunner()


def cli_error(*args):
    """Run the CLI; assert a one-line ``error: ...`` and exit 2; return the message."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = runner.invoke(app, list(args))
    assert result.exit_code == 2, (result.output, result.exception)
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    return result.stderr


def cli_ok(*args):
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


DEMAND = ["--requests", "1e9", "--input-tokens", "100", "--output-tokens", "100"]


# ------------------------------------------------------------------- 1. logs, not overflow
def test_huge_dollar_budget_names_budget_usd():
    err = cli_error("plan", "--budget-usd", "1e300", *DEMAND)
    assert "budget_usd" in err and "overflows" in err


def test_chinchilla_budget_in_logs():
    from computeplan.demand import Demand
    from computeplan.lifetime import budget_optimal, chinchilla_budget
    from computeplan.objectives import DollarCost

    # p e^s overflowed for huge budgets; the optimum still exists in double precision
    plan = chinchilla_budget(budget=1e250, inference_tokens=0.0, cost=None)
    assert np.isfinite(plan.total_flops) and plan.total_flops == pytest.approx(1e250, rel=1e-9)
    cost = DollarCost()
    for solve in (chinchilla_budget, budget_optimal):
        plan = solve(budget=1e200, demand=Demand.from_requests(1e9, 100, 100), cost=cost)
        assert plan.total_cost_usd == pytest.approx(1e200, rel=1e-9)


def test_tiny_training_price_names_the_price():
    err = cli_error("plan", "--train-usd-per-hour", "1e-300", *DEMAND)
    assert "train_usd_per_gpu_hour 1e-300" in err


# ------------------------------------------------------------------- 2. zero demand, roofline
def test_roofline_budget_with_zero_demand():
    out = cli_ok("plan", "--budget-usd", "1e6", "--requests", "0", "--input-tokens", "1000",
                 "--output-tokens", "250", "--decode-model", "roofline", "--json")
    assert '"total_cost_usd"' in out


# ------------------------------------------------------------------- 3. results that overflow
@pytest.mark.parametrize("args, names", [
    (["plan", "--inference-tokens", "1e300"], ["inference_flops = inf", "inference demand"]),
    (["model", "--params", "1e300", "--tokens", "1e300"], ["train_flops = inf", "params"]),
    (["plan", "--loss", "1e300"], ["params = 0", "loss"]),
    (["plan", "--reference-params", "1e300"], ["--reference-params 1e+300"]),
    (["plan", "--alpha", "1e-300", "--loss", "2"], ["params = inf", "loss"]),
])
def test_overflowing_results_name_the_inputs(args, names):
    err = cli_error(*args)
    assert "double precision" in err
    for name in names:
        assert name in err


@pytest.mark.parametrize("args, names", [
    (["train", "--params", "7e9", "--tokens", "2e12", "--bytes-per-param", "1e300"],
     ["state_bytes = inf", "bytes_per_param"]),
    (["serve", "--params", "7e9", "--gpus", "1e300"], ["gpus"]),
    (["serve", "--params", "7e9", "--aspect-ratio", "1e-300"],
     ["aspect_ratio must be in [1, 1000]; got 1e-300"]),
    (["plan", "--decode-model", "roofline", "--batch", "1e300", "--requests", "1e9",
      "--input-tokens", "10", "--output-tokens", "10"], ["batch"]),
])
def test_overflowing_hardware_results_name_the_inputs(args, names):
    err = cli_error(*args)
    for name in names:
        assert name in err


# ------------------------------------------------------------------- 4. plan options
def test_gpu_file_selects_the_dollar_objective():
    err = cli_error("plan", "--loss", "2", "--requests", "1e9", "--input-tokens", "10",
                    "--output-tokens", "10", "--gpu-file", "/nonexistent.toml")
    assert "/nonexistent.toml" in err
    err = cli_error("plan", "--objective", "flops", "--gpu-file", "/nonexistent.toml")
    assert "--gpu-file" in err


def test_roofline_default_context_of_zero_tokens_names_the_cause():
    err = cli_error("plan", "--requests", "1e9", "--input-tokens", "0", "--output-tokens", "0",
                    "--decode-model", "roofline")
    assert "--input-tokens + --output-tokens" in err and "--context" in err


# ------------------------------------------------------------------- 5. serving
def test_explicit_gpus_are_not_capped_by_max_gpus():
    out = cli_ok("serve", "--params", "1e12", "--gpus", "32", "--json")
    assert '"gpus": 32.0' in out
    from computeplan.commands.serve import batch_sweep, serve

    sweep = batch_sweep(serve(params=1e12, gpus=32))
    assert np.all(sweep.gpus == 32)


@pytest.mark.parametrize("args, message", [
    (["--params", "7e9", "--max-gpus", "2.5"], "max_gpus must be a whole number >= 1; got 2.5"),
    (["--params", "7e9", "--gpus", "0.5"], "gpus must be a whole number >= 1; got 0.5"),
    (["--layers", "32", "--d-model", "4096", "--heads", "1e-300"],
     "heads must be a whole number >= 1; got 1e-300"),
    (["--layers", "32", "--d-model", "4096", "--heads", "32", "--kv-heads", "0.5"],
     "kv_heads must be a whole number >= 1; got 0.5"),
])
def test_whole_numbers_in_serving(args, message):
    assert message in cli_error("serve", *args)


# ------------------------------------------------------------------- 6. training
def test_huge_gpu_hours_imply_a_positive_mfu():
    from computeplan.hardware import get_gpu
    from computeplan.hardware.training import estimate_training

    est = estimate_training(get_gpu("h100-sxm"), 7e9, 2e12, hours=1e300)
    assert 0 < float(est.mfu) < 1e-290
    with pytest.raises(InputError, match=r"gpu_hours 1e\+308 is too many.*MFU must be in \(0, 1\]"):
        estimate_training(get_gpu("h100-sxm"), 1.0, 1.0, hours=1e308)


def test_one_seconds_per_hour():
    import computeplan.hardware.serving as serving
    import computeplan.hardware.training as training
    import computeplan.objectives as objectives
    from computeplan import units

    for module in (serving, training, objectives):
        assert module.SECONDS_PER_HOUR is units.SECONDS_PER_HOUR
