"""`computeplan plan`: the inference-aware optimum beside the Chinchilla-optimal model."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated

import typer

from ..commands._timeline import TimelineOptions
from ..commands.plan import PlanOptions
from ..errors import InputError
from ..vocabulary import flag
from .app import (
    JsonFlag,
    Output,
    command,
    emit,
    help_text,
    law_input,
    option_parameters,
    options_from_cli,
)


def plan(**values):
    """Lifetime-optimal model size and training tokens for a target quality and demand.

    Minimises lifetime FLOPs (or dollars) of training + inference at a target loss (Sardana et
    al. 2024), or finds the lowest loss within a lifetime budget, and compares with the
    Chinchilla-optimal model. With no arguments: the quality of a Chinchilla-optimal 70B model
    served for 2e12 tokens.

    Example: computeplan plan --loss 1.947 --inference-tokens 2e12 --law sardana2024
    """
    from ..commands.plan import plan as run

    as_json, plot = values.pop("as_json"), values.pop("plot")
    options = options_from_cli(PlanOptions, values)
    plot_out = Output("--plot", plot, inputs=[law_input(options.law.law),
                                              options.cost.gpu_file])
    if plot_out and not options.timeline.given():
        raise InputError("--plot draws spend over time: give a timeline option ("
                         + ", ".join(flag(o.name) for o in TimelineOptions.options()) + ")")
    report = run(options)
    if plot_out:
        from ..plots.timeline import spend_over_time

        spend_over_time(report.dated, plot)
        plot_out.written()

    def draw(console):
        for line in report.key_assumptions:  # the assumptions that move the answer most, first
            console.print(f"assumed {line}", highlight=False, soft_wrap=True)
        _render(console, report.comparison, report.notes, report.serving, report.extrapolation,
                report.dated)
        render_parts(console, report)
        render_uncertainty(console, report)

    emit(report, as_json, draw)


def render_parts(console, report) -> None:
    """With an averaged law: the optimum under each part alone (JSON ``law_parts``)."""
    if not report.law_parts:
        return
    from ..render import count, flops, fmt, table, usd

    priced = report.comparison.objective.priced
    cost = "total_cost_usd" if priced else "total_flops"
    def beyond(oom):
        return "no domain" if oom is None else "inside" if oom == 0 else f"{oom:.2f} OOM"

    rows = [[r["form"], f"{r['weight']:.1%}"]
            + (["cannot reach the target"] + [""] * 4 if "error" in r else
               [count(r["params"]), count(r["tokens_per_param"]), fmt(r["loss"], 5),
                usd(r[cost]) if priced else flops(r[cost]), beyond(r["beyond_runs_oom"])])
            for r in report.law_parts]
    console.print(table("The optimum under each part of the averaged law alone",
                        ["part", "weight", "parameters N", "tokens per parameter", "loss",
                         "lifetime cost" if priced else "lifetime FLOPs", "beyond the runs"],
                        rows,
                        caption="how far apart they lie is uncertainty from the choice of "
                                "form, which the law's replicates (weights fixed) leave out; "
                                "beyond the runs: the most orders of magnitude the optimum "
                                "lies outside the runs the law was fitted on (N, D or D/N)"))


def render_uncertainty(console, report) -> None:
    """The ranges over the law's replicates, the chances and the robust plan, and the regret
    table of demand and price ranges (:mod:`computeplan.render_uncertainty`), when present."""
    if report.uncertainty is None and report.ranges is None:
        return
    from ..render import jsonable, table
    from ..render_uncertainty import regret_rows, uncertainty_lines, uncertainty_rows

    d = jsonable(report.to_dict())
    for rows in (uncertainty_rows(d), regret_rows(d)):
        if rows is not None:
            console.print(table(rows.title, rows.head, rows.rows, caption=rows.caption))
    for line in uncertainty_lines(d):
        console.print(line, highlight=False, soft_wrap=True)


#: Parameters of `plan` that are the command's own, not plan options (`sweep` leaves them out,
#: `report` keeps --json and draws the spend figure itself).
CLI_ONLY = ("plot", "as_json")
#: The options of PlanOptions (one per field, old spellings hidden), --plot and --json.
plan.__signature__ = inspect.Signature([  # type: ignore[attr-defined]
    *option_parameters(PlanOptions),
    inspect.Parameter("plot", inspect.Parameter.KEYWORD_ONLY, default=None,
                      annotation=Annotated[Path | None, typer.Option(
                          "--plot", help="Write the spend-over-time figure (PNG; needs a "
                          "timeline option).", dir_okay=False,
                          rich_help_panel=help_text(TimelineOptions.PANEL))]),
    inspect.Parameter("as_json", inspect.Parameter.KEYWORD_ONLY, default=False,
                      annotation=JsonFlag)])
plan = command("plan")(plan)


def _render(console, result, notes, serving=None, extrapolation=None, dated=None) -> None:
    from ..render import (
        count,
        data_limit_lines,
        data_limit_rows,
        flops,
        fmt,
        quantity,
        ratio,
        table,
        usd,
    )

    chin, opt, ratios = result.chinchilla, result.optimal, result.ratios
    rows = [
        ["parameters N", count(chin.params), count(opt.params), ratio(ratios["params"])],
        ["training tokens D", count(chin.train_tokens), count(opt.train_tokens),
         ratio(ratios["train_tokens"])],
        ["tokens per parameter", count(chin.tokens_per_param), count(opt.tokens_per_param), ""],
        ["loss", fmt(chin.loss, 5), fmt(opt.loss, 5), ""],
        ["training FLOPs", flops(chin.train_flops), flops(opt.train_flops), ""],
        ["inference FLOPs", flops(chin.inference_flops), flops(opt.inference_flops), ""],
        ["lifetime FLOPs", flops(chin.total_flops), flops(opt.total_flops),
         ratio(ratios["total_flops"])],
    ]
    if result.objective.priced:
        rows += [
            ["training cost", usd(chin.train_cost_usd), usd(opt.train_cost_usd), ""],
            ["inference cost", usd(chin.inference_cost_usd), usd(opt.inference_cost_usd), ""],
            ["lifetime cost", usd(chin.total_cost_usd), usd(opt.total_cost_usd),
             ratio(ratios["total_cost_usd"])],
        ]
    rows += data_limit_rows(result)
    if result.target_loss is not None:
        title = f"Lifetime-optimal model for loss {fmt(result.target_loss, 5)}"
    else:
        budget = (usd(result.budget) if result.objective.priced
                  else f"{flops(result.budget)} FLOPs")
        title = f"Lowest loss within a lifetime budget of {budget}"
    objective = "dollars" if result.objective.priced else "FLOPs"
    caption = f"Optimal minimises lifetime {objective}; ratio = optimal / Chinchilla-optimal"
    if dated is not None:
        caption = (f"Optimal minimises the present value of lifetime {objective} (below); "
                   "these bills are undated; ratio = optimal / Chinchilla-optimal")
    if result.data_limit is not None:
        caption += ("; Optimal respects the data limit, Chinchilla-optimal is the reference for "
                    "unlimited unique data")
    console.print(table(title, ["", "Chinchilla", "Optimal", "ratio"], rows, caption=caption))
    law = result.law
    form = "" if law.form == "chinchilla" else f" (form {law.form})"
    lines = [f"law {law.name}{form}: "
             + " ".join(f"{k}={val:g}" for k, val in law.coefficients().items()),
             "demand: " + ", ".join(f"{k}={quantity(k, v)}"
                                    for k, v in result.demand.to_dict().items())]
    if serving is not None:
        a = result.objective.to_dict()
        mfu = {k: f"prefill MFU {fmt(v['prefill_mfu'], 3)}, decode MFU {fmt(v['decode_mfu'], 3)}"
               for k, v in serving.items()}
        lines.append(
            f"training: {a['train_gpu']} {a['train_dtype']} at ${a['train_usd_per_gpu_hour']:g}/h, "
            f"MFU {a['train_mfu']:g}; inference (roofline): {a['inference_gpu']} "
            f"{a['inference_dtype']} (KV {a['kv_dtype']}) at "
            f"${a['inference_usd_per_gpu_hour']:g}/h, batch {a['batch']:g}, context "
            f"{a['context']:g}, GQA ratio {a['gqa_ratio']:g}, bandwidth x"
            f"{a['bandwidth_fraction']:g}, compute x{a['compute_fraction']:g}")
        lines.append(f"effective MFU: Chinchilla {mfu['chinchilla']}; optimal {mfu['optimal']}")
    elif result.objective.priced:
        a = result.objective.to_dict()
        lines.append(
            f"training: {a['train_gpu']} {a['train_dtype']} at ${a['train_usd_per_gpu_hour']:g}/h, "
            f"MFU {a['train_mfu']:g}; inference: {a['inference_gpu']} {a['inference_dtype']} at "
            f"${a['inference_usd_per_gpu_hour']:g}/h, prefill MFU {a['prefill_mfu']:g}, "
            f"decode MFU {a['decode_mfu']:g}")
    else:
        lines.append("FLOPs: 6ND for training, 2N per inference token (input or output)")
    from ..extrapolation import lines as extrapolation_lines

    warnings = extrapolation_lines(extrapolation, law)
    lines += data_limit_lines(result)
    if dated is not None:
        from ._timeline import render

        render(console, dated)
    for line in lines + warnings + [f"note: {n}" for n in notes]:
        console.print(line, highlight=False, soft_wrap=True)
