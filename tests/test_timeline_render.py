"""Rendering a dated plan (computeplan.render_timeline, cli/_timeline, plots/timeline and the
HTML report's section): the tables show the numbers of the result objects, the per-year table
has one row per calendar year, the spend figure draws exactly the per-year data."""

import base64
import math
import re

import numpy as np
import pytest
from rich.console import Console

from computeplan import Demand, DollarCost, FlopsObjective, get_law
from computeplan.render import flops, fmt, pct, ratio, usd
from computeplan.render_timeline import describe, per_year_rows, present_value_rows
from computeplan.timeline import DAYS_PER_YEAR, Timeline, dated_compare, erdil_train_share

LAW = get_law("sardana2024")
PNG = b"\x89PNG\r\n\x1a\n"


def _flops_plan():
    t = Timeline(horizon_days=730.0, price_performance_doubling_years="all-gpus",
                 discount_rate_per_year=0.1, train_flops_per_second=1024 * 989.4e12 * 0.5)
    return dated_compare(LAW, loss=1.947, demand=Demand.from_tokens(2e13),
                         objective=FlopsObjective(), timeline=t)


def _dollar_plan():
    cost = DollarCost(train_gpu="a100-80gb", train_usd_per_gpu_hour=1.40, train_mfu=0.5,
                      inference_gpu="a100-40gb", inference_dtype="int8",
                      inference_usd_per_gpu_hour=0.60, prefill_mfu=0.4, decode_mfu=0.2)
    t = Timeline(horizon_days=3 * DAYS_PER_YEAR, demand_growth_per_year=1.0,
                 price_performance_doubling_years=2.46, discount_rate_per_year=0.1,
                 compounding="continuous")
    return dated_compare(LAW, loss=1.947, demand=Demand.from_requests(1e10, 1000, 250),
                         objective=cost, timeline=t)


def _row(table, label):
    return next(r for r in table.rows if r[0] == label)


def test_present_value_table_shows_the_result_objects():
    dated = _flops_plan()
    t = present_value_rows(dated)
    assert t.head == ["", "Chinchilla", "Optimal", "ratio"]
    row = _row(t, "PV lifetime FLOP-equivalents")
    assert row[1:] == [flops(dated.chinchilla.present.total_flops),
                       flops(dated.optimal.present.total_flops),
                       ratio(dated.ratios["present_value_total_flops"])]
    assert _row(t, "training days (serving starts)")[2] == fmt(dated.optimal.train_days)
    assert _row(t, "training share of PV spend")[2] == pct(dated.optimal.train_share)
    assert _row(t, "Erdil's rule r/(1+r)")[2] == pct(erdil_train_share(
        dated.optimal.exchange_rate))
    dollars = present_value_rows(_dollar_plan())
    row = _row(dollars, "PV lifetime cost")
    assert row[3] == ratio(_dollar_plan().ratios["present_value_total_cost_usd"])
    assert row[1] == usd(_dollar_plan().chinchilla.present.total_cost_usd)
    assert row[1].startswith("$")
    assert not any("FLOP-equivalents" in r[0] for r in dollars.rows)


@pytest.mark.parametrize("make", [_flops_plan, _dollar_plan])
def test_per_year_table_has_a_row_per_calendar_year(make):
    dated = make()
    t = per_year_rows(dated)
    opt = dated.comparison.optimal
    span = float(dated.timeline.horizon_years + dated.timeline.train_years(opt.train_flops))
    assert [r[0] for r in t.rows] == [str(y) for y in range(1, math.ceil(span) + 1)]
    priced = dated.comparison.objective.priced
    train = opt.train_cost_usd if priced else opt.train_flops
    money = usd if priced else flops
    assert [r[2] for r in t.rows] == [money(train)] + [money(0)] * (len(t.rows) - 1)
    shares = [float(r[1].rstrip("%")) for r in t.rows]
    assert sum(shares) == pytest.approx(100.0, abs=0.01 * len(shares))
    assert t.head[-1] == ("inference PV $" if priced else "inference PV FLOP-eq.")


def test_describe_states_the_timeline():
    text = describe(_flops_plan().timeline)
    assert "horizon 730 days" in text and "demand constant" in text
    assert "all-gpus, Hobbhahn & Besiroglu 2022; 95% CI 2.24-2.72 years" in text
    assert "k = ln2/T + ln(1+r)" in text and "training at 5.066e17 FLOP/s" in text
    text = describe(_dollar_plan().timeline)
    assert "growth 1/year" in text and "(continuous)" in text and "k = ln2/T + r" in text
    assert "serving starts at once" in text and "CI" not in text
    k = math.log(2) / 2.46 + 0.1
    assert f"= {fmt(k)}/year" in text


def test_terminal_render_prints_both_tables():
    from computeplan.cli._timeline import render

    console = Console(record=True, width=160)
    dated = _dollar_plan()
    render(console, dated)
    out = console.export_text()
    for text in ("Present value over the model's life", "Spend per year (optimal plan)",
                 "PV lifetime cost", usd(dated.comparison.optimal.train_cost_usd),
                 "inference $ (nominal)", "timeline: horizon 1096 days"):
        assert text in out


@pytest.mark.parametrize("make", [_flops_plan, _dollar_plan])
def test_spend_figure_draws_the_per_year_data(make, tmp_path):
    pytest.importorskip("matplotlib", reason="plots need matplotlib")
    from computeplan.plots import pyplot
    from computeplan.plots.timeline import draw_spend, spend_over_time

    dated = make()
    years = dated.per_year()
    priced = bool(dated.comparison.objective.priced)
    key = "cost_usd" if priced else "flops"
    plt = pyplot()
    fig, ax = plt.subplots()
    try:
        draw_spend(ax, years, priced)
        containers = ax.containers
        assert len(containers) == 3
        for bars, name in zip(containers, (f"train_{key}", f"inference_{key}",
                                           f"present_value_inference_{key}"), strict=True):
            np.testing.assert_array_equal([b.get_height() for b in bars], years[name])
    finally:
        plt.close(fig)
    out = spend_over_time(dated, tmp_path / "spend.png")
    assert out.read_bytes().startswith(PNG)


def test_report_section_is_self_contained():
    pytest.importorskip("matplotlib", reason="reports need matplotlib")
    from computeplan.web.report import timeline_html

    page = timeline_html(_dollar_plan())
    assert "Present value over the model&#x27;s life" in page
    assert "Spend per year (optimal plan)" in page and "Conventions:" in page
    png = re.search(r'src="data:image/png;base64,([^"]+)"', page).group(1)
    assert base64.b64decode(png).startswith(PNG)
    assert "http" not in page.replace("data:image", "")
