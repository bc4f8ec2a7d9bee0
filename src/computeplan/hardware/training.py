"""Training cost on real GPUs: FLOPs, GPU-hours, wall-clock, dollars, memory, implied MFU.

- FLOPs: C = 6 N D (Kaplan et al. 2020, Table 1; Hoffmann et al. 2022), optionally plus the
  attention term 6 layers context d_attn per token (Kaplan et al. 2020, Table 1: forward
  2 layers n_ctx d_attn, backward twice that).
- Time: GPU-hours = C / (3600 x peak FLOP/s in the training dtype x MFU), where MFU is the model
  FLOPs utilisation (Chowdhery et al. 2022, PaLM, appendix B); wall-clock = GPU-hours / GPUs.
- Memory: mixed-precision Adam keeps 16 bytes per parameter, 2 (fp16/bf16 weights) + 2
  (gradients) + 12 (fp32 master weights, momentum and variance) (Rajbhandari et al. 2020, ZeRO,
  section 3.1); activations come on top and are not counted. The minimum number of GPUs to hold
  that state is ceil(16 N / GPU memory).
- Implied MFU from reported GPU-hours H: C / (3600 H x peak), computed as C / 3600 / H / peak so
  that huge H do not overflow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import _validate as v
from ..defaults import ADAM_MIXED_PRECISION_BYTES_PER_PARAM, DEFAULT_TRAIN_MFU
from ..errors import InputError
from ..laws import TRAIN_FLOPS_PER_PARAM_TOKEN
from ..units import SECONDS_PER_HOUR
from ..vocabulary import option
from .catalog import GPU


def train_flops(params, tokens, *, layers=None, context=None, attention_width=None) -> np.ndarray:
    """6 N D, plus 6 layers context d_attn D when ``layers``, ``context`` and ``attention_width``
    are given (Kaplan et al. 2020, Table 1)."""
    n, d = v.positive("params", params), v.positive("tokens", tokens)
    flops = TRAIN_FLOPS_PER_PARAM_TOKEN * n * d
    attn = (layers, context, attention_width)
    if any(x is not None for x in attn):
        if any(x is None for x in attn):
            raise InputError("the attention term needs layers, context and attention_width")
        flops = flops + 6.0 * layers * v.positive("context", context) * attention_width * d
    return flops


def gpu_hours(flops, peak_flops, mfu) -> np.ndarray:
    """GPU-hours to run ``flops`` at ``mfu`` of ``peak_flops`` per GPU."""
    u = v.in_range("mfu", mfu, 0.0, 1.0)
    return v.positive("train_flops", flops) / (SECONDS_PER_HOUR * peak_flops * u)


def implied_mfu(flops, hours, peak_flops) -> np.ndarray:
    """The MFU that ``hours`` GPU-hours imply for ``flops``: C / (3600 H peak), divided in turn
    so that no intermediate overflows."""
    return v.positive("train_flops", flops) / SECONDS_PER_HOUR / v.positive(
        "gpu_hours", hours) / peak_flops


def training_state_bytes(params, bytes_per_param=ADAM_MIXED_PRECISION_BYTES_PER_PARAM):
    """Weights + gradients + optimizer states (16 bytes/param for mixed-precision Adam)."""
    return v.positive("params", params) * v.positive("bytes_per_param", bytes_per_param)


def min_gpus_for_state(params, memory_bytes,
                       bytes_per_param=ADAM_MIXED_PRECISION_BYTES_PER_PARAM) -> np.ndarray:
    """ceil(state bytes / GPU memory): GPUs needed just to hold the training state (fully
    sharded, e.g. ZeRO stage 3), activations excluded."""
    return np.ceil(training_state_bytes(params, bytes_per_param) / memory_bytes)


@dataclass(frozen=True)
class TrainingEstimate:
    """Training a model of ``params`` on ``tokens`` with ``gpus`` GPUs of one type."""

    gpu: GPU
    dtype: str
    gpus: np.ndarray
    params: np.ndarray
    tokens: np.ndarray
    train_flops: np.ndarray
    mfu: np.ndarray
    gpu_hours: np.ndarray
    wall_clock_days: np.ndarray
    usd_per_gpu_hour: float
    cost_usd: np.ndarray
    bytes_per_param: float
    state_bytes: np.ndarray
    min_gpus_for_state: np.ndarray
    implied_mfu: np.ndarray | None = None
    attention: bool = False

    @property
    def warnings(self) -> list[str]:
        """The GPUs cannot hold the training state (Adam, :func:`min_gpus_for_state`)."""
        from ..render import integer

        if not (self.gpus < self.min_gpus_for_state).any():
            return []
        gpus = "GPU" if np.ndim(self.gpus) == 0 and self.gpus == 1 else "GPUs"
        return [f"{integer(self.gpus)} {gpus} cannot hold the training state; at least "
                f"{integer(self.min_gpus_for_state)} are needed without offloading"]

    def to_dict(self) -> dict:
        from ..render import whole

        out = {
            "gpu": self.gpu.name, "dtype": self.dtype, "gpus": whole(self.gpus),
            "params": self.params, "tokens": self.tokens, "train_flops": self.train_flops,
            "attention_flops_included": self.attention,
            "mfu": self.mfu, "gpu_hours": self.gpu_hours,
            "wall_clock_days": self.wall_clock_days, "usd_per_gpu_hour": self.usd_per_gpu_hour,
            "cost_usd": self.cost_usd, "bytes_per_param": self.bytes_per_param,
            "state_bytes": self.state_bytes, "min_gpus_for_state": whole(self.min_gpus_for_state),
            "peak_flops_per_gpu": self.gpu.peak(self.dtype),
        }
        if self.implied_mfu is not None:
            out["implied_mfu"] = self.implied_mfu
        return out | {"warnings": self.warnings}


def estimate_training(gpu: GPU, params, tokens, *, gpus=1, dtype: str = "bf16", mfu=None,
                      hours=None, usd_per_gpu_hour: float | None = None,
                      bytes_per_param=ADAM_MIXED_PRECISION_BYTES_PER_PARAM, layers=None,
                      context=None, attention_width=None) -> TrainingEstimate:
    """FLOPs, GPU-hours, wall-clock days on ``gpus`` GPUs, dollars and memory for one run.

    Give ``mfu`` (default 0.4) to predict the GPU-hours, or the actual GPU-hours ``hours`` to get
    the MFU they imply (which must be <= 1: more would beat the GPU's peak). Arrays broadcast.
    """
    if mfu is not None and hours is not None:
        raise InputError(f"give {option('mfu')} (to predict GPU-hours) or "
                         f"{option('gpu_hours')} (to infer the MFU), not both")
    peak = gpu.peak(dtype)
    price = gpu.usd_per_gpu_hour if usd_per_gpu_hour is None else usd_per_gpu_hour
    price = float(v.positive("usd_per_gpu_hour", price))
    k = v.whole("gpus", gpus)
    with np.errstate(over="ignore", under="ignore"):
        flops = train_flops(params, tokens, layers=layers, context=context,
                            attention_width=attention_width)
        v.representable("the training estimate", {"train_flops": flops},
                        f"{option('params')}, {option('tokens')} or the attention shape")
        implied = None
        if hours is not None:
            used_hours = v.positive("gpu_hours", hours) * np.ones_like(flops)
            implied = implied_mfu(flops, used_hours, peak)
            bad = ~((implied > 0) & (implied <= 1.0))
            if np.any(bad):
                i = np.unravel_index(np.argmax(bad), np.shape(bad))
                h, u = float(np.broadcast_to(used_hours, bad.shape)[i]), float(implied[i])
                raise InputError(
                    f"{option('gpu_hours')} {h:g} is too {'few' if u > 1 else 'many'}: it "
                    f"implies MFU {u:.3g} {'> 1' if u > 1 else 'not > 0'} on {gpu.name} {dtype} "
                    f"(peak {peak / 1e12:g} TFLOP/s); the MFU must be in (0, 1]")
            used_mfu = implied
        else:
            used_mfu = DEFAULT_TRAIN_MFU if mfu is None else mfu
            used_hours = gpu_hours(flops, peak, used_mfu)
        state = training_state_bytes(params, bytes_per_param)
        out = dict(
            gpu=gpu, dtype=dtype.lower(), gpus=k, params=np.asarray(params, float),
            tokens=np.asarray(tokens, float), train_flops=flops,
            mfu=np.asarray(used_mfu, float), gpu_hours=used_hours,
            wall_clock_days=used_hours / k / 24.0, usd_per_gpu_hour=price,
            cost_usd=used_hours * price, bytes_per_param=float(bytes_per_param),
            state_bytes=state,
            min_gpus_for_state=min_gpus_for_state(params, gpu.memory_bytes, bytes_per_param),
            implied_mfu=implied, attention=layers is not None)
    v.representable("the training estimate",
                    {k: out[k] for k in ("gpu_hours", "wall_clock_days", "cost_usd",
                                         "state_bytes", "min_gpus_for_state")},
                    ", ".join(map(option, ("params", "tokens", "gpu_hours", "usd_per_gpu_hour")))
                    + f" or {option('bytes_per_param')}",
                    positive=True)
    return TrainingEstimate(**out)
