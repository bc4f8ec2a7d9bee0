"""Serving a model: weight and KV-cache memory, GPUs needed, roofline prefill and decode times,
throughput and dollars per million tokens. Everything broadcasts over params, batch and context.

The model (assumptions, all overridable):

- Weights take N x bytes per value of the serving dtype; the KV cache 2 x layers x kv_heads x
  head_dim x bytes per value per token (REFERENCES section 7), held for ``context`` tokens for each
  of ``batch`` sequences.
- A replica is ``gpus`` GPUs with tensor parallelism that scales perfectly (communication
  ignored): memory, bandwidth and peak FLOP/s add up. Only ``memory_fraction`` of each GPU's
  memory is usable for weights and KV cache (default 0.9, the default
  ``gpu_memory_utilization`` of vLLM; the rest goes to activations, workspace and fragmentation).
- Roofline (Williams, Waterman & Patterson 2009): a step takes
  max(bytes moved / (bandwidth x bandwidth_fraction), FLOPs / (peak x compute_fraction)).
  A decode step reads all weights once and the whole KV cache of every sequence, and does
  batch x (2 N + 2 layers context d_attn) FLOPs (Kaplan et al. 2020, Table 1). A prefill of
  ``context`` prompt tokens per sequence reads the weights once, writes the KV cache and does
  batch x context x (2 N + 2 layers context d_attn) FLOPs.
- ``bandwidth_fraction`` defaults to 0.7: memory-bound kernels reach roughly 70-90% of the
  datasheet HBM bandwidth, and end-to-end decode in serving stacks sits towards the low end (the
  seed notes' ~6 ms per token for a 3B fp16 model on an A100-40GB implies about 0.64; on an
  A100-80GB, 0.49). ``compute_fraction`` defaults to 0.5, Sardana et al.'s prefill MFU default.

Decode turns compute bound at the batch where the two roofline terms meet,
B* = W / (F bw_eff / peak_eff - context k), W weight bytes, F FLOPs per token, k KV bytes per
token; when the denominator is <= 0 the KV-cache reads grow as fast as the FLOPs and decode stays
memory bound at any batch (B* = inf). Throughput B / step rises with B and flattens at
min(peak_eff / F, bw_eff / (context k)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import _validate as v
from ..defaults import (
    DEFAULT_BANDWIDTH_FRACTION,
    DEFAULT_COMPUTE_FRACTION,
    DEFAULT_CONTEXT,
    DEFAULT_MAX_GPUS,
    DEFAULT_MEMORY_FRACTION,
)
from ..errors import InputError
from ..units import SECONDS_PER_HOUR
from ..vocabulary import option
from .catalog import GPU
from .dtypes import bytes_per_value
from .shape import ModelShape


def weight_bytes(params, dtype: str) -> np.ndarray:
    """N x bytes per value of ``dtype``."""
    return v.positive("params", params) * bytes_per_value(dtype)


def kv_cache_bytes_per_token(shape: ModelShape, kv_dtype: str) -> np.ndarray:
    """2 x layers x kv_heads x head_dim x bytes per value (REFERENCES section 7)."""
    return shape.kv_values_per_token() * bytes_per_value(kv_dtype, "kv_dtype")


def roofline_seconds(bytes_moved, flops, bandwidth, peak) -> np.ndarray:
    """max(bytes / bandwidth, FLOPs / peak), with effective (achievable) bandwidth and peak."""
    return np.maximum(bytes_moved / bandwidth, flops / peak)


def gpus_to_hold(total_bytes, usable_bytes_per_gpu) -> np.ndarray:
    """ceil(bytes / usable memory per GPU)."""
    return np.maximum(1.0, np.ceil(total_bytes / usable_bytes_per_gpu))


def max_batch_beside_weights(usable_bytes, weights, kv_bytes_per_sequence) -> np.ndarray:
    """floor((usable memory - weights) / KV bytes per sequence), 0 when the weights fill it."""
    return np.maximum(0.0, np.floor((usable_bytes - weights) / kv_bytes_per_sequence))


def critical_batch(weights, flops_per_token, kv_bytes_per_token, context, bandwidth, peak):
    """Batch at which decode turns compute bound (module docstring); inf if it never does."""
    denom = flops_per_token * bandwidth / peak - context * kv_bytes_per_token
    with np.errstate(divide="ignore"):
        return np.where(denom > 0, weights / np.where(denom > 0, denom, 1.0), np.inf)


@dataclass(frozen=True)
class Hardware:
    """The serving GPU and the assumed achievable fractions of its datasheet figures."""

    gpu: GPU
    dtype: str
    kv_dtype: str
    usd_per_gpu_hour: float
    bandwidth_fraction: float = DEFAULT_BANDWIDTH_FRACTION
    compute_fraction: float = DEFAULT_COMPUTE_FRACTION
    memory_fraction: float = DEFAULT_MEMORY_FRACTION

    @classmethod
    def of(cls, gpu: GPU, dtype: str, *, kv_dtype: str | None = None,
           usd_per_gpu_hour: float | None = None,
           bandwidth_fraction: float = DEFAULT_BANDWIDTH_FRACTION,
           compute_fraction: float = DEFAULT_COMPUTE_FRACTION,
           memory_fraction: float = DEFAULT_MEMORY_FRACTION) -> Hardware:
        """Validated assumptions: the GPU must support ``dtype``; fractions lie in (0, 1]."""
        gpu.peak(dtype)
        bytes_per_value(dtype)
        kv = dtype if kv_dtype is None else kv_dtype
        bytes_per_value(kv, "kv_dtype")
        price = gpu.usd_per_gpu_hour if usd_per_gpu_hour is None else usd_per_gpu_hour
        return cls(
            gpu, dtype.lower(), kv.lower(), float(v.positive("usd_per_gpu_hour", price)),
            float(v.in_range("bandwidth_fraction", bandwidth_fraction, 0.0, 1.0)),
            float(v.in_range("compute_fraction", compute_fraction, 0.0, 1.0)),
            float(v.in_range("memory_fraction", memory_fraction, 0.0, 1.0)))

    @property
    def bandwidth(self) -> float:
        """Achievable bytes/s per GPU."""
        return self.gpu.bandwidth_bytes_per_s * self.bandwidth_fraction

    @property
    def peak(self) -> float:
        """Achievable FLOP/s per GPU in the serving dtype."""
        return self.gpu.peak(self.dtype) * self.compute_fraction

    @property
    def usable_memory(self) -> float:
        return self.gpu.memory_bytes * self.memory_fraction

    def to_dict(self) -> dict:
        return {"gpu": self.gpu.name, "dtype": self.dtype, "kv_dtype": self.kv_dtype,
                "usd_per_gpu_hour": self.usd_per_gpu_hour,
                "bandwidth_fraction": self.bandwidth_fraction,
                "compute_fraction": self.compute_fraction,
                "memory_fraction": self.memory_fraction}


def step_bytes_and_flops(hw: Hardware, shape: ModelShape, batch, context, *, prefill=False):
    """Bytes moved and FLOPs of one decode step (one token for each of ``batch`` sequences with
    ``context`` tokens cached) or of the prefill of ``batch`` prompts of ``context`` tokens: the
    weights are read once and the KV cache of the batch read (decode) or written (prefill)."""
    kv_bytes = batch * context * kv_cache_bytes_per_token(shape, hw.kv_dtype)
    tokens = batch * context if prefill else batch
    return (shape.params * bytes_per_value(hw.dtype) + kv_bytes,
            tokens * shape.forward_flops_per_token(context))


def decode_gpu_seconds_per_token(hw: Hardware, shape: ModelShape, batch, context):
    """GPU-seconds per generated token, step x gpus / batch, which under perfect tensor
    parallelism does not depend on the number of GPUs: max(bytes / bw, FLOPs / peak) / batch."""
    moved, flops = step_bytes_and_flops(hw, shape, batch, context)
    return roofline_seconds(moved, flops, hw.bandwidth, hw.peak) / batch


def prefill_gpu_seconds_per_token(hw: Hardware, shape: ModelShape, batch, context):
    """GPU-seconds per prompt token for a prefill of ``batch`` prompts of ``context`` tokens."""
    moved, flops = step_bytes_and_flops(hw, shape, batch, context, prefill=True)
    return roofline_seconds(moved, flops, hw.bandwidth, hw.peak) / (batch * context)


@dataclass(frozen=True)
class ServingEstimate:
    """Serving ``shape`` on ``gpus`` GPUs at ``batch`` sequences of ``context`` tokens."""

    hardware: Hardware
    shape: ModelShape
    batch: np.ndarray
    context: np.ndarray
    gpus: np.ndarray
    weight_bytes: np.ndarray
    kv_cache_bytes_per_token: np.ndarray
    kv_cache_bytes_per_sequence: np.ndarray
    min_gpus: np.ndarray
    max_batch: np.ndarray
    decode_seconds_per_token: np.ndarray
    compute_bound: np.ndarray
    critical_batch: np.ndarray
    prefill_seconds: np.ndarray

    @property
    def tokens_per_second(self) -> np.ndarray:
        """Generated tokens per second of the whole replica (all ``batch`` sequences)."""
        return self.batch / self.decode_seconds_per_token

    @property
    def tokens_per_second_per_gpu(self) -> np.ndarray:
        return self.tokens_per_second / self.gpus

    @property
    def usd_per_million_output_tokens(self) -> np.ndarray:
        return self._usd_per_second() * 1e6 / self.tokens_per_second

    @property
    def usd_per_million_input_tokens(self) -> np.ndarray:
        return self._usd_per_second() * self.prefill_seconds * 1e6 / (self.batch * self.context)

    @property
    def decode_mfu(self) -> np.ndarray:
        """Model FLOPs utilisation of decode counting 2 N FLOPs per token (Sardana et al.)."""
        return 2.0 * self.shape.params * self.tokens_per_second / (
            self.gpus * self.hardware.gpu.peak(self.hardware.dtype))

    @property
    def prefill_mfu(self) -> np.ndarray:
        return 2.0 * self.shape.params * self.batch * self.context / (
            self.prefill_seconds * self.gpus * self.hardware.gpu.peak(self.hardware.dtype))

    def _usd_per_second(self) -> np.ndarray:
        return self.gpus * self.hardware.usd_per_gpu_hour / SECONDS_PER_HOUR

    def to_dict(self) -> dict:
        from ..render import whole

        crit = self.critical_batch
        return {
            "assumptions": self.hardware.to_dict(),
            "shape": self.shape.to_dict(),
            "params": self.shape.params, "batch": self.batch, "context": self.context,
            "gpus": whole(self.gpus), "weight_bytes": self.weight_bytes,
            "kv_cache_bytes_per_token": self.kv_cache_bytes_per_token,
            "kv_cache_bytes_per_sequence": self.kv_cache_bytes_per_sequence,
            "min_gpus": whole(self.min_gpus), "max_batch": whole(self.max_batch),
            "decode_seconds_per_token": self.decode_seconds_per_token,
            "decode_bound": np.where(self.compute_bound, "compute", "memory"),
            "critical_batch": _inf_to_none(crit),
            "tokens_per_second": self.tokens_per_second,
            "tokens_per_second_per_gpu": self.tokens_per_second_per_gpu,
            "usd_per_million_output_tokens": self.usd_per_million_output_tokens,
            "prefill_seconds": self.prefill_seconds,
            "usd_per_million_input_tokens": self.usd_per_million_input_tokens,
            "decode_mfu": self.decode_mfu, "prefill_mfu": self.prefill_mfu,
        }


def _inf_to_none(x: np.ndarray):
    """JSON has no infinity: 'never' (inf) becomes None (null)."""
    if np.ndim(x) == 0:
        return None if np.isinf(x) else float(x)
    return [_inf_to_none(e) for e in x]


def estimate_serving(hw: Hardware, shape: ModelShape, *, batch=1, context=DEFAULT_CONTEXT,
                     gpus=None, max_gpus=DEFAULT_MAX_GPUS) -> ServingEstimate:
    """Memory, GPUs, roofline latencies and costs of serving ``shape`` (module docstring).

    Without ``gpus`` each scenario gets the fewest GPUs that hold the weights and the KV cache of
    ``batch`` sequences of ``context`` tokens; more than ``max_gpus`` (one node by default) is an
    InputError, as is a ``batch`` that does not fit on the ``gpus`` given (``max_gpus`` then
    does not apply). Results that leave double precision are an InputError naming the inputs.
    """
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        est = _estimate_serving(hw, shape, batch, context, gpus, max_gpus)
        # Check the result arrays themselves (not to_dict(), which walks critical_batch in
        # Python per element).
        v.representable("the serving estimate",
                        {k: getattr(est, k) for k in (
                            "weight_bytes", "kv_cache_bytes_per_sequence",
                            "decode_seconds_per_token", "prefill_seconds", "tokens_per_second",
                            "usd_per_million_output_tokens", "usd_per_million_input_tokens")},
                        "params, shape, batch, context or gpus", positive=True)
    return est


def _estimate_serving(hw: Hardware, shape: ModelShape, batch, context, gpus, max_gpus):
    b = v.positive("batch", batch)
    if np.any(b < 1):
        raise InputError(f"batch must be >= 1; got {float(np.min(b)):g}")
    if np.any(b != np.floor(b)):
        raise InputError("batch must be a whole number of sequences >= 1; got "
                         f"{float(b[b != np.floor(b)].flat[0]) if b.ndim else float(b):g}")
    s = v.positive("context", context)
    if np.any(s < 1):
        raise InputError(f"context must be >= 1; got {float(np.min(s)):g}")
    cap = v.whole("max_gpus", max_gpus)
    w = weight_bytes(shape.params, hw.dtype)
    k = kv_cache_bytes_per_token(shape, hw.kv_dtype)
    per_seq = k * s
    mem = hw.usable_memory
    needed = gpus_to_hold(w + b * per_seq, mem)
    min_gpus = gpus_to_hold(w + per_seq, mem)
    given = None if gpus is None else v.whole("gpus", gpus)
    have, name = (cap, "max_gpus") if given is None else (given, "gpus")
    if np.any(min_gpus > have):
        i = np.unravel_index(np.argmax(min_gpus - have), np.shape(min_gpus))
        pick = lambda x: float(np.broadcast_to(x, np.shape(min_gpus))[i])  # noqa: E731
        remedy = (f"raise {option(name)}" if given is None
                  else f"give {option(name)} >= {pick(min_gpus):g}")
        raise InputError(
            f"the model does not fit on {option(name)} {pick(have):g} x {hw.gpu.name}: "
            f"{pick(w) / 1e9:.4g} GB of {hw.dtype} weights plus one {pick(s):g}-token KV cache "
            f"need {pick(min_gpus):g} GPUs at {option('memory_fraction')} "
            f"{hw.memory_fraction:g} ({remedy}, use a smaller {option('dtype')} or a bigger "
            f"{option('gpu')})")
    if gpus is None:
        g = needed
        if np.any(g > cap):
            fit = max_batch_beside_weights(cap * mem, w, per_seq)
            raise InputError(
                f"{option('batch')} must be <= {float(np.min(fit)):g} to fit beside the "
                f"weights on {option('max_gpus')} {float(np.max(cap)):g} x {hw.gpu.name}; got "
                f"{float(np.max(b)):g}")
    else:
        g = given
        if np.any(g < needed):
            fit = max_batch_beside_weights(g * mem, w, per_seq)
            raise InputError(
                f"{option('batch')} must be <= {float(np.min(fit)):g} to fit beside the weights "
                f"on {option('gpus')} {float(np.min(g)):g} x {hw.gpu.name} at "
                f"{option('context')} {float(np.max(s)):g}; got {float(np.max(b)):g}")
    bw, pk = g * hw.bandwidth, g * hw.peak
    moved, flops = step_bytes_and_flops(hw, shape, b, s)
    mem_time, flop_time = moved / bw, flops / pk
    prefill = roofline_seconds(*step_bytes_and_flops(hw, shape, b, s, prefill=True), bw, pk)
    crit = critical_batch(w, shape.forward_flops_per_token(s), k, s, bw, pk)
    arrays = np.broadcast_arrays(b, s, g, w, k, per_seq, min_gpus,
                                 max_batch_beside_weights(g * mem, w, per_seq),
                                 np.maximum(mem_time, flop_time), flop_time >= mem_time, crit,
                                 prefill)
    return ServingEstimate(hw, shape, *arrays)
