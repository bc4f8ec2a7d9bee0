"""Hardware: the GPU catalog, model shape, training cost and the roofline serving model."""

from .catalog import GPU, get_gpu, load_catalog
from .serving import Hardware, ServingEstimate, estimate_serving
from .shape import ModelShape, estimate_shape, explicit_shape, model_shape
from .training import TrainingEstimate, estimate_training, train_flops

__all__ = [
    "GPU",
    "Hardware",
    "ModelShape",
    "ServingEstimate",
    "TrainingEstimate",
    "estimate_serving",
    "estimate_shape",
    "estimate_training",
    "explicit_shape",
    "get_gpu",
    "load_catalog",
    "model_shape",
    "train_flops",
]
