"""The `overhead` command: compute overhead of a smaller-than-optimal model (de Vries 2023)."""

from __future__ import annotations

from ..laws import get_law
from .options import LAW_BOUNDS, bounded


@bounded(critical_overhead="> 0", train_flops="> 0", **LAW_BOUNDS)
def overhead(*, size_fraction, law: str = "sardana2024", E=None, A=None, B=None, alpha=None,
             beta=None, train_flops=None, critical_overhead: float = 1.0):
    """Token multiplier and compute overhead of a model ``size_fraction`` times the
    compute-optimal size reaching the same loss, and the critical size (overhead
    ``critical_overhead``, default 100%), for a law of any form; ``train_flops`` is the
    reference compute whose compute-optimal model fixes the loss (needed where the overhead
    depends on the budget, :func:`computeplan.tradeoffs.overhead.depends_on_budget`)."""
    from ..tradeoffs.overhead import overhead as run

    the_law = get_law(law, any_form=True, E=E, A=A, B=B, alpha=alpha, beta=beta)
    return run(the_law, size_fraction, critical_overhead=critical_overhead,
               train_flops=train_flops)
