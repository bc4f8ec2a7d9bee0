"""Plans with laws of every form (computeplan._formsolve): the roofline serving model, data
limits (Muennighoff et al. 2023's effective data and parameters) and planning under
uncertainty, each against a brute-force search, with their limits and CLI/JSON shells."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from computeplan.cli import app
from computeplan.demand import Demand
from computeplan.formlaw import make_law

runner = CliRunner()

#: One plausible law per form (as tests/test_forms.py).
LAWS = {
    "kaplan": {"E": 1.05, "A": 2.9e12, "B": 1.5e12, "alpha": 0.169, "beta": 0.136},
    "beta-of-n": {"E": 0.57, "A": 28.7, "B": 12498.0, "alpha": 0.131, "beta0": 0.4335,
                  "beta1": -0.0166},
    "farseer": {"a1": -0.1, "b1": -0.9, "alpha": 0.1, "a2": 0.3, "b2": 8.62, "beta": 0.1,
                "a3": 0.25, "b3": 0.6, "gamma": -0.3},
}
#: A grid of ln N offsets that never contains 0 (the solver's own point).
OFFSETS = np.linspace(-1.0, 1.0, 20000) + 1e-5 / 3


def _roofline():
    from computeplan.objectives import RooflineDollarCost

    return RooflineDollarCost(train_gpu="h100-sxm", inference_gpu="h100-sxm")


# ------------------------------------------------------------------ roofline serving model
@pytest.mark.parametrize("name", list(LAWS))
def test_roofline_optimum_of_every_form_beats_brute_force(name):
    """Fixed loss: the roofline optimum reaches the loss and no point of a fine grid of the
    loss contour is cheaper (its neighbours at +-1e-4 in ln N cost more); the budget inverse
    at its cost returns it; the Chinchilla-optimal model within that budget spends it."""
    from computeplan.lifetime import budget_optimal, chinchilla_budget, lifetime_optimal

    law = make_law(name, LAWS[name])
    cost = _roofline()
    demand = Demand.from_requests(np.array([0.0, 1e8, 1e10, 1e12]), 500.0, 200.0)
    loss = float(law.compute_optimal(train_flops=1e23).loss)
    plan = lifetime_optimal(law, loss=loss, demand=demand, cost=cost)
    np.testing.assert_allclose(plan.loss, loss, rtol=1e-12)
    f = law.shape
    lo, _ = f.log_params_range(law.coef, loss)
    p = cost.train_usd_per_param_token
    for i in range(4):
        di = Demand(*(x[i] for x in (demand.total_tokens, demand.input_tokens,
                                     demand.output_tokens)))

        def bill(ln, di=di):
            ln = ln[ln > lo]
            d = np.exp(f.log_tokens_at_loss(law.coef, ln, loss))
            return p * np.exp(ln) * d + cost.inference_cost(np.exp(ln), di)

        best = np.log(plan.params[i])
        assert plan.total_cost_usd[i] <= bill(best + OFFSETS).min() * (1 + 1e-12)
        assert np.all(bill(best + np.array([-1e-4, 1e-4])) > plan.total_cost_usd[i])
    back = budget_optimal(law, budget=plan.total_cost_usd, demand=demand, cost=cost)
    np.testing.assert_allclose(back.params, plan.params, rtol=1e-9)
    np.testing.assert_allclose(back.loss, loss, rtol=1e-12)
    chin = chinchilla_budget(law, budget=plan.total_cost_usd, demand=demand, cost=cost)
    np.testing.assert_allclose(chin.total_cost_usd, plan.total_cost_usd, rtol=1e-9)
    assert np.all(chin.loss[1:] > loss)


def test_roofline_plan_cli_with_another_form(tmp_path):
    """plan --decode-model roofline with a kaplan-form law: exit 0, JSON names the form and the
    roofline, and the optimum is cheaper than the equal-loss Chinchilla-optimal model."""
    path = tmp_path / "k.json"
    make_law("kaplan", LAWS["kaplan"], name="k").save(path)
    args = ["plan", "--law", str(path), "--loss", "2.2", "--requests", "1e10",
            "--input-tokens", "500", "--output-tokens", "200", "--train-gpu", "h100",
            "--decode-model", "roofline", "--json"]
    out = runner.invoke(app, args)
    assert out.exit_code == 0, out.output
    res = json.loads(out.stdout)
    assert res["law"]["form"] == "kaplan"
    assert res["assumptions"]["decode_model"] == "roofline"
    assert res["ratios"]["total_cost_usd"] < 1
    budget = runner.invoke(app, args[:3] + ["--budget-usd", str(res["optimal"]["total_cost_usd"])]
                           + args[5:])
    assert budget.exit_code == 0, budget.output
    np.testing.assert_allclose(json.loads(budget.stdout)["optimal"]["loss"], 2.2, rtol=1e-10)
