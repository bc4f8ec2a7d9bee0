"""Every command plans with an averaged law (computeplan.formaverage: L = sum_i w_i L_i): law
files of average(kaplan,beta-of-n,farseer) and average(chinchilla,tied), with 20 replicates,
through the CLI (model, plan in FLOPs, dollars and the roofline, fixed loss and budget, dated,
--unique-tokens, --uncertainty, report, sweep, tradeoff, overhead) and the web API, each checked
as the tests of the single forms check them: brute-force optimality along the plan's
constraint, the budget inverse, every replicate planned alone against the vectorised ensemble."""

import csv
import json
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from brute import (
    alone,
    assert_dollar_budget_round_trip,
    assert_limited_replicates,
    assert_robust_plan_is_brute_force,
    assert_scaling_policy_is_brute_force,
    kth,
    one_line_error,
    pruning_best_loss,
)
from computeplan import _formlimits as fl
from computeplan.cli import app
from computeplan.data_limits import limited_loss, limited_tokens_for_loss
from computeplan.demand import Demand
from computeplan.errors import InputError
from computeplan.formaverage import AverageForm
from computeplan.formlaw import make_law
from computeplan.forms import get_form
from computeplan.laws import get_law
from computeplan.lifetime import budget_optimal, compare, lifetime_optimal
from form_laws import LAWS

runner = CliRunner()

CHIN = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
TIED = {"E": 1.8, "A": 300.0, "B": 500.0, "alpha": 0.3}
PARTS = {"chinchilla": CHIN, "tied": TIED, **LAWS}
MIXES = {"kbf": {"kaplan": 0.5, "beta-of-n": 0.3, "farseer": 0.2},
         "ct": {"chinchilla": 0.6, "tied": 0.4},
         "kf": {"kaplan": 0.5, "farseer": 0.5}}
#: The mixes every command is checked with (kf: tests of its own).
NAMES = ["kbf", "ct"]
#: Relative spread of every part's coefficients across the replicates (absolute for the
#: Farseer coefficients, logs or exponents; the weights stay fixed).
SPREAD = 0.005
#: Unique tokens at which the limit binds at the target of :func:`_target` (2-5 epochs).
UNIQUE = {"kbf": 1e12, "ct": 3e11}
TOKENS = 1e12
#: ln N offsets around an optimum that never contain 0 (the solver's own point).
OFFSETS = np.linspace(-1.0, 1.0, 20000) + 1e-5 / 3
#: Brute-force and round-trip tolerance (the contour is itself a root to 1e-13 in ln D).
RTOL = 1e-10


def averaged(name, k=0, seed=0):
    """The averaged law of mix ``name``; ``k`` replicates perturbing every part's
    coefficients, rows in the form's coefficient order."""
    mix = MIXES[name]
    f = get_form("average(" + ",".join(mix) + ")")
    coef = AverageForm.join([(w, part, PARTS[part]) for part, w in mix.items()])
    rows = None
    if k:
        rng = np.random.default_rng(seed)
        rows = []
        for _ in range(k):
            c = dict(coef)
            for key in f.coefficients:
                part, what = key.split(".")
                z = rng.standard_normal()
                if what == "weight":
                    continue
                c[key] = c[key] + SPREAD * z if part == "farseer" else c[key] * math.exp(
                    SPREAD * z)
            rows.append([c[key] for key in f.coefficients])
    return make_law(f.name, coef, name=f"avg-{name}", replicates=rows)


