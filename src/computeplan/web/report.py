"""Render a :class:`~computeplan.commands.report.PlanFigures` as PNG figures (matplotlib) and as
one self-contained HTML file (inputs, assumptions, tables, figures as base64 PNG).

Needs only matplotlib (the ``plot`` extra), not the web server. Figures are drawn under a lock:
pyplot keeps global state and the server renders reports in worker threads.
"""

from __future__ import annotations

import base64
import html
import io
import threading
from datetime import UTC, datetime

import numpy as np

from ..render import data_limit_lines, data_limit_rows, flops, fmt, jsonable, quantity, ratio, usd

FIGURES = ("savings", "isoloss", "cost")
_LOCK = threading.Lock()
_OPT, _CHIN, _ROBUST = "#1b6ac9", "#d0582a", "#2e8b57"


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def _savings(ax, rep) -> None:
    sweep = rep.demand_sweep.data
    x = sweep["inference_tokens"]
    if rep.plan.comparison.target_loss is not None:
        key = "ratio_total_cost_usd" if rep.priced else "ratio_total_flops"
        what = "dollars" if rep.priced else "FLOPs"
        ax.plot(x, 100 * (1 - sweep[key]), color=_OPT, label=f"lifetime {what} saved")
        band = (rep.bands or {}).get("savings")
        if band is not None:
            level = rep.plan.uncertainty.level
            ax.fill_between(band["inference_tokens"], 100 * band["savings_lo"],
                            100 * band["savings_hi"], color=_OPT, alpha=0.18, lw=0,
                            label=f"saved, {100 * level:g}% range over replicates")
        ax.plot(x, 100 * sweep["ratio_params"], color=_CHIN, ls="--",
                label="optimal size, % of Chinchilla")
        ax.set_ylabel("%")
        ax.set_ylim(0, 105)
    else:
        ax.plot(x, sweep["chinchilla_loss"] - sweep["optimal_loss"], color=_OPT,
                label="loss gained at equal budget")
        ax.set_ylabel("Chinchilla loss - optimal loss")
    ax.axvline(float(rep.plan.comparison.demand.total_tokens), color="0.4", lw=0.8, ls=":",
               label="this demand")
    ax.set_xscale("log")
    ax.set_xlabel("lifetime inference tokens")
    ax.set_title("Savings versus demand")
    ax.legend(fontsize=8)


def _mark_plans(ax, rep, y_of) -> None:
    c = rep.plan.comparison
    ax.plot(float(c.optimal.params), y_of("optimal", c.optimal), "*", ms=13, color=_OPT,
            label="inference-aware optimum")
    ax.plot(float(c.chinchilla.params), y_of("chinchilla", c.chinchilla), "o", ms=8, color=_CHIN,
            label="Chinchilla-optimal")
    u = rep.plan.uncertainty
    if u is not None and u.robust is not None:
        try:
            y = y_of("robust", u.robust.plan)
        except KeyError:  # a figure that marks the two plans only (present values)
            return
        ax.plot(float(u.robust.plan.params), y, "o", ms=7, color=_ROBUST,
                label=f"robust plan ({100 * u.confidence:g}% of replicates)")


def _isoloss(ax, rep) -> None:
    target = float(rep.plan.comparison.optimal.loss)
    for curve in rep.isoloss:
        lv = float(curve.data["loss"])
        main = np.isclose(lv, target, rtol=1e-9)
        ax.plot(curve.data["params"], curve.data["train_tokens"], color="0.15" if main else "0.6",
                lw=1.8 if main else 0.9, label=None)
        ax.annotate(f"L={lv:.3f}", (curve.data["params"][-1], curve.data["train_tokens"][-1]),
                    fontsize=7, color="0.3", xytext=(2, 0), textcoords="offset points")
    free = rep.isoloss_unlimited
    if free is not None:  # under a data limit: the law's own curve, the Chinchilla plan's
        ax.plot(free.data["params"], free.data["train_tokens"], color=_CHIN, ls="--", lw=0.9,
                label=f"L={float(free.data['loss']):.3f} without the data limit")
    band = (rep.bands or {}).get("isoloss")
    if band is not None:
        ax.fill_between(band["params"], band["train_tokens_lo"], band["train_tokens_hi"],
                        color="0.15", alpha=0.15, lw=0, label=f"L={target:.3f}, "
                        f"{100 * rep.plan.uncertainty.level:g}% range over replicates")
    _mark_plans(ax, rep, lambda _, p: float(p.train_tokens))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("parameters N")
    ax.set_ylabel("training tokens D")
    ax.set_title("Loss iso-curves L(N, D)" if free is None else
                 "Loss iso-curves L(N, D; U), data-limited")
    ax.legend(fontsize=8)


