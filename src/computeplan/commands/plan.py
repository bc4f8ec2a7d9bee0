"""The `plan` command: inference-aware optimum beside the Chinchilla-optimal model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..demand import Demand
from ..errors import InputError
from ..laws import get_law
from ..lifetime import PlanComparison, compare

#: The built-in example: the quality of a Chinchilla-optimal 70B model, served for 2e12 tokens.
DEFAULT_REFERENCE_PARAMS = 70e9
DEFAULT_INFERENCE_TOKENS = 2e12

HARDWARE_OPTIONS = ("train_gpu", "train_dtype", "train_usd_per_gpu_hour", "train_mfu",
                    "inference_gpu", "inference_dtype", "inference_usd_per_gpu_hour",
                    "prefill_mfu", "decode_mfu")
#: Options of the roofline decode model (``decode_model="roofline"``).
ROOFLINE_OPTIONS = ("batch", "context", "kv_dtype", "gqa_ratio", "bandwidth_fraction",
                    "compute_fraction")
DEFAULT_ROOFLINE_BATCH = 64.0
DEFAULT_ROOFLINE_CONTEXT = 2048.0


@dataclass(frozen=True)
class PlanReport:
    comparison: PlanComparison
    notes: tuple[str, ...]

    @property
    def serving(self) -> dict | None:
        """Under the roofline decode model: the effective prefill/decode MFU of both models."""
        objective = self.comparison.objective
        if not getattr(objective, "params_dependent", False):
            return None
        out = {}
        for name in ("chinchilla", "optimal"):
            prefill, decode = objective.effective_mfu(getattr(self.comparison, name).params)
            out[name] = {"prefill_mfu": prefill, "decode_mfu": decode}
        return out

    @property
    def extrapolation(self) -> dict | None:
        """How far each model lies outside the law's domain (orders of magnitude, 0 inside:
        ``params_oom``, ``train_tokens_oom``, ``tokens_per_param_oom``), and ``warnings`` that
        say it in words; None when the law has no domain."""
        return extrapolation_report(self.comparison)

    def to_dict(self) -> dict:
        serving = self.serving
        extra = {"serving": serving} if serving is not None else {}
        return self.comparison.to_dict() | {"extrapolation": self.extrapolation} | extra | {
            "notes": list(self.notes)}


#: How the two models are named in extrapolation warnings.
MODEL_LABELS = {"chinchilla": "the Chinchilla-optimal model", "optimal": "the optimum"}


def extrapolation_report(comparison: PlanComparison) -> dict | None:
    """The law's ``domain``, each model's distances outside it and the ``warnings`` in words
    (:func:`computeplan._lawdata.extrapolation_words`); None when the law has no domain."""
    from .._lawdata import extrapolation_words
    from ..render import fmt

    law = comparison.law
    if law.domain is None:
        return None
    out: dict = {"domain": law.domain}
    warnings: list[str] = []
    for key, label in MODEL_LABELS.items():
        model = getattr(comparison, key)
        oom = law.extrapolation(model.params, model.train_tokens)
        out[key] = oom
        if np.ndim(model.params) == 0:
            values = {"params": model.params, "train_tokens": model.train_tokens,
                      "tokens_per_param": model.tokens_per_param}
            warnings += extrapolation_words(label, law.domain, oom, values, fmt)
    out["warnings"] = warnings
    return out


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def demand_from_options(*, inference_tokens=None, requests=None, users=None,
                        requests_per_user_per_day=None, days=None, input_tokens=None,
                        output_tokens=None, notes: list[str] | None = None) -> Demand:
    """One form of demand: total tokens, requests x tokens, or users x rate x days x tokens.
    ``input_tokens``/``output_tokens`` are per request. No demand at all means the default."""
    forms = {"inference_tokens": inference_tokens, "requests": requests, "users": users}
    given = [_flag(k) for k, val in forms.items() if val is not None]
    if len(given) > 1:
        raise InputError(f"give one form of demand; got {' and '.join(given)}")
    per_request = (input_tokens, output_tokens)
    if given in (["--requests"], ["--users"]) and None in per_request:
        raise InputError(f"{given[0]} needs both --input-tokens and --output-tokens "
                         "(tokens per request)")
    if not given and any(x is not None for x in per_request):
        raise InputError("--input-tokens/--output-tokens need --requests or --users")
    if users is not None and None in (requests_per_user_per_day, days):
        raise InputError("--users needs --requests-per-user-per-day and --days")
    if users is None and (requests_per_user_per_day is not None or days is not None):
        raise InputError("--requests-per-user-per-day and --days need --users")
    if requests is not None:
        return Demand.from_requests(requests, input_tokens, output_tokens)
    if users is not None:
        return Demand.from_users(users, requests_per_user_per_day, days, input_tokens,
                                 output_tokens)
    if inference_tokens is None:
        inference_tokens = DEFAULT_INFERENCE_TOKENS
        if notes is not None:
            notes.append(f"no demand given: using {inference_tokens:.0e} lifetime inference tokens")
    return Demand.from_tokens(inference_tokens)


def plan(
    *,
    loss: float | None = None,
    reference_params: float | None = None,
    budget_flops: float | None = None,
    budget_usd: float | None = None,
    inference_tokens: float | None = None,
    requests: float | None = None,
    users: float | None = None,
    requests_per_user_per_day: float | None = None,
    days: float | None = None,
    input_tokens: float | None = None,
    output_tokens: float | None = None,
    objective: str | None = None,
    train_gpu: str | None = None,
    train_dtype: str | None = None,
    train_usd_per_gpu_hour: float | None = None,
    train_mfu: float | None = None,
    inference_gpu: str | None = None,
    inference_dtype: str | None = None,
    inference_usd_per_gpu_hour: float | None = None,
    prefill_mfu: float | None = None,
    decode_mfu: float | None = None,
    decode_model: str | None = None,
    batch: float | None = None,
    context: float | None = None,
    kv_dtype: str | None = None,
    gqa_ratio: float | None = None,
    bandwidth_fraction: float | None = None,
    compute_fraction: float | None = None,
    gpu_file: str | Path | None = None,
    law: str = "sardana2024",
    E: float | None = None,
    A: float | None = None,
    B: float | None = None,
    alpha: float | None = None,
    beta: float | None = None,
) -> PlanReport:
    """Validate the plan options, solve, and say which defaults were assumed (``notes``).

    The dollar objective is used when ``objective="usd"``, a dollar budget or any hardware option
    is given; otherwise lifetime FLOPs. Without a target the loss of a Chinchilla-optimal 70B
    model is used; without a demand, 2e12 tokens. ``decode_model="roofline"`` prices prefill and
    decode with the roofline serving model (``batch``, ``context``, ...) instead of the fixed
    ``prefill_mfu``/``decode_mfu``.
    """
    notes: list[str] = []
    the_law = get_law(law, E=E, A=A, B=B, alpha=alpha, beta=beta)
    demand = demand_from_options(
        inference_tokens=inference_tokens, requests=requests, users=users,
        requests_per_user_per_day=requests_per_user_per_day, days=days,
        input_tokens=input_tokens, output_tokens=output_tokens, notes=notes)

    options = dict(zip(HARDWARE_OPTIONS, (
        train_gpu, train_dtype, train_usd_per_gpu_hour, train_mfu, inference_gpu,
        inference_dtype, inference_usd_per_gpu_hour, prefill_mfu, decode_mfu), strict=True))
    hw_given = {k: val for k, val in options.items() if val is not None}
    roofline_given = {k: val for k, val in dict(zip(ROOFLINE_OPTIONS, (
        batch, context, kv_dtype, gqa_ratio, bandwidth_fraction, compute_fraction),
        strict=True)).items() if val is not None}
    if decode_model not in (None, "mfu", "roofline"):
        raise InputError(f"decode_model must be 'mfu' or 'roofline'; got {decode_model!r}")
    roofline = decode_model == "roofline"
    if roofline_given and not roofline:
        raise InputError(", ".join(_flag(k) for k in roofline_given)
                         + " need --decode-model roofline")
    if roofline:
        fixed = [_flag(k) for k in ("prefill_mfu", "decode_mfu") if k in hw_given]
        if fixed:
            raise InputError(f"{' and '.join(fixed)} conflict with --decode-model roofline, "
                             "which derives the inference MFU from the hardware; drop them")
        hw_given["decode_model"] = decode_model
    if objective not in (None, "flops", "usd"):
        raise InputError(f"objective must be 'flops' or 'usd'; got {objective!r}")
    hardware_flags = [_flag(k) for k in hw_given | roofline_given]
    if gpu_file is not None:  # a hardware option: it selects the GPUs that are priced
        hardware_flags.append("--gpu-file")
    priced = (bool(hardware_flags) or budget_usd is not None) if objective is None else (
        objective == "usd")
    if objective == "flops" and hardware_flags:
        raise InputError("--objective flops conflicts with hardware/price options ("
                         + ", ".join(hardware_flags) + "); drop them or use usd")
    if budget_flops is not None and priced:
        raise InputError("--budget-flops conflicts with the dollar objective; use --budget-usd")
    if budget_usd is not None and not priced:
        raise InputError("--budget-usd needs the dollar objective; drop --objective flops")
    cost = None
    if priced:
        from ..hardware import get_gpu, load_catalog
        from ..objectives import DollarCost

        catalog = load_catalog(gpu_file)
        hw_given.pop("decode_model", None)
        for role in ("train_gpu", "inference_gpu"):
            hw_given[role] = get_gpu(hw_given.get(role, DollarCost.__dataclass_fields__[role]
                                                  .default), catalog)
        if roofline:
            cost = _roofline_cost(hw_given, roofline_given, input_tokens, output_tokens, notes)
        else:
            cost = DollarCost(**hw_given)
        defaulted = [k for k in HARDWARE_OPTIONS if options[k] is None
                     and not (roofline and k in ("prefill_mfu", "decode_mfu"))]
        if defaulted:
            notes.append("assumed defaults for the dollar objective: "
                         + ", ".join(_flag(k) for k in defaulted))

    targets = {"loss": loss, "reference_params": reference_params,
               "budget_flops": budget_flops, "budget_usd": budget_usd}
    named = [_flag(k) for k, val in targets.items() if val is not None]
    if len(named) > 1:
        raise InputError(f"give one target; got {' and '.join(named)}")
    if not named:
        reference_params = DEFAULT_REFERENCE_PARAMS
        notes.append("no target given: using the loss of a Chinchilla-optimal "
                     f"{reference_params / 1e9:g}B model (law {the_law.name})")
    if reference_params is not None:
        try:  # arrays (one value per scenario, as in sweeps) broadcast
            loss = the_law.compute_optimal(params=reference_params).loss
        except InputError as exc:
            shown = f" {reference_params:g}" if np.ndim(reference_params) == 0 else ""
            raise InputError(f"--reference-params{shown}: {exc}") from None
        loss = float(loss) if np.ndim(loss) == 0 else loss
    budget = budget_flops if budget_flops is not None else budget_usd
    comparison = compare(the_law, loss=loss, budget=budget, demand=demand, cost=cost)
    return PlanReport(comparison, tuple(notes))


def _roofline_cost(hw_given: dict, roofline_given: dict, input_tokens, output_tokens,
                   notes: list[str]):
    """The roofline dollar objective; the context defaults to the tokens of one request."""
    from ..objectives import RooflineDollarCost

    opts = dict(roofline_given)
    if "batch" not in opts:
        opts["batch"] = DEFAULT_ROOFLINE_BATCH
        notes.append(f"no --batch given: decode at {DEFAULT_ROOFLINE_BATCH:g} concurrent "
                     "sequences")
    if "context" not in opts:
        if input_tokens is not None and output_tokens is not None:
            opts["context"] = float(input_tokens) + float(output_tokens)
            if not opts["context"] >= 1:
                raise InputError("--context defaults to --input-tokens + --output-tokens per "
                                 f"request, here {opts['context']:g}; it must be >= 1: give "
                                 "--context or tokens per request")
            notes.append(f"no --context given: {opts['context']:g} tokens (input + output "
                         "tokens per request)")
        else:
            opts["context"] = DEFAULT_ROOFLINE_CONTEXT
            notes.append(f"no --context given: {DEFAULT_ROOFLINE_CONTEXT:g} tokens")
    return RooflineDollarCost(**hw_given, **opts)