POINT = {name: averaged(name) for name in MIXES}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Law files of every mix, with 20 replicates."""
    root = tmp_path_factory.mktemp("avg")
    out = {}
    for name in NAMES:
        out[name] = str(root / f"{name}.json")
        averaged(name, k=20).save(out[name])
    return out


def _target(law):
    return float(law.compute_optimal(train_flops=1e23).loss)


def cli(*args):
    out = runner.invoke(app, [*map(str, args), "--json"])
    assert out.exit_code == 0, out.output
    return json.loads(out.stdout)


def _contour_cost(law, loss, ln, cost_of):
    """``cost_of(N, D)`` along the loss contour at ln N (only where some D reaches it)."""
    f = law.shape
    lo, _ = f.log_params_range(law.coef, loss)
    ln = ln[ln > lo]
    d = np.exp(f.log_tokens_at_loss(law.coef, ln, loss))
    return cost_of(np.exp(ln), d)


def _assert_best_on_contour(law, loss, n, own, cost_of):
    best = math.log(n)
    assert own <= _contour_cost(law, loss, best + OFFSETS, cost_of).min() * (1 + RTOL)
    assert np.all(_contour_cost(law, loss, best + np.array([-1e-4, 1e-4]), cost_of) > own)


# ------------------------------------------------------------------------ FLOPs, dollars
@pytest.mark.parametrize("name", NAMES)
def test_flops_plan_cli_beats_brute_force_and_its_budget_inverse_returns_it(name, files):
    law = POINT[name]
    loss = _target(law)
    res = cli("plan", "--law", files[name], "--loss", loss, "--inference-tokens", TOKENS)
    assert res["law"]["form"] == law.form
    opt, chin = res["optimal"], res["chinchilla"]
    np.testing.assert_allclose([opt["loss"], chin["loss"]], loss, rtol=1e-12)
    np.testing.assert_allclose(float(law.loss(opt["params"], opt["train_tokens"])), loss,
                               rtol=1e-12)
    _assert_best_on_contour(law, loss, opt["params"], opt["total_flops"],
                            lambda n, d: 6 * n * d + 2 * n * TOKENS)
    _assert_best_on_contour(law, loss, chin["params"], chin["train_flops"],
                            lambda n, d: 6 * n * d)
    assert res["ratios"]["total_flops"] < 1
    back = cli("plan", "--law", files[name], "--budget-flops", opt["total_flops"],
               "--inference-tokens", TOKENS)
    np.testing.assert_allclose(back["optimal"]["params"], opt["params"], rtol=RTOL)
    np.testing.assert_allclose(back["optimal"]["loss"], loss, rtol=1e-12)
    np.testing.assert_allclose(back["optimal"]["total_flops"], opt["total_flops"], rtol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_dollar_plan_cli_beats_brute_force_and_round_trips(name, files):
    """Dollars at fixed MFUs: the bill 6 N D u_train + 2 N (I u_prefill + O u_decode) with the
    plan's own prices (its assumptions) is lowest at the plan along the loss contour."""
    law = POINT[name]
    loss = _target(law)
    args = ["--requests", "1e10", "--input-tokens", "500", "--output-tokens", "200",
            "--train-gpu", "h100"]
    res = cli("plan", "--law", files[name], "--loss", loss, *args)
    a, dem = res["assumptions"], res["demand"]
    assert a["objective"] == "usd"

    def bill(n, d):
        return (6 * n * d * a["usd_per_train_flop"]
                + 2 * n * (dem["input_tokens"] * a["usd_per_prefill_flop"]
                           + dem["output_tokens"] * a["usd_per_decode_flop"]))

    opt = res["optimal"]
    np.testing.assert_allclose(bill(opt["params"], opt["train_tokens"]), opt["total_cost_usd"],
                               rtol=1e-12)
    _assert_best_on_contour(law, loss, opt["params"], opt["total_cost_usd"], bill)
    back = cli("plan", "--law", files[name], "--budget-usd", opt["total_cost_usd"], *args)
    np.testing.assert_allclose(back["optimal"]["params"], opt["params"], rtol=RTOL)
    np.testing.assert_allclose(back["optimal"]["loss"], loss, rtol=1e-12)


def _roofline():
    from computeplan.objectives import RooflineDollarCost

    return RooflineDollarCost(train_gpu="h100-sxm", inference_gpu="h100-sxm")


@pytest.mark.parametrize("name", NAMES)
def test_roofline_plan_beats_brute_force_and_round_trips(name, files):
    """The roofline serving model (inference cost not linear in N): vectorised over demands,
    no point of the loss contour is cheaper, the budget inverse returns the plan; the CLI (its
    own default prices) plans and round trips."""

    law = POINT[name]
    loss = _target(law)
    cost = _roofline()
    demand = Demand.from_requests(np.array([0.0, 1e8, 1e10, 1e12]), 500.0, 200.0)
    plan = lifetime_optimal(law, loss=loss, demand=demand, cost=cost)
    np.testing.assert_allclose(plan.loss, loss, rtol=1e-12)
    p = cost.train_usd_per_param_token
    for i in range(4):
        di = Demand(*(x[i] for x in (demand.total_tokens, demand.input_tokens,
                                     demand.output_tokens)))
        _assert_best_on_contour(law, loss, plan.params[i], plan.total_cost_usd[i],
                                lambda n, d, di=di: p * n * d + cost.inference_cost(n, di))
    assert_dollar_budget_round_trip(law, plan, loss, demand, cost)
    args = ["--requests", "1e10", "--input-tokens", "500", "--output-tokens", "200",
            "--train-gpu", "h100", "--decode-model", "roofline"]
    res = cli("plan", "--law", files[name], "--loss", loss, *args)
    assert res["assumptions"]["decode_model"] == "roofline"
    np.testing.assert_allclose(res["optimal"]["loss"], loss, rtol=1e-12)
    assert res["ratios"]["total_cost_usd"] < 1
    back = cli("plan", "--law", files[name], "--budget-usd", res["optimal"]["total_cost_usd"],
               *args)
    np.testing.assert_allclose(back["optimal"]["loss"], loss, rtol=1e-10)


@pytest.mark.parametrize("name", NAMES)
def test_vectorised_plans_are_each_scenarios_own(name):
    """Arrays of losses and demands (fixed loss and budget) give each scenario's own plan."""
    law = POINT[name]
    loss = _target(law) * np.array([1.0, 1.03, 1.1, 1.2])
    tokens = np.array([0.0, 1e11, 1e13, 1e14])
    many = lifetime_optimal(law, loss=loss, inference_tokens=tokens)
    budget = budget_optimal(law, budget=many.total_flops, inference_tokens=tokens)
    np.testing.assert_allclose(budget.params, many.params, rtol=RTOL)
    for i in range(4):
        one = lifetime_optimal(law, loss=loss[i], inference_tokens=tokens[i])
        np.testing.assert_allclose(many.params[i], one.params, rtol=1e-12)
        one = budget_optimal(law, budget=many.total_flops[i], inference_tokens=tokens[i])
        np.testing.assert_allclose(budget.params[i], one.params, rtol=1e-12)


