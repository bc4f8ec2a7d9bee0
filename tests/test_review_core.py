"""Review fixes in the numerical core, planner, hardware models and fitting."""

import json
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
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
    assert "--budget-usd" in err and "overflows" in err


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
    # just above the exponent floor: N = (A / (l - E))^(1/alpha) ~ 1e309 (below it, --alpha
    # itself is refused: test_laws)
    (["plan", "--alpha", "0.0101", "--loss", "2"], ["params = inf", "--loss"]),
])
def test_overflowing_results_name_the_inputs(args, names):
    err = cli_error(*args)
    assert "double precision" in err
    for name in names:
        assert name in err


@pytest.mark.parametrize("args, names", [
    (["train", "--params", "7e9", "--tokens", "2e12", "--bytes-per-param", "1e300"],
     ["state_bytes = inf", "--bytes-per-param"]),
    (["serve", "--params", "7e9", "--gpus", "1e300"], ["gpus"]),
    (["serve", "--params", "7e9", "--aspect-ratio", "1e-300"],
     ["--aspect-ratio must be in [1, 1000]; got 1e-300"]),
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
    assert json.loads(out)["gpus"] == 32
    from computeplan.commands.serve import batch_sweep, serve

    sweep = batch_sweep(serve(params=1e12, gpus=32))
    assert np.all(sweep.gpus == 32)


@pytest.mark.parametrize("args, message", [
    (["--params", "7e9", "--max-gpus", "2.5"], "--max-gpus must be a whole number >= 1; got 2.5"),
    (["--params", "7e9", "--gpus", "0.5"], "gpus must be a whole number >= 1; got 0.5"),
    (["--layers", "32", "--d-model", "4096", "--heads", "1e-300"],
     "heads must be a whole number >= 1; got 1e-300"),
    (["--layers", "32", "--d-model", "4096", "--heads", "32", "--kv-heads", "0.5"],
     "--kv-heads must be a whole number >= 1; got 0.5"),
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


# ------------------------------------------------------------------- 7. fitting
def test_derived_tokens_are_checked_with_row_numbers(tmp_path):
    csv = tmp_path / "runs.csv"
    csv.write_text("params,flops,loss\n1e9,1e19,2.5\n1e-300,1e20,3\n")
    err = cli_error("fit", str(csv), "--flops-col", "flops")
    assert "D = C / (6 N) derived from column 'flops' is infinite in row 2" in err


def test_fit_with_absurd_losses_is_an_input_error(tmp_path):
    csv = tmp_path / "runs.csv"
    csv.write_text("params,tokens,loss\n1e7,1e9,1e300\n1e8,1e9,1e-300\n1e9,1e10,1e300\n"
                   "1e7,1e11,1e-300\n1e9,1e11,1e300\n1e8,1e10,2\n")
    err = cli_error("fit", str(csv), "--json")
    assert "the fit diverged" in err and "loss column" in err


def test_residual_summary_ignores_weight_zero_runs():
    from computeplan.fitting._objective import Problem
    from computeplan.fitting.core import summarise

    theta = np.array([np.log(400.0), np.log(400.0), np.log(1.7), 0.34, 0.28])
    n, d = np.array([1e8, 1e9, 1e10]), np.array([1e10, 1e11, 1e12])
    law_loss = 1.7 + 400 * n**-0.34 + 400 * d**-0.28
    loss = law_loss * np.array([1.0, 1.0, 5.0])  # the last run is an outlier with weight 0
    s = summarise(Problem.build(n, d, loss, [1.0, 1.0, 0.0]), theta)
    assert s["max_abs_log_residual"] == pytest.approx(0.0, abs=1e-12)


def test_bootstrap_uses_the_fit_ok_test():
    import inspect

    from computeplan.fitting import _objective, bootstrap, core

    assert not hasattr(_objective, "rho_psi")
    assert inspect.signature(bootstrap.bootstrap).parameters["budgets"].default \
        is core.DEFAULT_BUDGETS
    # a replicate whose data term is negligible for every run is not ok, as in the full fit
    coef = {"E": np.array([2.0, 2.0]), "A": np.array([400.0, 400.0]),
            "B": np.array([400.0, 1e-30]), "alpha": np.array([0.34, 0.34]),
            "beta": np.array([0.28, 0.28])}
    log_n, log_d = np.log([1e8, 1e9]), np.log([1e10, 1e11])
    assert list(core.is_ok(coef, log_n, log_d)) == [True, False]
    one = {k: float(val[1]) for k, val in coef.items()}
    assert any("B/D^beta" in w for w in core.boundary_warnings(one, log_n, log_d))


# ------------------------------------------------------------------- 8. p, compare, _validate
def test_p_is_a_property_and_coefficients_are_not_needed_for_it(monkeypatch):
    from computeplan.demand import Demand
    from computeplan.lifetime import compare
    from computeplan.objectives import DollarCost, RooflineDollarCost

    cost = RooflineDollarCost(context=1100)
    assert cost.train_usd_per_param_token == DollarCost().coefficients(
        Demand.from_requests(1, 1, 1))[0]
    calls = []
    monkeypatch.setattr(RooflineDollarCost, "coefficients",
                        lambda self, *a: calls.append(a) or DollarCost.coefficients(self, a[0]))
    compare(loss=2.0, demand=Demand.from_requests(1e9, 1000, 100), cost=cost)
    assert calls == []  # fixed loss never needs Q(N)/N


def test_compare_sets_up_once(monkeypatch):
    from computeplan import lifetime

    calls = []
    real = lifetime._setup
    monkeypatch.setattr(lifetime, "_setup", lambda *a: calls.append(1) or real(*a))
    lifetime.compare(loss=2.0, inference_tokens=1e12)
    lifetime.compare(budget=1e24, inference_tokens=1e12)
    assert len(calls) == 2


def test_first_bad_value_and_index():
    from computeplan import _validate as v

    with pytest.raises(InputError, match=r"x must be > 0; got -1 at index 1$"):
        v.positive("x", [1.0, -1.0])
    with pytest.raises(InputError, match=r"x must be > 0; got -2 at index \(1, 0\)$"):
        v.positive("x", [[1.0], [-2.0]])
    with pytest.raises(InputError, match=r"x must be > 0; got 0$"):
        v.positive("x", 0.0)


@given(st.floats() | st.sampled_from([0.0, -0.0, 1.0, -1.0, 1e-320, 1e308]))
def test_scalar_checks_pass_exactly_what_the_array_checks_pass(x):
    """The single-number shortcut of the boundary checks lets through what the array path lets
    through, and nothing else (an error is worded by the array path)."""
    from computeplan import _validate as v
    from computeplan.errors import InputError

    checks = [lambda a: v.finite("x", a), lambda a: v.positive("x", a),
              lambda a: v.positive("x", a, allow_zero=True),
              lambda a: v.in_range("x", a, 0.0, 1.0),
              lambda a: v.in_range("x", a, 0.0, 1.0, lo_open=False, hi_open=True),
              lambda a: v.representable("r", {"y": a}, "x"),
              lambda a: v.representable("r", {"y": a}, "x", positive=True)]
    for check in checks:
        try:
            check(np.array([x]))
            passes = True
        except InputError:
            passes = False
        if passes:
            check(x)
            check(np.float64(x))
        else:
            with pytest.raises(InputError):
                check(x)
