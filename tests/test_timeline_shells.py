"""Dated plans through the shells: the timeline options of `plan`, `report`, the web API and the
page's report (computeplan.commands._timeline). The CLI, the API and the core agree; with every
trend off the plan is today's, bit for bit; bad input is one line and exit status 2 / HTTP 422."""

import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from cli_helpers import run_json
from computeplan import Demand, FlopsObjective, get_law
from computeplan.cli import app
from computeplan.timeline import DAYS_PER_YEAR, Timeline, dated_compare

LAW = get_law("sardana2024")
runner = CliRunner()
PNG = b"\x89PNG\r\n\x1a\n"
#: The README's example: 2e13 tokens over two years on 1,024 H100s, Epoch's all-GPU trend, 10%.
DATED = ["--loss", "1.947", "--inference-tokens", "2e13", "--horizon-days", "730",
         "--price-performance-doubling-years", "all-gpus", "--discount-rate-per-year", "0.1",
         "--train-gpus", "1024"]


def _fail(*args):
    result = runner.invoke(app, list(args))
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def test_plan_json_is_the_core_dated_plan():
    out = run_json("plan", *DATED)
    t = out["timeline"]
    assert t["inputs"]["price_performance_preset"] == "all-gpus"
    assert t["inputs"]["price_performance_ci95_years"] == [2.24, 2.72]
    speed = 1024 * 989e12 * 0.5  # H100 SXM bf16 dense peak (the catalog) x MFU 0.5
    assert t["inputs"]["train_flops_per_second"] == pytest.approx(speed, rel=1e-3)
    core = dated_compare(LAW, loss=1.947, demand=Demand.from_tokens(2e13),
                         objective=FlopsObjective(),
                         timeline=Timeline(horizon_days=730.0,
                                           price_performance_doubling_years="all-gpus",
                                           discount_rate_per_year=0.1,
                                           train_flops_per_second=t["inputs"][
                                               "train_flops_per_second"]))
    assert out["optimal"]["params"] == float(core.comparison.optimal.params)
    assert t["optimal"]["present_value_total_flops"] == float(core.optimal.present.total_flops)
    assert len(t["per_year"]) == 3  # 730 days of serving after ~11 days of training
    assert sum(y["present_value_inference_flops"] for y in t["per_year"]) == pytest.approx(
        t["optimal"]["present_value_inference_flops"], rel=1e-12)
    # the optimum minimises the present value: it beats the Chinchilla model there, by more
    # than nothing and by less than the undated saving (future inference weighs less)
    assert out["ratios"]["total_flops"] < t["ratios"]["present_value_total_flops"] < 1.0
    notes = " ".join(out["notes"])
    assert "training time on --train-gpus 1024 x h100-sxm bf16 at MFU 0.5" in notes
    # the trend is an extrapolation: the notes say so, with its confidence interval
    assert "all-gpus: 2.46 years (95% CI 2.24-2.72" in notes and "extrapolated" in notes


def test_every_trend_off_is_todays_plan_bit_for_bit():
    today = run_json("plan", "--loss", "1.947", "--requests", "1e10", "--input-tokens", "1000",
                     "--output-tokens", "250", "--train-gpu", "a100-80gb")
    dated = run_json("plan", "--loss", "1.947", "--requests", "1e10", "--input-tokens", "1000",
                     "--output-tokens", "250", "--train-gpu", "a100-80gb", "--horizon-days",
                     "900", "--demand-ramp-days", "100", "--demand-growth-per-year", "0.7",
                     "--demand-tail-days", "50", "--train-gpus", "512")
    for key in ("chinchilla", "optimal", "ratios", "assumptions", "demand"):
        assert dated[key] == today[key], key
    t = dated["timeline"]
    assert t["ratios"]["present_value_total_cost_usd"] == today["ratios"]["total_cost_usd"]
    assert t["optimal"]["inference_present_value_factor"] == 1.0
    assert t["inputs"]["shape"] == "ramp+exponential+tail"


