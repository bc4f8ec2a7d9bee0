"""`computeplan model`: the Chinchilla calculator."""

from __future__ import annotations

from typing import Annotated

import typer

from .app import CoefA, CoefAlpha, CoefB, CoefBeta, CoefE, JsonFlag, LawName, command, emit, fail
from .app import resolve_law


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
    as_json: JsonFlag = False,
):
    """Chinchilla calculator: the model fixed by what you give.

    [b]--chinchilla[/b] with one of --compute/--params/--tokens/--loss gives the compute-optimal
    model; two of --compute/--params/--tokens give the third and the loss; --loss with --params
    (or --tokens) gives the tokens (or parameters) needed.

    Example: computeplan model --params 70e9 --tokens 1e12 --law sardana2024
    """
    from ..render import fmt, table

    the_law = resolve_law(law, E, A, B, alpha, beta)
    given = {k: val for k, val in dict(compute=compute, params=params, tokens=tokens,
                                       loss=loss).items() if val is not None}
    if chinchilla:
        if len(given) != 1:
            fail(f"--chinchilla takes exactly one of --compute/--params/--tokens/--loss; got "
                 f"{len(given)} ({', '.join('--' + k for k in given) or 'none'})")
        point = the_law.compute_optimal(train_flops=compute, params=params, train_tokens=tokens,
                                        loss=loss)
    elif set(given) == {"loss", "params"}:
        point = the_law._point(params, the_law.tokens_for_loss(loss, params))
    elif set(given) == {"loss", "tokens"}:
        point = the_law._point(the_law.params_for_loss(loss, tokens), tokens)
    elif len(given) == 2 and "loss" not in given:
        point = the_law.complete(train_flops=compute, params=params, train_tokens=tokens)
    else:
        fail("give --chinchilla with one of --compute/--params/--tokens/--loss, two of "
             "--compute/--params/--tokens, or --loss with --params or --tokens; got "
             f"{', '.join('--' + k for k in given) or 'nothing'}")
    result = {"law": the_law.coefficients() | {"name": the_law.name},
              "chinchilla_optimal": chinchilla} | point.to_dict()

    def render(console):
        rows = [["parameters N", fmt(point.params)], ["training tokens D", fmt(point.train_tokens)],
                ["tokens per parameter", fmt(point.tokens_per_param)],
                ["training FLOPs C = 6ND", fmt(point.train_flops)], ["loss", fmt(point.loss, 5)]]
        title = "Chinchilla-optimal model" if chinchilla else "Model"
        console.print(table(title, ["quantity", "value"], rows))
        console.print(f"law {the_law.name}: " + _law_text(the_law), highlight=False,
                      soft_wrap=True)

    emit(result, as_json, render)


def _law_text(law) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in law.coefficients().items())
