"""A unique-token limit on a dated plan (computeplan.timeline.dated_compare with unique_tokens):
with U = infinity it is the timeline plan bit for bit, with every trend off the undated
data-limited plan bit for bit; in between it meets the target, minimises the present value on
the data-limited iso-loss curve, and the shells (plan, report, web API) carry both blocks."""

import numpy as np
import pytest
from typer.testing import CliRunner

from cli_helpers import run_json
from computeplan import Demand, DollarCost, FlopsObjective, get_law
from computeplan.cli import app
from computeplan.data_limits import limited_loss, limited_params_for_loss
from computeplan.lifetime import compare, evaluate
from computeplan.timeline import Timeline, dated_compare, scaled

LAW = get_law("sardana2024")
runner = CliRunner()
REQUESTS = np.array([2e9, 2e10])
DEMAND = Demand.from_requests(REQUESTS, 500.0, 500.0)  # 2e12 and 2e13 tokens
#: 1T unique tokens bind on Sardana et al.'s example (the README: 2.6 epochs undated).
U = 1e12
TRENDS = dict(horizon_days=730.0, price_performance_doubling_years="all-gpus",
              discount_rate_per_year=0.1)
SPEED = 1024 * 989e12 * 0.5  # 1,024 H100 bf16 at MFU 0.5


def _fields(plan):
    return {k: v for k, v in vars(plan).items() if v is not None}


def _same(a, b):
    fa, fb = _fields(a), _fields(b)
    assert fa.keys() == fb.keys()
    for k in fa:
        assert np.array_equal(fa[k], fb[k]), k


TARGETS = [dict(loss=1.947), dict(budget=3e24)]
OBJECTIVES = [FlopsObjective(), DollarCost()]


def _budget(target, objective):
    if "budget" in target and objective.priced:
        return dict(budget=2e7)
    return target


@pytest.mark.parametrize("speed", [None, SPEED])
@pytest.mark.parametrize("objective", OBJECTIVES, ids=["flops", "usd"])
@pytest.mark.parametrize("target", TARGETS, ids=["loss", "budget"])
def test_unlimited_unique_tokens_are_the_timeline_plan_bit_for_bit(target, objective, speed):
    target = _budget(target, objective)
    timeline = Timeline(**TRENDS, train_flops_per_second=speed)
    plain = dated_compare(LAW, **target, demand=DEMAND, objective=objective, timeline=timeline)
    inf = dated_compare(LAW, **target, demand=DEMAND, objective=objective, timeline=timeline,
                        unique_tokens=np.inf)
    _same(plain.comparison.optimal, inf.comparison.optimal)
    _same(plain.comparison.chinchilla, inf.comparison.chinchilla)
    _same(plain.optimal.present, inf.optimal.present)
    assert plain.comparison.data_limit is None
    assert not inf.comparison.data_limit.binding.any()
    assert np.all(inf.comparison.data_limit.extra_cost == 0)


@pytest.mark.parametrize("speed", [None, SPEED])
@pytest.mark.parametrize("objective", OBJECTIVES, ids=["flops", "usd"])
@pytest.mark.parametrize("target", TARGETS, ids=["loss", "budget"])
def test_trends_off_is_the_data_limited_plan_bit_for_bit(target, objective, speed):
    target = _budget(target, objective)
    cost = objective if objective.priced else None
    undated = compare(LAW, **target, demand=DEMAND, cost=cost, unique_tokens=U)
    dated = dated_compare(LAW, **target, demand=DEMAND, objective=objective,
                          timeline=Timeline(horizon_days=365.0, train_flops_per_second=speed),
                          unique_tokens=U)
    _same(undated.optimal, dated.comparison.optimal)
    _same(undated.chinchilla, dated.comparison.chinchilla)
    a, b = undated.data_limit.to_dict(), dated.comparison.data_limit.to_dict()
    assert a.keys() == b.keys()  # no present-value marker: the bills are today's
    for k in a:
        if k != "unlimited":
            assert np.array_equal(a[k], b[k]), k
    assert a["unlimited"].keys() == b["unlimited"].keys()
    for k in a["unlimited"]:
        assert np.array_equal(a["unlimited"][k], b["unlimited"][k]), k
    assert undated.data_limit.binding.all()


