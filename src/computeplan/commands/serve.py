"""The `serve` command: memory, GPUs, roofline decode latency, throughput, $ per million tokens."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..hardware import get_gpu, load_catalog
from ..hardware.serving import (
    DEFAULT_BANDWIDTH_FRACTION,
    DEFAULT_COMPUTE_FRACTION,
    DEFAULT_CONTEXT,
    DEFAULT_MAX_GPUS,
    DEFAULT_MEMORY_FRACTION,
    Hardware,
    ServingEstimate,
    estimate_serving,
)
from ..hardware.shape import DEFAULT_ASPECT_RATIO, model_shape
from ..vocabulary import option
from .options import bounded

#: Concurrent sequences when no batch is given: one at a time, the costliest case per token.
DEFAULT_SERVE_BATCH = 1.0


@dataclass(frozen=True)
class ServeReport:
    estimate: ServingEstimate
    notes: tuple[str, ...]
    #: Assumed defaults that move the answer most (``batch``), for the result's header.
    key_assumptions: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return self.estimate.to_dict() | {"key_assumptions": list(self.key_assumptions),
                                          "notes": list(self.notes)}


@bounded(params="> 0", batch="a whole number >= 1", context=">= 1", gpus="a whole number >= 1",
         max_gpus="a whole number >= 1", layers="a whole number >= 1",
         d_model="a whole number >= 1", heads="a whole number >= 1",
         kv_heads="a whole number >= 1", vocab="a whole number >= 1",
         aspect_ratio="in [1, 1000]", bandwidth_fraction="in (0, 1]",
         compute_fraction="in (0, 1]", memory_fraction="in (0, 1]", usd_per_gpu_hour="> 0")
def serve(*, params: float | None = None, gpu: str = "h100-sxm", dtype: str | None = None,
          batch: float | None = None, context: float | None = None, gpus: float | None = None,
          max_gpus: float = DEFAULT_MAX_GPUS, kv_dtype: str | None = None,
          layers: float | None = None, d_model: float | None = None, heads: float | None = None,
          kv_heads: float | None = None, vocab: float | None = None,
          aspect_ratio: float = DEFAULT_ASPECT_RATIO,
          bandwidth_fraction: float = DEFAULT_BANDWIDTH_FRACTION,
          compute_fraction: float = DEFAULT_COMPUTE_FRACTION,
          memory_fraction: float = DEFAULT_MEMORY_FRACTION,
          usd_per_gpu_hour: float | None = None,
          gpu_file: str | Path | None = None) -> ServeReport:
    """Serve a model of ``params`` (shape estimated, or given by layers/d_model/heads) on ``gpu``
    in ``dtype`` at ``batch`` concurrent sequences of ``context`` tokens. Without a ``dtype``:
    the GPU's best inference dtype (``GPU.inference_dtype``, as ``plan`` assumes)."""
    notes: list[str] = []
    key_assumptions: list[str] = []
    the_gpu = get_gpu(gpu, load_catalog(gpu_file))
    if batch is None:
        batch = DEFAULT_SERVE_BATCH
        key_assumptions.append(f"batch {batch:g}: one sequence at a time, the costliest case "
                        f"per token (give {option('batch')})")
    if dtype is None:
        from ..hardware.catalog import INFERENCE_DTYPE_PREFERENCE

        dtype = the_gpu.inference_dtype
        notes.append(f"no {option('dtype')} given: {dtype}, the first of "
                     f"{', '.join(INFERENCE_DTYPE_PREFERENCE)} that {the_gpu.name} supports")
    hw = Hardware.of(the_gpu, dtype, kv_dtype=kv_dtype, usd_per_gpu_hour=usd_per_gpu_hour,
                     bandwidth_fraction=bandwidth_fraction, compute_fraction=compute_fraction,
                     memory_fraction=memory_fraction)
    shape = model_shape(params, layers=layers, d_model=d_model, heads=heads, kv_heads=kv_heads,
                        vocab=vocab, aspect_ratio=aspect_ratio)
    if shape.estimated:
        notes.append(f"shape estimated from N by d_model = {aspect_ratio:g} x layers, head_dim "
                     "128" + ("" if kv_heads is not None else ", kv_heads = heads (no GQA)")
                     + ": give " + "/".join(map(option, ("layers", "d_model", "heads",
                                                          "kv_heads"))) + " for a real model")
    if context is None:
        context = DEFAULT_CONTEXT
        notes.append(f"no {option('context')} given: {context:g} tokens per sequence")
    if gpus is None:
        notes.append(f"{option('gpus')} not given: the fewest GPUs that hold weights and KV "
                     "cache")
    estimate = estimate_serving(hw, shape, batch=batch, context=context, gpus=gpus,
                                max_gpus=max_gpus)
    return ServeReport(estimate, tuple(notes), tuple(key_assumptions))


def batch_sweep(report: ServeReport, points: int = 64) -> ServingEstimate:
    """The same replica (same GPUs, context) at batch sizes 1 .. max_batch (geometric grid)."""
    est = report.estimate
    if np.ndim(est.batch) or np.ndim(est.gpus):
        raise InputError("a batch sweep needs a single scenario")
    top = float(est.max_batch)
    batches = np.unique(np.round(np.geomspace(1.0, max(top, 1.0), points)))
    return estimate_serving(est.hardware, est.shape, batch=batches, context=est.context,
                            gpus=est.gpus)
