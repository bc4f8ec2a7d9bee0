"""Data limits with a law of any form (computeplan._formlimits): Muennighoff et al. 2023's
effective data and parameters in the form's own loss, the data-limited optimum against a
brute-force search, against the Chinchilla form's dedicated solver, and in the shells."""

import json
from types import SimpleNamespace

import numpy as np
import pytest
from typer.testing import CliRunner

from brute import assert_limited_replicates
from computeplan import _formlimits as fl
from computeplan.cli import app
from computeplan.data_limits import (
    limited_loss,
    limited_optimal,
    limited_params_for_loss,
    limited_tokens_for_loss,
    lowest_reachable_loss,
)
from computeplan.errors import InputError
from computeplan.formlaw import make_law
from computeplan.forms import get_form
from computeplan.laws import get_law
from computeplan.lifetime import budget_optimal, compare, lifetime_optimal
from form_laws import LAWS, form_law

runner = CliRunner()

#: Unique tokens at which the limit binds for the target of each case (about 1.2 to 8 epochs).
UNIQUE = {"kaplan": (1e12, 3e12), "beta-of-n": (1e12, 3e12), "farseer": (3e12, 1e13)}
DEMANDS = np.array([0.0, 1e12, 1e13, 1e14])
#: ln N offsets around the optimum that never contain 0 (the solver's own point).
OFFSETS = np.linspace(-1.0, 1.0, 20001) + 1e-5 / 3


def _target(law):
    return float(law.compute_optimal(train_flops=1e24).loss)


@pytest.mark.parametrize("name", list(LAWS))
def test_data_limited_optimum_of_every_form_beats_brute_force(name):
    """At a target loss: the plan reaches the loss under the limited law, no point of a fine
    grid of the data-limited loss contour (D from the form's contour at N') is cheaper, its
    neighbours at +-1e-4 in ln N cost more, and it is not the unlimited plan (the limit binds)."""
    law = form_law(name)
    loss = _target(law)
    for u in UNIQUE[name]:
        plan = lifetime_optimal(law, loss=loss, inference_tokens=DEMANDS)
        lim = limited_optimal(law, loss=loss, unique_tokens=u, inference_tokens=DEMANDS)
        np.testing.assert_allclose(limited_loss(law, lim.params, lim.train_tokens, u), loss,
                                   rtol=1e-12)
        np.testing.assert_allclose(lim.loss, loss, rtol=1e-12)
        assert np.all(lim.train_tokens != plan.train_tokens)
        lo, _ = fl.params_range(law, loss, u)
        for i, tokens in enumerate(DEMANDS):
            r = tokens / 3.0

            def bill(ln, r=r, lo=lo, u=u):
                n = np.exp(ln[np.exp(ln) > lo * (1 + 1e-9)])
                return n * (limited_tokens_for_loss(law, loss, n, u) + r)

            best = np.log(lim.params[i])
            own = lim.params[i] * (lim.train_tokens[i] + r)
            assert own <= bill(best + OFFSETS).min() * (1 + 1e-12)
            assert np.all(bill(best + np.array([-1e-4, 1e-4])) > own)


@pytest.mark.parametrize("name", list(LAWS))
def test_data_limited_budget_round_trips_to_1e_10(name):
    """The budget solver (in ln D along the budget line) at the fixed-loss optimum's lifetime
    FLOPs returns the same model (the fixed-loss solver works in ln N' along the contour: two
    independent solves of dual problems agree to 1e-10), and no point of a fine grid of the
    budget line has a lower data-limited loss."""
    law = form_law(name)
    loss = _target(law)
    u = UNIQUE[name][0]
    lim = compare(law, loss=loss, inference_tokens=DEMANDS, unique_tokens=u).optimal
    back = compare(law, budget=lim.total_flops, inference_tokens=DEMANDS,
                   unique_tokens=u).optimal
    np.testing.assert_allclose(back.params, lim.params, rtol=1e-10)
    np.testing.assert_allclose(back.train_tokens, lim.train_tokens, rtol=1e-10)
    np.testing.assert_allclose(back.loss, loss, rtol=1e-13)
    for i, tokens in enumerate(DEMANDS):
        k, r = lim.total_flops[i] / 6.0, tokens / 3.0
        ln_d = np.log(back.train_tokens[i]) + OFFSETS
        d = np.exp(ln_d)
        n = k / (d + r)
        assert back.loss[i] <= limited_loss(law, n, d, u).min() * (1 + 1e-13)


