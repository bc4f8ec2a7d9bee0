"""Planner integration: the dollar objective with roofline prefill/decode costs."""

import json
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

import computeplan as cp
from computeplan import Demand, DollarCost, InputError
from computeplan.cli import app
from computeplan.lifetime import budget_optimal, chinchilla_budget, compare, lifetime_optimal
from computeplan.objectives import RooflineDollarCost
from published import SARDANA_HARDWARE, SARDANA_MFU, SARDANA_REQUESTS

LAW = cp.get_law("sardana2024")
DEMAND = Demand.from_requests(*SARDANA_REQUESTS.values())
HW = SARDANA_HARDWARE
SARDANA_FIXED = SARDANA_HARDWARE | SARDANA_MFU
runner = CliRunner()


def roofline(**kw):
    return RooflineDollarCost(**(HW | dict(batch=64, context=1250, gqa_ratio=8) | kw))


@dataclass(frozen=True)
class LinearViaRoofline(RooflineDollarCost):
    """Fixed-MFU inference cost q N served through the N-dependent code path."""

    def inference_cost(self, params, demand):
        fixed = DollarCost(**SARDANA_FIXED)
        return fixed.coefficients(demand)[1] * np.asarray(params, float)


def test_n_dependent_path_reproduces_sardana_dollar_example():
    # With a linear inference cost the N-dependent machinery must give the published optimum.
    cmp = compare(LAW, loss=1.947, demand=DEMAND, cost=LinearViaRoofline(**HW))
    assert float(f"{float(cmp.optimal.params):.4g}") == 2.053e10
    assert float(f"{float(cmp.optimal.train_tokens):.4g}") == 3.302e12
    assert round(100 * float(cmp.ratios["total_cost_usd"]), 2) == 88.76
    fixed = lifetime_optimal(LAW, loss=1.947, demand=DEMAND, cost=DollarCost(**SARDANA_FIXED))
    assert np.isclose(cmp.optimal.params, fixed.params, rtol=1e-8)


def test_roofline_optimum_minimises_cost_on_the_iso_loss_curve():
    cost = roofline()
    opt = lifetime_optimal(LAW, loss=1.947, demand=DEMAND, cost=cost)
    n = float(opt.params) * np.geomspace(0.5, 2.0, 20_001)
    d = LAW.tokens_for_loss(1.947, n)
    p, _ = cost.coefficients(DEMAND, n)
    total = p * n * d + cost.inference_cost(n, DEMAND)
    assert float(opt.total_cost_usd) <= total.min() * (1 + 1e-12)
    assert abs(np.log(n[np.argmin(total)] / float(opt.params))) < 1e-3
    assert np.isclose(opt.loss, 1.947)


def test_roofline_effective_decode_mfu_is_physical():
    prefill, decode = roofline().effective_mfu(2e10)
    assert 0.4 < prefill <= 0.5  # compute bound at compute_fraction 0.5 (minus attention FLOPs)
    assert 0.05 < decode < 0.3   # memory bound at batch 64


@given(st.floats(1.8, 2.6), st.floats(1e8, 1e12))
def test_budget_and_loss_round_trip(loss, requests):
    demand = Demand.from_requests(requests, 1000, 250)
    cost = roofline()
    opt = lifetime_optimal(LAW, loss=loss, demand=demand, cost=cost)
    back = budget_optimal(LAW, budget=opt.total_cost_usd, demand=demand, cost=cost)
    assert np.isclose(back.loss, loss, rtol=1e-9)
    assert np.isclose(back.params, opt.params, rtol=1e-6)
    chin = chinchilla_budget(LAW, budget=opt.total_cost_usd, demand=demand, cost=cost)
    assert np.isclose(chin.total_cost_usd, opt.total_cost_usd, rtol=1e-9)
    assert chin.loss >= back.loss - 1e-12


