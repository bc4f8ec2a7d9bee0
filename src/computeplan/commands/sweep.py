"""The `sweep` command: one plan per scenario, streamed in blocks (see :mod:`computeplan.sweep`)."""

from __future__ import annotations


def sweep(spec=None, **kwargs):
    """Run a sweep; the arguments are those of :func:`computeplan.sweep.run.sweep`."""
    from ..sweep.run import sweep as run

    return run(spec, **kwargs)