# -------------------------------------------------------------------------------- model
@pytest.mark.parametrize("name", NAMES)
def test_model_cli(name, files):
    law = POINT[name]
    res = cli("model", "--law", files[name], "--loss", "2.2", "--params", "7e9")
    np.testing.assert_allclose(float(law.loss(7e9, res["train_tokens"])), 2.2, rtol=1e-12)
    res = cli("model", "--law", files[name], "--compute", "1e23", "--chinchilla")
    n = res["params"] * np.exp(OFFSETS)
    assert res["loss"] <= law.loss(n, 1e23 / (6 * n)).min() * (1 + 1e-13)
    np.testing.assert_allclose(6 * res["params"] * res["train_tokens"], 1e23, rtol=1e-12)
    again = cli("model", "--law", files[name], "--loss", res["loss"], "--chinchilla")
    np.testing.assert_allclose(again["params"], res["params"], rtol=1e-9)
    u = UNIQUE[name]
    res = cli("model", "--law", files[name], "--loss", "2.2", "--params", "7e9",
              "--unique-tokens", u)
    np.testing.assert_allclose(limited_loss(law, 7e9, res["train_tokens"], u), 2.2, rtol=1e-12)


# ------------------------------------------------------------------------- data limits
@pytest.mark.parametrize("name", NAMES)
def test_data_limited_plan_beats_brute_force_and_round_trips(name, files):
    """--unique-tokens: the limited optimum reaches the loss under the data-limited law, no
    point of its contour is cheaper, the budget inverse returns it, and the CLI's plan is the
    Python one."""
    law = POINT[name]
    loss = _target(law)
    u = UNIQUE[name]
    demands = np.array([0.0, 1e12, 1e13])
    res = compare(law, loss=loss, inference_tokens=demands, unique_tokens=u)
    lim = res.optimal
    assert res.data_limit.binding.all()
    np.testing.assert_allclose(limited_loss(law, lim.params, lim.train_tokens, u), loss,
                               rtol=1e-12)
    lo, _ = fl.params_range(law, loss, u)
    for i, tokens in enumerate(demands):
        r = tokens / 3.0

        def bill(ln, r=r):
            n = np.exp(ln[np.exp(ln) > lo * (1 + 1e-9)])
            return n * (limited_tokens_for_loss(law, loss, n, u) + r)

        best = np.log(lim.params[i])
        own = lim.params[i] * (lim.train_tokens[i] + r)
        assert own <= bill(best + OFFSETS).min() * (1 + RTOL)
        assert np.all(bill(best + np.array([-1e-4, 1e-4])) > own)
    back = compare(law, budget=lim.total_flops, inference_tokens=demands, unique_tokens=u)
    np.testing.assert_allclose(back.optimal.params, lim.params, rtol=RTOL)
    np.testing.assert_allclose(back.optimal.loss, loss, rtol=1e-12)
    out = cli("plan", "--law", files[name], "--loss", loss, "--inference-tokens", 1e12,
              "--unique-tokens", u)
    assert out["data_limit"]["binding"] is True
    assert out["data_limit"]["repetition_assumed"] == ["rd_star", "rn_star"]
    np.testing.assert_allclose(out["optimal"]["params"], lim.params[1], rtol=1e-12)
    # the roofline with a limit, and a dated plan with a limit
    out = cli("plan", "--law", files[name], "--loss", loss, "--requests", "1e9",
              "--input-tokens", "500", "--output-tokens", "200", "--train-gpu", "h100",
              "--decode-model", "roofline", "--unique-tokens", u)
    np.testing.assert_allclose(limited_loss(law, out["optimal"]["params"],
                                            out["optimal"]["train_tokens"], u), loss,
                               rtol=1e-12)
    out = cli("plan", "--law", files[name], "--loss", loss, "--inference-tokens", 1e13,
              "--unique-tokens", u, "--horizon-days", "365", "--discount-rate-per-year", "0.1")
    assert out["data_limit"]["extra_cost_is_present_value"] is True


# ------------------------------------------------------------------------- dated plans
@pytest.mark.parametrize("name", NAMES)
def test_dated_plan_and_local_exchange_rate(name, files):
    """The dated plan's exchange rate -dlog IC / dlog TC along the iso-loss curve, by finite
    differences on the averaged form's contour; a dated plan of the CLI reaches the loss."""
    from computeplan.timeline import local_exchange_rate

    law = POINT[name]
    loss = _target(law)
    ln_n = np.log(float(law.compute_optimal(loss=loss).params)) - 0.3
    h = 1e-5
    ln_d = [law.shape.log_tokens_at_loss(law.coef, ln_n + s, loss) for s in (-h, h)]
    slope = (ln_d[1] - ln_d[0]) / (2 * h)
    rate = local_exchange_rate(law, np.exp(ln_n),
                               np.exp(law.shape.log_tokens_at_loss(law.coef, ln_n, loss)))
    np.testing.assert_allclose(rate, -1.0 / (1.0 + slope), rtol=1e-7)
    out = cli("plan", "--law", files[name], "--loss", loss, "--requests", "1e10",
              "--input-tokens", "500", "--output-tokens", "200", "--train-gpu", "h100",
              "--horizon-days", "365", "--discount-rate-per-year", "0.1")
    np.testing.assert_allclose(out["optimal"]["loss"], loss, rtol=1e-12)


