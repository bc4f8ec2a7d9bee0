"""Scenario sweeps that stream: many plans, in blocks, on one machine or a Dask cluster.

``computeplan.sweep(...)`` (this module is callable) runs one ``plan`` per scenario of a spec
(axes, a CSV of scenarios, or both) through the vectorised core, a block at a time, writing the
rows to Parquet or CSV and merging reductions per block, so memory stays bounded by the block
size whatever the sweep's size::

    import computeplan as cp
    result = cp.sweep({"axes": {"loss": {"start": 1.9, "stop": 2.2, "num": 31},
                                "inference_tokens": {"start": 1e10, "stop": 1e14, "num": 41,
                                                     "log": True}},
                       "reductions": {"mean": ["ratios.total_flops"]}},
                      out="sweep.parquet", law="hoffmann2022")
    result.summary["mean"]

See :func:`computeplan.sweep.run.sweep` for the arguments.
"""

from __future__ import annotations

import sys
import types

from .run import SweepResult, sweep
from .spec import SweepSpec, build_spec

__all__ = ["SweepResult", "SweepSpec", "build_spec", "sweep"]


class _CallableModule(types.ModuleType):
    """``computeplan.sweep`` is both this package and the function :func:`sweep`."""

    def __call__(self, *args, **kwargs) -> SweepResult:
        return sweep(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