def _cost(ax, rep) -> None:
    key = "total_cost_usd" if rep.priced else "total_flops"
    data = rep.cost_curve.data
    dated = f"present_value_{key}" in data
    if dated:  # present value along the curve, both plans on the same terms
        marks = data["present_value_marks"]
        ax.plot(data["params"], data[key], color="0.6", ls="--", lw=0.9,
                label="undated lifetime cost")
        key = f"present_value_{key}"

        def mark(name, _):
            return float(marks[name])
    else:
        def mark(_, plan):
            return float(getattr(plan, key))
    ax.plot(data["params"], data[key], color="0.15", label=rep.cost_curve.label)
    _mark_plans(ax, rep, mark)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("parameters N (training tokens set by the loss)")
    what = ("USD" if rep.priced else "FLOP-equivalents") if dated else (
        "USD" if rep.priced else "FLOPs")
    ax.set_ylabel(f"{'present value of ' if dated else ''}lifetime cost ({what})")
    ax.set_title("Lifetime cost at equal loss")
    ax.legend(fontsize=8)


def _spend(ax, rep) -> None:
    from ..plots.timeline import draw_spend

    draw_spend(ax, rep.plan.dated.per_year(), rep.priced)


_DRAW = {"savings": _savings, "isoloss": _isoloss, "cost": _cost, "spend": _spend}


def figure_names(dated: bool) -> tuple[str, ...]:
    """The report's figures: ``FIGURES``, and ``spend`` (spend over time) for a dated plan."""
    return (*FIGURES, "spend") if dated else FIGURES


def figures_png(rep) -> dict[str, bytes]:
    """The figures as PNG bytes, keyed by :func:`figure_names`."""
    from ..plots import pyplot

    plt = pyplot()
    out = {}
    with _LOCK:
        for name in figure_names(rep.plan.dated is not None):
            fig, ax = plt.subplots(figsize=(6.4, 4.2))
            try:
                _DRAW[name](ax, rep)
                ax.grid(True, which="major", alpha=0.3)
                out[name] = _png(fig)
            finally:
                plt.close(fig)
    return out


def _rows(rep) -> list[list[str]]:
    d = jsonable(rep.plan.comparison)
    chin, opt, ratios = d["chinchilla"], d["optimal"], d["ratios"]
    return [[k.replace("_", " "), quantity(k, chin[k]), quantity(k, opt[k]),
             ratio(ratios[k]) if k in ratios else ""] for k in chin] + data_limit_rows(
        rep.plan.comparison)


def data_limit_html(comparison) -> str:
    """The data-limit section: whether U unique tokens bind, the plan without the limit, what
    the limit costs and the lowest reachable loss (empty without a limit)."""
    lines = data_limit_lines(comparison)
    if not lines:
        return ""
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    return (f"<h2>Data limit</h2><ul>{items}</ul><p class=\"note\">The iso-loss curves and "
            "the cost along them are those of the data-limited law L(N, D; U) (Muennighoff et al. "
            "2023, eq. 5); the dashed curve is the law's own (all tokens unique), on which the "
            "Chinchilla-optimal model lies.</p>")


def law_line(law) -> str:
    """The law's formula and coefficients in one sentence (any form, :mod:`computeplan.forms`)."""
    from ..forms import get_form

    form = get_form(getattr(law, "form", "chinchilla"))
    coef = law.coefficients()
    values = ", ".join(f"{k}={coef[k]:g}" for k in form.coefficients)
    if form.name == "chinchilla":
        return f"Law {law.name}: L(N, D) = E + A/N^alpha + B/D^beta with {values}."
    return (f"Law {law.name} ({form.name} form, {form.source}): {form.formula} with "
            f"{values}.")