# ------------------------------------------------------------------- under uncertainty
@pytest.mark.parametrize("name", NAMES)
def test_every_replicate_alone_is_the_vectorised_ensemble(name):
    """Each replicate's own optimum at a target loss and within a budget is the point planner's
    under that replicate alone; the robust plan meets the target under the confidence share
    and no N of a fine grid is cheaper at the m-th smallest D_k(N) (brute force); within the
    budget it spends it and no N along the budget has a lower m-th smallest loss."""
    from computeplan.uncertainty import plan_uncertainty

    law = averaged(name, k=20)
    target = _target(law)
    pu = plan_uncertainty(law, loss=target, inference_tokens=TOKENS, confidence=0.8)
    assert pu.reachable.all()
    for i, row in enumerate(law.replicates):
        one = lifetime_optimal(alone(law, row), loss=target, inference_tokens=TOKENS)
        np.testing.assert_allclose(pu.optimal.params[i], one.params, rtol=1e-12)
        np.testing.assert_allclose(pu.optimal.train_tokens[i], one.train_tokens, rtol=1e-12)
    assert_robust_plan_is_brute_force(law, pu, target, TOKENS, OFFSETS[::4])
    m = int(np.ceil(0.8 * len(law.replicates)))
    budget = 3 * float(pu.comparison.optimal.total_flops)
    pb = plan_uncertainty(law, budget=budget, inference_tokens=TOKENS, confidence=0.8)
    for i, row in enumerate(law.replicates):
        one = budget_optimal(alone(law, row), budget=budget, inference_tokens=TOKENS)
        np.testing.assert_allclose(pb.optimal.params[i], one.params, rtol=1e-12)
    robust = pb.robust
    np.testing.assert_allclose(float(robust.plan.total_flops), budget, rtol=1e-12)
    n = np.exp(np.log(float(robust.plan.params)) + OFFSETS[::4])
    d = (budget - 2 * n * TOKENS) / (6 * n)
    n, d = n[d > 0], d[d > 0]
    grid = kth(law.shape.loss(law.replicate_coefficients(), n[:, None], d[:, None]), m)
    assert robust.loss_at_confidence <= grid.min() * (1 + 1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_uncertainty_with_a_data_limit(name):
    """With a unique-token limit each replicate's own optimum is the data-limited optimum of
    that replicate alone, and the point plan's losses are the replicates' data-limited ones."""
    from computeplan.uncertainty import plan_uncertainty

    law = averaged(name, k=20)
    target, u = _target(law), UNIQUE[name]
    pu = plan_uncertainty(law, loss=target, inference_tokens=TOKENS, confidence=0.8,
                          unique_tokens=u)
    laws = [alone(law, row) for row in law.replicates]
    assert_limited_replicates(pu, laws, target, u, TOKENS)
    assert pu.robust is not None and pu.robust.target_met_probability >= 0.8


@pytest.mark.parametrize("name", NAMES)
def test_uncertainty_cli(name, files):
    loss = _target(POINT[name])
    for extra in ([], ["--unique-tokens", UNIQUE[name]],
                  ["--horizon-days", "365", "--discount-rate-per-year", "0.1"]):
        res = cli("plan", "--law", files[name], "--loss", loss, "--inference-tokens", TOKENS,
                  "--uncertainty", *extra)
        unc = res["uncertainty"]
        assert unc["replicates"] == 20 and unc["robust"]["target_met_probability"] >= 0.9
        lo, med, hi = (unc["optimal"]["params"][k] for k in ("lo", "median", "hi"))
        assert lo < med < hi
    res = cli("plan", "--law", files[name], "--budget-flops", "1e24", "--inference-tokens",
              TOKENS, "--uncertainty")
    np.testing.assert_allclose(res["uncertainty"]["robust"]["total_flops"], 1e24, rtol=1e-12)
    text = runner.invoke(app, ["plan", "--law", files[name], "--uncertainty"])
    assert text.exit_code == 0 and "robust plan" in text.output, text.output


# --------------------------------------------------------------------- report, sweep
@pytest.mark.parametrize("name", NAMES)
def test_report_curves_lie_on_the_averaged_laws_contours(name, files, tmp_path):
    from computeplan.commands.report import report

    law = POINT[name]
    for u in (None, UNIQUE[name]):
        res = report(law=files[name], loss=2.2, inference_tokens=1e13, unique_tokens=u)
        assert res.isoloss
        for curve in res.isoloss:
            level = float(curve.label.split("= ")[1])
            n, d = curve.data["params"], curve.data["train_tokens"]
            got = law.loss(n, d) if u is None else limited_loss(law, n, d, u)
            np.testing.assert_allclose(got, got[0], rtol=1e-10)
            assert got[0] == pytest.approx(level, rel=1e-3)
    out = runner.invoke(app, ["report", "--law", files[name], "--loss", "2.2",
                              "--inference-tokens", "1e13", "--uncertainty", "--out",
                              str(tmp_path / "r.html")])
    assert out.exit_code == 0, out.output
    page = (tmp_path / "r.html").read_text()
    assert len(page) > 10000
    assert "averaged law (" in page and "each part alone puts the optimum at" in page


@pytest.mark.parametrize("name", NAMES)
def test_sweep_rows_are_the_plans(name, files, tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"axes": {"loss": [1.5, 2.2], "unique_tokens": [1e12, 1e15]},
                                "defaults": {"inference_tokens": 1e13, "law": files[name]}}))
    out = tmp_path / "rows.csv"
    result = runner.invoke(app, ["sweep", str(spec), "--out", str(out)])
    assert result.exit_code == 0, result.output
    by = {(float(r["loss"]), float(r["unique_tokens"])): r for r in csv.DictReader(out.open())}
    # 1.5: below the lowest loss reachable with 1e12 unique tokens (kbf) or below the
    # averaged law's floor (ct), the row's own one-line error
    assert ("lowest reachable loss" in by[1.5, 1e12]["error"]
            or "the weighted sum of the parts' lowest losses" in by[1.5, 1e12]["error"])
    assert not by[2.2, 1e12]["error"] and not by[2.2, 1e15]["error"]
    for u in (1e12, 1e15):
        one = cli("plan", "--law", files[name], "--loss", "2.2", "--inference-tokens", "1e13",
                  "--unique-tokens", u)
        assert float(by[2.2, u]["optimal.params"]) == pytest.approx(one["optimal"]["params"],
                                                                    rel=1e-12)


