"""`computeplan model`: the Chinchilla calculator."""

from __future__ import annotations

from typing import Annotated

import typer

from .app import CoefA, CoefAlpha, CoefB, CoefBeta, CoefE, JsonFlag, LawName, command, emit


@command("model")
def model(
    compute: Annotated[float | None, typer.Option("--compute", help="Training FLOPs C.")] = None,
    params: Annotated[float | None, typer.Option("--params", help="Parameters N.")] = None,
    tokens: Annotated[float | None, typer.Option("--tokens", help="Training tokens D.")] = None,
    loss: Annotated[float | None, typer.Option("--loss", help="Target loss.")] = None,
    chinchilla: Annotated[bool, typer.Option("--chinchilla", help="The compute-optimal model "
                                             "fixed by one quantity.")] = False,
    law: LawName = "sardana2024",
    E: CoefE = None, A: CoefA = None, B: CoefB = None, alpha: CoefAlpha = None,
    beta: CoefBeta = None,
    unique_tokens: Annotated[float | None, typer.Option(
        "--unique-tokens", help="Unique training tokens: repeated epochs count less (Muennighoff "
        "et al. 2023) \\[default: unlimited].", rich_help_panel="Data limit")] = None,
    rd_star: Annotated[float | None, typer.Option(
        "--rd-star", help="Override R_D* (repeated tokens) \\[default: the law's, 15.39].",
        rich_help_panel="Data limit")] = None,
    rn_star: Annotated[float | None, typer.Option(
        "--rn-star", help="Override R_N* (excess parameters) \\[default: the law's, 5.31].",
        rich_help_panel="Data limit")] = None,
    as_json: JsonFlag = False,
):
    """Chinchilla calculator: the model fixed by what you give.

    [b]--chinchilla[/b] with one of --compute/--params/--tokens/--loss gives the compute-optimal
    model; two of --compute/--params/--tokens give the third and the loss; --loss with --params
    (or --tokens) gives the tokens (or parameters) needed.

    hoffmann2022 and sardana2024 differ only in the rounding of the exponents (alpha 0.34 vs
    0.336, beta 0.28 vs 0.283), yet at 1e24 FLOPs the compute-optimal model is 41.3B params on
    4.04T tokens under hoffmann2022 and 53.7B on 3.10T under sardana2024: 30% larger. The
    optimum is that sensitive to the exponents, a first taste of the law's uncertainty.

    Example: computeplan model --params 70e9 --tokens 1e12 --law sardana2024
    """
    from ..commands.model import model as run

    report = run(compute=compute, params=params, tokens=tokens, loss=loss, chinchilla=chinchilla,
                 law=law, E=E, A=A, B=B, alpha=alpha, beta=beta, unique_tokens=unique_tokens,
                 rd_star=rd_star, rn_star=rn_star)
    emit(report, as_json, lambda console: _render(console, report))


def _render(console, report) -> None:
    from ..render import count, flops, fmt, table

    p, law = report.point, report.law
    rows = [["parameters N", count(p.params)], ["training tokens D", count(p.train_tokens)],
            ["tokens per parameter", count(p.tokens_per_param)],
            ["training FLOPs C = 6ND", flops(p.train_flops)], ["loss", fmt(p.loss, 5)]]
    dl = report.data_limit
    if dl is not None:
        rows += [["epochs over unique data", fmt(dl.epochs, 3)],
                 ["effective tokens D'", count(dl.effective_tokens)],
                 ["effective parameters N'", count(dl.effective_params)],
                 ["loss with unlimited unique data", fmt(dl.unlimited_loss, 5)]]
    title = "Chinchilla-optimal model" if report.chinchilla_optimal else "Model"
    if dl is not None:
        title += f" on {count(dl.unique_tokens)} unique tokens"
    console.print(table(title, ["quantity", "value"], rows))
    form = "" if law.form == "chinchilla" else f" (form {law.form}: {law.shape.formula})"
    console.print(f"law {law.name}{form}: " + ", ".join(f"{k}={v:g}" for k, v in
                                                  law.coefficients().items()),
                  highlight=False, soft_wrap=True)
    from ..extrapolation import lines

    for line in lines(report.extrapolation, law):
        console.print(line, highlight=False, soft_wrap=True)
    if dl is not None:
        console.print(f"data limit (Muennighoff et al. 2023, R_D* = {dl.rd_star:.4g}, R_N* = "
                      f"{dl.rn_star:.4g}): repeated tokens and parameters beyond "
                      f"{count(dl.base_params)} count less; the lowest loss reachable with "
                      f"{count(dl.unique_tokens)} unique tokens is "
                      f"{fmt(dl.lowest_reachable_loss, 5)}", highlight=False, soft_wrap=True)
        for w in dl.warnings:
            console.print(f"warning: {w}", highlight=False, soft_wrap=True)
        if dl.repetition_assumed:
            from ..data_limits import ASSUMED_NOTE
            from ..vocabulary import option

            console.print(f"note: assumed {' and '.join(map(option, dl.repetition_assumed))}: "
                          f"{ASSUMED_NOTE}", highlight=False, soft_wrap=True)
