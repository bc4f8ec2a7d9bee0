"""`computeplan sweep`: one plan per scenario, streamed in blocks, on one machine or a Dask cluster.

Every `plan` option is also an option here, a default for every row (a row's own value wins);
the options are taken from the `plan` command itself, so the two never drift apart. Those of one
plan only (--uncertainty, --level, --confidence, the --*-range options) are hidden and refused.
"""

from __future__ import annotations

import inspect
import sys
import typing
from pathlib import Path
from typing import Annotated

import typer

from ..commands.plan import SINGLE_PLAN_OPTIONS, PlanOptions
from ..vocabulary import flag
from . import plan as plan_cli
from .app import command, emit, options_from_cli
from .progress import progress_for

_S = "Sweep"


def _opt(flag: str, help_: str):
    return typer.Option(flag, help=help_, rich_help_panel=_S)


def sweep(**options):
    """Run one plan per scenario of a spec and/or a CSV of scenarios, streamed in blocks.

    Rows go to --out (Parquet or CSV, one per scenario, in order: the inputs, an error column
    and the plan JSON fields flattened with dots); reductions from the spec (counts, means,
    quantiles, argmin over an axis, probability of a saving) are merged per block and printed
    or written to --summary. Any plan option is a default for every row (but those of one plan,
    its uncertainty and ranges: a replicate axis plans every coefficient replicate).
    Exit status 1 if no scenario was planned (every one has an error; the rows are written).

    Example: computeplan sweep --scenarios scenarios.csv --out plans.parquet --law hoffmann2022
    """
    from ..commands.sweep import sweep as run

    own = {k: options.pop(k) for k in _OWN}
    plan_options = {k: (str(v) if isinstance(v, Path) else v)
                    for k, v in options_from_cli(PlanOptions, options).given().items()}
    progress = progress_for("blocks", own["as_json"])
    try:
        result = run(own["spec"], scenarios=own["scenarios"], out=own["out"],
                     summary=own["summary"], block_size=own["block_size"],
                     workers=own["workers"], scheduler=own["scheduler"], resume=own["resume"],
                     overwrite=own["overwrite"],
                     on_block=(lambda done, total, scenarios: progress.update(
                         done, total, f"{scenarios:,} scenarios")) if progress else None,
                     **plan_options)
    finally:
        if progress:
            progress.stop()
    emit(result, own["as_json"], lambda console: _render(console, result))
    if result.summary["ok"] == 0:
        print(f"warning: no scenario was planned; {result.summary['errors']:,} with an error",
              file=sys.stderr)
        raise typer.Exit(1)


def _param(name: str, annotation, flag: str, help_: str, default=None) -> inspect.Parameter:
    """A keyword-only parameter of the sweep's own options (not a plan option)."""
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                             annotation=Annotated[annotation, _opt(flag, help_)])


_OWN_PARAMS = [
    inspect.Parameter("spec", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[
        Path | None, typer.Argument(help="Spec file (JSON, or YAML): axes, scenarios CSV, "
                                         "defaults, reductions, block_size.")]),
    _param("scenarios", Path | None, "--scenarios", "CSV of scenarios: one per row, columns "
           "are plan options (API names: loss, requests, train_gpu, ...)."),
    _param("out", Path | None, "--out", "Rows file, .parquet or .csv (one row per scenario)."),
    _param("summary", Path | None, "--summary", "Write the merged reductions to this .json "
           "file."),
    _param("block_size", int | None, "--block-size", "Scenarios per block \\[default: 65536]."),
    _param("workers", int | None, "--workers", "Run on a local Dask cluster of N worker "
           "processes (needs computeplan\\[dask])."),
    _param("scheduler", str | None, "--scheduler", "Run on the Dask cluster at ADDRESS "
           "(tcp://host:8786)."),
    _param("resume", bool, "--resume", "Continue an interrupted sweep (same spec and "
           "options); blocks already written are skipped.", default=False),
    _param("overwrite", bool, "--overwrite", "Replace existing outputs (and any interrupted "
           "sweep's blocks).", default=False),
    inspect.Parameter("as_json", inspect.Parameter.KEYWORD_ONLY, default=False,
                      annotation=Annotated[bool, typer.Option(
                          "--json", help="Print the summary and run figures as JSON.")]),
]
_OWN = tuple(p.name for p in _OWN_PARAMS)


def _plan_params() -> list[inspect.Parameter]:
    """The plan command's options, each defaulting to 'not given'; those of one plan only
    (uncertainty, ranges) are hidden, and refused with a message saying so."""
    params = inspect.signature(plan_cli.plan, eval_str=True).parameters.values()
    return [p.replace(kind=inspect.Parameter.KEYWORD_ONLY, default=None,
                      annotation=_hidden(p) if p.name in SINGLE_PLAN_OPTIONS else p.annotation)
            for p in params if p.name not in plan_cli.CLI_ONLY]


def _hidden(p: inspect.Parameter):
    return Annotated[typing.get_args(p.annotation)[0], typer.Option(flag(p.name), hidden=True)]


sweep.__signature__ = inspect.Signature(_OWN_PARAMS + _plan_params())
sweep = command("sweep")(sweep)


def _render(console, result) -> None:
    from ..render import fmt, quantity, table

    s = result.summary
    rate = result.scenarios / result.seconds if result.seconds > 0 else float("inf")
    lines = [f"{s['scenarios']:,} scenarios: {s['ok']:,} planned, {s['errors']:,} with an error; "
             f"{result.blocks_run} of {result.blocks} blocks run"
             + (f" ({result.blocks_skipped} already done)" if result.blocks_skipped else "")
             + f" on {result.backend} ({result.workers} worker"
             + ("s" if result.workers != 1 else "") + f") in {result.seconds:.2f} s "
             f"({fmt(rate, 3)} scenarios/s)"]
    if "first_error" in s:
        lines.append(f"first error (scenario {s['first_error']['index']}): "
                     f"{s['first_error']['error']}")
    if result.out is not None:
        lines.append(f"rows: {result.out}")
    if result.summary_path is not None:
        lines.append(f"summary: {result.summary_path}")
    for line in lines:
        console.print(line, highlight=False, soft_wrap=True)
    rows = [[f"mean {k}", quantity(k, v)] for k, v in s.get("mean", {}).items()]
    q = s.get("quantiles")
    if q:
        for col in (k for k in q if k not in ("method", "q")):
            rows += [[f"{col} q{x:g}", quantity(col, v)]
                     for x, v in zip(q["q"], q[col], strict=True)]
    a = s.get("argmin")
    if a:
        rows += [[f"best {a['axis']} by {a['of']}: {k}", f"{fmt(v, 3) if v is not None else '-'}"]
                 for k, v in a["share"].items()]
    sv = s.get("saving_exceeds")
    if sv:
        rows += [[f"P({sv['saving']} > {x})", fmt(p, 3) if p is not None else "-"]
                 for x, p in sv["probability"].items()]
    if rows:
        caption = q["method"] if q else None
        console.print(table("Reductions", ["", "value"], rows, caption=caption))
