"""What a lifetime plan minimises: FLOPs, or dollars on real GPUs.

Both objectives have the form cost(N, D) = p N D + q N, with p the cost per parameter per
training token and q the cost per parameter of the whole inference demand. For FLOPs
(Sardana et al. 2024, eq. 1): p = 6, q = 2 D_inf. For dollars (Sardana et al. 2024, section 2.3):
p = 6 c_tr / U_tr and q = 2 c_inf (T_in / U_prefill + T_out / U_decode), where
c = (USD per GPU-hour) / (3600 x peak FLOP/s of the GPU in the dtype used) and U is the model
FLOPs utilisation. Swapping in another cost model means providing another ``coefficients``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import _validate as v
from .demand import Demand
from .hardware.catalog import GPU, get_gpu
from .laws import INFERENCE_FLOPS_PER_PARAM_TOKEN as FLOPS_INF
from .laws import TRAIN_FLOPS_PER_PARAM_TOKEN as FLOPS_TRAIN

SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True)
class FlopsObjective:
    """Minimise lifetime FLOPs 6 N D + 2 N D_inf (Sardana et al. 2024, eq. 1)."""

    priced = False

    def coefficients(self, demand: Demand) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(FLOPS_TRAIN), FLOPS_INF * demand.total_tokens

    def to_dict(self) -> dict:
        return {"objective": "flops"}


def usd_per_flop(gpu: GPU, dtype: str, usd_per_gpu_hour: float, mfu) -> np.ndarray:
    """USD per useful FLOP: price / (3600 s x peak FLOP/s in ``dtype`` x MFU)
    (Sardana et al. 2024, section 2.3, cost per FLOP divided by utilisation)."""
    return usd_per_gpu_hour / (SECONDS_PER_HOUR * gpu.peak(dtype) * mfu)


@dataclass(frozen=True)
class DollarCost:
    """Minimise lifetime dollars: training on one GPU type, inference on another.

    Defaults follow Sardana et al.'s published cost calculator (H100, bf16 training at MFU 0.5,
    fp8 inference at prefill MFU 0.5 and decode MFU 0.01); a price left as ``None`` takes the GPU
    catalog's typical on-demand price. All of these are assumptions: they are printed with every
    result and can be overridden.
    """

    train_gpu: str | GPU = "h100-sxm"
    train_dtype: str = "bf16"
    train_usd_per_gpu_hour: float | None = None
    train_mfu: float = 0.5
    inference_gpu: str | GPU = "h100-sxm"
    inference_dtype: str = "fp8"
    inference_usd_per_gpu_hour: float | None = None
    prefill_mfu: float = 0.5
    decode_mfu: float = 0.01
    priced: bool = field(default=True, init=False, repr=False)

    def __post_init__(self):
        set_ = object.__setattr__
        for role in ("train", "inference"):
            gpu = get_gpu(getattr(self, f"{role}_gpu"))
            set_(self, f"{role}_gpu", gpu)
            gpu.peak(getattr(self, f"{role}_dtype"))  # validates the dtype
            price_name = f"{role}_usd_per_gpu_hour"
            price = getattr(self, price_name)
            price = gpu.usd_per_gpu_hour if price is None else price
            set_(self, price_name, float(v.positive(price_name, price)))
        for name in ("train_mfu", "prefill_mfu", "decode_mfu"):
            set_(self, name, float(v.in_range(name, getattr(self, name), 0.0, 1.0)))

    def usd_per_train_flop(self) -> float:
        return float(usd_per_flop(self.train_gpu, self.train_dtype, self.train_usd_per_gpu_hour,
                                  self.train_mfu))

    def usd_per_prefill_flop(self) -> float:
        return float(usd_per_flop(self.inference_gpu, self.inference_dtype,
                                  self.inference_usd_per_gpu_hour, self.prefill_mfu))

    def usd_per_decode_flop(self) -> float:
        return float(usd_per_flop(self.inference_gpu, self.inference_dtype,
                                  self.inference_usd_per_gpu_hour, self.decode_mfu))

    def coefficients(self, demand: Demand) -> tuple[np.ndarray, np.ndarray]:
        demand.require_split()
        p = FLOPS_TRAIN * self.usd_per_train_flop()
        q = FLOPS_INF * (self.usd_per_prefill_flop() * demand.input_tokens
                         + self.usd_per_decode_flop() * demand.output_tokens)
        return np.asarray(p), q

    def to_dict(self) -> dict:
        return {
            "objective": "usd",
            "train_gpu": self.train_gpu.name,
            "train_dtype": self.train_dtype,
            "train_usd_per_gpu_hour": self.train_usd_per_gpu_hour,
            "train_mfu": self.train_mfu,
            "inference_gpu": self.inference_gpu.name,
            "inference_dtype": self.inference_dtype,
            "inference_usd_per_gpu_hour": self.inference_usd_per_gpu_hour,
            "prefill_mfu": self.prefill_mfu,
            "decode_mfu": self.decode_mfu,
            "usd_per_train_flop": self.usd_per_train_flop(),
            "usd_per_prefill_flop": self.usd_per_prefill_flop(),
            "usd_per_decode_flop": self.usd_per_decode_flop(),
        }
