"""Review findings: tradeoffs, report, web. Each test failed before its fix."""

import json
import warnings

import numpy as np
import pytest
from typer.testing import CliRunner

from cli_helpers import run_json
from computeplan.cli import app
from computeplan.errors import InputError

runner = CliRunner()


def cli_error(*args) -> str:
    """The one-line stderr of a CLI call that must fail with exit status 2."""
    result = runner.invoke(app, list(args))
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.output
    return result.stderr


# ------------------------------------------------------------------------- 2. report
def test_report_loss_rounding_to_E_is_an_input_error():
    msg = cli_error("report", "--budget-flops", "1e300", "--inference-tokens", "2e12", "--json")
    assert "budget-flops" in msg and "1e+300" in msg and "E = 1.69" in msg


def test_report_zero_tokens_per_request_sweeps_nonzero_demand():
    out = run_json("report", "--requests", "1e10", "--input-tokens", "0", "--output-tokens", "0")
    tokens = np.array(out["figures"]["demand_sweep"]["inference_tokens"])
    assert np.all(tokens > 0) and tokens[-1] > tokens[0]


# --------------------------------------------------------------------- 3. --set law
@pytest.mark.parametrize("technique", ["mcts", "scaling-policy"])
def test_set_law_is_rejected(technique):
    msg = cli_error("tradeoff", technique, "--set", "law=3")
    assert "--set law" in msg and "--law" in msg


# ------------------------------------------------------- 4. single-point frontiers
@pytest.mark.parametrize("args", [
    ("mcts", "--set", "smoothing=1e300"),
    ("mcts", "--set", "train_slope=1e-300"),
    ("pass-at-k", "--set", "d0=1e300"),
])
def test_single_point_frontier_is_an_input_error(args):
    msg = cli_error("tradeoff", *args)
    assert "only one grid point: no tradeoff" in msg


# ----------------------------------------------------------- 5. one-point evaluation
def test_point_evaluation_not_finite_is_an_input_error():
    msg = cli_error("tradeoff", "pruning", "--train-compute", "1e300",
                    "--inference-compute", "1e-300")
    assert "train_compute = 1e+300" in msg and "inference_compute = 1e-300" in msg


@pytest.mark.parametrize("technique", ["pruning", "scaling-policy"])
@pytest.mark.parametrize("train, inference", [("6", "1e10"), ("1e24", "2"), ("1e24", "1e-300")])
def test_a_point_below_one_parameter_on_one_token_is_an_input_error(technique, train,
                                                                    inference):
    """Under a scaling law C = 6 N D and 2 N FLOPs per token: no model below 6 and 2 FLOPs (the
    law's loss there, finite since the pruning score is computed in logs, describes none)."""
    msg = cli_error("tradeoff", technique, "--train-compute", train, "--inference-compute",
                    inference)
    assert msg.startswith("error: no model at train_compute = ")
    assert "--train-compute must exceed 6 and --inference-compute 2 FLOPs" in msg


# --------------------------------------------------------------------- 6. queries
def test_queries_overflowing_total_compute_is_an_input_error():
    msg = cli_error("tradeoff", "scaling-policy", "--queries", "1e308", "--json")
    assert "queries must" in msg and "1e+308" in msg


# ------------------------------------------------------------------ 7. grid ranges
@pytest.mark.parametrize("args, name", [
    (("scaling-policy", "--train-range", "-400", "400"), "--train-range"),
    (("scaling-policy", "--inference-range", "300", "310"), "--inference-range"),
    (("mcts", "--set", "train_x1=1e300"), "--train-range"),
    (("mcts", "--set", "flops_per_node=1e306"), "--inference-range"),
])
def test_grid_range_beyond_float_range(args, name):
    """The grid range the technique's default or --set puts beyond floating point, named as
    the CLI spells it."""
    msg = cli_error("tradeoff", *args)
    assert msg.startswith(f"error: {name} must be") and "-300 <= low < high <= 300" in msg


