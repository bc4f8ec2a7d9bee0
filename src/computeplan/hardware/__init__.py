"""Hardware: the GPU catalog and the cost of a FLOP on real GPUs."""

from .catalog import GPU, get_gpu, load_catalog

__all__ = ["GPU", "get_gpu", "load_catalog"]
