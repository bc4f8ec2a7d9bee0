"""Finite data in the shells: --unique-tokens on plan, model and tradeoff, the web API."""

import pytest
from typer.testing import CliRunner

from brute import one_line_error
from cli_helpers import run_json
from computeplan.cli import app

runner = CliRunner()
SARDANA = ("--loss", "1.947", "--inference-tokens", "2e12", "--law", "sardana2024")


def test_plan_with_unique_tokens():
    plain = run_json("plan", *SARDANA)
    data = run_json("plan", *SARDANA, "--unique-tokens", "1e12")
    limit = data["data_limit"]
    assert limit["binding"] is True
    assert limit["epochs"] == pytest.approx(2.6, abs=1e-3)
    assert limit["unlimited"]["params"] == plain["optimal"]["params"]
    assert data["optimal"]["params"] > plain["optimal"]["params"]
    assert data["optimal"]["loss"] == pytest.approx(1.947, rel=1e-12)
    assert limit["extra_total_flops"] > 0 and limit["summary"][0].startswith(
        "data limit: 1T unique tokens bind")
    assert any("--rd-star 15.39 and --rn-star 5.31, Muennighoff et al. 2023's fitted values "
               "(law sardana2024 sets no others)" in n for n in data["notes"])
    # a coefficient the law sets is the law's own; the other is the paper's
    own = run_json("plan", *SARDANA, "--unique-tokens", "1e12", "--rd-star", "10")["notes"]
    assert not any("--rd-star" in n for n in own if n.startswith("data limit"))
    # the table says it in words
    table = runner.invoke(app, ["plan", *SARDANA, "--unique-tokens", "1e12"]).output
    assert "epochs over unique data" in table and "more over the lifetime" in table


def test_plan_with_a_limit_that_does_not_bind_is_the_plain_plan():
    plain = run_json("plan", *SARDANA)
    data = run_json("plan", *SARDANA, "--unique-tokens", "1e16")
    assert data["optimal"] == plain["optimal"] and data["chinchilla"] == plain["chinchilla"]
    assert data["data_limit"]["binding"] is False
    none = run_json("plan", *SARDANA, "--unique-tokens", "inf")
    assert "data_limit" not in none and none["optimal"] == plain["optimal"]


def test_plan_budget_with_unique_tokens_reports_the_loss_given_up():
    data = run_json("plan", "--budget-flops", "3e24", "--inference-tokens", "2e12",
                    "--unique-tokens", "1e12")
    assert data["data_limit"]["loss_given_up"] > 0
    assert data["optimal"]["loss"] > data["data_limit"]["unlimited"]["loss"]


def test_plan_overrides_the_repetition_coefficients():
    slow = run_json("plan", *SARDANA, "--unique-tokens", "1e12", "--rd-star", "5")
    fast = run_json("plan", *SARDANA, "--unique-tokens", "1e12", "--rd-star", "50")
    assert slow["data_limit"]["rd_star"] == 5.0
    assert slow["data_limit"]["extra_total_flops"] > fast["data_limit"]["extra_total_flops"]


def test_plan_bad_data_limit_inputs():
    one_line_error("plan", "--loss", "1.8", *SARDANA[2:], "--unique-tokens", "1e12",
                   must=("--unique-tokens", "must be above 1.83963", "--loss 1.8"))
    one_line_error("plan", *SARDANA, "--unique-tokens", "0",
                   must=("--unique-tokens must be a number > 0",))
    one_line_error("plan", *SARDANA, "--unique-tokens", "nan", must=("--unique-tokens",))
    one_line_error("plan", *SARDANA, "--rd-star", "10", must=("--rd-star needs --unique-tokens",))
    one_line_error("plan", *SARDANA, "--unique-tokens", "1e12", "--rn-star", "-1",
                   must=("--rn-star must be > 0; got -1",))


