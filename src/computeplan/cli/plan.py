"""`computeplan plan`: the inference-aware optimum beside the Chinchilla-optimal model."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from .app import (
    CoefA,
    CoefAlpha,
    CoefB,
    CoefBeta,
    CoefE,
    GpuFile,
    JsonFlag,
    LawName,
    command,
    emit,
)

_Q = "Target (one of)"
_D = "Demand (one form)"
_H = "Hardware and prices (dollar objective)"
_R = "Roofline inference cost (--decode-model roofline)"


class ObjectiveName(StrEnum):
    flops = "flops"
    usd = "usd"


class DecodeModel(StrEnum):
    mfu = "mfu"
    roofline = "roofline"


def _opt(flag: str, help_: str, panel: str):
    return typer.Option(flag, help=help_, rich_help_panel=panel)


@command("plan")
def plan(
    loss: Annotated[float | None, _opt("--loss", "Target loss (must exceed the law's E).", _Q)]
        = None,
    reference_params: Annotated[float | None, _opt(
        "--reference-params", "Target the loss of the Chinchilla-optimal model of this size.", _Q)]
        = None,
    budget_flops: Annotated[float | None, _opt(
        "--budget-flops", "Lifetime FLOPs budget: find the lowest reachable loss.", _Q)] = None,
    budget_usd: Annotated[float | None, _opt(
        "--budget-usd", "Lifetime dollar budget: find the lowest reachable loss.", _Q)] = None,
    inference_tokens: Annotated[float | None, _opt(
        "--inference-tokens", "Lifetime inference tokens (input + output).", _D)] = None,
    requests: Annotated[float | None, _opt("--requests", "Lifetime requests.", _D)] = None,
    users: Annotated[float | None, _opt("--users", "Users (with --requests-per-user-per-day "
                                        "and --days).", _D)] = None,
    requests_per_user_per_day: Annotated[float | None, _opt(
        "--requests-per-user-per-day", "Requests per user per day.", _D)] = None,
    days: Annotated[float | None, _opt("--days", "Days of service.", _D)] = None,
    input_tokens: Annotated[float | None, _opt(
        "--input-tokens", "Input (prompt) tokens per request.", _D)] = None,
    output_tokens: Annotated[float | None, _opt(
        "--output-tokens", "Output (generated) tokens per request.", _D)] = None,
    objective: Annotated[ObjectiveName | None, _opt(
        "--objective", "What to minimise; usd when any hardware option is given.", _H)] = None,
    train_gpu: Annotated[str | None, _opt("--train-gpu", "Training GPU \\[default: h100-sxm].", _H)]
        = None,
    train_dtype: Annotated[str | None, _opt("--train-dtype", "Training dtype \\[default: bf16].",
                                            _H)] = None,
    train_usd_per_hour: Annotated[float | None, _opt(
        "--train-usd-per-hour", "Training $ per GPU-hour \\[default: catalog price].", _H)] = None,
    train_mfu: Annotated[float | None, _opt("--train-mfu", "Training MFU in (0, 1] "
                                            "\\[default: 0.5].", _H)] = None,
    inference_gpu: Annotated[str | None, _opt(
        "--inference-gpu", "Inference GPU \\[default: h100-sxm].", _H)] = None,
    inference_dtype: Annotated[str | None, _opt(
        "--inference-dtype", "Inference dtype \\[default: fp8].", _H)] = None,
    inference_usd_per_hour: Annotated[float | None, _opt(
        "--inference-usd-per-hour", "Inference $ per GPU-hour \\[default: catalog price].", _H)]
        = None,
    prefill_mfu: Annotated[float | None, _opt("--prefill-mfu", "Prefill MFU \\[default: 0.5].", _H)]
        = None,
    decode_mfu: Annotated[float | None, _opt("--decode-mfu", "Decode MFU \\[default: 0.01].", _H)]
        = None,
    decode_model: Annotated[DecodeModel | None, _opt(
        "--decode-model", "mfu: fixed prefill/decode MFU; roofline: derive them from the "
        "inference GPU's bandwidth and FLOP/s at --batch and --context \\[default: mfu].", _R)]
        = None,
    batch: Annotated[float | None, _opt("--batch", "Concurrent sequences per replica "
                                        "\\[default: 64].", _R)] = None,
    context: Annotated[float | None, _opt("--context", "Tokens per sequence in the KV cache "
                                          "\\[default: input + output tokens per request].", _R)]
        = None,
    kv_dtype: Annotated[str | None, _opt("--kv-dtype", "KV-cache dtype \\[default: "
                                         "--inference-dtype].", _R)] = None,
    gqa_ratio: Annotated[float | None, _opt("--gqa-ratio", "Query heads per KV head (1 = "
                                            "multi-head attention) \\[default: 1].", _R)] = None,
    bandwidth_fraction: Annotated[float | None, _opt(
        "--bandwidth-fraction", "Achievable fraction of memory bandwidth \\[default: 0.7].", _R)]
        = None,
    compute_fraction: Annotated[float | None, _opt(
        "--compute-fraction", "Achievable fraction of peak FLOP/s \\[default: 0.5].", _R)] = None,
    gpu_file: GpuFile = None,
    law: LawName = "sardana2024",
    E: CoefE = None, A: CoefA = None, B: CoefB = None, alpha: CoefAlpha = None,
    beta: CoefBeta = None,
    as_json: JsonFlag = False,
):
    """Lifetime-optimal model size and training tokens for a target quality and demand.

    Minimises lifetime FLOPs (or dollars) of training + inference at a target loss (Sardana et
    al. 2024), or finds the lowest loss within a lifetime budget, and compares with the
    Chinchilla-optimal model. With no arguments: the quality of a Chinchilla-optimal 70B model
    served for 2e12 tokens.

    Example: computeplan plan --loss 1.947 --inference-tokens 2e12 --law sardana2024
    """
    from ..commands.plan import plan as run

    report = run(
        loss=loss, reference_params=reference_params, budget_flops=budget_flops,
        budget_usd=budget_usd, inference_tokens=inference_tokens, requests=requests, users=users,
        requests_per_user_per_day=requests_per_user_per_day, days=days,
        input_tokens=input_tokens, output_tokens=output_tokens,
        objective=objective.value if objective else None, train_gpu=train_gpu,
        train_dtype=train_dtype, train_usd_per_gpu_hour=train_usd_per_hour, train_mfu=train_mfu,
        inference_gpu=inference_gpu, inference_dtype=inference_dtype,
        inference_usd_per_gpu_hour=inference_usd_per_hour, prefill_mfu=prefill_mfu,
        decode_mfu=decode_mfu, decode_model=decode_model.value if decode_model else None,
        batch=batch, context=context, kv_dtype=kv_dtype, gqa_ratio=gqa_ratio,
        bandwidth_fraction=bandwidth_fraction, compute_fraction=compute_fraction,
        gpu_file=gpu_file, law=law, E=E, A=A, B=B, alpha=alpha, beta=beta)
    emit(report, as_json, lambda console: _render(console, report.comparison, report.notes,
                                                  report.serving, report.extrapolation))


def _render(console, result, notes, serving=None, extrapolation=None) -> None:
    from ..render import count, flops, fmt, quantity, ratio, table, usd

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
    if result.target_loss is not None:
        title = f"Lifetime-optimal model for loss {fmt(result.target_loss, 5)}"
    else:
        budget = (usd(result.budget) if result.objective.priced
                  else f"{flops(result.budget)} FLOPs")
        title = f"Lowest loss within a lifetime budget of {budget}"
    objective = "dollars" if result.objective.priced else "FLOPs"
    console.print(table(title, ["", "Chinchilla", "Optimal", "ratio"], rows,
                        caption=f"Optimal minimises lifetime {objective}; ratio = optimal / "
                                "Chinchilla-optimal"))
    law = result.law
    lines = [f"law {law.name}: E={law.E:g} A={law.A:g} B={law.B:g} alpha={law.alpha:g} "
             f"beta={law.beta:g}",
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
    warnings = [f"warning: {w}" for w in (extrapolation or {}).get("warnings", [])]
    if extrapolation is None:
        warnings.append(f"note: law {law.name} has no domain (the range of its runs): "
                        "extrapolation not checked")
    for line in lines + warnings + [f"note: {n}" for n in notes]:
        console.print(line, highlight=False, soft_wrap=True)