@pytest.mark.parametrize("preset,years", [("all-gpus", 2.46), ("ml-gpus", 2.07),
                                          ("top-gpus", 2.95)])
def test_constant_demand_is_todays_plan_fed_the_effective_demand(preset, years):
    """D_eff = D_inf (1 - e^(-kH)) / (kH), k = ln 2 / T + ln(1 + r) (REFERENCES.md section 10)."""
    dated = run_json("plan", "--loss", "1.947", "--inference-tokens", "2e12", "--horizon-days",
                     "1000", "--price-performance-doubling-years", preset,
                     "--discount-rate-per-year", "0.05")
    k = math.log(2) / years + math.log1p(0.05)
    h = 1000 / DAYS_PER_YEAR
    d_eff = 2e12 * -math.expm1(-k * h) / (k * h)
    static = run_json("plan", "--loss", "1.947", "--inference-tokens", repr(d_eff))
    for key in ("params", "train_tokens"):
        assert dated["optimal"][key] == pytest.approx(static["optimal"][key], rel=1e-12)
    assert dated["timeline"]["optimal"]["present_value_total_flops"] == pytest.approx(
        static["optimal"]["total_flops"], rel=1e-12)
    assert dated["timeline"]["inputs"]["price_performance_doubling_years"] == years


def test_users_days_are_the_horizon():
    args = ["--loss", "2.0", "--users", "1e6", "--requests-per-user-per-day", "10", "--days",
            "500", "--input-tokens", "500", "--output-tokens", "200"]
    out = run_json("plan", *args, "--discount-rate-per-year", "0.1")
    assert out["timeline"]["inputs"]["horizon_days"] == 500.0
    assert any("the service life is --days 500" in n for n in out["notes"])
    line = _fail("plan", *args, "--horizon-days", "300")
    assert "--horizon-days conflicts with --users" in line


def test_defaults_are_stated():
    out = run_json("plan", "--price-performance-doubling-years", "3")
    notes = " ".join(out["notes"])
    assert "no --horizon-days given: a service life of 365 days" in notes
    assert "no --train-gpus given: serving starts at once" in notes
    assert out["timeline"]["inputs"]["discount_rate_per_year"] == 0.0


@pytest.mark.parametrize("args,words", [
    (["--horizon-days", "-5"], ["--horizon-days must be in (0, 36525]; got -5"]),
    (["--horizon-days", "0"], ["--horizon-days must be in (0, 36525]"]),
    (["--price-performance-doubling-years", "0"],
     ["--price-performance-doubling-years must be > 0"]),
    (["--price-performance-doubling-years", "-1"],
     ["--price-performance-doubling-years must be > 0"]),
    (["--price-performance-doubling-years", "fast"],
     ["--price-performance-doubling-years must be", "all-gpus, ml-gpus, top-gpus; got 'fast'"]),
    (["--discount-rate-per-year", "-1"], ["--discount-rate-per-year must be > -1"]),
    (["--discount-rate-per-year", "-2"], ["--discount-rate-per-year must be > -1"]),
    (["--demand-growth-per-year", "1e200", "--horizon-days", "3650"],
     ["--demand-growth-per-year over --horizon-days overflows double precision"]),
    (["--demand-ramp-days", "400"], ["--demand-ramp-days must be in [0, --horizon-days = 365]"]),
    (["--demand-tail-days", "-3"], ["--demand-tail-days must be in [0"]),
    (["--train-gpus", "1.5"], ["--train-gpus must be a whole number >= 1"]),
    (["--train-gpus", "0"], ["--train-gpus must be a whole number >= 1"]),
])
def test_bad_timeline_input_is_one_line_and_exit_2(args, words):
    line = _fail("plan", "--loss", "2.0", *args)
    for w in words:
        assert w in line, (w, line)


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_training_beyond_a_century_is_one_line_not_a_table_of_millions_of_rows(json_flag):
    """1e30 FLOPs on 10 GPUs train for millions of years: the per-year table would need a row
    for each (it once grew to gigabytes); an error names the option instead."""
    words = ["training takes 6.4", "e+06 years", "--train-gpus",
             "the timeline covers at most 100 years of training"]
    line = _fail("plan", "--budget-flops", "1e30", "--train-gpus", "10",
                 "--price-performance-doubling-years", "2", "--inference-tokens", "1e13",
                 *json_flag)
    for w in words:
        assert w in line, (w, line)


