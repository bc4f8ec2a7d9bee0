"""Hardware: the GPU catalog, model shape, training cost and the roofline serving model.

Names are imported from their modules on first use (PEP 562), so that importing one module
(e.g. the catalog, for a dollar objective) does not import the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import _lazy_attributes

#: Public name -> the module of this package that defines it.
_LAZY = {
    "GPU": ".catalog", "get_gpu": ".catalog", "load_catalog": ".catalog",
    "Hardware": ".serving", "ServingEstimate": ".serving", "estimate_serving": ".serving",
    "ModelShape": ".shape", "estimate_shape": ".shape", "explicit_shape": ".shape",
    "model_shape": ".shape",
    "TrainingEstimate": ".training", "estimate_training": ".training", "train_flops": ".training",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = _lazy_attributes(__name__, _LAZY, globals())


if TYPE_CHECKING:
    from .catalog import GPU, get_gpu, load_catalog  # noqa: F401
    from .serving import Hardware, ServingEstimate, estimate_serving  # noqa: F401
    from .shape import ModelShape, estimate_shape, explicit_shape, model_shape  # noqa: F401
    from .training import TrainingEstimate, estimate_training, train_flops  # noqa: F401