# ---------------------------------------------------------------------------- tradeoffs
@pytest.mark.parametrize("name", NAMES)
def test_scaling_policy_is_the_best_model_within_both_budgets(name):
    from computeplan.tradeoffs import frontier
    from computeplan.tradeoffs.techniques import ScalingPolicy

    law = POINT[name]
    tech = ScalingPolicy(law=law)
    assert_scaling_policy_is_brute_force(law, tech)
    f = frontier(tech, grid_points=400)
    n = f.inference_compute / 2
    np.testing.assert_allclose(law.loss(n, f.train_compute / (6 * n)), f.level, rtol=1e-5)
    assert not f.span.clipped_by_grid and f.span.train_oom > 0 and f.span.inference_oom > 0
    limited = frontier(ScalingPolicy(law=law, unique_tokens=UNIQUE[name]), grid_points=400)
    n = limited.inference_compute / 2
    np.testing.assert_allclose(limited_loss(law, n, limited.train_compute / (6 * n),
                                            UNIQUE[name]), limited.level, rtol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_pruning_against_the_exact_crossing(name):
    """Pruning's best dense budget C0 solves TC / m(d) = C_opt(IC / (2 d)); solved here by
    bisection with exact compute-optimal models, the loss agrees to 1e-11; the frontier is the
    paper's ~0.65 OOM of training."""
    from computeplan.tradeoffs import frontier
    from computeplan.tradeoffs.techniques import Pruning

    law = POINT[name]
    p = Pruning(law=law)
    n_ref = float(law.compute_optimal(train_flops=1e24).params)
    best_loss = pruning_best_loss(law, p)

    points = [(1e24 * k, 2 * n_ref * s) for k in (0.5, 4.0) for s in (0.05, 0.3, 3.0)]
    got = p.performance(np.array([t for t, _ in points]), np.array([i for _, i in points]))
    for g, (t, i) in zip(got, points, strict=True):
        assert g == pytest.approx(best_loss(t, i), rel=1e-11)
    f = frontier(p, grid_points=600)
    assert f.span.train_oom == pytest.approx(math.log10(4.5), abs=0.03)


@pytest.mark.parametrize("name", NAMES)
def test_tradeoff_cli(name, files, tmp_path):
    res = cli("tradeoff", "scaling-policy", "--law", files[name])
    assert res["technique"]["parameters"]["law"]["form"] == POINT[name].form
    assert res["span"]["train_oom"] > 0
    prune = cli("tradeoff", "pruning", "--law", files[name])
    assert prune["span"]["train_oom"] == pytest.approx(0.65, abs=0.03)
    cli("tradeoff", "scaling-policy", "--law", files[name], "--unique-tokens", UNIQUE[name])
    bad = runner.invoke(app, ["tradeoff", "scaling-policy", "--law", files[name],
                              "--level", "0.5"])
    assert bad.exit_code == 2 and len(bad.output.strip().splitlines()) == 1, bad.output


# ----------------------------------------------------------------------------- overhead
@pytest.mark.parametrize("name", NAMES)
def test_overhead_on_the_averaged_laws_contour(name, files):
    """overhead --train-flops (the generic path): the point lies on the compute-optimal
    model's loss contour, the overhead is 0 at k = 1 and positive elsewhere, the critical size
    has the target overhead; the CLI gives the Python numbers; without --train-flops a
    one-line error."""
    from computeplan.tradeoffs import overhead
    from computeplan.tradeoffs.overhead import (
        compute_overhead,
        critical_size_fraction,
        min_size_fraction,
        token_multiplier,
    )

    law = POINT[name]
    budgets = np.array([1e19, 1e22, 1e25])
    for c in budgets:
        ref = law.compute_optimal(train_flops=c)
        k_min = min_size_fraction(law, c)
        ks = np.sort(np.append(np.exp(np.linspace(np.log(k_min) + 1e-3, np.log(4.0), 60)),
                               1.0))
        kd = token_multiplier(law, ks, c)
        np.testing.assert_allclose(law.loss(ks * ref.params, kd * ref.train_tokens), ref.loss,
                                   rtol=1e-10)
        o = compute_overhead(law, ks, c)
        one = np.flatnonzero(ks == 1.0)[0]
        assert abs(o[one]) < 1e-9 and np.all(o[ks != 1.0] > 0)
        assert np.all(np.diff(o[:one + 1]) < 0) and np.all(np.diff(o[one:]) > 0)
    k = critical_size_fraction(law, 0.2, budgets)
    got = [float(compute_overhead(law, ki, c)) for ki, c in zip(k, budgets, strict=True)]
    np.testing.assert_allclose(got, 0.2, rtol=1e-9)
    out = cli("overhead", "--size-fraction", "0.5", "--law", files[name], "--train-flops", 1e21)
    want = overhead(law, 0.5, train_flops=1e21)
    assert out["compute_overhead"] == pytest.approx(float(want.compute_overhead), rel=1e-12)
    assert out["depends_on_train_flops"] is True
    bad = runner.invoke(app, ["overhead", "--size-fraction", "0.5", "--law", files[name]])
    assert bad.exit_code == 2 and "give --train-flops" in bad.stderr
    assert bad.stderr.count("\n") == 1


# ------------------------------------------------------------------------ vectorisation
@pytest.mark.parametrize("name", NAMES)
def test_methods_broadcast_over_replicates_and_scenarios(name):
    """(K,) replicate coefficients against (G, 1) sizes and losses: every element is the
    method's value for that replicate and scenario alone (the roots elementwise)."""
    law = averaged(name, k=20)
    f, coef = law.shape, law.replicate_coefficients()
    loss = _target(law) * np.array([1.0, 1.05, 1.3])[:, None]
    lo, hi = f.log_params_range(coef, loss)
    assert lo.shape == hi.shape == (3, 20)
    floor = f.floor(coef)
    assert floor.shape == (20,)
    ln_n = lo + 0.7
    ln_d = f.log_tokens_at_loss(coef, ln_n, loss)
    assert ln_d.shape == (3, 20)
    np.testing.assert_allclose(f.loss_at(coef, ln_n, ln_d), np.broadcast_to(loss, (3, 20)),
                               rtol=1e-12)
    for i in (0, 2):
        for k in (0, 7, 19):
            one = {c: float(v[k]) for c, v in coef.items()}
            assert f.floor(one) == floor[k]
            a, b = f.log_params_range(one, float(loss[i, 0]))
            assert float(a) == lo[i, k] and float(b) == hi[i, k]
            got = f.log_tokens_at_loss(one, ln_n[i, k], float(loss[i, 0]))
            assert float(got) == pytest.approx(ln_d[i, k], rel=1e-14)
    # beyond the smallest model that reaches the loss: NaN, as every form
    assert np.isnan(f.log_tokens_at_loss(coef, lo - 0.1, loss)).all()


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=30, deadline=None)
@given(log_gap=st.floats(-23.0, 3.4), excess=st.floats(0.002, 2.0))
def test_tokens_at_a_loss_are_the_bracketed_root(name, log_gap, excess):
    """The tokens at a loss (Newton's method, AverageForm._tokens_root) from the smallest model
    that reaches the loss (gap e^-23) to e^30 times it: the loss there is the target, and the
    root is the planner's bracketed root finder's on the same bracket."""
    from computeplan._formsolve import bracketed_root

    law = POINT[name]
    f, coef = law.shape, law.coef
    loss = float(f.floor(coef)) + excess
    lo, hi = f.log_params_range(coef, loss)
    ln_n = float(lo) + math.exp(log_gap)
    assume(ln_n < float(hi))
    got = float(f.log_tokens_at_loss(coef, ln_n, loss))
    assert abs(float(f.loss_at(coef, ln_n, got)) / loss - 1) < 1e-13
    parts = [g.log_tokens_at_loss(p, ln_n, loss) for _, g, p in f.split(coef)]
    a = min(t for t in parts if np.isfinite(t))
    b = max(t for t in parts if np.isfinite(t)) + (0 if np.all(np.isfinite(parts)) else 200)
    if a == b:
        assert got == pytest.approx(a, rel=1e-12)
        return
    ref = float(bracketed_root(lambda x, d: loss - f.loss_at(coef, ln_n, x), a, b))
    # to 1e-12, or to what the loss's rounding leaves of ln D where the loss is flat in it
    flat = 8 * np.finfo(float).eps * loss / abs(float(f.log_slopes_at(coef, ln_n, got)[2]))
    assert abs(got - ref) <= 1e-12 * abs(ref) + flat


