"""CLI: tradeoff / allocate / overhead JSON contracts, plots, one-line errors with exit 2."""

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from cli_helpers import run_json
from computeplan.cli import app

runner = CliRunner()


def test_allocate_erdil_example():
    out = run_json("allocate", "--train-oom", "1", "--inference-oom", "2", "--total", "300")
    assert out["train_fraction"] == pytest.approx(2 / 3)
    assert out["inference_fraction"] == pytest.approx(1 / 3)
    assert out["train"] == pytest.approx(200) and out["inference"] == pytest.approx(100)
    totals = [p["total"] for p in out["perturbation"]]
    assert totals[0] == pytest.approx(283.4, abs=0.1) and totals[1] == pytest.approx(314.9,
                                                                                     abs=0.05)


def test_allocate_without_total_has_fractions_only():
    out = run_json("allocate", "--train-oom", "1", "--inference-oom", "1")
    assert out["train_fraction"] == 0.5 and "train" not in out and "inference" not in out


def test_overhead_de_vries():
    out = run_json("overhead", "--size-fraction", "0.5", "--law", "sardana2024")
    assert out["compute_overhead"] == pytest.approx(0.2078, abs=1e-4)
    assert out["token_multiplier"] == pytest.approx(2.416, abs=1e-3)
    assert 0.29 < out["critical_size_fraction"] < 0.32
    many = run_json("overhead", "--size-fraction", "0.75", "--size-fraction", "0.25")
    assert [round(x, 3) for x in many["compute_overhead"]] == [0.028, 1.889]


def test_tradeoff_scaling_policy_json_and_allocation():
    out = run_json("tradeoff", "scaling-policy", "--queries", "1e13", "--grid-points", "600")
    span = out["span"]
    assert span["train_oom"] == pytest.approx(1.2, abs=0.05)
    assert span["inference_oom"] == pytest.approx(0.7, abs=0.05)
    assert "definition" in span and span["min_exchange_rate"] == pytest.approx(1 / 6)
    assert out["technique"]["technique"] == "scaling-policy"
    assert len(out["frontier"]["train_compute"]) == 41
    alloc = out["allocation"]
    assert alloc["train_fraction"] == pytest.approx(
        alloc["train_fraction_from_exchange_rate"], abs=0.02)


def test_tradeoff_combine_and_point(tmp_path):
    png = tmp_path / "f.png"
    out = run_json("tradeoff", "pass-at-k", "--combine", "scaling-policy", "--grid-points",
                   "300", "--train-compute", "1e22", "--inference-compute", "100",
                   "--plot", str(png))
    c = out["combination"]
    assert c["shared_mechanism"] is False
    assert c["span"]["train_oom"] == pytest.approx(c["sum_of_spans"]["train_oom"], rel=0.05)
    assert 0 < out["point"]["score"] < 1 and out["point"]["score_name"] == "solve rate"
    assert any("no level given" in n for n in out["notes"])
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"


def test_tradeoff_shared_mechanism_warns():
    out = run_json("tradeoff", "mcts", "--combine", "pass-at-k", "--grid-points", "200")
    assert out["combination"]["shared_mechanism"] is True
    assert any("share a mechanism" in n for n in out["notes"])


def test_tradeoff_table_renders():
    result = runner.invoke(app, ["tradeoff", "pruning", "--fraction-per-round", "0.2",
                                 "--grid-points", "300"])
    assert result.exit_code == 0, result.output
    assert "span, training" in result.stdout and "min_exchange_rate" in result.stdout
    out = run_json("tradeoff", "pruning", "--fraction-per-round", "0.2", "--grid-points", "300")
    assert out["span"]["train_oom"] == pytest.approx(0.65, abs=0.03)  # log10 4.5


def test_tradeoff_fit_csv(tmp_path):
    import numpy as np

    from computeplan.tradeoffs import RepeatedSampling

    tech = RepeatedSampling()
    t, u = np.meshgrid(np.linspace(21, 24, 8), np.linspace(0, 4, 10))
    y = tech.performance(10**t, 10**u)
    path = tmp_path / "runs.csv"
    path.write_text("train_flops,samples,pass_rate\n" + "\n".join(
        f"{10**a:.8e},{10**b:.8e},{c:.8f}" for a, b, c in zip(t.ravel(), u.ravel(), y.ravel(),
                                                              strict=True)))
    out = run_json("tradeoff", "pass-at-k", "--fit", str(path), "--grid-points", "300")
    assert out["fit"]["rmse"] < 1e-3
    assert out["span"]["train_oom"] == pytest.approx(3.0, abs=0.15)


@pytest.mark.parametrize("args, message", [
    (["tradeoff", "scaling-policy", "--level", "1.5"], "level (loss) must be in (1.69, 758.307)"),
    (["tradeoff", "pass-at-k", "--level", "1.2"], "level (solve rate) must be in (0, 1)"),
    (["tradeoff", "pruning", "--min-density", "1.5"], "--min-density must be in (0, 1]"),
    (["tradeoff", "pruning", "--min-density", "0"], "--min-density must be in (0, 1]"),
    (["tradeoff", "pass-at-k", "--train-compute", "1e22", "--inference-compute", "0.5"],
     "samples = inference_compute / flops_per_sample must be >= 1"),
    (["tradeoff", "scaling-policy", "--train-compute", "-1e22", "--inference-compute", "1e9"],
     "--train-compute must be > 0"),
    (["tradeoff", "mcts", "--law", "hoffmann2022"], "apply only to scaling-policy, pruning"),
    (["tradeoff", "mcts", "--set", "nodes=3"], "unknown mcts parameter(s) ['nodes']"),
    (["allocate", "--train-oom", "-1", "--inference-oom", "2"], "--train-oom must be > 0"),
    (["allocate", "--train-oom", "1", "--inference-oom", "2", "--total", "-300"],
     "total must be > 0"),
    (["overhead", "--size-fraction", "0.05"], "--size-fraction must be > 0.09736"),
    (["overhead", "--size-fraction", "-0.5"], "--size-fraction must be > 0"),
])
def test_bad_input_one_line_exit_2(args, message):
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert message in result.stderr


def test_real_process_no_traceback():
    proc = subprocess.run([sys.executable, "-m", "computeplan", "tradeoff", "pruning",
                           "--min-density", "2"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: pruning parameter --min-density must be in (0, 1]")
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("rate", ["1", "0.99"])
def test_an_empty_span_is_shown_not_an_error(rate):
    """--min-exchange-rate 1 (the top of its documented range (0, 1]) trims the span to one
    point: an empty span, whose exchange rate is undefined, shown as such (it exited 2, 'a shown
    value is not finite (nan)'); JSON has null there, as it had."""
    out = runner.invoke(app, ["tradeoff", "scaling-policy", "--min-exchange-rate", rate])
    assert out.exit_code == 0, out.output
    assert "none: the span is empty" in out.output
    data = run_json("tradeoff", "scaling-policy", "--min-exchange-rate", rate)
    assert data["span"]["exchange_rate"] is None and data["span"]["train_oom"] == 0