# -------------------------------------------------------------------- 9. allocate
def test_allocate_huge_oom_counts_split_evenly():
    out = run_json("allocate", "--train-oom", "1e308", "--inference-oom", "1e308")
    assert out["train_fraction"] == 0.5 and out["inference_fraction"] == 0.5


# ---------------------------------------------------------- 13. argument names
@pytest.mark.parametrize("args, expected", [
    (("tradeoff", "scaling-policy", "--level", "1e300"), "level (loss) must be in (1.69, "),
    (("overhead", "--size-fraction", "0.5", "--critical-overhead", "0"),
     "--critical-overhead must be > 0"),
    (("tradeoff", "scaling-policy", "--set", "reference_train_compute=1e308"),
     "reference_train_compute"),
])
def test_messages_name_the_argument(args, expected):
    assert expected in cli_error(*args)


def test_pass_at_k_does_not_check_x1():
    from computeplan.tradeoffs.techniques import RepeatedSampling

    RepeatedSampling(x0=5.0)  # x1 = 1.42 < x0 is irrelevant to pass@k
    with pytest.raises(InputError, match="x1"):
        RepeatedSampling(limited_trials=True, x0=5.0)


def test_pass_at_k_grid_starts_strictly_above_zero_slope():
    from computeplan.tradeoffs.techniques import RepeatedSampling

    tech = RepeatedSampling(a=1e300)
    (t_lo, _), _ = tech.grid_range(0.5)
    assert 10.0 ** t_lo > tech.min_train_compute
    msg = cli_error("tradeoff", "pass-at-k", "--set", "a=1e300")
    assert "slope" not in msg


# ------------------------------------------------------------------------------- web
def test_web_report_loss_at_E_is_422(client):
    body = {"budget_flops": 1e300, "inference_tokens": 2e12}
    r = client.post("/api/report", json=body)
    assert r.status_code == 422 and "budget_flops" in r.json()["error"]
    r = client.get("/report.html", params=body)
    assert r.status_code == 422 and "budget_flops" in r.json()["error"]


def test_web_params_law_is_422(client):
    r = client.post("/api/tradeoff", json={"technique": "mcts", "params": {"law": 3}})
    assert r.status_code == 422 and "params law is not a number" in r.json()["error"]


@pytest.mark.parametrize("body, field", [
    ({"technique": "mcts", "grid_points": 3000}, "grid_points"),
    ({"technique": "mcts", "queries": [1.0] * 1001}, "queries"),
])
def test_web_tradeoff_limits(client, body, field):
    r = client.post("/api/tradeoff", json=body)
    assert r.status_code == 422 and r.json()["error"].startswith(field), r.json()


@pytest.mark.parametrize("body, field", [
    ({"technique": "mcts", "grid_points": True}, "grid_points"),
    ({"technique": "mcts", "level": True}, "level"),
    ({"technique": "mcts", "queries": [1.0, False]}, "queries.1"),
])
def test_web_booleans_are_not_numbers(client, body, field):
    r = client.post("/api/tradeoff", json=body)
    assert r.status_code == 422, r.json()
    assert r.json()["error"].startswith(f"{field}: Input should be a valid"), r.json()


def test_web_strict_numbers_still_take_integers(client):
    r = client.post("/api/plan", json={"inference_tokens": 2000000000000, "loss": 2})
    assert r.status_code == 200, r.json()
    r = client.post("/api/plan", json={"inference_tokens": False})
    assert r.status_code == 422 and r.json()["error"].startswith("inference_tokens")


def test_web_user_errors_are_the_shared_tuple():
    from computeplan.errors import USER_ERRORS
    from computeplan.web import create_app

    app = create_app()
    assert all(t in app.exception_handlers for t in USER_ERRORS)