def test_a_farseer_part_without_a_size_limit(tmp_path):
    """With no part limiting N (no beta-of-n part) the lowest loss is the weighted sum of the
    parts' limits at large N, E and Farseer's exp(b3) (Farseer's own terms are 0 x inf at
    infinite data beyond ln N ~ 110, where its loss has long reached exp(b3)); replicates reach
    targets above it and plan as each alone; below it, and with a Farseer part whose loss at
    infinite data does not fall with N, a one-line error naming the problem."""
    from computeplan.uncertainty import plan_uncertainty

    law = POINT["kf"]
    floor = 0.5 * LAWS["kaplan"]["E"] + 0.5 * math.exp(LAWS["farseer"]["b3"])
    assert float(law.shape.floor(law.coef)) == pytest.approx(floor, rel=1e-12)
    near = floor + 0.05  # 2e16 parameters on 1e27 tokens
    best = law.compute_optimal(loss=near)
    np.testing.assert_allclose(float(best.loss), near, rtol=1e-12)
    back = law.compute_optimal(train_flops=float(best.train_flops))
    np.testing.assert_allclose(float(back.params), float(best.params), rtol=RTOL)
    reps = averaged("kf", k=20)
    target = _target(reps)
    pu = plan_uncertainty(reps, loss=target, inference_tokens=TOKENS, confidence=0.8)
    assert pu.reachable.all() and pu.robust.target_met_probability >= 0.8
    for i in (0, 19):
        one = lifetime_optimal(alone(reps, reps.replicates[i]), loss=target,
                               inference_tokens=TOKENS)
        np.testing.assert_allclose(pu.optimal.params[i], one.params, rtol=1e-12)
    path = tmp_path / "kf.json"
    reps.save(path)
    out = runner.invoke(app, ["plan", "--law", str(path), "--loss", str(floor * 0.999)])
    assert out.exit_code == 2 and len(out.output.strip().splitlines()) == 1, out.output
    assert "the weighted sum of the parts' lowest losses" in out.output
    bad = make_law(law.form, law.coef | {"farseer.gamma": 0.3})
    with pytest.raises(InputError, match="the farseer part of this averaged law: .*does not "
                                         "fall with N"):
        bad.compute_optimal(loss=2.5)


