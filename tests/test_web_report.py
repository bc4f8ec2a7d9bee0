"""`computeplan report` (HTML and PNG) and `computeplan web`'s start-up checks."""

import base64
import json
import re
import sys

import pytest
from typer.testing import CliRunner

from computeplan.cli import app
from computeplan.commands.report import ISOLOSS_LEVELS, POINTS, SWEEP_DECADES, report

pytest.importorskip("matplotlib", reason="reports need matplotlib")
runner = CliRunner()
PNG = b"\x89PNG\r\n\x1a\n"


def test_html_report_is_self_contained(tmp_path):
    out = tmp_path / "report.html"
    result = runner.invoke(app, ["report", "--loss", "1.947", "--inference-tokens", "2e12",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text()
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(images) == 3 and all(base64.b64decode(i).startswith(PNG) for i in images)
    assert "http://" not in html and "https://" not in html  # nothing fetched when opened
    for text in ("70.96%", "146.77%", "95.22%", "sardana2024", "inference_tokens"):
        assert text in html


def test_html_report_shows_the_key_assumptions_before_the_results(tmp_path):
    """The assumed default that moves the dollar saving most (the fixed decode MFU) heads the
    results, as in the CLI's table; with a decode MFU given, none is shown."""
    split = ["--loss", "1.947", "--requests", "1e10", "--input-tokens", "1000",
             "--output-tokens", "250", "--objective", "usd"]
    out = tmp_path / "report.html"
    for extra, shown in (([], True), (["--decode-mfu", "0.2"], False)):
        result = runner.invoke(app, ["report", *split, *extra, "--out", str(out)])
        assert result.exit_code == 0, result.output
        html = out.read_text()
        assert ('<ul class="warn key"><li>assumed decode MFU 0.01' in html) is shown
        if shown:
            assert html.index("assumed decode MFU") < html.index("<table")


def test_png_format_writes_the_figures(tmp_path):
    result = runner.invoke(app, ["report", "--format", "png", "--out", str(tmp_path / "f.png")])
    assert result.exit_code == 0, result.output
    for name in ("savings", "isoloss", "cost"):
        assert (tmp_path / f"f-{name}.png").read_bytes().startswith(PNG)


def test_report_json_and_bad_output_path(tmp_path):
    result = runner.invoke(app, ["report", "--budget-usd", "1e7", "--requests", "1e9",
                                 "--input-tokens", "500", "--output-tokens", "500", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["plan"]["budget_usd"] == 1e7
    result = runner.invoke(app, ["report", "--out", str(tmp_path / "missing" / "r.html")])
    assert result.exit_code == 2
    assert result.output.startswith("error: --out: cannot write") and "Traceback" not in \
        result.output


def test_figure_data_properties():
    """The sweep is centred on the given demand and reproduces the plan there; every iso-loss
    curve has the loss it is labelled with; the optimum is the minimum of the cost curve."""
    rep = report(loss=1.947, inference_tokens=2e12)
    sweep = rep.demand_sweep.data
    mid = POINTS // 2
    assert sweep["inference_tokens"][mid] == pytest.approx(2e12, rel=1e-12)
    assert sweep["inference_tokens"][-1] / sweep["inference_tokens"][0] == pytest.approx(
        10 ** (2 * SWEEP_DECADES))
    assert sweep["ratio_total_flops"][mid] == pytest.approx(
        float(rep.plan.comparison.ratios["total_flops"]), rel=1e-9)
    assert (sweep["ratio_total_flops"] <= 1 + 1e-12).all()
    law = rep.plan.comparison.law
    assert len(rep.isoloss) == len(ISOLOSS_LEVELS)
    for curve in rep.isoloss:
        loss = law.loss(curve.data["params"], curve.data["train_tokens"])
        assert loss == pytest.approx(float(curve.data["loss"]), rel=1e-9)
    cost = rep.cost_curve.data["total_flops"]
    assert cost.min() >= float(rep.plan.comparison.optimal.total_flops) * (1 - 1e-9)


def test_zero_demand_sweeps_around_the_training_tokens():
    rep = report(loss=2.0, inference_tokens=0)
    tokens = rep.demand_sweep.data["inference_tokens"]
    d_c = float(rep.plan.comparison.chinchilla.train_tokens)
    assert tokens[POINTS // 2] == pytest.approx(d_c, rel=1e-12)


def test_web_without_the_extra_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # import uvicorn -> ImportError
    result = runner.invoke(app, ["web"])
    assert result.exit_code == 2
    assert result.output.strip() == ("error: the web server needs the web extra: "
                                     "pip install 'computeplan[web]'")
