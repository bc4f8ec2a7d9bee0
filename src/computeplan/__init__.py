"""computeplan: split compute between training and inference.

Public API::

    import computeplan as cp
    law = cp.get_law("sardana2024")
    plan = cp.lifetime_optimal(law, loss=1.947, inference_tokens=2e12)
    plan.params, plan.train_tokens, plan.total_flops

    cost = cp.DollarCost(train_gpu="a100-80gb", inference_gpu="a100-40gb", inference_dtype="int8")
    demand = cp.Demand.from_requests(1e10, 1000, 250)
    cp.lifetime_optimal(law, loss=1.947, demand=demand, cost=cost).total_cost_usd

Sweeps: ``cp.sweep(spec, out="plans.parquet", workers=2)`` runs one plan per scenario, streamed
in blocks, in this process or on a Dask cluster (``computeplan.sweep``, imported on first use).

Subpackages: ``computeplan.fitting`` (fit laws to runs), ``computeplan.tradeoffs`` (technique
models, frontiers, allocation, overhead), ``computeplan.hardware`` (GPU catalog, training and
serving cost).
"""

from . import fitting, hardware, tradeoffs
from .demand import Demand
from .errors import ConvergenceError, InputError
from .fitting import FitResult, filter_runs, fit_runs, read_runs
from .hardware import GPU, get_gpu, load_catalog
from .laws import PRESETS, ChinchillaLaw, ModelPoint, get_law
from .lifetime import (
    LifetimePlan,
    PlanComparison,
    budget_optimal,
    chinchilla_budget,
    chinchilla_lifetime,
    compare,
    evaluate,
    lifetime_optimal,
)
from .objectives import DollarCost, FlopsObjective, RooflineDollarCost

__version__ = "0.1.0"


def __getattr__(name: str):
    if name == "sweep":  # callable module, imported on first use (it needs pyarrow)
        import importlib

        return importlib.import_module(".sweep", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "GPU",
    "PRESETS",
    "ChinchillaLaw",
    "ConvergenceError",
    "Demand",
    "DollarCost",
    "FitResult",
    "FlopsObjective",
    "InputError",
    "LifetimePlan",
    "ModelPoint",
    "PlanComparison",
    "RooflineDollarCost",
    "budget_optimal",
    "chinchilla_budget",
    "chinchilla_lifetime",
    "compare",
    "evaluate",
    "filter_runs",
    "fit_runs",
    "fitting",
    "get_gpu",
    "get_law",
    "hardware",
    "lifetime_optimal",
    "load_catalog",
    "read_runs",
    "sweep",
    "tradeoffs",
]
