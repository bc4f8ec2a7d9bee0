"""--uncertainty, --level, --confidence and the demand/price ranges in the shells: CLI (table
and JSON), Python, web API and the HTML report; bad input."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from cli_helpers import run_json
from computeplan.cli import app
from computeplan.commands.plan import plan
from computeplan.errors import InputError
from computeplan.render import fmt, jsonable

EXAMPLE = ["plan", "--law", "besiroglu2024", "--reference-params", "1.3e10",
           "--inference-tokens", "1e13"]


def _run(*args):
    return CliRunner().invoke(app, list(args))


def test_cli_json_has_the_issues_fields_and_matches_python():
    out = run_json(*EXAMPLE, "--uncertainty", "--level", "0.9", "--confidence", "0.8")
    u = out["uncertainty"]
    assert u["replicates"] == 1000 and u["unreachable"] == 0
    assert u["level"] == 0.9 and u["confidence"] == 0.8
    for key in ("params", "train_tokens", "tokens_per_param", "total_flops"):
        assert u["optimal"][key]["lo"] <= u["optimal"][key]["median"] <= u["optimal"][key]["hi"]
    assert set(u["savings"]) == {"lo", "median", "hi", "probability_positive"}
    assert 0 <= u["point_plan"]["target_met_probability"] <= 1
    r = u["robust"]
    assert r["target_met_probability"] >= 0.8 and r["premium"] >= 0
    py = jsonable(plan(law="besiroglu2024", reference_params=1.3e10, inference_tokens=1e13,
                       uncertainty=True, level=0.9, confidence=0.8).to_dict())
    assert py["uncertainty"] == u


def test_priced_plans_give_cost_ranges():
    out = run_json("plan", "--law", "besiroglu2024", "--reference-params", "1.3e10",
                   "--requests", "1e10", "--input-tokens", "1000", "--output-tokens", "250",
                   "--objective", "usd", "--uncertainty")
    u = out["uncertainty"]
    assert "total_cost_usd" in u["optimal"] and "total_cost_usd" in u["robust"]


def test_table_shows_ranges_the_chance_of_missing_and_the_robust_plan():
    result = _run(*EXAMPLE, "--uncertainty")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "95% range" in text and "Robust" in text and "(90%)" in text
    assert "misses the target loss under" in text
    assert "saving over the Chinchilla-optimal model is positive under 100.00%" in text


def test_without_uncertainty_the_plan_has_no_uncertainty_block():
    assert "uncertainty" not in run_json(*EXAMPLE)


@pytest.mark.parametrize("args, words", [
    (["--uncertainty", "--law", "sardana2024"], "--bootstrap K --out law.json"),
    (["--uncertainty", "--level", "1.5"], "level must be in (0, 1)"),
    (["--uncertainty", "--confidence", "0"], "confidence must be in (0, 1)"),
    (["--level", "0.9"], "--level needs --uncertainty"),
    (["--inference-tokens-range", "3e12", "1e12"], "--inference-tokens-range"),
])
def test_bad_input_is_one_line_and_exit_2(args, words):
    base = ["plan", "--law", "besiroglu2024", "--reference-params", "1.3e10"]
    if "--law" in args:
        base = ["plan", "--reference-params", "1.3e10"]
    result = _run(*base, *args)
    assert result.exit_code == 2, result.output
    assert words in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_malformed_replicates_in_a_law_file(tmp_path):
    law = json.loads(json.dumps(jsonable(
        __import__("computeplan").get_law("besiroglu2024").to_dict())))
    law["replicates"] = [[1.8, 400, 410, 0.3]]
    path = tmp_path / "law.json"
    path.write_text(json.dumps(law))
    result = _run("plan", "--law", str(path), "--uncertainty")
    assert result.exit_code == 2 and "replicates" in result.output


def test_demand_range_regret_table_and_the_middle_plan():
    out = run_json("plan", "--reference-params", "1.3e10", "--inference-tokens-range", "1e12",
                   "3e12")
    r = out["ranges"]
    assert r["ranges"] == {"inference_tokens": [1e12, 3e12]}
    assert len(r["regret"]) == 3
    mid = [row for row in r["regret"] if row["at"]["inference_tokens"] == "mid"][0]
    assert abs(mid["relative_regret"]) <= 1e-12
    assert all(row["relative_regret"] >= -1e-12 for row in r["regret"])
    point = run_json("plan", "--reference-params", "1.3e10", "--inference-tokens", "2e12")
    assert np.isclose(out["optimal"]["params"], point["optimal"]["params"], rtol=1e-12)
    assert np.isclose(r["chosen"]["params"], point["optimal"]["params"], rtol=1e-12)


def test_price_ranges_need_the_dollar_objective_and_give_nine_rows():
    out = run_json("plan", "--reference-params", "1.3e10", "--requests", "1e9",
                   "--input-tokens", "1000", "--output-tokens", "250",
                   "--train-usd-per-gpu-hour-range", "2", "4",
                   "--inference-usd-per-gpu-hour-range", "1", "3")
    assert len(out["ranges"]["regret"]) == 9
    with pytest.raises(InputError, match="give one of inference_tokens and "
                                         "inference_tokens_range"):
        plan(inference_tokens=1e12, inference_tokens_range=(1e11, 1e12))


def test_web_api_plans_under_uncertainty():
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from computeplan.web.app import create_app

    client = TestClient(create_app())
    body = {"law": "besiroglu2024", "reference_params": 1.3e10, "inference_tokens": 1e13,
            "uncertainty": True, "confidence": 0.8}
    res = client.post("/api/plan", json=body)
    assert res.status_code == 200, res.text
    assert res.json()["uncertainty"]["robust"]["target_met_probability"] >= 0.8
    bad = client.post("/api/plan", json=body | {"level": 2})
    assert bad.status_code == 422 and "level" in bad.text


def test_report_html_has_the_uncertainty_section():
    pytest.importorskip("matplotlib")
    from computeplan.commands.report import report
    from computeplan.web.report import render_html

    rep = report(law="besiroglu2024", reference_params=1.3e10, inference_tokens=1e13,
                 uncertainty=True)
    html = render_html(rep)
    assert "Under the law&#x27;s uncertainty" in html or "Under the law's uncertainty" in html
    assert "misses the target loss" in html


BUDGET = ["plan", "--law", "besiroglu2024", "--budget-flops", "1e24", "--inference-tokens",
          "1e13", "--uncertainty", "--confidence", "0.8"]


def test_robust_plan_within_a_budget_in_the_cli_json_table_and_python():
    out = run_json(*BUDGET)
    u = out["uncertainty"]
    r, pp = u["robust"], u["point_plan"]
    assert r["target_met_probability"] >= 0.8 and "premium" not in r
    assert r["loss_at_confidence"] <= pp["loss_at_confidence"]
    assert r["total_flops"] <= 1e24 * (1 + 1e-9)
    py = jsonable(plan(law="besiroglu2024", budget_flops=1e24, inference_tokens=1e13,
                       uncertainty=True, confidence=0.8).to_dict())
    assert py["uncertainty"] == u
    result = _run(*BUDGET)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "loss under 80%" in text and "robust plan within the budget:" in text
    assert ("the point plan misses the loss the central law predicts for it "
            f"({fmt(out['optimal']['loss'], 5)}) under") in text
    assert "no robust plan" not in text


def test_web_api_and_report_give_the_robust_plan_within_a_budget():
    pytest.importorskip("fastapi")
    pytest.importorskip("matplotlib")
    from fastapi.testclient import TestClient

    from computeplan.commands.report import report
    from computeplan.web.app import create_app
    from computeplan.web.report import render_html

    body = {"law": "besiroglu2024", "budget_flops": 1e24, "inference_tokens": 1e13,
            "uncertainty": True, "confidence": 0.8}
    res = TestClient(create_app()).post("/api/plan", json=body)
    assert res.status_code == 200, res.text
    r = res.json()["uncertainty"]["robust"]
    assert r["loss_at_confidence"] <= res.json()["uncertainty"]["point_plan"][
        "loss_at_confidence"]
    html = render_html(report(**body))
    assert "robust plan within the budget:" in html and "loss under 80%" in html


DATED = [*EXAMPLE, "--uncertainty", "--price-performance-doubling-years", "2.46",
         "--discount-rate-per-year", "0.1", "--horizon-days", "730"]


def test_uncertainty_with_a_timeline_in_present_value_in_cli_python_and_table():
    out = run_json(*DATED)
    u = out["uncertainty"]
    assert u["present_value"] is True and "timeline" in out
    r = u["robust"]
    pv = out["timeline"]["optimal"]["present_value_total_flops"]
    assert r["premium"] >= 0 and r["total_flops"] >= pv * (1 - 1e-12)  # both present values
    py = jsonable(plan(law="besiroglu2024", reference_params=1.3e10, inference_tokens=1e13,
                       uncertainty=True, price_performance_doubling_years=2.46,
                       discount_rate_per_year=0.1, horizon_days=730).to_dict())
    assert py["uncertainty"] == u
    result = _run(*DATED)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "PV lifetime FLOPs" in text and "PV: present value" in text
    assert "more present-value lifetime cost than the point plan" in text
    assert "no --train-gpus given" in text


def test_uncertainty_with_a_unique_token_limit_in_cli_python_web_and_report():
    pytest.importorskip("fastapi")
    pytest.importorskip("matplotlib")
    from fastapi.testclient import TestClient

    from computeplan.commands.report import report
    from computeplan.web.app import create_app
    from computeplan.web.report import render_html

    out = run_json(*EXAMPLE, "--uncertainty", "--unique-tokens", "3e11")
    u, limit = out["uncertainty"], out["data_limit"]
    assert limit["binding"] and u["robust"]["target_met_probability"] >= 0.9
    assert u["optimal"]["train_tokens"]["lo"] > 3e11  # every replicate repeats data
    body = {"law": "besiroglu2024", "reference_params": 1.3e10, "inference_tokens": 1e13,
            "uncertainty": True, "unique_tokens": 3e11}
    assert jsonable(plan(**body).to_dict())["uncertainty"] == u
    res = TestClient(create_app()).post("/api/plan", json=body)
    assert res.status_code == 200, res.text
    assert res.json()["uncertainty"]["robust"] == u["robust"]
    rep = report(**body)
    assert "savings" in rep.bands and "isoloss" in rep.bands  # the data-limited curves' band
    assert "robust plan:" in render_html(rep)
    result = _run(*EXAMPLE, "--uncertainty", "--unique-tokens", "3e11", "--rd-star", "10")
    assert result.exit_code == 0, result.output  # overriding R_D* keeps the replicates
    assert "Under the law's uncertainty (1000 coefficient replicates)" in result.output


@pytest.mark.parametrize("throughput", [None, 1000])
def test_report_and_web_api_with_uncertainty_and_a_timeline(throughput):
    pytest.importorskip("fastapi")
    pytest.importorskip("matplotlib")
    from fastapi.testclient import TestClient

    from computeplan.commands.report import report
    from computeplan.web.app import create_app
    from computeplan.web.report import render_html

    body = {"law": "besiroglu2024", "reference_params": 1.3e10, "inference_tokens": 1e13,
            "uncertainty": True, "price_performance_doubling_years": 2.46,
            "discount_rate_per_year": 0.1} | ({"train_gpus": throughput} if throughput else {})
    res = TestClient(create_app()).post("/api/plan", json=body)
    assert res.status_code == 200, res.text
    assert res.json()["uncertainty"]["present_value"] is True
    rep = report(**body)
    # the savings band is of present values: at F D_inf, or none where each plan's own
    # training time sets its factor
    assert ("savings" in rep.bands) == (throughput is None)
    html = render_html(rep)
    assert "PV lifetime FLOPs" in html and "present-value lifetime cost than the point" in html


def test_a_robust_plan_cheaper_than_the_point_plan_says_less():
    """A robust plan at 50% may cost less than the point plan (the central law is no median):
    its sentence says less, not a negative more."""
    args = ["plan", "--law", "besiroglu2024", "--loss", "1.83", "--inference-tokens", "1e13",
            "--uncertainty", "--confidence", "0.5"]
    premium = run_json(*args)["uncertainty"]["robust"]["premium"]
    assert premium < 0
    text = " ".join(_run(*args).output.split())
    assert "less lifetime cost than the point plan" in text and "-" not in text.split(
        "robust plan:")[1].split("\n")[0]