def _chinchilla_namespace(law):
    """The Chinchilla-form law ``law`` seen by the form-generic code (which never reads E, A, B,
    alpha, beta by name)."""
    return SimpleNamespace(shape=get_form("chinchilla"), coef=law.coefficients(),
                           rd_star=law.rd_star, rn_star=law.rn_star, name=law.name,
                           form="generic")


def test_generic_solver_reproduces_the_chinchilla_forms_own():
    """The form-generic data-limited solvers, fed the Chinchilla form, give the dedicated
    Chinchilla-form solvers' numbers (computeplan.data_limits: closed forms, Newton on Phi) to
    1e-10 on 20,000 random scenarios: the same formulas, solved another way."""
    law = get_law("muennighoff2023")
    ns = _chinchilla_namespace(law)
    rng = np.random.default_rng(7)
    m = 20000
    u = 10 ** rng.uniform(9, 12, m)
    loss = lowest_reachable_loss(law, u) + rng.uniform(0.005, 0.3, m)
    r = 10 ** rng.uniform(6, 13, m)
    log_u = np.log(u)
    log_no = fl.log_base_params(ns, log_u)
    from computeplan.data_limits import _log_base_params

    np.testing.assert_allclose(log_no, _log_base_params(law, log_u), rtol=1e-12)
    np.testing.assert_allclose(fl.lowest_reachable_loss(ns, u), lowest_reachable_loss(law, u),
                               rtol=1e-12)
    ref = limited_optimal(law, loss=loss, unique_tokens=u, inference_tokens=3 * r)
    binds = ref.train_tokens > u
    assert binds.mean() > 0.5
    ln_n, ln_d = fl.solve_fixed_loss(ns, loss[binds], r[binds], log_u[binds], log_no[binds])
    np.testing.assert_allclose(np.exp(ln_n), ref.params[binds], rtol=1e-10)
    np.testing.assert_allclose(np.exp(ln_d), ref.train_tokens[binds], rtol=1e-10)
    ln_n, ln_d = fl.solve_budget(ns, np.log(ref.total_flops[binds] / 6), r[binds],
                                 log_u[binds], log_no[binds])
    np.testing.assert_allclose(np.exp(ln_n), ref.params[binds], rtol=1e-10)
    np.testing.assert_allclose(np.exp(ln_d), ref.train_tokens[binds], rtol=1e-10)
    n, d = ref.params, ref.train_tokens
    np.testing.assert_allclose(fl.limited_loss(ns, n, d, u), limited_loss(law, n, d, u),
                               rtol=1e-13)


@pytest.mark.parametrize("name", list(LAWS))
def test_limited_loss_and_its_inverses(name):
    """L_form(N', D') is the form's loss below U and N_opt(U) (bit for bit), above the
    unlimited loss beyond, and the tokens/params for a loss invert it."""
    law = form_law(name)
    u = UNIQUE[name][0]
    n0 = float(fl.base_params(law, u))
    n = np.array([0.3, 0.9, 2.0, 8.0]) * n0
    d = np.array([0.5, 0.9, 3.0, 20.0]) * u
    plain = law.loss(n, d)
    lim = limited_loss(law, n, d, u)
    assert np.array_equal(lim[:2], plain[:2]) and np.all(lim[2:] > plain[2:])
    np.testing.assert_allclose(limited_tokens_for_loss(law, lim, n, u), d, rtol=1e-10)
    np.testing.assert_allclose(limited_params_for_loss(law, lim, d, u), n, rtol=1e-9)
    # N_opt(U) is the compute-optimal size for D = U under the law
    point = law.compute_optimal(train_tokens=u)
    np.testing.assert_allclose(n0, point.params, rtol=1e-10)
    # the lowest reachable loss is approached with many epochs and a large model
    floor = float(lowest_reachable_loss(law, u))
    big = limited_loss(law, 1e3 * n0, 1e4 * u, u)
    assert floor <= big < floor + 1e-6 < limited_loss(law, 3 * n0, 30 * u, u)
    with pytest.raises(InputError, match="lowest reachable loss"):
        limited_tokens_for_loss(law, floor, n0, u)


