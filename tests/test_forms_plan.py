"""Plans with laws of every form (computeplan._formsolve): the roofline serving model, data
limits (Muennighoff et al. 2023's effective data and parameters) and planning under
uncertainty, each against a brute-force search, with their limits and CLI/JSON shells."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from brute import assert_dollar_budget_round_trip, assert_robust_plan_is_brute_force, kth
from computeplan.cli import app
from computeplan.demand import Demand
from computeplan.formlaw import make_law
from form_laws import LAWS

runner = CliRunner()

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
    from computeplan.lifetime import lifetime_optimal

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
    assert_dollar_budget_round_trip(law, plan, loss, demand, cost)


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


# ------------------------------------------------------------ planning under uncertainty
#: Relative spread of each coefficient across the synthetic replicates (absolute for the
#: Farseer coefficients, which are logs or exponents).
SPREAD = {"kaplan": {"E": 0.01, "A": 0.3, "B": 0.3, "alpha": 0.02, "beta": 0.02},
          "beta-of-n": {"E": 0.01, "A": 0.1, "B": 0.1, "alpha": 0.02, "beta0": 0.02,
                        "beta1": 0.05},
          "farseer": {"b3": 0.01, "a3": 0.01, "b2": 0.02}}


def _with_replicates(name, k=40, seed=0):
    rng = np.random.default_rng(seed)
    f = make_law(name, LAWS[name]).shape
    rows = []
    for _ in range(k):
        c = dict(LAWS[name])
        for key, s in SPREAD[name].items():
            z = rng.standard_normal()
            c[key] = c[key] + s * z if name == "farseer" else c[key] * float(np.exp(s * z))
        rows.append([c[key] for key in f.coefficients])
    return make_law(name, LAWS[name], name=f"{name}-reps", replicates=rows)


@pytest.mark.parametrize("name", list(LAWS))
def test_robust_plan_of_every_form_beats_brute_force(name):
    """At a target loss: each replicate's own optimum is the point planner's optimum under
    that replicate alone; the robust plan meets the target under at least the confidence share
    of the replicates, and no N of a fine grid is cheaper at the m-th smallest D_k(N)."""
    from computeplan.lifetime import lifetime_optimal
    from computeplan.uncertainty import plan_uncertainty

    law = _with_replicates(name)
    target = float(law.compute_optimal(train_flops=1e22).loss)
    tokens = 1e12
    pu = plan_uncertainty(law, loss=target, inference_tokens=tokens, confidence=0.8)
    reps = law.replicates[pu.reachable]
    for i in (0, len(reps) // 2, len(reps) - 1):
        one = make_law(name, dict(zip(law.shape.coefficients, reps[i], strict=True)))
        alone = lifetime_optimal(one, loss=target, inference_tokens=tokens)
        np.testing.assert_allclose(pu.optimal.params[i], alone.params, rtol=1e-12)
    assert_robust_plan_is_brute_force(law, pu, target, tokens, OFFSETS)
    assert pu.robust.premium > 0


@pytest.mark.parametrize("name", list(LAWS))
def test_robust_budget_plan_of_every_form_beats_brute_force(name):
    """Within a budget: the robust plan spends it, and no N of a fine grid along the budget
    curve has a lower m-th smallest replicate loss."""
    from computeplan.uncertainty import plan_uncertainty

    law = _with_replicates(name)
    budget, tokens = 1e22, 1e12
    pu = plan_uncertainty(law, budget=budget, inference_tokens=tokens, confidence=0.8)
    robust = pu.robust
    np.testing.assert_allclose(float(robust.plan.total_flops), budget, rtol=1e-12)
    m = int(np.ceil(0.8 * len(law.replicates)))
    coef = law.replicate_coefficients()
    ln = np.log(float(robust.plan.params)) + OFFSETS
    n = np.exp(ln)
    d = (budget - 2 * n * tokens) / (6 * n)
    n, d = n[d > 0], d[d > 0]
    grid = kth(law.shape.loss(coef, n[:, None], d[:, None]), m)
    assert robust.loss_at_confidence <= grid.min() * (1 + 1e-12)
    assert robust.loss_at_confidence <= pu.robust.point_loss_at_confidence


@pytest.mark.parametrize("name", list(LAWS))
def test_identical_replicates_give_the_point_plan(name):
    """Replicates all equal to the point law: every replicate's optimum is the point plan, the
    point plan meets the target under all of them, and the robust plan is the point plan at
    no premium."""
    from computeplan.uncertainty import plan_uncertainty

    row = [LAWS[name][k] for k in make_law(name, LAWS[name]).shape.coefficients]
    law = make_law(name, LAWS[name], replicates=[row, row, row])
    target = float(law.compute_optimal(train_flops=1e22).loss)
    pu = plan_uncertainty(law, loss=target, inference_tokens=1e12)
    point = pu.comparison.optimal
    np.testing.assert_allclose(pu.optimal.params, float(point.params), rtol=1e-12)
    np.testing.assert_allclose(pu.chinchilla.params, float(pu.comparison.chinchilla.params),
                               rtol=1e-12)
    assert pu.point_met.all() and pu.robust.target_met_probability == 1.0
    np.testing.assert_allclose(float(pu.robust.plan.params), float(point.params), rtol=1e-9)
    assert abs(pu.robust.premium) <= 1e-9


def test_uncertainty_cli_with_a_kaplan_form_preset():
    """plan --law sardana2024-mpt --uncertainty (a kaplan-form preset with its own bootstrap
    replicates): exit 0, the JSON has every replicate's optimum, the point plan under them and
    the robust plan, at a target loss and within a budget."""
    out = runner.invoke(app, ["plan", "--law", "sardana2024-mpt", "--uncertainty", "--json"])
    assert out.exit_code == 0, out.output
    res = json.loads(out.stdout)
    unc = res["uncertainty"]
    assert res["law"]["form"] == "kaplan" and unc["replicates"] >= 100
    assert unc["robust"]["target_met_probability"] >= 0.9 and unc["robust"]["premium"] > 0
    assert 0 < unc["point_plan"]["target_met_probability"] < 1
    lo, med, hi = (unc["optimal"]["params"][k] for k in ("lo", "median", "hi"))
    assert lo < med < hi
    out = runner.invoke(app, ["plan", "--law", "sardana2024-mpt", "--uncertainty",
                              "--budget-flops", "1e24", "--json"])
    assert out.exit_code == 0, out.output
    robust = json.loads(out.stdout)["uncertainty"]["robust"]
    np.testing.assert_allclose(robust["total_flops"], 1e24, rtol=1e-12)
    text = runner.invoke(app, ["plan", "--law", "sardana2024-mpt", "--uncertainty"])
    assert text.exit_code == 0 and "robust plan" in text.output
