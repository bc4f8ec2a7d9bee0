"""Review fixes in the numerical core, planner, hardware models and fitting."""

import warnings

import numpy as np
import pytest
from typer.testing import CliRunner

from computeplan.cli import app

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
