"""`computeplan gpus`, `computeplan train`, `computeplan serve`: hardware, training and serving."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..defaults import (
    ADAM_MIXED_PRECISION_BYTES_PER_PARAM,
    DEFAULT_ASPECT_RATIO,
    DEFAULT_BANDWIDTH_FRACTION,
    DEFAULT_COMPUTE_FRACTION,
    DEFAULT_CONTEXT,
    DEFAULT_MAX_GPUS,
    DEFAULT_MEMORY_FRACTION,
    DEFAULT_TRAIN_MFU,
)
from .app import GpuFile, JsonFlag, Output, command, emit, merge_old, old_spelling

_S = "Model shape (default: estimated from --params)"
_A = "Assumptions"


def _opt(flag: str, help_: str, panel: str | None = None):
    return typer.Option(flag, help=help_, rich_help_panel=panel)


@command("gpus")
def gpus(gpu_file: GpuFile = None, as_json: JsonFlag = False):
    """The GPU catalog: memory, bandwidth, dense peak TFLOP/s per dtype, dated on-demand prices.

    Example: computeplan gpus --gpu-file my_gpus.toml
    """
    from ..commands.gpus import gpus as run

    report = run(gpu_file=gpu_file)
    emit(report, as_json, lambda console: _render_gpus(console, report))


def _render_gpus(console, report) -> None:
    from ..render import fmt, table, usd

    def peak(g, dtype):
        return fmt(g.peak_flops[dtype] / 1e12) if dtype in g.peak_flops else "-"

    dtypes = ("bf16", "fp8", "int8")
    rows = [[g.name, fmt(g.memory_bytes / 1e9), fmt(g.bandwidth_bytes_per_s / 1e9),
             *(peak(g, d) for d in dtypes), usd(g.usd_per_gpu_hour), g.price_date]
            for g in report.gpus]
    console.print(table("GPU catalog (dense peak TFLOP/s)",
                        ["GPU", "GB", "GB/s", *dtypes, "$/h", "price date"], rows,
                        caption="All dtypes, descriptions, datasheets and price sources: "
                                "computeplan gpus --json"))


@command("train")
def train(
    params: Annotated[float, _opt("--params", "Parameters N.")],
    tokens: Annotated[float, _opt("--tokens", "Training tokens D.")],
    gpu: Annotated[str, _opt("--gpu", "GPU name or alias (see computeplan gpus).")] = "h100-sxm",
    gpus: Annotated[float, _opt("--gpus", "Number of GPUs K (for the wall-clock time).")] = 1,
    mfu: Annotated[float | None, _opt("--mfu", "Model FLOPs utilisation in (0, 1] "
                                      f"\\[default: {DEFAULT_TRAIN_MFU:g}].", _A)] = None,
    gpu_hours: Annotated[float | None, _opt(
        "--gpu-hours", "Actual GPU-hours of the run: report the MFU they imply.", _A)] = None,
    dtype: Annotated[str, _opt("--dtype", "Training dtype (peak FLOP/s).", _A)] = "bf16",
    usd_per_gpu_hour: Annotated[float | None, _opt(
        "--usd-per-gpu-hour", "$ per GPU-hour \\[default: catalog price].", _A)] = None,
    usd_per_hour: Annotated[float | None, old_spelling("usd_per_hour")] = None,
    bytes_per_param: Annotated[float, _opt(
        "--bytes-per-param", "Training state bytes per parameter (mixed-precision Adam: "
        f"{ADAM_MIXED_PRECISION_BYTES_PER_PARAM:g}).", _A)] = ADAM_MIXED_PRECISION_BYTES_PER_PARAM,
    attention: Annotated[bool, _opt("--attention", "Add the attention FLOPs "
                                    "6 layers context d_attn per token.", _S)] = False,
    context: Annotated[float | None, _opt("--context", "Sequence length for --attention "
                                          f"\\[default: {DEFAULT_CONTEXT:g}].", _S)] = None,
    layers: Annotated[float | None, _opt("--layers", "Layers (with --attention).", _S)] = None,
    d_model: Annotated[float | None, _opt("--d-model", "Width (with --attention).", _S)] = None,
    heads: Annotated[float | None, _opt("--heads", "Attention heads (with --attention).", _S)]
        = None,
    gpu_file: GpuFile = None,
    as_json: JsonFlag = False,
):
    """Training cost: FLOPs (6ND), GPU-hours, wall-clock days, dollars, memory for Adam state.

    Give --mfu to predict GPU-hours, or --gpu-hours (actual) to get the implied MFU.

    Example: computeplan train --params 7e9 --tokens 2e12 --gpu a100-80gb --gpus 2048
    --gpu-hours 184320
    """
    from ..commands.train import train as run

    price = merge_old("usd_per_hour", usd_per_hour, "usd_per_gpu_hour", usd_per_gpu_hour)
    result = run(params=params, tokens=tokens, gpu=gpu, gpus=gpus, mfu=mfu, gpu_hours=gpu_hours,
                 dtype=dtype, usd_per_gpu_hour=price, attention=attention, context=context,
                 layers=layers, d_model=d_model, heads=heads, bytes_per_param=bytes_per_param,
                 gpu_file=gpu_file)
    emit(result, as_json, lambda console: _render_train(console, result))


def _render_train(console, r) -> None:
    from ..render import count, flops, fmt, integer, table, usd

    flops_label = "training FLOPs 6ND" + (" + attention" if r.attention else "")
    rows = [["parameters N", count(r.params)], ["training tokens D", count(r.tokens)],
            [flops_label, flops(r.train_flops)],
            ["implied MFU" if r.implied_mfu is not None else "MFU (assumed)", fmt(r.mfu, 3)],
            ["GPU-hours", count(r.gpu_hours)], [f"wall-clock days on {integer(r.gpus)} GPUs",
                                                fmt(r.wall_clock_days)],
            ["cost", usd(r.cost_usd)],
            [f"training state (Adam, {r.bytes_per_param:g} B/param)",
             f"{fmt(r.state_bytes / 1e9)} GB"],
            ["min GPUs to hold the state", integer(r.min_gpus_for_state)]]
    console.print(table(f"Training on {r.gpu.name} ({r.dtype})", ["quantity", "value"], rows))
    console.print(f"assumed: peak {r.gpu.peak(r.dtype) / 1e12:g} TFLOP/s per GPU, "
                  f"${r.usd_per_gpu_hour:g}/GPU-hour; activations not counted in the memory",
                  highlight=False, soft_wrap=True)
    for w in r.warnings:
        console.print(f"warning: {w}", highlight=False, soft_wrap=True)


@command("serve")
def serve(
    params: Annotated[float | None, _opt("--params", "Parameters N.")] = None,
    gpu: Annotated[str, _opt("--gpu", "GPU name or alias (see computeplan gpus).")] = "h100-sxm",
    dtype: Annotated[str | None, _opt("--dtype", "Weights/compute dtype: fp16, bf16, fp8, int8, "
                                      "... \\[default: the GPU's best: fp8, else int8, bf16, "
                                      "fp16; as plan assumes].")] = None,
    batch: Annotated[float | None, _opt("--batch", "Concurrent sequences (>= 1) \\[default: 1, "
                                        "the costliest case per token].")] = None,
    context: Annotated[float | None, _opt("--context", "Tokens per sequence in the KV cache "
                                          f"\\[default: {DEFAULT_CONTEXT:g}].")] = None,
    gpus: Annotated[float | None, _opt("--gpus", "GPUs per replica \\[default: the fewest that "
                                       "fit].")] = None,
    max_gpus: Annotated[float, _opt("--max-gpus", "Largest replica allowed (one node).")]
        = DEFAULT_MAX_GPUS,
    kv_dtype: Annotated[str | None, _opt("--kv-dtype", "KV-cache dtype \\[default: --dtype].", _A)]
        = None,
    layers: Annotated[float | None, _opt("--layers", "Transformer layers.", _S)] = None,
    d_model: Annotated[float | None, _opt("--d-model", "Model width.", _S)] = None,
    heads: Annotated[float | None, _opt("--heads", "Attention (query) heads.", _S)] = None,
    kv_heads: Annotated[float | None, _opt("--kv-heads", "KV heads (GQA/MQA) "
                                           "\\[default: heads].", _S)] = None,
    vocab: Annotated[float | None, _opt("--vocab", "Vocabulary size (reported only).", _S)]
        = None,
    aspect_ratio: Annotated[float, _opt("--aspect-ratio", "d_model / layers for the estimated "
                                        "shape.", _S)] = DEFAULT_ASPECT_RATIO,
    bandwidth_fraction: Annotated[float, _opt("--bandwidth-fraction", "Achievable fraction "
                                              "of the memory bandwidth.", _A)]
        = DEFAULT_BANDWIDTH_FRACTION,
    compute_fraction: Annotated[float, _opt("--compute-fraction", "Achievable fraction of "
                                            "peak FLOP/s.", _A)] = DEFAULT_COMPUTE_FRACTION,
    memory_fraction: Annotated[float, _opt("--memory-fraction", "Usable fraction of GPU "
                                           "memory.", _A)] = DEFAULT_MEMORY_FRACTION,
    usd_per_gpu_hour: Annotated[float | None, _opt(
        "--usd-per-gpu-hour", "$ per GPU-hour \\[default: catalog price].", _A)] = None,
    usd_per_hour: Annotated[float | None, old_spelling("usd_per_hour")] = None,
    plot: Annotated[Path | None, _opt("--plot", "Write a PNG of throughput and cost versus "
                                      "batch size to this path.")] = None,
    gpu_file: GpuFile = None,
    as_json: JsonFlag = False,
):
    """Serving: weight and KV-cache memory, GPUs, roofline decode latency, tokens/s, $/M tokens.

    Example: computeplan serve --params 70e9 --gpu h100 --dtype fp8 --batch 32 --context 4096
    --layers 80 --d-model 8192 --heads 64 --kv-heads 8
    """
    from ..commands.serve import batch_sweep
    from ..commands.serve import serve as run

    plot_out = Output("--plot", plot, inputs=[gpu_file])
    price = merge_old("usd_per_hour", usd_per_hour, "usd_per_gpu_hour", usd_per_gpu_hour)
    report = run(params=params, gpu=gpu, dtype=dtype, batch=batch, context=context, gpus=gpus,
                 max_gpus=max_gpus, kv_dtype=kv_dtype, layers=layers, d_model=d_model,
                 heads=heads, kv_heads=kv_heads, vocab=vocab, aspect_ratio=aspect_ratio,
                 bandwidth_fraction=bandwidth_fraction, compute_fraction=compute_fraction,
                 memory_fraction=memory_fraction, usd_per_gpu_hour=price,
                 gpu_file=gpu_file)
    if plot is not None:
        from ..plots.serving import throughput_and_cost

        throughput_and_cost(batch_sweep(report), plot)
        plot_out.written()
    emit(report, as_json, lambda console: _render_serve(console, report, plot))


def _render_serve(console, report, plot) -> None:
    from ..render import count, fmt, integer, table, usd

    e, hw = report.estimate, report.estimate.hardware
    crit = float(e.critical_batch)
    rows = [
        ["parameters N", count(e.shape.params)],
        ["shape (layers, d_model, heads, kv_heads)" + (" est." if e.shape.estimated else ""),
         f"{integer(e.shape.layers)}, {integer(e.shape.d_model)}, {integer(e.shape.heads)}, "
         f"{integer(e.shape.kv_heads)}"],
        [f"weights ({hw.dtype})", f"{fmt(e.weight_bytes / 1e9)} GB"],
        [f"KV cache per token ({hw.kv_dtype})",
         f"{fmt(e.kv_cache_bytes_per_token / 1e6)} MB"],
        [f"KV cache per sequence ({count(e.context)} tokens)",
         f"{fmt(e.kv_cache_bytes_per_sequence / 1e9)} GB"],
        ["min GPUs (weights + one sequence)", integer(e.min_gpus)],
        ["GPUs in the replica", integer(e.gpus)],
        ["max batch beside the weights", integer(e.max_batch)],
        ["batch", count(e.batch)],
        ["decode step (s per token per sequence)", fmt(e.decode_seconds_per_token)],
        ["decode bound", "compute" if bool(e.compute_bound) else "memory"],
        ["compute-bound from batch", count(crit) if crit != float("inf") else "never (KV reads)"],
        ["generated tokens/s (replica)", fmt(e.tokens_per_second)],
        ["generated tokens/s per GPU", fmt(e.tokens_per_second_per_gpu)],
        ["$ per million output tokens", usd(e.usd_per_million_output_tokens)],
        ["prefill time of the batch (s)", fmt(e.prefill_seconds)],
        ["$ per million input tokens", usd(e.usd_per_million_input_tokens)],
        ["decode / prefill MFU", f"{fmt(e.decode_mfu, 3)} / {fmt(e.prefill_mfu, 3)}"],
    ]
    for line in report.key_assumptions:  # the assumptions that move the answer most, first
        console.print(f"assumed {line}", highlight=False, soft_wrap=True)
    console.print(table(f"Serving on {hw.gpu.name} ({hw.dtype})", ["quantity", "value"], rows))
    console.print(
        f"assumed: ${hw.usd_per_gpu_hour:g}/GPU-hour, bandwidth x{hw.bandwidth_fraction:g} of "
        f"{hw.gpu.bandwidth_bytes_per_s / 1e9:g} GB/s, compute x{hw.compute_fraction:g} of "
        f"{hw.gpu.peak(hw.dtype) / 1e12:g} TFLOP/s, memory x{hw.memory_fraction:g} of "
        f"{hw.gpu.memory_bytes / 1e9:g} GB; perfect tensor parallelism",
        highlight=False, soft_wrap=True)
    for note in report.notes + ((f"plot written to {plot}",) if plot else ()):
        console.print(f"note: {note}", highlight=False, soft_wrap=True)
