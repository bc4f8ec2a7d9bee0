"""The `plan` command: inference-aware optimum beside the Chinchilla-optimal model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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


@dataclass(frozen=True)
class PlanReport:
    comparison: PlanComparison
    notes: tuple[str, ...]

    def to_dict(self) -> dict:
        return self.comparison.to_dict() | {"notes": list(self.notes)}


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
    model is used; without a demand, 2e12 tokens.
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
    if objective not in (None, "flops", "usd"):
        raise InputError(f"objective must be 'flops' or 'usd'; got {objective!r}")
    priced = (bool(hw_given) or budget_usd is not None) if objective is None else objective == "usd"
    if objective == "flops" and hw_given:
        raise InputError("--objective flops conflicts with hardware/price options ("
                         + ", ".join(_flag(k) for k in hw_given) + "); drop them or use usd")
    if budget_flops is not None and priced:
        raise InputError("--budget-flops conflicts with the dollar objective; use --budget-usd")
    if budget_usd is not None and not priced:
        raise InputError("--budget-usd needs the dollar objective; drop --objective flops")
    cost = None
    if priced:
        from ..hardware import get_gpu, load_catalog
        from ..objectives import DollarCost

        catalog = load_catalog(gpu_file)
        for role in ("train_gpu", "inference_gpu"):
            hw_given[role] = get_gpu(hw_given.get(role, DollarCost.__dataclass_fields__[role]
                                                  .default), catalog)
        cost = DollarCost(**hw_given)
        defaulted = [k for k in HARDWARE_OPTIONS if options[k] is None]
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
        loss = float(the_law.compute_optimal(params=reference_params).loss)
    budget = budget_flops if budget_flops is not None else budget_usd
    comparison = compare(the_law, loss=loss, budget=budget, demand=demand, cost=cost)
    return PlanReport(comparison, tuple(notes))
