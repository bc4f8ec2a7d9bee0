"""The `train` command: FLOPs, GPU-hours, wall-clock, dollars and memory of a training run."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from ..hardware import get_gpu, load_catalog
from ..hardware.shape import model_shape
from ..hardware.training import (
    ADAM_MIXED_PRECISION_BYTES_PER_PARAM,
    TrainingEstimate,
    estimate_training,
)
from ..vocabulary import option
from .options import bounded


@bounded(params="> 0", tokens="> 0", gpus="a whole number >= 1", mfu="in (0, 1]",
         gpu_hours="> 0", usd_per_gpu_hour="> 0", context="> 0", layers="a whole number >= 1",
         d_model="a whole number >= 1", heads="a whole number >= 1", bytes_per_param="> 0")
def train(*, params: float, tokens: float, gpu: str = "h100-sxm", gpus: float = 1,
          mfu: float | None = None, gpu_hours: float | None = None, dtype: str = "bf16",
          usd_per_gpu_hour: float | None = None, attention: bool = False,
          context: float | None = None, layers: float | None = None,
          d_model: float | None = None, heads: float | None = None,
          bytes_per_param: float = ADAM_MIXED_PRECISION_BYTES_PER_PARAM,
          gpu_file: str | Path | None = None) -> TrainingEstimate:
    """Cost of training ``params`` on ``tokens``; with ``gpu_hours``, the MFU they imply.

    ``attention`` adds the attention FLOPs at sequence length ``context`` (default 2048) for the
    shape given by ``layers``/``d_model``/``heads`` or estimated from ``params``.
    """
    the_gpu = get_gpu(gpu, load_catalog(gpu_file))
    shape_opts = dict(context=context, layers=layers, d_model=d_model, heads=heads)
    if not attention and any(x is not None for x in shape_opts.values()):
        raise InputError("/".join(option(k) for k, x in shape_opts.items() if x is not None)
                         + f" only matter with {option('attention')}")
    attn = {}
    if attention:
        from ..hardware.serving import DEFAULT_CONTEXT

        shape = model_shape(params, layers=layers, d_model=d_model, heads=heads)
        attn = dict(layers=shape.layers, attention_width=shape.attention_width,
                    context=DEFAULT_CONTEXT if context is None else context)
    return estimate_training(the_gpu, params, tokens, gpus=gpus, dtype=dtype, mfu=mfu,
                             hours=gpu_hours, usd_per_gpu_hour=usd_per_gpu_hour,
                             bytes_per_param=bytes_per_param, **attn)
