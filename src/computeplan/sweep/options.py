"""The plan options a sweep varies: their names, kinds, and how the sweep vectorises them.

Every option of :func:`computeplan.commands.plan.plan` but those of one plan only (uncertainty,
ranges: see :func:`plan_options`) can be a sweep axis, a CSV column or a default for every row,
under its API name. The names and types are read from the plan's option
groups (:class:`~computeplan.commands.plan.PlanOptions`), so the sweep follows the plan command
wherever it goes.
"""

from __future__ import annotations

import typing
from functools import cache

from ..commands.plan import PlanOptions


@cache
def plan_options() -> tuple[str, ...]:
    """The API names of the plan options, in the plan command's order; not those of one plan
    only (uncertainty and ranges: a sweep has its own replicate axis and plans every value)."""
    from ..commands.plan import SINGLE_PLAN_OPTIONS

    return tuple(o.name for o in PlanOptions.options() if o.name not in SINGLE_PLAN_OPTIONS)


@cache
def string_options() -> frozenset[str]:
    """Options whose values are names or paths (law, GPUs, dtypes, objective, decode model),
    or a number or a name (a price-performance preset)."""
    kinds = {o.name: typing.get_args(o.type) or (o.type,) for o in PlanOptions.options()
             if o.name in plan_options()}
    return frozenset(k for k, args in kinds.items() if str in args or float not in args)


def numeric_options() -> tuple[str, ...]:
    return tuple(k for k in plan_options() if k not in string_options())


#: Numeric options that the core takes as arrays (one value per scenario). The others (law
#: coefficient overrides, roofline batch/context/...) are taken as scalars, so scenarios are
#: grouped by their values.
VECTOR_OPTIONS = frozenset({
    "loss", "reference_params", "reference_tokens", "budget_flops", "budget_usd",
    "inference_tokens", "requests",
    "users", "requests_per_user_per_day", "days", "input_tokens", "output_tokens",
    "train_usd_per_gpu_hour", "train_mfu", "inference_usd_per_gpu_hour", "prefill_mfu",
    "decode_mfu", "unique_tokens",
})
#: Under ``decode_model="roofline"`` prices are scalars of the serving model, and the default
#: context is input + output tokens per request, so these are grouped by value too.
ROOFLINE_SCALAR_OPTIONS = ("train_usd_per_gpu_hour", "train_mfu", "inference_usd_per_gpu_hour",
                           "prefill_mfu", "decode_mfu")
ROOFLINE_CONTEXT_OPTIONS = ("input_tokens", "output_tokens")

#: Typical valid values, used to check a group of scenarios' shared options once (an error with
#: these values is the group's, not a row's) and to derive the output columns.
PLACEHOLDERS = {
    "reference_params": 1e10, "reference_tokens": 2e11, "budget_flops": 1e24, "budget_usd": 1e7,
    "inference_tokens": 1e12, "requests": 1e9, "users": 1e6, "requests_per_user_per_day": 1.0,
    "days": 100.0, "input_tokens": 500.0, "output_tokens": 200.0,
    "train_usd_per_gpu_hour": 2.0, "train_mfu": 0.5, "inference_usd_per_gpu_hour": 2.0,
    "prefill_mfu": 0.5, "decode_mfu": 0.1, "unique_tokens": 1e13,
}
#: Added to the law's E for a placeholder target loss.
PLACEHOLDER_LOSS_ABOVE_E = 0.3