def test_law_files_of_an_averaged_form_are_loaded_by_every_command(files):
    """A law file of an averaged form is a FormLaw of that form (planners take it with
    any_form); coefficient overrides of the Chinchilla form are a one-line error naming the
    form's coefficients."""
    law = get_law(files["kbf"], any_form=True)
    assert law.form == "average(kaplan,beta-of-n,farseer)" and law.replicates.shape == (20, 23)
    bad = runner.invoke(app, ["plan", "--law", files["kbf"], "--E", "1.7"])
    assert bad.exit_code == 2 and "kaplan.weight" in bad.output, bad.output
    assert len(bad.output.strip().splitlines()) == 1


# ---------------------------------------------------------------------------------- web
@pytest.fixture
def web_with_an_averaged_preset(monkeypatch, files):
    """The web app with the averaged law of mix kbf among its presets, as a preset of
    ``computeplan fit --form average`` would be (never a server path; an averaged law inline:
    tests/test_web_inline_law.py): the preset registry, the request models' law choices and
    the app built afresh, every change undone afterwards."""
    pytest.importorskip("fastapi", reason="the web extra is not installed")
    pytest.importorskip("httpx2", reason="starlette's test client needs httpx2")
    from typing import Literal

    from fastapi.testclient import TestClient

    from computeplan import laws
    from computeplan.laws import PRESETS, form_presets
    from computeplan.web import create_app, routes, schema

    law = get_law(files["kbf"], any_form=True)
    presets = {**form_presets(), "avg-kbf": law}
    monkeypatch.setattr(laws, "_FORM_PRESETS", presets)
    monkeypatch.setattr(schema, "LawPreset", Literal[(*PRESETS, *presets)])
    routes.registered.cache_clear()
    try:
        with TestClient(create_app()) as client:
            yield client
    finally:
        monkeypatch.undo()
        routes.registered.cache_clear()


def test_web_api_plans_with_an_averaged_preset(web_with_an_averaged_preset):
    """/api/plan (fixed loss, budget, --unique-tokens, --uncertainty), /api/report and
    /api/tradeoff with an averaged law are the CLI's answers; /api/meta describes it."""
    from cli_helpers import web_spelled

    client = web_with_an_averaged_preset
    meta = client.get("/api/meta").json()["laws"]["avg-kbf"]
    assert meta["form"] == "average(kaplan,beta-of-n,farseer)" and "w_kaplan" in meta["formula"]
    for body, args in (
            ({"loss": 2.2, "inference_tokens": 1e13},
             ["--loss", "2.2", "--inference-tokens", "1e13"]),
            ({"budget_flops": 1e24, "inference_tokens": 1e13},
             ["--budget-flops", "1e24", "--inference-tokens", "1e13"]),
            ({"loss": 2.2, "inference_tokens": 1e13, "unique_tokens": 1e12},
             ["--loss", "2.2", "--inference-tokens", "1e13", "--unique-tokens", "1e12"]),
            ({"loss": 2.2, "inference_tokens": 1e13, "uncertainty": True},
             ["--loss", "2.2", "--inference-tokens", "1e13", "--uncertainty"])):
        r = client.post("/api/plan", json={"law": "avg-kbf", **body})
        assert r.status_code == 200, r.text
        want = web_spelled(cli("plan", "--law", "avg-kbf", *args))
        for key in ("law", "optimal", "chinchilla", "ratios", "uncertainty"):
            assert r.json().get(key) == want.get(key), key
    r = client.post("/api/plan", json={"law": "avg-kbf", "loss": 1.0})
    assert r.status_code == 422 and "weighted sum of the parts' lowest losses" in r.json()["error"]
    r = client.post("/api/report", json={"law": "avg-kbf", "loss": 2.2})
    assert r.status_code == 200, r.text
    want = cli("report", "--law", "avg-kbf", "--loss", "2.2")
    assert r.json()["figures"]["isoloss"] == want["figures"]["isoloss"]
    r = client.post("/api/tradeoff", json={"technique": "scaling-policy", "law": "avg-kbf",
                                           "level": 2.2})
    assert r.status_code == 200, r.text
    want = cli("tradeoff", "scaling-policy", "--law", "avg-kbf", "--level", "2.2")
    assert r.json()["span"] == want["span"]


# ----------------------------------------------------- the plan under each part alone
def _part_file(tmp_path, part):
    path = tmp_path / f"{part}.json"
    make_law(part, PARTS[part], name=part).save(path)
    return str(path)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("target", ["loss", "budget"])