@pytest.mark.parametrize("name", list(LAWS))
def test_a_limit_that_does_not_bind_keeps_the_plan_bit_for_bit(name):
    """Plenty of unique tokens (or U = inf among them) give the unlimited plan exactly."""
    law = form_law(name)
    loss = _target(law)
    free = lifetime_optimal(law, loss=loss, inference_tokens=DEMANDS)
    u = np.array([1e16, np.inf, 1e17, np.inf])
    res = compare(law, loss=loss, inference_tokens=DEMANDS, unique_tokens=u)
    assert np.array_equal(res.optimal.params, free.params)
    assert np.array_equal(res.optimal.train_tokens, free.train_tokens)
    assert np.array_equal(res.optimal.loss, free.loss)
    assert not res.data_limit.binding.any()
    np.testing.assert_array_equal(res.data_limit.extra_cost, 0.0)
    budget = compare(law, budget=1e24, inference_tokens=DEMANDS, unique_tokens=u)
    plain = budget_optimal(law, budget=1e24, inference_tokens=DEMANDS)
    assert np.array_equal(budget.optimal.params, plain.params)


@pytest.mark.parametrize("name", list(LAWS))
def test_vectorised_over_scenarios(name):
    """Arrays of losses, demands and unique tokens give each scenario's own plan."""
    law = form_law(name)
    loss = _target(law)
    losses = loss * np.array([1.0, 1.02, 1.05])
    u = np.array(UNIQUE[name][:1] * 3) * np.array([1.0, 0.8, 1.5])
    tokens = np.array([1e12, 1e13, 0.0])
    many = compare(law, loss=losses, inference_tokens=tokens, unique_tokens=u).optimal
    for i in range(3):
        one = compare(law, loss=losses[i], inference_tokens=tokens[i],
                      unique_tokens=u[i]).optimal
        np.testing.assert_allclose(many.params[i], one.params, rtol=1e-12)
        np.testing.assert_allclose(many.train_tokens[i], one.train_tokens, rtol=1e-12)


def test_dollar_objective_with_a_limit_round_trips():
    from computeplan.demand import Demand
    from computeplan.objectives import DollarCost

    law = form_law("kaplan")
    cost = DollarCost()
    demand = Demand.from_requests(1e10, 1000.0, 250.0)
    res = compare(law, loss=2.0, demand=demand, unique_tokens=1e12, cost=cost)
    assert bool(res.data_limit.binding) and res.data_limit.extra_cost > 0
    back = compare(law, budget=res.optimal.total_cost_usd, demand=demand,
                   unique_tokens=1e12, cost=cost)
    np.testing.assert_allclose(back.optimal.params, res.optimal.params, rtol=1e-10)
    np.testing.assert_allclose(back.optimal.loss, 2.0, rtol=1e-13)


def test_unreachable_targets_are_one_line_errors():
    law = form_law("kaplan")
    floor = float(lowest_reachable_loss(law, 1e11))
    with pytest.raises(InputError, match=f"it must be above {floor:.6g}"):
        compare(law, loss=floor * 0.999, inference_tokens=1e12, unique_tokens=1e11)
    with pytest.raises(InputError, match="at index 1"):
        compare(law, loss=np.array([floor * 1.1, floor * 0.9]), inference_tokens=1e12,
                unique_tokens=1e11)


def test_law_files_carry_repetition_coefficients(tmp_path):
    """A law file of another form may set rd_star/rn_star (then nothing is assumed); absent,
    Muennighoff et al.'s values are assumed and the plan says so."""
    path = tmp_path / "k.json"
    law = make_law("kaplan", LAWS["kaplan"], name="k", rd_star=10.0)
    law.save(path)
    data = json.loads(path.read_text())
    assert data["rd_star"] == 10.0 and "rn_star" not in data
    assert fl.repetition(get_law(str(path), any_form=True)) == (10.0, 5.309743, ("rn_star",))
    args = ["plan", "--law", str(path), "--loss", "2.2", "--inference-tokens", "1e13",
            "--unique-tokens", "1e12", "--json"]
    out = runner.invoke(app, args)
    assert out.exit_code == 0, out.output
    res = json.loads(out.stdout)
    limit = res["data_limit"]
    assert limit["rd_star"] == 10.0 and limit["repetition_assumed"] == ["rn_star"]
    assert "fitted with the Chinchilla form only" in limit["repetition_note"]
    assert any("--rn-star 5.31, Muennighoff" in n for n in res["notes"])
    out = runner.invoke(app, args + ["--rn-star", "4"])
    limit = json.loads(out.stdout)["data_limit"]
    assert limit["rn_star"] == 4.0 and "repetition_assumed" not in limit


