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

Every public name is imported on first use (PEP 562 module ``__getattr__``), so that
``import computeplan`` and the CLI's start-up load only what they use: ``cp.fit_runs`` imports
the fitting subpackage, ``cp.lifetime_optimal`` the planner, and so on.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

#: Public name -> the submodule (relative to this package) that defines it; a name mapped to
#: ``None`` is a subpackage itself.
_LAZY: dict[str, str | None] = {
    "Demand": ".demand",
    "ConvergenceError": ".errors",
    "InputError": ".errors",
    "FitResult": ".fitting",
    "filter_runs": ".fitting",
    "fit_runs": ".fitting",
    "read_runs": ".fitting",
    "GPU": ".hardware",
    "get_gpu": ".hardware",
    "load_catalog": ".hardware",
    "PRESETS": ".laws",
    "ChinchillaLaw": ".laws",
    "ModelPoint": ".laws",
    "get_law": ".laws",
    "LifetimePlan": ".lifetime",
    "PlanComparison": ".lifetime",
    "budget_optimal": ".lifetime",
    "chinchilla_budget": ".lifetime",
    "chinchilla_lifetime": ".lifetime",
    "compare": ".lifetime",
    "evaluate": ".lifetime",
    "lifetime_optimal": ".lifetime",
    "DollarCost": ".objectives",
    "FlopsObjective": ".objectives",
    "RooflineDollarCost": ".objectives",
    "fitting": None,
    "hardware": None,
    "tradeoffs": None,
    "sweep": None,  # callable module (it needs pyarrow)
}

__all__ = sorted(_LAZY)


def _lazy_attributes(package: str, names: dict, namespace: dict):
    """PEP 562 ``__getattr__`` and ``__dir__`` for ``package`` whose public ``names`` map to
    the module that defines each (relative to the package), or to None for a subpackage of
    that name; a name is imported on first use and stored in ``namespace`` (the package's
    globals), so later look-ups skip ``__getattr__``. Used here and by
    :mod:`computeplan.hardware`."""

    def __getattr__(name: str):
        try:
            module = names[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        if module is None:
            value = importlib.import_module(f".{name}", package)
        else:
            value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__


__getattr__, __dir__ = _lazy_attributes(__name__, _LAZY, globals())


if TYPE_CHECKING:  # for type checkers and IDEs: the names as if imported eagerly
    from . import fitting, hardware, sweep, tradeoffs  # noqa: F401
    from .demand import Demand  # noqa: F401
    from .errors import ConvergenceError, InputError  # noqa: F401
    from .fitting import FitResult, filter_runs, fit_runs, read_runs  # noqa: F401
    from .hardware import GPU, get_gpu, load_catalog  # noqa: F401
    from .laws import PRESETS, ChinchillaLaw, ModelPoint, get_law  # noqa: F401
    from .lifetime import (  # noqa: F401
        LifetimePlan,
        PlanComparison,
        budget_optimal,
        chinchilla_budget,
        chinchilla_lifetime,
        compare,
        evaluate,
        lifetime_optimal,
    )
    from .objectives import DollarCost, FlopsObjective, RooflineDollarCost  # noqa: F401