def test_plot_writes_the_spend_figure(tmp_path):
    pytest.importorskip("matplotlib", reason="plots need matplotlib")
    out = tmp_path / "spend.png"
    result = runner.invoke(app, ["plan", *DATED, "--plot", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(PNG)
    for text in ("Present value over the model's life", "Spend per year (optimal plan)"):
        assert text in result.stdout
    line = _fail("plan", "--loss", "2.0", "--plot", str(tmp_path / "x.png"))
    assert "--plot draws spend over time: give a timeline option" in line
    assert "--horizon-days" in line and not (tmp_path / "x.png").exists()


def test_report_has_the_present_value_section_and_figure(tmp_path):
    pytest.importorskip("matplotlib", reason="reports need matplotlib")
    page = tmp_path / "r.html"
    result = runner.invoke(app, ["report", *DATED, "--out", str(page)])
    assert result.exit_code == 0, result.output
    text = page.read_text()
    assert "Present value over time" in text and "Spend per year (optimal plan)" in text
    assert "minimises lifetime FLOPs in present value" in text
    result = runner.invoke(app, ["report", *DATED, "--format", "png", "--out",
                                 str(tmp_path / "p.png")])
    assert result.exit_code == 0, result.output
    for name in ("savings", "isoloss", "cost", "spend"):
        assert (tmp_path / f"p-{name}.png").read_bytes().startswith(PNG)
    data = run_json("report", *DATED)
    curve = data["figures"]["cost_curve"]
    pv = np.array(curve["present_value_total_flops"])
    # the optimum is the minimum of the present-value curve (for its serving start)
    marks = curve["present_value_marks"]
    assert marks["optimal"] <= pv.min() * (1 + 1e-12)
    assert marks["optimal"] == pytest.approx(
        data["plan"]["timeline"]["optimal"]["present_value_total_flops"], rel=1e-12)


def test_web_api_matches_the_cli():
    pytest.importorskip("fastapi", reason="the web extra is not installed")
    pytest.importorskip("httpx2", reason="starlette's test client needs httpx2")
    from fastapi.testclient import TestClient

    from computeplan.web import create_app

    body = {"loss": 1.947, "inference_tokens": 2e13, "horizon_days": 730,
            "price_performance_doubling_years": "all-gpus", "discount_rate_per_year": 0.1,
            "train_gpus": 1024}
    with TestClient(create_app()) as client:
        got = client.post("/api/plan", json=body).json()
        cli = run_json("plan", *DATED)
        assert {k: v for k, v in got.items() if k != "notes"} == {
            k: v for k, v in cli.items() if k != "notes"}
        # the same notes, each shell spelling the option its own way
        assert [n.replace("train_gpus", "--train-gpus") for n in got["notes"]] == cli["notes"]
        as_number = client.post("/api/plan", json=body | {
            "price_performance_doubling_years": 2.46}).json()
        assert as_number["optimal"] == got["optimal"]
        bad = client.post("/api/plan", json=body | {"discount_rate_per_year": -1})
        assert bad.status_code == 422
        assert bad.json()["error"].startswith("discount_rate_per_year must be > -1")
        bad = client.post("/api/plan", json=body | {"compounding": "monthly"})
        assert bad.status_code == 422
        rep = client.get("/report.html", params={k: str(v) for k, v in body.items()})
        assert rep.status_code == 200 and "Present value over time" in rep.text
    assert json.dumps(got)  # plain JSON
