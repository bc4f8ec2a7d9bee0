"""The `allocate` command: Erdil's optimal training/inference split from an exchange rate."""

from __future__ import annotations

from .options import bounded


@bounded(train_oom="> 0", inference_oom="> 0", total="> 0", step_oom="in (0, 3]")
def allocate(*, train_oom: float, inference_oom: float, total: float | None = None,
             step_oom: float = 0.1):
    """``train_oom`` OOM of training trade for ``inference_oom`` OOM of inference at equal
    performance: the training share is inference_oom / (train_oom + inference_oom) (Erdil 2024),
    with the perturbation check of moving ``step_oom`` along the exchange rate."""
    from ..tradeoffs.allocation import optimal_split

    return optimal_split(train_oom, inference_oom, total, step_oom=step_oom)
