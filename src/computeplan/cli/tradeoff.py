"""`computeplan tradeoff`, `allocate` and `overhead`: training/inference tradeoffs."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from ..defaults import DEFAULT_GRID_POINTS, TECHNIQUES
from .app import (
    CoefA,
    CoefAlpha,
    CoefB,
    CoefBeta,
    CoefE,
    JsonFlag,
    LawName,
    Output,
    command,
    emit,
    law_input,
)
from .progress import progress_for

#: The techniques' command-line names, from the one list in :mod:`computeplan.tradeoffs`.
TechniqueName = StrEnum("TechniqueName", {t.replace("-", "_"): t for t in TECHNIQUES})


_G = "Grid and span"
_T = "Technique"
_X = "Extras"

OptionalLaw = Annotated[str | None, typer.Option(
    "--law", help="Scaling-policy/pruning law: preset (hoffmann2022, sardana2024, besiroglu2024, "
    "muennighoff2023) or a law JSON file \\[default: sardana2024].", rich_help_panel="Law")]


def _opt(flag: str, help_: str, panel: str | None = None, **kw):
    return typer.Option(flag, help=help_, rich_help_panel=panel, **kw)


@command("tradeoff")
def tradeoff(
    technique: Annotated[TechniqueName, typer.Argument(help="Technique to analyse.")],
    level: Annotated[float | None, _opt(
        "--level", "Performance level: loss (scaling-policy, pruning), Elo (mcts) or solve rate "
        "(pass-at-k, n-at-k) \\[default: loss of the compute-optimal 1e24-FLOP model; Elo 1440; "
        "solve rate 0.5].", _T)] = None,
    fraction_per_round: Annotated[float | None, _opt(
        "--fraction-per-round", "Pruning: fraction of weights removed per round, in (0, 1) "
        "\\[default: 0.2, as in Villalobos & Atkinson 2023 and Frankle & Carbin 2019].", _T)]
        = None,
    min_density: Annotated[float | None, _opt(
        "--min-density", "Pruning: lowest lossless density, in (0, 1] \\[default: 0.1].", _T)]
        = None,
    unique_tokens: Annotated[float | None, _opt(
        "--unique-tokens", "Scaling-policy: unique training tokens; repeated epochs count less "
        "(Muennighoff et al. 2023) \\[default: unlimited].", _T)] = None,
    rd_star: Annotated[float | None, _opt(
        "--rd-star", "Override R_D* of the data limit \\[default: the law's, 15.39].", _T)]
        = None,
    rn_star: Annotated[float | None, _opt(
        "--rn-star", "Override R_N* of the data limit \\[default: the law's, 5.31].", _T)]
        = None,
    params: Annotated[list[str] | None, _opt(
        "--set", "Override a technique parameter, KEY=VALUE (repeatable); see --json "
        "technique.parameters for the names.", _T)] = None,
    fit: Annotated[Path | None, _opt(
        "--fit", "Fit the S-curve family (mcts, pass-at-k, n-at-k) to a CSV with a header and "
        "columns: training FLOPs, samples or nodes, score.", _T)] = None,
    law: OptionalLaw = None,
    E: CoefE = None, A: CoefA = None, B: CoefB = None, alpha: CoefAlpha = None,
    beta: CoefBeta = None,
    grid_points: Annotated[int, _opt("--grid-points", "Grid points per axis.", _G)] = 1000,
    train_range: Annotated[tuple[float, float] | None, _opt(
        "--train-range", "log10 training FLOPs range LOW HIGH \\[default: from the technique].",
        _G)] = None,
    inference_range: Annotated[tuple[float, float] | None, _opt(
        "--inference-range", "log10 inference FLOPs per query range LOW HIGH \\[default: from "
        "the technique].", _G)] = None,
    min_exchange_rate: Annotated[float, _opt(
        "--min-exchange-rate", "Span trimming threshold r_min in (0, 1]: the span ends where "
        "1 OOM of one axis buys less than r_min OOM of the other.", _G,
        show_default="1/6")] = 1.0 / 6.0,
    points: Annotated[int, _opt(
        "--points", "Frontier points sampled in the JSON `frontier` (the table shows 9); the "
        "grid, span and exchange rates do not change.", _G)] = 41,
    combine: Annotated[TechniqueName | None, _opt(
        "--combine", "Combine with a second technique and compare spans.", _X)] = None,
    combine_level: Annotated[float | None, _opt(
        "--combine-level", "Level for the --combine technique \\[default: its default].", _X)]
        = None,
    queries: Annotated[list[float] | None, _opt(
        "--queries", "Queries Q over the model's life: the frontier point minimising "
        "TC + Q * IC (repeatable).", _X)] = None,
    train_compute: Annotated[float | None, _opt(
        "--train-compute", "Evaluate the score at this training FLOPs (with "
        "--inference-compute).", _X)] = None,
    inference_compute: Annotated[float | None, _opt(
        "--inference-compute", "Evaluate the score at this inference compute per query "
        "(FLOPs; samples or nodes for the search techniques).", _X)] = None,
    plot: Annotated[Path | None, _opt(
        "--plot", "Write a PNG with the iso-performance contours and the frontier.", _X)] = None,
    as_json: JsonFlag = False,
):
    """Iso-performance frontier, span and exchange rate of a training/inference tradeoff.

    For a technique at a performance level: the least inference compute for each training
    compute, its Pareto-efficient part, the span in orders of magnitude (OOM) on each axis,
    and the exchange rate (OOM of inference saved per OOM of training added), overall and
    along the frontier (Villalobos & Atkinson 2023).

    Example: computeplan tradeoff scaling-policy --queries 1e13 --plot frontier.png
    """
    from ..commands.tradeoff import tradeoff as run

    plot_out = Output("--plot", plot, inputs=[fit, law_input(law)])
    # Grids above the default size take seconds: a progress bar on a terminal.
    progress = progress_for("grid rows", as_json) if grid_points > DEFAULT_GRID_POINTS else None
    try:
        report = run(
            technique=technique.value, level=level, law=law, E=E, A=A, B=B, alpha=alpha,
            beta=beta, fraction_per_round=fraction_per_round, min_density=min_density,
            unique_tokens=unique_tokens, rd_star=rd_star, rn_star=rn_star,
            params=params, fit=fit, grid_points=grid_points, train_range=train_range,
            inference_range=inference_range, min_exchange_rate=min_exchange_rate,
            combine=combine.value if combine else None, combine_level=combine_level,
            queries=queries, train_compute=train_compute, inference_compute=inference_compute,
            points=points, on_progress=progress.update if progress else None)
    finally:
        if progress:
            progress.stop()
    if plot is not None:
        from ..plots.tradeoff import plot_tradeoff

        plot_tradeoff(report.frontier, plot, combination=report.combination)
        plot_out.written()
    emit(report, as_json, lambda console: _render(console, report, plot))


def _render(console, report, plot) -> None:
    from ..render import count, flops, fmt, pct, table
    from ..tradeoffs.frontier import SPAN_DEFINITION

    f = report.frontier
    tech, span, ends = f.technique, f.span, f.span_points()
    rate = span.exchange_rate  # NaN for an empty span (JSON: null), e.g. min_exchange_rate 1
    rows = [["span, training", f"{span.train_oom:.2f} OOM"],
            ["span, inference", f"{span.inference_oom:.2f} OOM"],
            ["exchange rate over the span",
             fmt(rate, 3) + " OOM inference per OOM training" if span.train_oom > 0
             else "none: the span is empty"]]
    for name in ("start", "end"):
        p = ends[name]
        rows.append([f"span {name}: training / inference / local rate",
                     f"{flops(p['train_compute'])} / {flops(p['inference_compute'])} / "
                     f"{fmt(p['exchange_rate'], 3)}"])
    title = f"{tech.title}: {tech.score_name} {fmt(f.level, 5)}"
    console.print(table(title, ["quantity", "value"], rows,
                        caption=f"inference compute in {tech.inference_unit}"))
    sample = f.sample(9)
    console.print(table("Pareto frontier", ["training FLOPs", "inference compute",
                                            "local exchange rate"],
                        [[flops(a), flops(b), fmt(c, 3)] for a, b, c in zip(
                            sample["train_compute"], sample["inference_compute"],
                            sample["exchange_rate"], strict=True)]))
    if report.point is not None:
        p = report.point
        console.print(f"{tech.score_name} at training {flops(p['train_compute'])}, inference "
                      f"{flops(p['inference_compute'])}: {fmt(p['score'], 5)}",
                      highlight=False)
    c = report.combination
    if c is not None:
        st, si = c.sum_of_spans
        rows = [[c.first.technique.key, f"{c.first.span.train_oom:.2f}",
                 f"{c.first.span.inference_oom:.2f}"],
                [c.second.technique.key, f"{c.second.span.train_oom:.2f}",
                 f"{c.second.span.inference_oom:.2f}"],
                ["sum of spans", f"{st:.2f}", f"{si:.2f}"],
                ["combined", f"{c.span.train_oom:.2f}", f"{c.span.inference_oom:.2f}"]]
        console.print(table("Combined techniques (span, OOM)", ["", "training", "inference"],
                            rows))
    a = report.allocation
    if a is not None:
        rows = [[count(q), flops(tc), flops(i), pct(share), fmt(r, 3), pct(pred)] for q, tc, i,
                share, r, pred in zip(a.queries.ravel(), a.train_compute.ravel(),
                                      a.inference_compute.ravel(), a.train_fraction.ravel(),
                                      a.exchange_rate.ravel(), a.parity_prediction.ravel(),
                                      strict=True)]
        console.print(table("Cheapest frontier point, min TC + Q x IC",
                            ["queries Q", "training", "inference / query", "training share",
                             "local rate r", "r / (1 + r)"], rows))
    params = ", ".join(f"{k}={fmt(v) if isinstance(v, float) else v}"
                       for k, v in tech.parameters().items() if not isinstance(v, dict))
    lines = [f"parameters: {params}" if params else "",
             f"law {tech.law.name}{_form(tech.law)}: " + ", ".join(
                 f"{k}={v:g}" for k, v in tech.law.coefficients().items())
             if hasattr(tech, "law") else "",
             f"span: {SPAN_DEFINITION}, min_exchange_rate = {span.min_exchange_rate:.3g}",
             f"source: {tech.source}"]
    if report.law is not None:  # a technique (or the combined one) under a scaling law
        from ..extrapolation import lines as extrapolation_lines

        lines += extrapolation_lines(report.extrapolation, report.law)
    if plot is not None:
        lines.append(f"plot written to {plot}")
    for line in [x for x in lines if x] + [f"note: {n}" for n in report.notes]:
        console.print(line, highlight=False, soft_wrap=True)


@command("allocate")
def allocate(
    train_oom: Annotated[float, typer.Option("--train-oom", help="beta: OOM of training compute "
                                             "that trade for --inference-oom at equal "
                                             "performance.")],
    inference_oom: Annotated[float, typer.Option("--inference-oom", help="alpha: OOM of "
                                                 "inference compute saved.")],
    total: Annotated[float | None, typer.Option("--total", help="Total compute to split "
                                                "(any unit).")] = None,
    step_oom: Annotated[float, typer.Option("--step-oom", help="Training step of the "
                                            "perturbation check, in OOM.")] = 0.1,
    as_json: JsonFlag = False,
):
    """Optimal split of compute between training and inference (Erdil 2024).

    If beta OOM of training trade for alpha OOM of inference, spend alpha/(alpha+beta) of the
    total on training. The perturbation check moves along the exchange rate from the equal split
    and from the optimum.

    Example: computeplan allocate --train-oom 1 --inference-oom 2 --total 300
    """
    from ..commands.allocate import allocate as run

    result = run(train_oom=train_oom, inference_oom=inference_oom, total=total,
                 step_oom=step_oom)
    emit(result, as_json, lambda console: _render_split(console, result))


def _render_split(console, result) -> None:
    from ..render import fmt, pct, table

    rows = [["training share", pct(result.train_fraction)],
            ["inference share", pct(result.inference_fraction)]]
    if result.total is not None:
        rows += [["training", fmt(result.total * result.train_fraction)],
                 ["inference", fmt(result.total * result.inference_fraction)]]
    console.print(table(f"Optimal split: {fmt(result.train_oom)} OOM training <-> "
                        f"{fmt(result.inference_oom)} OOM inference", ["", "value"], rows))
    rows = [[f"{fmt(p.train)} / {fmt(p.inference)}",
             f"{p.train_change_oom:+g} / {-p.inference_change_oom:+g}", fmt(p.total, 5)]
            for p in result.perturbations()]
    console.print(table("Perturbation check", ["from training / inference",
                                               "move (OOM)", "new total"], rows,
                        caption="Only the optimum gets worse in both directions "
                                "(Erdil 2024)"))


@command("overhead")
def overhead(
    size_fraction: Annotated[list[float], typer.Option(
        "--size-fraction", help="Model size as a fraction of the compute-optimal size "
        "(repeatable).")],
    train_flops: Annotated[list[float] | None, typer.Option(
        "--train-flops", help="Reference training compute C in FLOPs (repeatable): its "
        "compute-optimal model fixes the loss. Needed for laws whose overhead depends on the "
        "budget (forms beta-of-n, farseer); shown, not needed, for the chinchilla, tied and "
        "kaplan forms.")] = None,
    critical_overhead: Annotated[float, typer.Option(
        "--critical-overhead", help="Overhead defining the critical size (1 = 100%).")] = 1.0,
    law: LawName = "sardana2024",
    E: CoefE = None, A: CoefA = None, B: CoefB = None, alpha: CoefAlpha = None,
    beta: CoefBeta = None,
    as_json: JsonFlag = False,
):
    """Compute overhead of training a smaller-than-optimal model to the same loss (de Vries).

    Example: computeplan overhead --size-fraction 0.5 --law sardana2024
    """
    from ..commands.overhead import overhead as run

    def one(values):
        return values if values is None or len(values) != 1 else values[0]

    result = run(size_fraction=one(size_fraction), train_flops=one(train_flops),
                 law=law, E=E, A=A, B=B, alpha=alpha, beta=beta,
                 critical_overhead=critical_overhead)
    emit(result, as_json, lambda console: _render_overhead(console, result))


def _render_overhead(console, result) -> None:
    import numpy as np

    from ..render import flops, fmt, pct, table

    law, ref = result.law, result.reference
    k = np.ravel(result.size_fraction)
    kd = np.reshape(result.token_multiplier, (-1, k.size))
    over = np.reshape(result.compute_overhead, (-1, k.size))
    budgets = [None] * len(kd) if ref is None else np.ravel(result.train_flops)
    columns = ["model size", "token multiplier", "compute overhead"]
    rows = [([] if c is None else [flops(c)]) + [pct(x), fmt(y), pct(o)]
            for c, kd_c, o_c in zip(budgets, kd, over, strict=True)
            for x, y, o in zip(k, kd_c, o_c, strict=True)]
    console.print(table("Over-training overhead (same loss as the compute-optimal model)",
                        (["reference compute"] if ref is not None else []) + columns, rows))
    lines = []
    crit = np.ravel(result.critical_size_fraction)
    k_min = np.ravel(result.min_size_fraction)
    if ref is None:
        lines += [f"critical size (overhead {pct(result.critical_overhead)}): "
                  f"{pct(crit[0])} of the compute-optimal size",
                  f"smallest size that can reach the loss: {pct(k_min[0])}"]
    else:
        for i, c in enumerate(budgets):
            n, d, loss = (np.ravel(getattr(ref, a))[i] for a in ("params", "train_tokens",
                                                                  "loss"))
            lines += [f"at {flops(c)}: compute-optimal N = {fmt(n)}, D = {fmt(d)}, loss "
                      f"{fmt(loss, 5)}; critical size (overhead "
                      f"{pct(result.critical_overhead)}) {pct(crit[i])}, smallest size "
                      f"{pct(k_min[i])}"]
    coef = ", ".join(f"{name}={x:g}" for name, x in law.coefficients().items())
    lines.append(f"law {law.name}{_form(law)}: {coef}" if result.depends_on_budget else
                 f"law {law.name}{_form(law)}: alpha={law.coefficients()['alpha']:g}, "
                 f"beta={law.coefficients()['beta']:g} (the other coefficients do not matter)")
    from ..extrapolation import lines as extrapolation_lines

    lines += extrapolation_lines(result.extrapolation, law)
    lines += [f"note: {n}" for n in result.notes]
    lines.append("source: de Vries 2023, Go smol or go home"
                 + ("" if law.form == "chinchilla" else "; its definition on this law's "
                    "iso-loss contour"))
    for line in lines:
        console.print(line, highlight=False, soft_wrap=True)


def _form(law) -> str:
    """" (form NAME: formula)" for a law of another form than the Chinchilla form."""
    if law.form == "chinchilla":
        return ""
    return f" (form {law.form}: {law.shape.formula})"
