"""The `gpus` command: the GPU catalog (built-in, plus a user's --gpu-file)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..hardware import GPU, load_catalog


@dataclass(frozen=True)
class GpuCatalogReport:
    gpus: tuple[GPU, ...]
    gpu_file: str | None = None

    def to_dict(self) -> dict:
        return {"gpu_file": self.gpu_file, "gpus": [g.to_dict() for g in self.gpus]}


def gpus(*, gpu_file: str | Path | None = None) -> GpuCatalogReport:
    """Every GPU in the catalog, in catalog order (user entries last)."""
    catalog = load_catalog(gpu_file)
    return GpuCatalogReport(tuple(catalog.values()),
                            None if gpu_file is None else str(gpu_file))