def test_plan_cli_with_a_preset_of_another_form():
    """The issue's command: exit 0, the limited optimum reaches the loss, the table says what
    was assumed; the Chinchilla-form preset's JSON has no assumption (its coefficients are the
    paper's own fit)."""
    args = ["plan", "--law", "sardana2024-mpt", "--loss", "2.2", "--inference-tokens", "1e13",
            "--unique-tokens", "1e12"]
    out = runner.invoke(app, args + ["--json"])
    assert out.exit_code == 0, out.output
    res = json.loads(out.stdout)
    assert res["law"]["form"] == "kaplan" and res["data_limit"]["binding"] is True
    assert res["optimal"]["loss"] == pytest.approx(2.2, rel=1e-12)
    assert res["data_limit"]["extra_cost_ratio"] > 0
    table = runner.invoke(app, args).output
    assert "epochs over unique data" in table and "fitted with the Chinchilla form only" in table
    plain = runner.invoke(app, ["plan", "--law", "muennighoff2023", "--loss", "2.3",
                                "--unique-tokens", "1e10", "--json"])
    assert "repetition_assumed" not in json.loads(plain.stdout)["data_limit"]


@pytest.mark.parametrize("extra, why", [
    ([], "lowest reachable loss"),
    (["--uncertainty"], "lowest reachable loss"),
])
def test_what_is_still_unsupported_is_one_line(extra, why):
    args = ["plan", "--law", "sardana2024-mpt", "--loss", "1.5", "--unique-tokens", "1e12",
            *extra]
    out = runner.invoke(app, args)
    assert out.exit_code == 2, out.output
    lines = out.output.strip().splitlines()
    assert len(lines) == 1 and why in lines[0] and "Traceback" not in out.output, out.output


def test_model_cli_with_a_limit_and_another_form():
    out = runner.invoke(app, ["model", "--law", "sardana2024-mpt", "--loss", "2.2", "--params",
                              "7e9", "--unique-tokens", "1e12", "--json"])
    assert out.exit_code == 0, out.output
    res = json.loads(out.stdout)
    law = get_law("sardana2024-mpt", any_form=True)
    np.testing.assert_allclose(limited_loss(law, 7e9, res["train_tokens"], 1e12), 2.2,
                               rtol=1e-12)
    assert res["data_limit"]["repetition_assumed"] == ["rd_star", "rn_star"]
    table = runner.invoke(app, ["model", "--law", "sardana2024-mpt", "--compute", "1e23",
                                "--chinchilla", "--unique-tokens", "3e11"]).output
    assert "effective tokens D'" in table and "assumed --rd-star and --rn-star" in table


def test_report_curves_are_the_data_limited_laws():
    """The report's iso-loss curves under a limit lie on the data-limited law's contours."""
    from computeplan.commands.report import report

    res = report(law="sardana2024-mpt", loss=2.2, unique_tokens=1e12, inference_tokens=1e13)
    law = res.plan.comparison.law
    for curve in res.isoloss:
        level = float(curve.label.split("= ")[1])
        got = limited_loss(law, curve.data["params"], curve.data["train_tokens"], 1e12)
        np.testing.assert_allclose(got, got[0], rtol=1e-10)
        assert got[0] == pytest.approx(level, rel=1e-3)
    assert res.isoloss_unlimited is not None


def test_web_api_plan_with_a_limit_and_another_form():
    pytest.importorskip("fastapi", reason="the web extra is not installed")
    pytest.importorskip("httpx2", reason="starlette's test client needs httpx2")
    from fastapi.testclient import TestClient

    from computeplan.web import create_app

    body = {"law": "sardana2024-mpt", "loss": 2.2, "inference_tokens": 1e13,
            "unique_tokens": 1e12}
    with TestClient(create_app()) as client:
        ok = client.post("/api/plan", json=body)
        bad = client.post("/api/plan", json=body | {"loss": 1.5})
    assert ok.status_code == 200
    cli = json.loads(runner.invoke(app, ["plan", "--law", "sardana2024-mpt", "--loss", "2.2",
                                         "--inference-tokens", "1e13", "--unique-tokens",
                                         "1e12", "--json"]).stdout)
    assert ok.json()["optimal"] == cli["optimal"]
    assert ok.json()["data_limit"]["repetition_assumed"] == ["rd_star", "rn_star"]
    assert any("rd_star 15.39 and rn_star 5.31" in n for n in ok.json()["notes"])
    assert bad.status_code == 422 and "unique_tokens" in bad.json()["error"]
    assert "--" not in bad.json()["error"]


