"""Running a sweep: check the spec, fix the output columns, stream blocks through a backend."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..files import check_output
from ..vocabulary import option
from .backends import backend as make_backend
from .block import Job, Task, _group_error, _placeholder, run_block
from .options import PLACEHOLDERS, VECTOR_OPTIONS, string_options
from .output import Staging, fmt_of, sweep_hash
from .reduce import Merger, fibre_span, normalise
from .spec import COEFFICIENT_OPTIONS, REPLICATE, ScenarioReader, SweepSpec, build_spec

_HARDWARE = ("objective", "train_gpu", "train_dtype", "train_usd_per_gpu_hour", "train_mfu",
             "inference_gpu", "inference_dtype", "inference_usd_per_gpu_hour", "prefill_mfu",
             "decode_mfu", "decode_model", "batch", "context", "kv_dtype", "gqa_ratio",
             "bandwidth_fraction", "compute_fraction", "gpu_file", "budget_usd")


def _possible(spec: SweepSpec, name: str) -> set | None:
    """The values option ``name`` may take in the sweep, or None when rows may set anything."""
    for a in spec.axes:
        if a.name == name:
            return set(a.values)
    if spec.scenarios is not None and name in spec.scenarios.columns:
        return None
    return {spec.defaults.get(name)}


def _law_for_placeholders(spec: SweepSpec) -> str | None:
    law = _possible(spec, "law")
    return sorted(law, key=str)[0] if law and None not in law else None


def output_columns(spec: SweepSpec) -> list[tuple[str, str]]:
    """The flattened plan JSON fields any row of the sweep can have (``num`` or ``str``),
    from plans of typical values for each kind of plan the sweep's options allow."""
    names = set(spec.names)
    objectives = _possible(spec, "objective")
    decode = _possible(spec, "decode_model")
    any_objective = objectives is None
    hardware = bool(names & set(_HARDWARE))
    kinds = []
    if any_objective or "flops" in objectives or (None in objectives and not hardware):
        kinds.append({"objective": "flops"})
    if any_objective or "usd" in objectives or (None in objectives and hardware):
        if decode is None or "roofline" in decode:
            kinds.append({"objective": "usd", "decode_model": "roofline"})
        if decode is None or decode - {"roofline"}:
            kinds.insert(0, {"objective": "usd"})
    targets = [t for t in ("budget_flops", "budget_usd") if t in names]
    if not targets or names & {"loss", "reference_params"}:
        targets.insert(0, "loss")
    split = bool(names & {"requests", "users"}) or hardware
    law = _law_for_placeholders(spec)
    columns: dict[str, str] = {}
    for kind in kinds:
        for target in targets:
            if (target == "budget_flops") != (kind["objective"] == "flops") and (
                    target != "loss"):
                continue
            kw = dict(kind, law=law) if law is not None else dict(kind)
            kw[target] = _placeholder(target, kw)
            if split or kind["objective"] == "usd":
                kw |= {k: PLACEHOLDERS[k] for k in ("requests", "input_tokens", "output_tokens")}
            if "unique_tokens" in names:  # the plan's data_limit block
                kw["unique_tokens"] = PLACEHOLDERS["unique_tokens"]
            from .block import _flatten, _plan

            report = _plan(kw, {})
            for key, value in _flatten(report.to_dict()):
                if key not in names and key not in columns:
                    columns[key] = "str" if isinstance(value, str) else "num"
    return list(columns.items())


def check_spec(spec: SweepSpec) -> None:
    """Options that conflict for every scenario with some axis value are the spec's error."""
    fixed = [a for a in spec.axes if a.name not in VECTOR_OPTIONS and a.name != REPLICATE]
    vector = tuple(sorted({a.name for a in spec.axes if a.name in VECTOR_OPTIONS}))
    base = dict(spec.defaults) | {a.name: a.values[0] for a in fixed}
    if spec.replicates:  # the law's first replicate stands for all of them
        base |= dict(zip(COEFFICIENT_OPTIONS, spec.replicates[0], strict=True))
    trials = [({}, base)]
    for a in fixed:
        for value in a.values[1:]:
            trials.append(({a.name: value}, base | {a.name: value}))
    for varied, scalars in trials:
        message = _group_error(tuple(sorted(scalars.items())), vector)
        if message is not None:
            shown = {k: v for k, v in scalars.items() if k in string_options()
                     or k not in VECTOR_OPTIONS}
            where = ", ".join(f"{k}={v}" for k, v in (varied or shown).items())
            raise InputError(f"incompatible options in the sweep"
                             f"{f' ({where})' if where else ''}: {message}")