def test_dated_limited_plan_minimises_the_present_value_on_the_limited_iso_loss_curve():
    timeline = Timeline(**TRENDS)  # serving at once: one factor f for every model
    dated = dated_compare(LAW, loss=1.947, demand=DEMAND, objective=FlopsObjective(),
                          timeline=timeline, unique_tokens=U)
    opt, dl = dated.comparison.optimal, dated.comparison.data_limit
    assert np.allclose(limited_loss(LAW, opt.params, opt.train_tokens, U), 1.947, rtol=1e-12)
    assert dl.binding.all() and dl.present_value
    assert np.all(dl.extra_cost > 0)
    f = timeline.service_factor()
    effective = scaled(DEMAND, f)
    best = evaluate(LAW, opt.params, opt.train_tokens, effective, FlopsObjective()).total_flops
    # brute force along the data-limited iso-loss curve around the optimum
    d = opt.train_tokens[:, None] * np.geomspace(0.7, 1.4, 401)[None, :]
    n = limited_params_for_loss(LAW, 1.947, d, U)
    pv = evaluate(LAW, n, d, scaled(Demand.from_requests(REQUESTS[:, None], 500.0, 500.0), f),
                  FlopsObjective()).total_flops
    assert np.all(best <= pv.min(axis=1) * (1 + 1e-12))
    assert np.all(best >= pv.min(axis=1) * (1 - 1e-6))  # the grid brackets the optimum
    # present values weigh future inference less than today's bills: the dated optimum moves
    # towards the Chinchilla model (smaller D/N) relative to the undated data-limited plan
    undated = compare(LAW, loss=1.947, demand=DEMAND, unique_tokens=U).optimal
    assert np.all(opt.tokens_per_param < undated.tokens_per_param)


@pytest.mark.parametrize("target", [dict(loss=1.947), dict(budget=3e24)], ids=["loss", "budget"])
def test_training_time_gives_the_self_consistent_limited_plan(target):
    from computeplan.data_limits import limited_plan
    from computeplan.lifetime import _budget_optimal, _lifetime_optimal

    timeline = Timeline(**TRENDS, train_flops_per_second=SPEED)
    objective = FlopsObjective()
    dated = dated_compare(LAW, **target, demand=DEMAND, objective=objective, timeline=timeline,
                          unique_tokens=U)
    opt = dated.comparison.optimal
    # the limited plan fed the effective demand its own training time implies
    effective = scaled(DEMAND, timeline.inference_factor(opt.train_flops))
    free = (_lifetime_optimal(LAW, target["loss"], effective, objective) if "loss" in target
            else _budget_optimal(LAW, target["budget"], effective, objective))
    again = limited_plan(LAW, np.asarray(U), effective, objective, free.params,
                         free.train_tokens, **target)
    assert np.allclose(again.params, opt.params, rtol=1e-9)
    assert np.allclose(again.train_tokens, opt.train_tokens, rtol=1e-9)
    dl = dated.comparison.data_limit
    if "budget" in target:  # equal present-value cost: the limit gives up loss
        assert np.allclose(dated.optimal.present.total_flops, 3e24, rtol=1e-10)
        assert np.all(dl.loss_given_up > 0) and np.all(dl.extra_cost == 0)
    else:
        assert np.all(dl.extra_cost > 0) and np.all(dl.loss_given_up == 0)
    # the unlimited plan beside it is the dated timeline plan
    plain = dated_compare(LAW, **target, demand=DEMAND, objective=objective, timeline=timeline)
    _same(dl.unlimited, plain.comparison.optimal)


DATED = ["--loss", "1.947", "--inference-tokens", "2e13", "--horizon-days", "730",
         "--price-performance-doubling-years", "all-gpus", "--discount-rate-per-year", "0.1",
         "--train-gpus", "1024"]