def test_web_slow_endpoints_share_a_semaphore():
    import asyncio
    import threading

    from computeplan.web import routes
    from computeplan.web.slots import SlowWork

    assert routes.MAX_CONCURRENT_SLOW == 2
    slow = SlowWork(1, None)
    seen, release = [], threading.Event()

    async def main():
        first = asyncio.ensure_future(slow.run(None, release.wait, 10))  # takes the only slot
        await asyncio.sleep(0.05)
        task = asyncio.ensure_future(slow.run(None, seen.append, 1))  # waits for it
        await asyncio.sleep(0.05)
        assert not seen and slow.running == 1
        release.set()
        await first
        await task
        assert seen == [1]

    asyncio.run(main())


def test_web_technique_json_has_inference_unit(client):
    r = client.post("/api/tradeoff", json={"technique": "mcts"})
    assert r.json()["technique"]["inference_unit"].startswith("FLOPs per move")


def test_trusted_hosts():
    pytest.importorskip("fastapi")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    from computeplan.web import create_app

    with TestClient(create_app(allowed_host=("127.0.0.1", "localhost", "testserver"))) as c:
        assert c.get("/api/meta").status_code == 200
        assert c.get("/api/meta", headers={"host": "evil.example"}).status_code == 400


def test_page_sends_out_of_range_numbers_as_text():
    import re
    import shutil
    import subprocess
    from pathlib import Path

    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    import computeplan.web

    js = (Path(computeplan.web.__file__).parent / "static" / "app.js").read_text()
    decl = re.search(r"const number = .*?;\n", js, re.S).group(0)
    out = subprocess.run([node, "-e", decl + "console.log(JSON.stringify([number('1e400'), "
                          "number('2e12')]))"], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == ["1e400", 2e12]


# ---------------------------------------------------------------- 8. curve-fit CSV
def test_fit_binary_csv_is_an_input_error(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_bytes(bytes(range(256)) * 4)
    assert "not a readable text CSV" in cli_error("tradeoff", "mcts", "--fit", str(path))


@pytest.mark.parametrize("rows, name", [
    ([f"1e20,{k},{k / 20}" for k in range(1, 11)], "train_compute"),
    ([f"{10 ** (20 + k / 2):g},4,{k / 20}" for k in range(1, 11)], "inference"),
])
def test_fit_degenerate_data_is_an_input_error(tmp_path, rows, name):
    path = tmp_path / "runs.csv"
    path.write_text("\n".join(["tc,k,score", *rows]) + "\n")
    msg = cli_error("tradeoff", "pass-at-k", "--fit", str(path))
    assert msg.startswith(f"error: {name} must take at least two different values")


# ---------------------------------------------------------------- 10. --combine
def test_combine_keeps_law_coefficients():
    out = run_json("tradeoff", "scaling-policy", "--E", "1.5", "--combine", "pruning")
    first, second = out["combination"]["levels"]
    assert second == pytest.approx(first)  # both defaults from the E = 1.5 law


def test_combined_span_flagged_when_parts_clipped():
    from computeplan.tradeoffs import combine, frontier
    from computeplan.tradeoffs.techniques import get_technique

    clipped = frontier(get_technique("scaling-policy"), train_range=(23.5, 24.6))
    assert clipped.span.clipped_by_grid
    both = combine(clipped, frontier(get_technique("pass-at-k")))
    assert both.span.clipped_by_grid
    assert any("lower bound" in n for n in both.notes)


def test_points_checked_before_the_fit(tmp_path):
    msg = cli_error("tradeoff", "mcts", "--fit", str(tmp_path / "missing.csv"), "--points", "1")
    assert "points must be" in msg


# ------------------------------------------------------------ 14. documented numbers
def test_documented_spans():
    from computeplan.tradeoffs import frontier
    from computeplan.tradeoffs.techniques import get_technique

    span = frontier(get_technique("pruning", fraction_per_round=0.2)).span
    assert (span.train_oom, span.inference_oom) == (pytest.approx(0.655, abs=0.01),
                                                    pytest.approx(0.903, abs=0.01))
    mcts = get_technique("mcts")
    assert frontier(mcts, 1100).span.train_oom == pytest.approx(2.5, abs=0.05)
    assert frontier(mcts, 1000).span.clipped_by_grid