def test_web_api_plan_with_unique_tokens():
    pytest.importorskip("fastapi", reason="the web extra is not installed")
    pytest.importorskip("httpx2", reason="starlette's test client needs httpx2")
    from fastapi.testclient import TestClient

    from computeplan.web import create_app

    with TestClient(create_app()) as client:
        ok = client.post("/api/plan", json={"loss": 1.947, "inference_tokens": 2e12,
                                            "unique_tokens": 1e12})
        bad = client.post("/api/plan", json={"loss": 1.8, "inference_tokens": 2e12,
                                             "unique_tokens": 1e12})
    assert ok.status_code == 200
    cli = run_json("plan", *SARDANA, "--unique-tokens", "1e12")
    assert ok.json()["optimal"] == cli["optimal"]
    assert ok.json()["data_limit"]["summary"] == cli["data_limit"]["summary"]
    assert bad.status_code == 422
    message = bad.json()["error"]
    assert "unique_tokens" in message and "--" not in message and "1.83963" in message


def test_sweep_takes_unique_tokens_as_an_axis(tmp_path):
    import csv
    import json

    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"axes": {"loss": [1.85, 1.947], "unique_tokens": [3e11, 1e12]},
                                "defaults": {"inference_tokens": 2e12}}))
    out = tmp_path / "rows.csv"
    result = runner.invoke(app, ["sweep", str(spec), "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 4
    by = {(float(r["loss"]), float(r["unique_tokens"])): r for r in rows}
    assert "must be above" in by[1.85, 3e11]["error"]     # only that row fails
    one = run_json("plan", *SARDANA, "--unique-tokens", "1e12")
    row = by[1.947, 1e12]
    assert float(row["data_limit.epochs"]) == pytest.approx(one["data_limit"]["epochs"],
                                                           rel=1e-12)
    assert float(row["optimal.params"]) == pytest.approx(one["optimal"]["params"], rel=1e-12)


def test_model_with_unique_tokens_reproduces_the_published_loss():
    data = run_json("model", "--params", "6.34e9", "--tokens", "242e9", "--unique-tokens",
                    "25e9", "--law", "muennighoff2023")
    assert data["loss"] == pytest.approx(2.2256440889984477, rel=1e-12)
    assert data["data_limit"]["epochs"] == pytest.approx(242 / 25, rel=1e-12)
    assert data["data_limit"]["unlimited_loss"] < data["loss"]
    back = run_json("model", "--loss", str(data["loss"]), "--params", "6.34e9",
                    "--unique-tokens", "25e9", "--law", "muennighoff2023")
    assert back["train_tokens"] == pytest.approx(242e9, rel=1e-10)
    best = run_json("model", "--chinchilla", "--compute", "9.2e21", "--unique-tokens", "25e9",
                    "--law", "muennighoff2023")
    assert best["loss"] < 2.2256440889984477
    one_line_error("model", "--loss", "2.1", "--params", "6.34e9", "--unique-tokens", "25e9",
                   "--law", "muennighoff2023", must=("must be above 2.18",))


def test_tradeoff_scaling_policy_with_unique_tokens():
    free = run_json("tradeoff", "scaling-policy", "--level", "1.95")
    lim = run_json("tradeoff", "scaling-policy", "--level", "1.95", "--unique-tokens", "2e12")
    assert lim["technique"]["parameters"]["unique_tokens"] == 2e12
    assert lim != free
    one_line_error("tradeoff", "scaling-policy", "--unique-tokens", "2e12", "--level", "1.8",
                   must=("level",))


def test_repetition_coefficients_a_law_file_sets_are_named_as_its_own(tmp_path):
    import dataclasses

    from computeplan import get_law

    path = tmp_path / "mine.json"
    dataclasses.replace(get_law("sardana2024"), name="mine", rd_star=12.0).save(path)
    notes = run_json("plan", "--loss", "1.947", "--inference-tokens", "2e12", "--law",
                     str(path), "--unique-tokens", "1e12")["notes"]
    assert any("--rd-star 12 (set in law mine" in n for n in notes)
    assert any("--rn-star 5.31, Muennighoff et al. 2023's fitted values (law mine sets no "
               "others)" in n for n in notes)


def test_model_with_unlimited_unique_tokens_is_the_plain_model():
    """--unique-tokens inf means no data limit in model as in plan (it was an error: 'result
    data_limit.unique_tokens is not finite (inf)'), with or without --rd-star."""
    base = ["model", "--params", "1e9", "--tokens", "1e9"]
    plain = run_json(*base)
    assert run_json(*base, "--unique-tokens", "inf") == plain
    assert run_json(*base, "--unique-tokens", "inf", "--rd-star", "3") == plain
    assert "data_limit" not in plain
