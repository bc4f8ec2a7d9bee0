"""Bytes per stored value for each numeric format (weights, KV cache).

fp32/tf32 values are stored in 4 bytes (tf32 is a compute mode over fp32 storage), bf16/fp16
in 2, fp8/int8 in 1 and fp4/int4 in half a byte (ignoring the per-group scales of quantised
formats).
"""

from __future__ import annotations

from ..errors import InputError
from ..vocabulary import option

BYTES_PER_VALUE: dict[str, float] = {
    "fp32": 4.0,
    "tf32": 4.0,
    "bf16": 2.0,
    "fp16": 2.0,
    "fp8": 1.0,
    "int8": 1.0,
    "fp4": 0.5,
    "int4": 0.5,
}


def bytes_per_value(dtype: str, name: str | None = None) -> float:
    """Bytes one value of ``dtype`` occupies; an InputError lists the known formats, naming
    option ``name`` (e.g. ``kv_dtype``) when the dtype was given as that option."""
    try:
        return BYTES_PER_VALUE[str(dtype).lower()]
    except KeyError:
        label = "dtype" if name is None else option(name)
        raise InputError(f"{label} must be one of {', '.join(BYTES_PER_VALUE)}; "
                         f"got {dtype!r}") from None