@pytest.mark.parametrize("name", list(LAWS))
def test_local_exchange_rate_of_every_form(name):
    """The dated plan's exchange rate -dlog IC / dlog TC along the iso-loss curve (IC = 2N,
    TC = 6ND), by finite differences on the form's contour; dated plans with a data limit run."""
    from computeplan.timeline import local_exchange_rate

    law = form_law(name)
    loss = _target(law)
    ln_n = np.log(float(law.compute_optimal(loss=loss).params)) - 0.3
    h = 1e-5
    ln_d = [law.shape.log_tokens_at_loss(law.coef, ln_n + s, loss) for s in (-h, h)]
    slope = (ln_d[1] - ln_d[0]) / (2 * h)  # dlog D / dlog N on the contour
    rate = local_exchange_rate(law, np.exp(ln_n),
                               np.exp(law.shape.log_tokens_at_loss(law.coef, ln_n, loss)))
    np.testing.assert_allclose(rate, -1.0 / (1.0 + slope), rtol=1e-7)
    out = runner.invoke(app, ["plan", "--law", "sardana2024-mpt", "--loss", "2.2",
                              "--inference-tokens", "1e13", "--unique-tokens", "1e12",
                              "--horizon-days", "365", "--discount-rate-per-year", "0.1",
                              "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["data_limit"]["extra_cost_is_present_value"] is True


def test_sweep_with_a_preset_of_another_form_and_a_unique_tokens_axis(tmp_path):
    """A sweep over losses and unique tokens under sardana2024-mpt: each row is the plan's own,
    the unreachable row alone has the error."""
    import csv

    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"axes": {"loss": [1.9, 2.2], "unique_tokens": [3e11, 1e12]},
                                "defaults": {"inference_tokens": 1e13,
                                             "law": "sardana2024-mpt"}}))
    out = tmp_path / "rows.csv"
    result = runner.invoke(app, ["sweep", str(spec), "--out", str(out)])
    assert result.exit_code == 0, result.output
    by = {(float(r["loss"]), float(r["unique_tokens"])): r for r in csv.DictReader(out.open())}
    assert "lowest reachable loss" in by[1.9, 3e11]["error"]
    one = json.loads(runner.invoke(app, ["plan", "--law", "sardana2024-mpt", "--loss", "2.2",
                                         "--inference-tokens", "1e13", "--unique-tokens",
                                         "1e12", "--json"]).stdout)
    assert float(by[2.2, 1e12]["optimal.params"]) == pytest.approx(one["optimal"]["params"],
                                                                   rel=1e-12)


def _roofline():
    from computeplan.objectives import RooflineDollarCost

    return RooflineDollarCost(train_gpu="h100-sxm", inference_gpu="h100-sxm")


@pytest.mark.parametrize("name", list(LAWS))
def test_roofline_data_limited_optimum_of_every_form_beats_brute_force(name):
    """The roofline serving model (inference cost Q(N) not linear in N) with a data limit: the
    optimum reaches the loss under the limited law, no point of a fine grid of the data-limited
    contour is cheaper (its neighbours at +-1e-4 in ln N cost more), and the budget inverse at
    its cost returns it."""
    from computeplan.demand import Demand

    law = form_law(name)
    loss = _target(law)
    u = UNIQUE[name][0]
    cost = _roofline()
    demand = Demand.from_requests(np.array([0.0, 1e9, 1e10, 1e11]), 500.0, 200.0)
    res = compare(law, loss=loss, demand=demand, cost=cost, unique_tokens=u)
    lim = res.optimal
    assert res.data_limit.binding.all()
    np.testing.assert_allclose(limited_loss(law, lim.params, lim.train_tokens, u), loss,
                               rtol=1e-12)
    lo, _ = fl.params_range(law, loss, u)
    p = cost.train_usd_per_param_token
    for i in range(4):
        di = Demand(*(x[i] for x in (demand.total_tokens, demand.input_tokens,
                                     demand.output_tokens)))

        def bill(ln, di=di, lo=lo):
            n = np.exp(ln[np.exp(ln) > lo * (1 + 1e-9)])
            return p * n * limited_tokens_for_loss(law, loss, n, u) + cost.inference_cost(n, di)

        best = np.log(lim.params[i])
        assert lim.total_cost_usd[i] <= bill(best + OFFSETS).min() * (1 + 1e-12)
        assert np.all(bill(best + np.array([-1e-4, 1e-4])) > lim.total_cost_usd[i])
    back = compare(law, budget=lim.total_cost_usd, demand=demand, cost=cost, unique_tokens=u)
    np.testing.assert_allclose(back.optimal.params, lim.params, rtol=1e-9)
    np.testing.assert_allclose(back.optimal.loss, loss, rtol=1e-12)