def make_job(spec: SweepSpec, *, rows: bool) -> Job:
    check_spec(spec)
    outputs = tuple(output_columns(spec))
    numeric = [k for k, kind in outputs if kind == "num"]
    red = normalise(spec.reductions, numeric=numeric, spec=spec)
    span = fibre_span(red)
    if span > 4 * max(spec.block_size, 1) and span > 1_000_000:
        raise InputError(f"reductions argmin axis {red['argmin']['axis']!r} compares scenarios "
                         f"{span} apart; list it later among the axes (nearer the end)")
    block = max(span, spec.block_size // span * span)
    return Job(spec=spec, inputs=spec.names, outputs=outputs, rows=rows, reductions=red,
               block_size=block)


def schema(job: Job):
    import pyarrow as pa

    fields = [pa.field(n, pa.string() if n in string_options() else pa.float64())
              for n in job.inputs]
    fields.append(pa.field("error", pa.string()))
    fields += [pa.field(n, pa.string() if k == "str" else pa.float64()) for n, k in job.outputs]
    return pa.schema(fields)


@dataclass(frozen=True)
class SweepResult:
    """What a sweep did: its summary (the merged reductions), where the rows went, how many
    blocks ran now and how many a resume skipped, the backend and the wall time."""

    summary: dict
    out: Path | None
    summary_path: Path | None
    scenarios: int
    blocks: int
    blocks_run: int
    blocks_skipped: int
    backend: str
    workers: int
    seconds: float

    def to_dict(self) -> dict:
        return {"summary": self.summary, "out": None if self.out is None else str(self.out),
                "summary_file": None if self.summary_path is None else str(self.summary_path),
                "scenarios": self.scenarios, "blocks": self.blocks,
                "blocks_run": self.blocks_run, "blocks_skipped": self.blocks_skipped,
                "backend": self.backend, "workers": self.workers, "seconds": self.seconds}


def _tasks(job: Job, skip: set[int]):
    reader = ScenarioReader(job.spec.scenarios) if job.spec.scenarios is not None else None
    for i in range(job.blocks()):
        if i in skip:
            continue
        csv = reader.take(*job.csv_rows(i)) if reader is not None else None
        yield Task(i, csv)


def run(spec: SweepSpec, *, out: Path | None = None, summary: Path | None = None,
        workers: int | None = None, scheduler: str | None = None, resume: bool = False,
        overwrite: bool = False, on_block: Callable[[int, int, int], None] | None = None,
        block_fn: Callable = run_block) -> SweepResult:
    """Run ``spec``; ``on_block(done, total, scenarios_done)`` is called after each block."""
    t0 = time.perf_counter()
    rows_format = fmt_of(out)
    job = make_job(spec, rows=out is not None)
    table_schema = schema(job) if out is not None else None
    import json as _json

    if summary is not None and summary.suffix.lower() != ".json":
        raise InputError(f"{option('summary')} {str(summary)!r}: the summary file must end in "
                         ".json")
    outputs = [p for p in (out, summary) if p is not None]
    inputs = [spec.scenarios.path] if spec.scenarios is not None else []
    for name, path in (("out", out), ("summary", summary)):
        if path is not None:  # before any work: a directory, a missing folder, an input
            check_output(path, flag=option(name), inputs=inputs)
    target = outputs[0] if outputs else None
    staging = None
    done: set[int] = set()
    if target is not None:
        digest = sweep_hash(spec.fingerprint() | {"rows": rows_format, "summary":
                                                  summary is not None})
        staging = Staging(target, digest, job.blocks(), rows_format, reductions=True)
        done = staging.open(resume=resume, overwrite=overwrite, outputs=outputs)
    elif resume or overwrite:
        raise InputError(f"{option('resume')} and {option('overwrite')} need {option('out')} "
                         f"or {option('summary')}")

    be = make_backend(workers=workers, scheduler=scheduler)
    merger = Merger(job.reductions)
    pending: dict[int, dict] = {}
    next_merge = 0
    total = job.blocks()
    finished = len(done)
    scenarios_done = sum(job.bounds(i)[1] - job.bounds(i)[0] for i in done)
    if on_block is not None and done:
        on_block(finished, total, scenarios_done)

    def merge_ready():
        nonlocal next_merge
        while next_merge < total:
            if next_merge in pending:
                merger.add(pending.pop(next_merge))
            elif next_merge in done:
                merger.add(staging.load_partial(next_merge))
            else:
                return
            next_merge += 1

    try:
        merge_ready()
        for result in be.map(block_fn, job, _tasks(job, done)):
            if staging is not None:
                staging.write(result, table_schema)
            pending[result.index] = result.partial
            finished += 1
            start, stop = job.bounds(result.index)
            scenarios_done += stop - start
            merge_ready()
            if on_block is not None:
                on_block(finished, total, scenarios_done)
    finally:
        be.close()
    merge_ready()
    result_summary = merger.summary()
    if staging is not None:
        staging.assemble(out, table_schema)
        if summary is not None:
            from ..files import write_atomic

            write_atomic(summary, _json.dumps(result_summary, indent=2, allow_nan=False) + "\n",
                         flag=option("summary"))
        staging.remove()
    return SweepResult(result_summary, out, summary, spec.size, total, total - len(done),
                       len(done), be.name, be.workers, time.perf_counter() - t0)


def sweep(spec: str | Path | dict | None = None, *, scenarios: str | Path | None = None,
          out: str | Path | None = None, summary: str | Path | None = None,
          reductions: dict | None = None, block_size: int | None = None,
          workers: int | None = None, scheduler: str | None = None, resume: bool = False,
          overwrite: bool = False, on_block: Callable[[int, int, int], None] | None = None,
          **plan_options) -> SweepResult:
    """Run a scenario sweep: every scenario is one ``plan`` (see :mod:`computeplan.sweep`).

    ``spec`` is a spec file (JSON or YAML) or its contents as a dict; ``scenarios`` a CSV with
    one scenario per row (columns are plan options); ``plan_options`` are defaults for every
    row (e.g. ``law="hoffmann2022"``). ``out`` (``.parquet`` or ``.csv``) receives one row per
    scenario, in order; ``summary`` (``.json``) the merged reductions, also returned.
    ``workers=N`` runs on a local Dask cluster, ``scheduler="tcp://host:8786"`` on an existing
    one. An existing output needs ``overwrite``; an interrupted sweep continues with ``resume``.
    """
    built = build_spec(spec, scenarios=scenarios, defaults=plan_options, block_size=block_size,
                       reductions=reductions)
    return run(built, out=None if out is None else Path(out),
               summary=None if summary is None else Path(summary), workers=workers,
               scheduler=scheduler, resume=resume, overwrite=overwrite, on_block=on_block)