def test_the_plan_reports_each_parts_own_plan(name, target, files, tmp_path):
    """JSON law_parts: each part's row is the plan of a law file of that part alone (same
    target, demand and costs), and the note gives the range of their optima."""
    law = POINT[name]
    goal = (["--loss", _target(law)] if target == "loss" else
            ["--budget-usd", 3e7])
    common = [*goal, "--requests", "1e10", "--input-tokens", "500", "--output-tokens", "200",
              "--train-gpu", "h100"]
    res = cli("plan", "--law", files[name], *common)
    rows = res["law_parts"]
    assert [r["form"] for r in rows] == list(MIXES[name])
    np.testing.assert_allclose([r["weight"] for r in rows], list(MIXES[name].values()),
                               rtol=1e-15)
    for row in rows:
        own = cli("plan", "--law", _part_file(tmp_path, row["form"]), *common)["optimal"]
        for k in ("params", "tokens_per_param", "loss", "total_cost_usd"):
            np.testing.assert_allclose(row[k], own[k], rtol=1e-12, err_msg=k)
    assert all(r["beyond_runs_oom"] is None for r in rows)  # these laws have no domain
    note = next(n for n in res["notes"] if n.startswith("averaged law ("))
    assert "beyond the runs" not in note
    lo = min(r["params"] for r in rows)
    hi = max(r["params"] for r in rows)
    assert lo < hi and "each part alone puts the optimum at" in note
    assert ("loss " in note) == (target == "budget")
    assert ("lifetime cost $" in note) == (target == "loss")
    assert lo < hi and "nan" not in note
    # the averaged plan's own optimum is the averaged law's, not one of its parts'
    assert not any(math.isclose(r["params"], res["optimal"]["params"], rel_tol=1e-9)
                   for r in rows)


def test_each_parts_optimum_says_how_far_it_lies_beyond_the_runs(tmp_path):
    """With a domain (the runs a law was fitted on), each part's row gives the most orders of
    magnitude its optimum lies outside them (N, D or D/N), the table a column, the note the
    largest."""
    from dataclasses import replace

    from computeplan._lawdata import domain_of, extrapolation_oom

    law = replace(POINT["ct"], domain=domain_of([1e7, 1e9], [2e8, 2e10]))
    path = tmp_path / "ct.json"
    law.save(path)
    res = cli("plan", "--law", path, "--loss", _target(law), "--inference-tokens", TOKENS)
    for row in res["law_parts"]:
        oom = extrapolation_oom(law.domain, row["params"], row["train_tokens"])
        assert row["beyond_runs_oom"] == pytest.approx(max(oom.values()), rel=1e-12)
        assert row["beyond_runs_oom"] > 1  # the 1e23-FLOP optimum: far beyond 1e9 params
    top = max(r["beyond_runs_oom"] for r in res["law_parts"])
    assert any(n.startswith("averaged law (") and n.endswith(
        f"those optima lie up to {top:.2f} orders of magnitude beyond the runs the law was "
        "fitted on") for n in res["notes"])
    table = runner.invoke(app, ["plan", "--law", str(path), "--loss", str(_target(law)),
                                "--inference-tokens", str(TOKENS)])
    assert f"{top:.2f} OOM" in table.output


def test_a_part_that_cannot_reach_the_target_says_so(tmp_path):
    """A loss the average reaches but one part cannot (below that part's irreducible loss):
    its row is an error in words, the table says it cannot reach it, the note names it."""
    law = POINT["ct"]  # E: chinchilla 1.69, tied 1.8
    loss = 1.79
    assert float(law.shape.floor(law.coef)) < loss < TIED["E"]
    path = tmp_path / "ct.json"
    law.save(path)
    res = cli("plan", "--law", path, "--loss", loss, "--inference-tokens", TOKENS)
    tied = next(r for r in res["law_parts"] if r["form"] == "tied")
    assert "1.8" in tied["error"] and "params" not in tied
    assert any(n.endswith("tied alone cannot reach it") for n in res["notes"])
    table = runner.invoke(app, ["plan", "--law", str(path), "--loss", str(loss),
                                "--inference-tokens", str(TOKENS)])
    assert table.exit_code == 0
    lines = table.output.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("│ tied "))
    row = [line.split("│")[3].strip() for line in lines[first:]
           if line.startswith("│ ") and (line.startswith("│ tied ") or line.startswith("│  "))]
    assert " ".join(x for x in row if x) == "cannot reach the target", table.output
    assert "The optimum under each part of the averaged law alone" in table.output


def test_dated_and_uncertain_plans_report_the_parts_too(files):
    law = POINT["ct"]
    loss = _target(law)
    dated = cli("plan", "--law", files["ct"], "--loss", loss, "--requests", "1e10",
                "--input-tokens", "500", "--output-tokens", "200", "--train-gpu", "h100",
                "--horizon-days", "365", "--discount-rate-per-year", "0.1")
    assert len(dated["law_parts"]) == 2 and "total_cost_usd" in dated["law_parts"][0]
    uncertain = cli("plan", "--law", files["ct"], "--loss", loss, "--inference-tokens",
                    TOKENS, "--uncertainty")
    assert [r["form"] for r in uncertain["law_parts"]] == ["chinchilla", "tied"]


def test_a_law_of_one_form_has_no_parts(tmp_path):
    res = cli("plan", "--law", _part_file(tmp_path, "kaplan"), "--loss", 2.5)
    assert "law_parts" not in res
    assert not any(n.startswith("averaged law (") for n in res["notes"])


def test_replicates_whose_weights_do_not_sum_to_one_are_refused(tmp_path):
    f = get_form("average(" + ",".join(MIXES["ct"]) + ")")
    rows = [list(r) for r in averaged("ct", k=3).replicates]
    rows[2][f.coefficients.index("tied.weight")] += 0.1  # 0.6 + 0.5
    with pytest.raises(InputError, match=r"sum to 1 in every row; got 1\.1 in row 2"):
        make_law(f.name, dict(POINT["ct"].coef), replicates=rows)
    data = averaged("ct", k=3).to_dict() | {"replicates": rows}
    path = tmp_path / "law.json"
    path.write_text(json.dumps(data))
    one_line_error("plan", "--law", str(path), must=("sum to 1 in every row",))