def _table(head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    trs = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>"
                  for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>"


def timeline_html(dated, spend: bytes | None = None) -> str:
    """The dated plan's section: the timeline, the present-value table beside Erdil's rule, the
    per-year spend table and the spend-over-time figure (``spend``, PNG bytes; drawn here when
    not given), with the conventions used."""
    from ..render_timeline import describe, per_year_rows, present_value_rows
    from ..timeline import CONVENTIONS

    tables = "".join(f"<h3>{html.escape(t.title)}</h3>{_table(t.head, t.rows)}"
                     f'<p class="note">{html.escape(t.caption)}</p>'
                     for t in (present_value_rows(dated), per_year_rows(dated)))
    png = spend_png(dated) if spend is None else spend
    return (f"<h2>Present value over time</h2><p>{html.escape(describe(dated.timeline))}</p>"
            f'<p class="note">Conventions: {html.escape(CONVENTIONS)}.</p>{tables}'
            f'<figure><img alt="spend" src="data:image/png;base64,'
            f'{base64.b64encode(png).decode()}"></figure>')


def spend_png(dated) -> bytes:
    """The spend-over-time figure of a dated plan as PNG bytes
    (:func:`computeplan.plots.timeline.draw_spend`)."""
    from ..plots import pyplot
    from ..plots.timeline import draw_spend

    plt = pyplot()
    with _LOCK:
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        try:
            draw_spend(ax, dated.per_year(), bool(dated.comparison.objective.priced))
            ax.grid(True, axis="y", alpha=0.3)
            return _png(fig)
        finally:
            plt.close(fig)


def uncertainty_html(plan: dict) -> str:
    """The plan's uncertainty (ranges over the law's replicates, the chance of a saving and of
    missing the target, the robust plan) and the regret table of demand and price ranges, from
    the plan's JSON (:mod:`computeplan.render_uncertainty`); empty when it has neither."""
    from ..render_uncertainty import regret_rows, uncertainty_lines, uncertainty_rows

    out = ""
    rows = uncertainty_rows(plan)
    if rows is not None:
        lines = "".join(f"<li>{html.escape(x)}</li>" for x in uncertainty_lines(plan))
        out += (f"<h2>{html.escape(rows.title)}</h2>{_table(rows.head, rows.rows)}"
                f'<p class="note">{html.escape(rows.caption)}</p><ul>{lines}</ul>')
    regret = regret_rows(plan)
    if regret is not None:
        out += (f"<h2>{html.escape(regret.title)}</h2>{_table(regret.head, regret.rows)}"
                f'<p class="note">{html.escape(regret.caption)}</p>')
    return out


def _pairs(mapping: dict) -> list[list[str]]:
    def shown(k, v):
        if isinstance(v, str):
            return v
        if isinstance(v, dict):  # an inline law (shown in full under the plan)
            return f"inline law {v.get('name') or 'custom'!s}"
        if isinstance(v, list):  # a range LO HI
            return " to ".join(quantity(k.removesuffix("_range"), x) for x in v)
        return quantity(k, v)

    return [[k, shown(k, v)] for k, v in jsonable(mapping).items()]


_CSS = """body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
color:#1d2330}h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}table{border-collapse:
collapse;margin:.5rem 0}td,th{border-bottom:1px solid #dde;padding:.25rem .7rem;text-align:right}
td:first-child,th:first-child{text-align:left}th{background:#f3f5f9}figure{margin:1rem 0}
img{max-width:100%}.note{color:#555}.warn{color:#8a4b00}"""


def render_html(rep) -> str:
    """One self-contained HTML page: inputs, assumptions, results table and figures."""
    c = rep.plan.comparison
    d = jsonable(c)
    if c.target_loss is not None:
        title = f"Lifetime-optimal model for loss {fmt(c.target_loss, 5)}"
    else:
        budget = usd(c.budget) if rep.priced else f"{flops(c.budget)} FLOPs"
        title = f"Lowest loss within a lifetime budget of {budget}"
    objective = "dollars" if rep.priced else "FLOPs"
    if rep.plan.dated is not None:
        objective += " in present value" + ("" if rep.priced else " (FLOP-equivalents)")
    pngs = figures_png(rep)
    spend = pngs.pop("spend", None)
    figs = "".join(
        f'<figure><img alt="{name}" src="data:image/png;base64,'
        f'{base64.b64encode(png).decode()}"></figure>' for name, png in pngs.items())
    dated = "" if rep.plan.dated is None else timeline_html(rep.plan.dated, spend)
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in rep.plan.notes)
    # the assumed defaults that move the answer most, before the numbers (as the CLI's header)
    key = "".join(f"<li>assumed {html.escape(k)}</li>" for k in rep.plan.key_assumptions)
    extra = rep.plan.extrapolation
    if extra is None:
        from ..extrapolation import no_domain_note

        note = no_domain_note(c.law)
        domain = f"<p>{html.escape(note[0].upper() + note[1:])}.</p>"
    elif extra["warnings"]:
        domain = "<ul class=\"warn\">" + "".join(
            f"<li>{html.escape(w)}</li>" for w in extra["warnings"]) + "</ul>"
    else:
        domain = "<p>Both models lie within the range of the runs this law was fitted on.</p>"
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>computeplan report</title>
<style>{_CSS}</style></head><body>
<h1>{html.escape(title)}</h1>
<p class="note">computeplan report, {stamp}. The optimum minimises lifetime {objective}
(training + inference) at the target (Sardana et al. 2024); the comparison is the
Chinchilla-optimal model (Hoffmann et al. 2022). Ratio = optimal / Chinchilla-optimal.</p>
<h2>Results</h2>
{f'<ul class="warn key">{key}</ul>' if key else ""}
{_table(["", "Chinchilla-optimal", "Optimal", "ratio"], _rows(rep))}
{data_limit_html(c)}
{uncertainty_html(jsonable(rep.plan.to_dict()))}
<h2>Domain of the law</h2>
{domain}
<h2>Inputs</h2>
{_table(["option", "value"], _pairs(rep.inputs)) if rep.inputs else "<p>all defaults</p>"}
<h2>Assumptions</h2>
<p>{html.escape(law_line(c.law))}
Training FLOPs 6ND, inference FLOPs 2N per token.</p>
{_table(["demand", "value"], _pairs(d["demand"]))}
{_table(["cost model", "value"], _pairs(d["assumptions"]))}
{f"<ul>{notes}</ul>" if notes else ""}
{dated}
<h2>Figures</h2>
{figs}
</body></html>
"""
