"""`computeplan report` (HTML and PNG) and `computeplan web`'s start-up checks."""

import base64
import json
import re
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from computeplan.cli import app
from computeplan.commands.report import ISOLOSS_LEVELS, POINTS, SWEEP_DECADES, report
from form_laws import LAWS

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


def _check_figures(rep, loss_of):
    """Every iso-loss curve has its level's loss under ``loss_of`` (the law, or the data-limited
    law); the optimum lies on the target curve and is the cheapest point of the cost curve."""
    c = rep.plan.comparison
    target = float(c.optimal.loss)
    assert any(float(cv.data["loss"]) == pytest.approx(target, rel=1e-12) for cv in rep.isoloss)
    for curve in rep.isoloss:
        n, d = curve.data["params"], curve.data["train_tokens"]
        assert len(n) == POINTS and (np.diff(n) > 0).all() and (d > 0).all()
        assert loss_of(n, d) == pytest.approx(float(curve.data["loss"]), rel=1e-9)
    cost = rep.cost_curve.data
    key = "total_cost_usd" if rep.priced else "total_flops"
    assert loss_of(cost["params"], cost["train_tokens"]) == pytest.approx(target, rel=1e-9)
    best = float(getattr(c.optimal, key))
    assert cost[key].min() >= best * (1 - 1e-9)
    # the curve's grid brackets the optimum, and its neighbours cost at most a little more
    i = np.searchsorted(cost["params"], float(c.optimal.params))
    assert 0 < i < POINTS
    assert cost[key][i - 1:i + 1].min() <= best * 1.05


def test_report_with_the_kaplan_form_preset(tmp_path):
    """sardana2024-mpt (kaplan form): the figures are the kaplan law's, the HTML report names
    its form and formula, and the JSON carries the curves."""
    rep = report(law="sardana2024-mpt", loss=2.3, inference_tokens=2e12)
    law = rep.plan.comparison.law
    assert law.form == "kaplan"
    _check_figures(rep, law.loss)
    out = tmp_path / "r.html"
    result = runner.invoke(app, ["report", "--law", "sardana2024-mpt", "--loss", "2.3",
                                 "--inference-tokens", "2e12", "--out", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert len(re.findall(r'src="data:image/png;base64,', html)) == 3
    assert "kaplan form" in html and "L = E + (A N^(-alpha/beta) + B / D)^beta" in html
    result = runner.invoke(app, ["report", "--law", "sardana2024-mpt", "--budget-flops",
                                 "1e23", "--inference-tokens", "2e12", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)["figures"]
    assert len(figures["isoloss"]) == len(ISOLOSS_LEVELS) + 1  # and the Chinchilla model's


@pytest.mark.parametrize("form", ["farseer", "beta-of-n"])
@pytest.mark.parametrize("target", [{"loss": 2.4}, {"budget_flops": 1e23}])
def test_report_with_a_law_of_another_form(tmp_path, form, target):
    from computeplan.formlaw import make_law

    law = make_law(form, LAWS[form], name=f"test-{form}")
    path = tmp_path / "law.json"
    law.save(path)
    rep = report(law=str(path), inference_tokens=2e12, **target)
    assert rep.plan.comparison.law.form == form
    _check_figures(rep, law.loss)
    html_out = tmp_path / "r.html"
    args = [x for k, v in target.items() for x in ("--" + k.replace("_", "-"), str(v))]
    result = runner.invoke(app, ["report", "--law", str(path), *args, "--inference-tokens",
                                 "2e12", "--out", str(html_out)])
    assert result.exit_code == 0, result.output
    assert f"{form} form" in html_out.read_text()


def test_report_figures_are_the_data_limited_law_s():
    """With --unique-tokens the iso-loss curves and the cost curve are the data-limited law's
    (Muennighoff et al. 2023, eq. 5): the limited optimum lies on the target curve, at the
    minimum of the cost along it, and the law's own curve through the Chinchilla-optimal model
    is drawn beside them."""
    from computeplan.data_limits import limited_loss, lowest_reachable_loss

    u = 1e12
    rep = report(loss=1.947, inference_tokens=2e12, unique_tokens=u)
    c = rep.plan.comparison
    assert bool(c.data_limit.binding)
    law = c.law
    _check_figures(rep, lambda n, d: limited_loss(law, n, d, u))
    floor = float(lowest_reachable_loss(law, u))
    assert min(float(cv.data["loss"]) for cv in rep.isoloss) > floor
    free = rep.isoloss_unlimited
    assert free is not None
    assert law.loss(free.data["params"], free.data["train_tokens"]) == pytest.approx(
        float(c.chinchilla.loss), rel=1e-9)
    # the limited curve needs more tokens than the law's own at the same N, beyond U
    target = next(cv for cv in rep.isoloss if float(cv.data["loss"]) == float(c.optimal.loss))
    n = target.data["params"]
    d = target.data["train_tokens"]
    d_free = law.tokens_for_loss(float(c.optimal.loss), n)
    assert (d[d > u] > d_free[d > u]).all()
    assert rep.to_dict()["figures"]["isoloss_unlimited"]["label"] == free.label
    # the budget inverse's figures too
    rep = report(budget_flops=1e24, inference_tokens=2e12, unique_tokens=u)
    _check_figures(rep, lambda n, d: limited_loss(law, n, d, u))


def test_report_under_a_data_limit_and_uncertainty_has_the_limited_band():
    """Under uncertainty and a data limit the iso-loss band is the data-limited replicates'
    (it used to be left out): around the limited target curve."""
    rep = report(law="besiroglu2024", loss=2.0, inference_tokens=2e12, unique_tokens=5e11,
                 uncertainty=True)
    band = rep.bands["isoloss"]
    assert len(band["params"]) >= POINTS // 2
    target = next(cv for cv in rep.isoloss
                  if float(cv.data["loss"]) == float(rep.plan.comparison.optimal.loss))
    d = np.interp(np.log(band["params"]), np.log(target.data["params"]),
                  target.data["train_tokens"])
    assert (band["train_tokens_lo"] <= d * (1 + 1e-9)).mean() > 0.9
    assert (band["train_tokens_hi"] >= d * (1 - 1e-9)).mean() > 0.9