# ------------------------------------------------------------ planning under uncertainty
def _with_replicates(name):
    """The test law of ``name`` with 40 replicates spread around it (tests/test_forms_plan.py)."""
    from test_forms_plan import _with_replicates as reps

    return reps(name)


@pytest.mark.parametrize("name", list(LAWS))
def test_uncertainty_with_a_data_limit_and_every_form(name):
    """plan_uncertainty with a unique-token limit under every form: each replicate's own
    optimum is the data-limited optimum of that replicate alone (to 1e-10), a replicate reaches
    the target when it lies above its own lowest reachable loss, the point plan's losses are
    the replicates' data-limited ones, and the robust plan meets the target under the
    confidence share with no cheaper N on a fine grid (brute force over the m-th smallest
    data-limited D_k(N)); within a budget each replicate's optimum is its own and the robust
    plan spends the budget."""
    from computeplan.uncertainty import plan_uncertainty

    law = _with_replicates(name)
    target = float(law.compute_optimal(train_flops=1e24).loss)
    u, tokens = {"kaplan": 1e12, "beta-of-n": 3e12, "farseer": 3e12}[name], 1e12
    pu = plan_uncertainty(law, loss=target, inference_tokens=tokens, confidence=0.8,
                          unique_tokens=u)
    reps = law.replicates
    laws = [make_law(name, dict(zip(law.shape.coefficients, row, strict=True)), name=f"r{i}")
            for i, row in enumerate(reps)]
    assert pu.reachable.sum() >= 0.8 * len(reps)
    assert_limited_replicates(pu, laws, target, u, tokens,
                              picks=lambda k: (0, k // 2, k - 1))
    point = pu.comparison.optimal
    robust = pu.robust
    assert robust is not None and robust.target_met_probability >= 0.8
    m = int(np.ceil(0.8 * len(reps)))
    best = np.log(float(robust.plan.params))
    grid = np.exp(best + OFFSETS[::20])

    def kth_tokens(n):  # each replicate alone, as a law of scalar coefficients
        d = np.full((n.size, len(laws)), np.inf)
        for k, one in enumerate(laws):
            log_no = float(fl.log_base_params(one, np.log(u)))
            ln_ne = fl._forward(np.log(n), log_no, fl.repetition(one)[1])[0]
            with np.errstate(all="ignore"):
                ln_de = one.shape.log_tokens_at_loss(one.coef, ln_ne, target)
                ln_d = fl._inverse(ln_de, np.log(u), fl.repetition(one)[0])[0]
            d[:, k] = np.where(np.isnan(ln_d), np.inf, np.exp(ln_d))
        return np.partition(d, m - 1, axis=1)[:, m - 1]

    cost = 6 * grid * kth_tokens(grid) + 2 * grid * tokens
    assert float(robust.plan.total_flops) <= np.nanmin(cost) * (1 + 1e-9)
    budget = plan_uncertainty(law, budget=float(point.total_flops), inference_tokens=tokens,
                              confidence=0.8, unique_tokens=u)
    alone = compare(laws[0], budget=float(point.total_flops), inference_tokens=tokens,
                    unique_tokens=u).optimal
    np.testing.assert_allclose(budget.optimal.params[0], alone.params, rtol=1e-10)
    np.testing.assert_allclose(float(budget.robust.plan.total_flops), float(point.total_flops),
                               rtol=1e-12)


def test_uncertainty_cli_with_a_data_limit_and_a_preset_of_another_form():
    out = runner.invoke(app, ["plan", "--law", "sardana2024-mpt", "--loss", "2.2",
                              "--inference-tokens", "1e13", "--unique-tokens", "1e12",
                              "--uncertainty", "--json"])
    assert out.exit_code == 0, out.output
    res = json.loads(out.stdout)
    assert res["data_limit"]["repetition_assumed"] == ["rd_star", "rn_star"]
    unc = res["uncertainty"]
    assert unc["robust"]["target_met_probability"] >= 0.9
    assert unc["optimal"]["params"]["lo"] < res["optimal"]["params"] < unc["optimal"]["params"][
        "hi"]
