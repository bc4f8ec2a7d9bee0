"""GPU catalog, read from the packaged ``gpus.toml`` (vendor datasheet figures, dated prices).

Users extend or override it with their own TOML or JSON file of the same shape.
"""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

from ..errors import InputError


@dataclass(frozen=True)
class GPU:
    """One accelerator: memory, bandwidth, dense peak FLOP/s per dtype, and a dated price."""

    name: str
    description: str
    memory_bytes: float
    bandwidth_bytes_per_s: float
    peak_flops: dict[str, float]
    usd_per_gpu_hour: float
    price_date: str = ""
    price_source: str = ""
    aliases: tuple[str, ...] = field(default=())
    datasheet: str = ""

    def to_dict(self) -> dict:
        """The catalog entry in the units of ``gpus.toml`` (GB, GB/s, TFLOP/s)."""
        return {"name": self.name} | _entry_of(self)

    def peak(self, dtype: str) -> float:
        """Dense peak FLOP/s in ``dtype``; an InputError names the dtypes this GPU supports."""
        try:
            return self.peak_flops[dtype.lower()]
        except KeyError:
            raise InputError(
                f"GPU {self.name} has no {dtype!r} peak; valid dtypes: "
                f"{', '.join(self.peak_flops)}"
            ) from None

    @classmethod
    def from_entry(cls, name: str, entry: dict) -> GPU:
        def num(key: str, scale: float = 1.0) -> float:
            value = entry.get(key)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InputError(f"GPU {name!r}: {key} must be a number; got {value!r}")
            if not math.isfinite(value) or value <= 0:
                raise InputError(f"GPU {name!r}: {key} must be > 0; got {value}")
            return float(value) * scale

        peaks = entry.get("peak_tflops")
        if not isinstance(peaks, dict) or not peaks:
            raise InputError(f"GPU {name!r}: peak_tflops must be a table of dtype = TFLOP/s")
        return cls(
            name=name,
            description=str(entry.get("description", name)),
            memory_bytes=num("memory_gb", 1e9),
            bandwidth_bytes_per_s=num("bandwidth_gb_per_s", 1e9),
            peak_flops={
                str(k).lower(): num_pk for k, num_pk in
                ((k, _positive_peak(name, k, val)) for k, val in peaks.items())
            },
            usd_per_gpu_hour=num("usd_per_gpu_hour"),
            price_date=str(entry.get("price_date", "")),
            price_source=str(entry.get("price_source", "")),
            aliases=tuple(str(a).lower() for a in entry.get("aliases", ())),
            datasheet=str(entry.get("datasheet", "")),
        )


def _positive_peak(gpu: str, dtype: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise InputError(f"GPU {gpu!r}: peak_tflops.{dtype} must be > 0; got {value!r}")
    return float(value) * 1e12


def _read_table(path: Path) -> dict:
    try:
        text = path.read_text()
    except OSError as exc:
        raise InputError(f"cannot read GPU file {str(path)!r}: {exc.strerror}") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"GPU file {str(path)!r} is not valid {path.suffix[1:].upper() or 'TOML'}:"
                         f" {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"GPU file {str(path)!r} must map GPU names to tables")
    return data


@cache
def _builtin() -> dict[str, GPU]:
    text = resources.files(__package__).joinpath("gpus.toml").read_text()
    return {k: GPU.from_entry(k, v) for k, v in tomllib.loads(text).items()}


def load_catalog(gpu_file: str | Path | None = None) -> dict[str, GPU]:
    """The built-in catalog, updated with the entries of ``gpu_file`` (TOML or JSON) if given."""
    catalog = dict(_builtin())
    if gpu_file is not None:
        for name, entry in _read_table(Path(gpu_file)).items():
            if not isinstance(entry, dict):
                raise InputError(f"GPU file entry {name!r} must be a table")
            base = catalog.get(name.lower())
            merged = _entry_of(base) | entry if base else entry
            catalog[name.lower()] = GPU.from_entry(name.lower(), merged)
    return catalog


def _entry_of(gpu: GPU) -> dict:
    return {
        "description": gpu.description,
        "memory_gb": gpu.memory_bytes / 1e9,
        "bandwidth_gb_per_s": gpu.bandwidth_bytes_per_s / 1e9,
        "peak_tflops": {k: val / 1e12 for k, val in gpu.peak_flops.items()},
        "usd_per_gpu_hour": gpu.usd_per_gpu_hour,
        "price_date": gpu.price_date,
        "price_source": gpu.price_source,
        "aliases": list(gpu.aliases),
        "datasheet": gpu.datasheet,
    }


def get_gpu(name: str | GPU, catalog: dict[str, GPU] | None = None) -> GPU:
    """Look a GPU up by name or alias (case-insensitive); the error lists the known names."""
    if isinstance(name, GPU):
        return name
    catalog = load_catalog() if catalog is None else catalog
    key = str(name).strip().lower()
    if key in catalog:
        return catalog[key]
    for gpu in catalog.values():
        if key in gpu.aliases:
            return gpu
    raise InputError(f"unknown GPU {name!r}; known GPUs: {', '.join(sorted(catalog))}")