def test_plan_cli_combines_unique_tokens_with_the_timeline():
    plain = run_json("plan", *DATED)
    data = run_json("plan", *DATED, "--unique-tokens", "1e12")
    assert "timeline" in data and data["data_limit"]["binding"] is True
    assert data["data_limit"]["extra_cost_is_present_value"] is True
    assert data["data_limit"]["unlimited"]["params"] == plain["optimal"]["params"]
    assert data["optimal"]["loss"] == pytest.approx(1.947, rel=1e-12)
    assert data["optimal"]["params"] > plain["optimal"]["params"]
    assert (data["timeline"]["optimal"]["present_value_total_flops"]
            > plain["timeline"]["optimal"]["present_value_total_flops"])
    assert "more in present value over the lifetime" in data["data_limit"]["summary"][1]
    table = runner.invoke(app, ["plan", *DATED, "--unique-tokens", "1e12"])
    assert table.exit_code == 0, table.output
    assert "epochs over unique data" in table.output and "in present value" in table.output
    inf = run_json("plan", *DATED, "--unique-tokens", "inf")
    assert "data_limit" not in inf and inf["optimal"] == plain["optimal"]
    assert inf["timeline"] == plain["timeline"]
    # unreachable with the limit: one line, exit 2
    bad = runner.invoke(app, ["plan", *DATED[2:], "--loss", "1.8", "--unique-tokens", "1e12"])
    assert bad.exit_code == 2 and "must be above 1.83963" in bad.output
    assert len(bad.output.strip().splitlines()) == 1


def test_report_and_web_combine_unique_tokens_with_the_timeline(tmp_path):
    pytest.importorskip("matplotlib", reason="reports need matplotlib")
    page = tmp_path / "r.html"
    result = runner.invoke(app, ["report", *DATED, "--unique-tokens", "1e12", "--out",
                                 str(page)])
    assert result.exit_code == 0, result.output
    text = page.read_text()
    assert "Present value over time" in text and "1T unique tokens bind" in text
    pytest.importorskip("fastapi", reason="the web extra is not installed")
    pytest.importorskip("httpx2", reason="starlette's test client needs httpx2")
    from fastapi.testclient import TestClient

    from computeplan.web import create_app

    body = {"loss": 1.947, "inference_tokens": 2e13, "horizon_days": 730,
            "price_performance_doubling_years": "all-gpus", "discount_rate_per_year": 0.1,
            "train_gpus": 1024, "unique_tokens": 1e12}
    with TestClient(create_app()) as client:
        got = client.post("/api/plan", json=body).json()
        rep = client.get("/report.html", params={k: str(v) for k, v in body.items()})
    cli = run_json("plan", *DATED, "--unique-tokens", "1e12")
    assert got["optimal"] == cli["optimal"] and got["timeline"] == cli["timeline"]
    assert got["data_limit"]["summary"] == cli["data_limit"]["summary"]
    assert rep.status_code == 200 and "Present value over time" in rep.text
    assert "unique tokens bind" in rep.text


def test_loss_given_up_at_a_target_loss_is_plain_zero():
    # the two plans' losses differ by rounding; the JSON says 0, not -0.0
    data = run_json("plan", "--loss", "1.947", "--users", "1e6", "--requests-per-user-per-day",
                    "10", "--days", "365", "--input-tokens", "300", "--output-tokens", "300",
                    "--unique-tokens", "5e11", "--demand-growth-per-year", "1",
                    "--discount-rate-per-year", "0.1")
    assert data["data_limit"]["binding"] is True
    assert str(data["data_limit"]["loss_given_up"]) == "0.0"


@pytest.mark.parametrize("speed", [None, SPEED])
def test_dated_limited_budget_round_trips_with_the_target_loss(speed):
    timeline = Timeline(**TRENDS, train_flops_per_second=speed)
    objective = FlopsObjective()
    at_loss = dated_compare(LAW, loss=1.947, demand=DEMAND, objective=objective,
                            timeline=timeline, unique_tokens=U)
    budget = at_loss.optimal.present.total_flops  # the present-value cost of that plan
    at_budget = dated_compare(LAW, budget=budget, demand=DEMAND, objective=objective,
                              timeline=timeline, unique_tokens=U)
    a, b = at_loss.comparison.optimal, at_budget.comparison.optimal
    assert np.allclose(b.loss, 1.947, rtol=1e-10)
    assert np.allclose(b.params, a.params, rtol=1e-9)
    assert np.allclose(b.train_tokens, a.train_tokens, rtol=1e-9)
