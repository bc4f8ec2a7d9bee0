"""The tables of a dated plan (:class:`~computeplan.timeline.DatedComparison`) as plain rows of
strings, shared by the terminal (:mod:`computeplan.cli.plan`) and the HTML report
(:mod:`computeplan.web.report`): present values beside Erdil's rule, and the spend per year of
the optimal plan. The web page builds the same tables from the JSON (``timeline`` in ``plan``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .render import flops, fmt, pct, ratio, usd


class Rows(NamedTuple):
    """One table: title, column heads, rows of cells, caption."""

    title: str
    head: list[str]
    rows: list[list[str]]
    caption: str


def _priced(dated) -> bool:
    return bool(dated.comparison.objective.priced)


def present_value_rows(dated) -> Rows:
    """Training time, the inference present-value factor f, the present-value bills (FLOP-
    equivalents under the FLOPs objective, dollars under the dollar one), the training share of
    present-value spend and Erdil 2024's alpha/(alpha+beta) rule at the local exchange rate."""
    from .timeline import erdil_train_share

    chin, opt = dated.chinchilla, dated.optimal
    if _priced(dated):
        key, label, money = "cost_usd", "cost", usd
    else:
        key, label, money = "flops", "FLOP-equivalents", flops
    total_ratio = dated.ratios[f"present_value_total_{key}"]
    rows = [
        ["training days (serving starts)", fmt(chin.train_days), fmt(opt.train_days), ""],
        ["inference present-value factor f", fmt(chin.inference_factor),
         fmt(opt.inference_factor), ""],
        [f"PV inference {label}", money(getattr(chin.present, f"inference_{key}")),
         money(getattr(opt.present, f"inference_{key}")), ""],
        [f"PV lifetime {label}", money(getattr(chin.present, f"total_{key}")),
         money(getattr(opt.present, f"total_{key}")), ratio(total_ratio)],
        ["training share of PV spend", pct(chin.train_share), pct(opt.train_share), ""],
        ["local exchange rate r", fmt(chin.exchange_rate), fmt(opt.exchange_rate), ""],
        ["Erdil's rule r/(1+r)", pct(erdil_train_share(chin.exchange_rate)),
         pct(erdil_train_share(opt.exchange_rate)), ""],
    ]
    return Rows("Present value over the model's life", ["", "Chinchilla", "Optimal", "ratio"],
                rows, "Optimal minimises the present value of lifetime cost; training is paid up "
                      "front at today's prices; r = -dlog(inference)/dlog(training) along the "
                      "iso-loss curve (infinite at the Chinchilla point)")


def per_year_rows(dated) -> Rows:
    """Per calendar year from the start of training (:meth:`DatedComparison.per_year`): the
    share of demand served, training spend (paid in year 1), inference at that year's prices
    (raw FLOPs under the FLOPs objective) and its present value."""
    years = dated.per_year()
    priced = _priced(dated)
    key = "cost_usd" if priced else "flops"
    label, money = ("$", usd) if priced else ("FLOPs", flops)
    head = ["year", "demand share", f"training {label}",
            f"inference {label}" + (" (nominal)" if priced else ""),
            "inference PV " + ("$" if priced else "FLOP-eq.")]
    rows = [[f"{int(y)}", pct(s), money(tr), money(inf), money(pv)] for y, s, tr, inf, pv in zip(
        np.asarray(years["year"]), np.asarray(years["demand_share"]),
        np.asarray(years[f"train_{key}"]), np.asarray(years[f"inference_{key}"]),
        np.asarray(years[f"present_value_inference_{key}"]), strict=True)]
    return Rows("Spend per year (optimal plan)", head, rows,
                "years from the start of training; serving starts when training ends")


def describe(timeline) -> str:
    """One line stating the timeline: horizon, demand shape, price decline (with the preset's
    source and confidence interval), discount, the combined rate k, the training throughput."""
    from .timeline import PRICE_PERFORMANCE_PRESETS

    t = timeline
    parts = [f"horizon {fmt(t.horizon_days)} days", f"demand {t.shape}"]
    if np.any(t.demand_ramp_days > 0):
        parts.append(f"ramp {fmt(t.demand_ramp_days)} days")
    if np.any(t.demand_growth_per_year != 0):
        parts.append(f"growth {fmt(t.demand_growth_per_year)}/year")
    if np.any(t.demand_tail_days > 0):
        parts.append(f"tail {fmt(t.demand_tail_days)} days")
    if t.price_performance_doubling_years is None:
        parts.append("prices constant")
    else:
        text = f"price-performance doubles every {fmt(t.price_performance_doubling_years)} years"
        if t.price_performance_preset:
            lo, hi = PRICE_PERFORMANCE_PRESETS[t.price_performance_preset][1]
            text += (f" ({t.price_performance_preset}, Hobbhahn & Besiroglu 2022; 95% CI "
                     f"{lo:g}-{hi:g} years)")
        parts.append(text)
    parts.append(f"discount {fmt(t.discount_rate_per_year)}/year ({t.compounding})")
    rho = "ln(1+r)" if t.compounding == "annual" else "r"
    parts.append(f"k = ln2/T + {rho} = {fmt(t.decline_rate)}/year")
    if t.train_flops_per_second is None:
        parts.append("serving starts at once")
    else:
        parts.append(f"training at {flops(t.train_flops_per_second)} FLOP/s")
    return "timeline: " + ", ".join(parts)
