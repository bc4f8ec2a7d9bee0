"""Transformer shape: layers, width, heads, KV heads, from N alone or given explicitly.

Parameter count (Kaplan et al. 2020, "Scaling Laws for Neural Language Models", section 2.1 and
Table 1): a decoder of ``layers`` blocks of width ``d_model`` has N ~= 12 x layers x d_model^2
non-embedding parameters (4 d^2 attention, 8 d^2 MLP with a 4x hidden layer).

Aspect-ratio rule for estimating the shape from N alone: d_model = aspect_ratio x layers with a
default aspect ratio of 128, the ratio of GPT-3 175B (96 layers, d_model 12288; Brown et al. 2020,
Table 2.1) and of Llama-2-7B (32 layers, d_model 4096; Touvron et al. 2023); Kaplan et al. 2020
(Figure 5) find the loss within a few percent of optimal for aspect ratios from ~20 to ~200;
aspect ratios outside [1, 1000] (wider than a thousand times the depth, or deeper than wide)
describe no trained transformer and are rejected. Then
layers = round((N / (12 aspect^2))^(1/3)) (at least 1), d_model = sqrt(N / (12 layers)) so that
12 layers d_model^2 = N exactly, heads = round(d_model / 128) (at least 1), so head_dim =
d_model / heads is within a few percent of 128 (GPT-3 175B: 96 heads of 128), and kv_heads = heads
(multi-head attention) unless given (grouped-query or multi-query attention). Layer and head counts
are whole numbers, as in a real model; the width is left fractional so that N is kept exactly.
``integer_layers=False`` (for optimisers over N) keeps layers and heads fractional and smooth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import _validate as v
from ..defaults import DEFAULT_ASPECT_RATIO
from ..errors import InputError
from ..vocabulary import option

PARAMS_PER_LAYER_WIDTH2 = 12.0  # N = 12 layers d_model^2 (Kaplan et al. 2020, Table 1)
DEFAULT_HEAD_DIM = 128.0
#: Accepted aspect ratios d_model / layers (module docstring).
ASPECT_RATIO_RANGE = (1.0, 1000.0)


@dataclass(frozen=True)
class ModelShape:
    """A decoder-only transformer's shape (arrays broadcast). ``vocab`` and ``context`` are
    optional: ``context`` is the longest sequence the model supports, when known."""

    params: np.ndarray
    layers: np.ndarray
    d_model: np.ndarray
    heads: np.ndarray
    kv_heads: np.ndarray
    estimated: bool = False
    vocab: np.ndarray | None = None
    context: np.ndarray | None = None

    @property
    def head_dim(self) -> np.ndarray:
        return self.d_model / self.heads

    @property
    def attention_width(self) -> np.ndarray:
        """d_attn = heads x head_dim (the query width), = d_model for the usual shapes."""
        return self.heads * self.head_dim

    def kv_values_per_token(self) -> np.ndarray:
        """Values cached per token: keys and values for every layer, 2 x layers x kv_heads x
        head_dim (REFERENCES section 7)."""
        return 2.0 * self.layers * self.kv_heads * self.head_dim

    def forward_flops_per_token(self, context) -> np.ndarray:
        """Forward FLOPs per token at ``context`` tokens of attention span:
        2 N + 2 layers context d_attn (Kaplan et al. 2020, Table 1)."""
        return 2.0 * self.params + 2.0 * self.layers * context * self.attention_width

    def to_dict(self) -> dict:
        from ..render import whole

        out = {"params": self.params, "layers": whole(self.layers), "d_model": self.d_model,
               "heads": whole(self.heads), "kv_heads": whole(self.kv_heads),
               "head_dim": self.head_dim,
               "estimated": self.estimated}
        if self.vocab is not None:
            out["vocab"] = self.vocab
        if self.context is not None:
            out["context"] = self.context
        return out


def estimate_shape(params, *, aspect_ratio: float = DEFAULT_ASPECT_RATIO,
                   head_dim: float = DEFAULT_HEAD_DIM, kv_heads=None,
                   integer_layers: bool = True) -> ModelShape:
    """The shape of an N-parameter model by the aspect-ratio rule (module docstring).

    ``integer_layers=False`` keeps the layer and head counts fractional, so that every derived
    quantity is a smooth function of N (what an optimiser over N needs)."""
    n = v.positive("params", params)
    a = float(v.in_range("aspect_ratio", aspect_ratio, *ASPECT_RATIO_RANGE, lo_open=False))
    hd = float(v.positive("head_dim", head_dim))
    layers = np.cbrt(n / (PARAMS_PER_LAYER_WIDTH2 * a * a))
    if integer_layers:
        layers = np.maximum(1.0, np.round(layers))
    d_model = np.sqrt(n / (PARAMS_PER_LAYER_WIDTH2 * layers))
    heads = d_model / hd
    if integer_layers:
        heads = np.maximum(1.0, np.round(heads))
    kv = heads if kv_heads is None else _kv_heads(kv_heads, heads)
    v.representable("the estimated shape", {"d_model": d_model, "heads": heads}, "params",
                    positive=True)
    return ModelShape(n, layers, d_model, heads, np.broadcast_to(kv, heads.shape) * 1.0,
                      estimated=True)


def explicit_shape(*, layers, d_model, heads, kv_heads=None, params=None, vocab=None,
                   context=None) -> ModelShape:
    """A shape given by its hyper-parameters; ``params`` defaults to 12 layers d_model^2
    (non-embedding, Kaplan et al. 2020) and ``kv_heads`` to ``heads``."""
    n_layers = v.whole("layers", layers)
    width = v.whole("d_model", d_model)
    n_heads = v.whole("heads", heads)
    kv = n_heads if kv_heads is None else _kv_heads(kv_heads, n_heads)
    with np.errstate(over="ignore"):
        n = (PARAMS_PER_LAYER_WIDTH2 * n_layers * width**2 if params is None
             else v.positive("params", params))
    v.representable("the shape", {"params": n}, "layers or d_model")
    return ModelShape(
        n, n_layers, width, n_heads, kv * 1.0, estimated=False,
        vocab=None if vocab is None else v.whole("vocab", vocab),
        context=None if context is None else v.positive("context", context))


def _kv_heads(kv_heads, heads) -> np.ndarray:
    kv = v.whole("kv_heads", kv_heads)
    if np.any(kv > heads):
        raise InputError(f"{option('kv_heads')} must be <= {option('heads')} "
                         f"({float(np.max(heads)):g}); "
                         f"got {float(np.max(kv)):g}")
    return kv


def model_shape(params=None, *, layers=None, d_model=None, heads=None, kv_heads=None, vocab=None,
                context=None, aspect_ratio: float = DEFAULT_ASPECT_RATIO,
                head_dim: float = DEFAULT_HEAD_DIM) -> ModelShape:
    """Explicit shape when ``layers``, ``d_model`` and ``heads`` are all given, else the estimate
    from ``params`` (``kv_heads``, ``vocab`` and ``context`` apply to both)."""
    given = {k: x for k, x in dict(layers=layers, d_model=d_model, heads=heads).items()
             if x is not None}
    if given and len(given) < 3:
        missing = [k for k in ("layers", "d_model", "heads") if k not in given]
        raise InputError(f"an explicit shape needs {option('layers')}, {option('d_model')} and "
                         f"{option('heads')}; missing " + ", ".join(map(option, missing)))
    if given:
        return explicit_shape(layers=layers, d_model=d_model, heads=heads, kv_heads=kv_heads,
                              params=params, vocab=vocab, context=context)
    if params is None:
        raise InputError(f"give {option('params')}, or {option('layers')}, "
                         f"{option('d_model')} and {option('heads')}")
    est = estimate_shape(params, aspect_ratio=aspect_ratio, head_dim=head_dim, kv_heads=kv_heads)
    if vocab is None and context is None:
        return est
    return ModelShape(est.params, est.layers, est.d_model, est.heads, est.kv_heads, True,
                      None if vocab is None else v.whole("vocab", vocab),
                      None if context is None else v.positive("context", context))
