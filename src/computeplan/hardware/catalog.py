"""GPU catalog, read from the packaged ``gpus.toml`` (vendor datasheet figures, dated prices).

Users extend or override it with their own TOML or JSON file of the same shape.
"""

from __future__ import annotations

import json
import math
import sys
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

from ..errors import InputError
from .dtypes import BYTES_PER_VALUE

#: Inference dtypes by preference (fastest first, as Sardana et al.'s cost calculator serves in
#: fp8 and their A100 example in int8): a GPU's default inference dtype is the first it supports.
INFERENCE_DTYPE_PREFERENCE = ("fp8", "int8", "bf16", "fp16")
#: The fields of a catalog entry (``gpus.toml``, a ``--gpu-file``), in the file's units.
ENTRY_FIELDS = ("description", "memory_gb", "bandwidth_gb_per_s", "peak_tflops",
                "usd_per_gpu_hour", "price_date", "price_source", "aliases", "datasheet")


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

    @property
    def inference_dtype(self) -> str:
        """The default inference dtype: the first of :data:`INFERENCE_DTYPE_PREFERENCE` this GPU
        has a peak for (else its first dtype)."""
        return next((d for d in INFERENCE_DTYPE_PREFERENCE if d in self.peak_flops),
                    next(iter(self.peak_flops)))

    @classmethod
    def from_entry(cls, name: str, entry: dict) -> GPU:
        def num(key: str, scale: float = 1.0) -> float:
            return _positive(name, key, entry.get(key), scale)

        unknown = [str(k) for k in entry if k not in ENTRY_FIELDS]
        if unknown:
            raise InputError(f"GPU {name!r}: unknown field {unknown[0]!r}; valid fields: "
                             + ", ".join(ENTRY_FIELDS))
        peaks = entry.get("peak_tflops")
        if not isinstance(peaks, dict) or not peaks:
            raise InputError(f"GPU {name!r}: peak_tflops must be a table of dtype = TFLOP/s")
        unknown = [str(k) for k in peaks if str(k).lower() not in BYTES_PER_VALUE]
        if unknown:
            raise InputError(f"GPU {name!r}: peak_tflops has an unknown dtype {unknown[0]!r}; "
                             f"valid dtypes: {', '.join(BYTES_PER_VALUE)}")
        aliases = entry.get("aliases", ())
        if not isinstance(aliases, list | tuple) or not all(isinstance(a, str) for a in aliases):
            raise InputError(f"GPU {name!r}: aliases must be a list of strings; got {aliases!r}")
        return cls(
            name=name,
            description=str(entry.get("description", name)),
            memory_bytes=num("memory_gb", 1e9),
            bandwidth_bytes_per_s=num("bandwidth_gb_per_s", 1e9),
            peak_flops={str(k).lower(): _positive(name, f"peak_tflops.{k}", val, 1e12)
                        for k, val in peaks.items()},
            usd_per_gpu_hour=num("usd_per_gpu_hour"),
            price_date=str(entry.get("price_date", "")),
            price_source=str(entry.get("price_source", "")),
            aliases=tuple(a.strip().lower() for a in aliases),
            datasheet=str(entry.get("datasheet", "")),
        )


def _positive(gpu: str, key: str, value, scale: float = 1.0) -> float:
    """``value`` (a finite number > 0 in the file's unit) times ``scale`` (to SI units)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"GPU {gpu!r}: {key} must be a number > 0; got {value!r}")
    try:
        scaled = float(value) * scale
    except OverflowError:  # a JSON integer beyond float range
        scaled = math.inf
    if not (value > 0 and math.isfinite(scaled)):
        big = value > 0 and value != math.inf  # finite, but not once in SI units
        limit = f" and < {sys.float_info.max / scale:.3g}" if big else ""
        raise InputError(f"GPU {gpu!r}: {key} must be a finite number > 0{limit}; got {value}")
    return scaled


def _read_table(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read GPU file {str(path)!r}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"GPU file {str(path)!r} is not UTF-8 text: byte {exc.start} is "
                         f"{exc.object[exc.start:exc.start + 1]!r}") from None
    is_json = path.suffix.lower() == ".json"
    try:
        data = json.loads(text) if is_json else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        hint = "" if path.suffix.lower() in (".json", ".toml") else (
            " (a GPU file is TOML, or JSON with a .json name)")
        raise InputError(f"GPU file {str(path)!r} is not valid {'JSON' if is_json else 'TOML'}"
                         f"{hint}: {exc}") from None
    except RecursionError:
        raise InputError(f"GPU file {str(path)!r} is nested too deeply (a GPU file is a table "
                         "of GPU tables)") from None
    if not isinstance(data, dict):
        raise InputError(f"GPU file {str(path)!r} must map GPU names to tables")
    return data


@cache
def _builtin() -> dict[str, GPU]:
    text = resources.files(__package__).joinpath("gpus.toml").read_text()
    return {k: GPU.from_entry(k, v) for k, v in tomllib.loads(text).items()}


def load_catalog(gpu_file: str | Path | None = None) -> dict[str, GPU]:
    """The built-in catalog, updated with the entries of ``gpu_file`` (TOML or JSON) if given.

    An entry naming a known GPU (or one of its aliases) changes only the fields it names;
    ``peak_tflops`` is merged dtype by dtype. Other entries add GPUs. An unknown field or
    dtype, or an alias that names another GPU, is an InputError."""
    catalog = dict(_builtin())
    if gpu_file is not None:
        for name, entry in _read_table(Path(gpu_file)).items():
            if not isinstance(entry, dict):
                raise InputError(f"GPU file entry {name!r} must be a table")
            base = _find(name, catalog)
            merged = dict(entry)
            if base is not None:
                merged = _entry_of(base) | entry
                if isinstance(entry.get("peak_tflops"), dict):
                    merged["peak_tflops"] = _entry_of(base)["peak_tflops"] | {
                        str(k).lower(): val for k, val in entry["peak_tflops"].items()}
            key = base.name if base is not None else name.strip().lower()
            gpu = GPU.from_entry(key, merged)
            for alias in gpu.aliases:
                other = _find(alias, catalog)
                if other is not None and other.name != key:
                    raise InputError(f"GPU {key!r}: alias {alias!r} already names GPU "
                                     f"{other.name!r}; choose another alias")
            catalog[key] = gpu
    return catalog


def _find(name: str, catalog: dict[str, GPU]) -> GPU | None:
    """The GPU called ``name`` or having it as an alias (case-insensitive), or ``None``."""
    key = str(name).strip().lower()
    if key in catalog:
        return catalog[key]
    return next((gpu for gpu in catalog.values() if key in gpu.aliases), None)


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
    gpu = _find(name, catalog)
    if gpu is not None:
        return gpu
    raise InputError(f"unknown GPU {name!r}; known GPUs: {', '.join(sorted(catalog))}")