@given(st.floats(1.8, 2.6), st.floats(1, 1024), st.floats(1, 1024))
def test_bigger_batches_never_cost_more(loss, b1, b2):
    # GPU-seconds per token max(memory / B, compute) never rise with the batch B, so neither
    # does Q(N) at any N, nor the optimal lifetime cost. (The optimal N need not move
    # monotonically: it follows the marginal cost Q'(N), not the average.)
    lo, hi = sorted((b1, b2))
    small = lifetime_optimal(LAW, loss=loss, demand=DEMAND, cost=roofline(batch=lo))
    big = lifetime_optimal(LAW, loss=loss, demand=DEMAND, cost=roofline(batch=hi))
    n = np.geomspace(1e8, 1e12, 50)
    assert np.all(roofline(batch=hi).inference_cost(n, DEMAND)
                  <= roofline(batch=lo).inference_cost(n, DEMAND) * (1 + 1e-12))
    assert big.total_cost_usd <= small.total_cost_usd * (1 + 1e-9)


def test_roofline_vectorised_over_losses():
    losses = np.array([1.9, 1.947, 2.2])
    many = lifetime_optimal(LAW, loss=losses, demand=DEMAND, cost=roofline())
    one = [float(lifetime_optimal(LAW, loss=x, demand=DEMAND, cost=roofline()).params)
           for x in losses]
    assert np.allclose(many.params, one, rtol=1e-9)


def test_roofline_objective_bad_input():
    with pytest.raises(InputError, match="batch must be >= 1; got 0.5"):
        roofline(batch=0.5)
    with pytest.raises(InputError, match="GPU a100-40gb has no 'fp8' peak"):
        roofline(inference_dtype="fp8")
    with pytest.raises(InputError, match=r"gqa_ratio \(query heads per KV head\) must be >= 1"):
        roofline(gqa_ratio=0.5)


# ----------------------------------------------------------------------------- CLI
SARDANA_ARGS = ["--loss", "1.947", "--requests", "1e10", "--input-tokens", "1000",
                "--output-tokens", "250", "--train-gpu", "a100-80gb", "--train-usd-per-hour",
                "1.40", "--train-mfu", "0.5", "--inference-gpu", "a100-40gb",
                "--inference-dtype", "int8", "--inference-usd-per-hour", "0.60"]


def test_plan_cli_fixed_mfu_still_reproduces_published_example():
    res = runner.invoke(app, ["plan", *SARDANA_ARGS, "--prefill-mfu", "0.4", "--decode-mfu",
                              "0.2", "--decode-model", "mfu", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert float(f"{out['optimal']['params']:.4g}") == 2.053e10
    assert round(100 * out["ratios"]["total_cost_usd"], 2) == 88.76
    assert "serving" not in out and out["assumptions"]["decode_mfu"] == 0.2


def test_plan_cli_roofline_json():
    res = runner.invoke(app, ["plan", *SARDANA_ARGS, "--decode-model", "roofline", "--batch",
                              "64", "--gqa-ratio", "8", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["assumptions"]["decode_model"] == "roofline"
    assert out["assumptions"]["context"] == 1250  # input + output tokens per request
    assert 0 < out["serving"]["optimal"]["decode_mfu"] < 1
    assert out["optimal"]["params"] < out["chinchilla"]["params"]
    table = runner.invoke(app, ["plan", *SARDANA_ARGS, "--decode-model", "roofline"])
    assert table.exit_code == 0 and "effective MFU" in table.stdout


@pytest.mark.parametrize("args, message", [
    (["--batch", "8"], "--batch need --decode-model roofline"),
    (["--decode-model", "roofline", "--decode-mfu", "0.1"],
     "--decode-mfu conflict with --decode-model roofline"),
    (["--decode-model", "roofline", "--batch", "0"], "--batch must be a whole number >= 1; got 0"),
    (["--decode-model", "roofline", "--batch", "2.5"],
     "--batch must be a whole number >= 1; got 2.5"),
])
def test_plan_cli_roofline_errors(args, message):
    res = runner.invoke(app, ["plan", *SARDANA_ARGS, *args])
    assert res.exit_code == 2, res.output
    assert res.stderr.startswith("error: ") and message in res.stderr
    assert res.stderr.count("\n") == 1


def test_plan_cli_roofline_needs_split_demand():
    res = runner.invoke(app, ["plan", "--inference-tokens", "2e12", "--decode-model", "roofline"])
    assert res.exit_code == 2 and "input/output split" in res.stderr
