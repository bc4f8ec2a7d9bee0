"""What a lifetime plan minimises: FLOPs, or dollars on real GPUs.

Both objectives have the form cost(N, D) = p N D + q N, with p the cost per parameter per
training token and q the cost per parameter of the whole inference demand. For FLOPs
(Sardana et al. 2024, eq. 1): p = 6, q = 2 D_inf. For dollars (Sardana et al. 2024, section 2.3):
p = 6 c_tr / U_tr and q = 2 c_inf (T_in / U_prefill + T_out / U_decode), where
c = (USD per GPU-hour) / (3600 x peak FLOP/s of the GPU in the dtype used) and U is the model
FLOPs utilisation. Swapping in another cost model means providing another ``coefficients``.

:class:`RooflineDollarCost` prices prefill and decode with the roofline serving model of
:mod:`computeplan.hardware.serving` instead of fixed MFUs; its inference cost Q(N) is not linear
in N, so it also provides ``inference_cost`` and ``marginal_cost`` (``params_dependent``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from . import _validate as v
from .demand import Demand
from .errors import InputError
from .laws import INFERENCE_FLOPS_PER_PARAM_TOKEN as FLOPS_INF
from .laws import TRAIN_FLOPS_PER_PARAM_TOKEN as FLOPS_TRAIN
from .units import SECONDS_PER_HOUR

if TYPE_CHECKING:  # the GPU catalog is read when a dollar objective is made, not on import
    from .hardware.catalog import GPU


#: The range of a cost per FLOP: normal, finite doubles.
_TINY, _HUGE = np.finfo(float).tiny, np.finfo(float).max


def _number(x) -> float | np.ndarray:
    """A float for a scalar, the array itself for an array (one value per scenario)."""
    arr = np.asarray(x, float)
    return float(arr) if arr.ndim == 0 else arr


@dataclass(frozen=True)
class FlopsObjective:
    """Minimise lifetime FLOPs 6 N D + 2 N D_inf (Sardana et al. 2024, eq. 1)."""

    priced = False
    params_dependent = False

    def coefficients(self, demand: Demand) -> tuple[np.ndarray, np.ndarray]:
        """p = 6 and q = 2 D_inf FLOPs per parameter; a q beyond double precision is inf,
        which the planners' checks turn into the InputError naming the demand."""
        with np.errstate(over="ignore"):
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
    fp8 inference at prefill MFU 0.5 and decode MFU 0.01); without an ``inference_dtype`` the
    inference GPU's best supported one is used (``GPU.inference_dtype``: fp8, else int8, bf16,
    fp16; int8 on an A100); a price left as ``None`` takes the GPU catalog's typical on-demand
    price. All of these are assumptions: they are printed with every
    result and can be overridden. Prices and MFUs may be arrays (one per scenario): they broadcast
    with the demand, so a sweep over prices is one vectorised call.
    """

    train_gpu: str | GPU = "h100-sxm"
    train_dtype: str = "bf16"
    train_usd_per_gpu_hour: float | None = None
    train_mfu: float = 0.5
    inference_gpu: str | GPU = "h100-sxm"
    inference_dtype: str | None = None  # the inference GPU's GPU.inference_dtype (fp8 on H100)
    inference_usd_per_gpu_hour: float | None = None
    prefill_mfu: float = 0.5
    decode_mfu: float = 0.01
    priced: bool = field(default=True, init=False, repr=False)
    params_dependent: bool = field(default=False, init=False, repr=False)

    def __post_init__(self):
        from .hardware.catalog import get_gpu

        set_ = object.__setattr__
        for role in ("train", "inference"):
            gpu = get_gpu(getattr(self, f"{role}_gpu"))
            set_(self, f"{role}_gpu", gpu)
            if role == "inference" and self.inference_dtype is None:
                set_(self, "inference_dtype", gpu.inference_dtype)
            gpu.peak(getattr(self, f"{role}_dtype"))  # validates the dtype
            price_name = f"{role}_usd_per_gpu_hour"
            price = getattr(self, price_name)
            price = gpu.usd_per_gpu_hour if price is None else price
            set_(self, price_name, _number(v.positive(price_name, price)))
        for name in ("train_mfu", "prefill_mfu", "decode_mfu"):
            set_(self, name, _number(v.in_range(name, getattr(self, name), 0.0, 1.0)))
        self._check_prices()

    def _check_prices(self):
        """Work out the cost per FLOP of training, prefill and decode once (the fields are
        frozen), checking that extreme (valid) prices keep it within double precision."""
        per_flop = []
        roles = (("train", self.train_gpu, self.train_dtype, self.train_mfu),
                 ("inference", self.inference_gpu, self.inference_dtype, self.prefill_mfu),
                 ("inference", self.inference_gpu, self.inference_dtype, self.decode_mfu))
        with np.errstate(over="ignore", under="ignore"):
            for role, gpu, dtype, mfu in roles:
                try:
                    per_flop.append(_number(usd_per_flop(
                        gpu, dtype, getattr(self, f"{role}_usd_per_gpu_hour"), mfu)))
                except OverflowError:
                    per_flop.append(math.inf)
        tiny, huge = _TINY, _HUGE
        for (role, *_), usd in zip(roles, per_flop, strict=True):
            if type(usd) is float and tiny <= usd <= huge:
                continue
            usd = np.asarray(usd, float)
            bad = ~((usd >= tiny) & (usd <= huge))
            if bad.any():
                price = np.broadcast_to(getattr(self, f"{role}_usd_per_gpu_hour"), bad.shape)
                i = np.argwhere(bad)[0] if bad.ndim else ()
                raise InputError(
                    f"{role}_usd_per_gpu_hour {float(price[tuple(i)]):g} (at its MFU) gives "
                    f"{float(usd[tuple(i)]):g} USD per FLOP; the cost per FLOP must lie in "
                    f"[{tiny:.3g}, {huge:.3g}] (double precision)")
        object.__setattr__(self, "_usd_per_flop", tuple(per_flop))

    def usd_per_train_flop(self) -> float | np.ndarray:
        """USD per training FLOP (:func:`usd_per_flop` of the training GPU at ``train_mfu``)."""
        return self._usd_per_flop[0]

    def usd_per_prefill_flop(self) -> float | np.ndarray:
        """USD per prefill FLOP (the inference GPU at ``prefill_mfu``)."""
        return self._usd_per_flop[1]

    def usd_per_decode_flop(self) -> float | np.ndarray:
        """USD per decode FLOP (the inference GPU at ``decode_mfu``)."""
        return self._usd_per_flop[2]

    @property
    def train_usd_per_param_token(self) -> float | np.ndarray:
        """p = 6 x USD per training FLOP (Sardana et al. 2024, section 2.3); independent of N."""
        return FLOPS_TRAIN * self.usd_per_train_flop()

    def coefficients(self, demand: Demand) -> tuple[np.ndarray, np.ndarray]:
        demand.require_split()
        p = self.train_usd_per_param_token
        with np.errstate(over="ignore"):  # inf: the planners' checks name the demand
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


@dataclass(frozen=True)
class RooflineDollarCost(DollarCost):
    """Lifetime dollars with prefill and decode priced by the roofline serving model.

    Training is priced as in :class:`DollarCost` (fixed MFU). Inference is not: serving a model
    of N parameters in ``inference_dtype`` at ``batch`` concurrent sequences of ``context``
    tokens costs price x GPU-seconds per token, with GPU-seconds per token from
    :mod:`computeplan.hardware.serving` (roofline: max(bytes / bandwidth, FLOPs / peak) per step,
    divided by the batch). The shape of each N follows the aspect-ratio rule of
    :mod:`computeplan.hardware.shape` with a fractional layer count (so costs are smooth in N) and
    ``gqa_ratio`` query heads per KV head. GPUs are treated as divisible: under perfect tensor
    parallelism GPU-seconds per token do not depend on how many GPUs hold the model, and memory
    capacity is not checked here (``computeplan serve`` checks it for a chosen model).

    Inference then costs Q(N) = price/3600 x (T_in s_prefill(N) + T_out s_decode(N)), not q N:
    memory-bound decode reads the KV cache, which grows like N^(2/3) under the shape rule. The
    planner in :mod:`computeplan.lifetime` handles this through :meth:`inference_cost` and
    :meth:`marginal_cost` (dQ/dN), solving its first-order condition in log N by bisection
    (robust to the kink where decode turns from memory to compute bound).
    ``prefill_mfu`` and ``decode_mfu`` are unused.

    Prefill is priced as prompts of ``context`` tokens (by default input + output tokens per
    request), not of the input tokens alone: a slight overcount of the attention FLOPs and KV
    writes of prefill, which are small beside the 2 N FLOPs per token and the weight reads.
    """

    batch: float = 64.0
    context: float = 2048.0
    kv_dtype: str | None = None
    gqa_ratio: float = 1.0
    aspect_ratio: float = 128.0
    bandwidth_fraction: float = 0.7
    compute_fraction: float = 0.5
    params_dependent: bool = field(default=True, init=False, repr=False)

    def __post_init__(self):
        super().__post_init__()
        from .hardware.serving import Hardware

        for name in ("batch", "context"):
            value = float(v.positive(name, getattr(self, name)))
            if value < 1:
                raise InputError(f"{name} must be >= 1; got {value:g}")
            object.__setattr__(self, name, value)
        ratio = float(v.positive("gqa_ratio", self.gqa_ratio))
        if ratio < 1:
            raise InputError(f"gqa_ratio (query heads per KV head) must be >= 1; got {ratio:g}")
        object.__setattr__(self, "gqa_ratio", ratio)
        object.__setattr__(self, "aspect_ratio",
                           float(v.positive("aspect_ratio", self.aspect_ratio)))
        hw = Hardware.of(self.inference_gpu, self.inference_dtype, kv_dtype=self.kv_dtype,
                         usd_per_gpu_hour=self.inference_usd_per_gpu_hour,
                         bandwidth_fraction=self.bandwidth_fraction,
                         compute_fraction=self.compute_fraction)
        object.__setattr__(self, "kv_dtype", hw.kv_dtype)
        object.__setattr__(self, "bandwidth_fraction", hw.bandwidth_fraction)
        object.__setattr__(self, "compute_fraction", hw.compute_fraction)
        object.__setattr__(self, "_hw", hw)

    def shape(self, params):
        """The estimated shape of an N-parameter model (fractional layers, GQA ratio)."""
        from dataclasses import replace

        from .hardware.shape import estimate_shape

        s = estimate_shape(params, aspect_ratio=self.aspect_ratio, integer_layers=False)
        return replace(s, kv_heads=s.heads / self.gqa_ratio)

    def gpu_seconds_per_token(self, params) -> tuple[np.ndarray, np.ndarray]:
        """(prefill, decode) GPU-seconds per input and per output token of an N-parameter model."""
        from .hardware.serving import (
            decode_gpu_seconds_per_token,
            prefill_gpu_seconds_per_token,
        )

        s = self.shape(params)
        return (prefill_gpu_seconds_per_token(self._hw, s, self.batch, self.context),
                decode_gpu_seconds_per_token(self._hw, s, self.batch, self.context))

    def effective_mfu(self, params) -> tuple[np.ndarray, np.ndarray]:
        """(prefill, decode) MFU implied by the roofline, counting 2 N FLOPs per token."""
        peak = self.inference_gpu.peak(self.inference_dtype)
        n = np.asarray(params, float)
        return tuple(FLOPS_INF * n / (peak * s) for s in self.gpu_seconds_per_token(n))

    def inference_cost(self, params, demand: Demand) -> np.ndarray:
        """Q(N): lifetime inference dollars of an N-parameter model."""
        demand.require_split()
        prefill, decode = self.gpu_seconds_per_token(params)
        usd_per_s = self.inference_usd_per_gpu_hour / SECONDS_PER_HOUR
        return usd_per_s * (demand.input_tokens * prefill + demand.output_tokens * decode)

    def marginal_cost(self, params, demand: Demand, *, h: float = 1e-5) -> np.ndarray:
        """dQ/dN by a central difference in log N (relative error ~h^2; Q is a maximum of two
        smooth power-law sums, so one-sided at the kink between memory and compute bound)."""
        n = np.asarray(params, float)
        up, down = self.inference_cost(n * np.exp(h), demand), self.inference_cost(
            n * np.exp(-h), demand)
        return (up - down) / (n * 2.0 * np.sinh(h))

    def coefficients(self, demand: Demand, params=None) -> tuple[np.ndarray, np.ndarray]:
        """p and the average inference cost per parameter Q(N)/N at ``params``."""
        if params is None:
            raise InputError("the roofline decode model prices inference per model size: "
                             "coefficients need params")
        return (np.asarray(self.train_usd_per_param_token),
                self.inference_cost(params, demand) / np.asarray(params, float))

    def to_dict(self) -> dict:
        base = super().to_dict()
        for key in ("prefill_mfu", "decode_mfu", "usd_per_prefill_flop", "usd_per_decode_flop"):
            base.pop(key)
        return base | {
            "decode_model": "roofline", "batch": self.batch, "context": self.context,
            "kv_dtype": self.kv_dtype, "gqa_ratio": self.gqa_ratio,
            "aspect_ratio": self.aspect_ratio, "bandwidth_fraction": self.bandwidth_fraction,
            "compute_fraction": self.compute_fraction,
        }
