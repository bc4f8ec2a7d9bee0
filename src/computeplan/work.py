"""Cooperative bounds on long computations: a deadline and a cancel flag that solver loops check.

A shell that must bound the work it starts (the web server: a time limit per request, and a
client that goes away) runs it under :func:`bounded`; the long loops of the core (every L-BFGS
iteration, hence every fit, bootstrap and cross-validation) call :func:`checkpoint`, which raises
:class:`WorkStopped` once the deadline has passed or the work was cancelled. Without a bound
(the CLI, Python callers) :func:`checkpoint` is one context-variable look-up.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class WorkStopped(Exception):
    """The work was stopped: its time limit passed (``reason == "time"``) or it was cancelled
    (``reason`` says why, e.g. ``"client"``: the client went away)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class WorkBound:
    """A deadline (``time.monotonic`` seconds, or None) and a cancel flag, safe to set from
    another thread."""

    def __init__(self, seconds: float | None = None):
        self.deadline = None if seconds is None else time.monotonic() + seconds
        self._cancelled = threading.Event()
        self.reason: str | None = None

    def cancel(self, reason: str) -> None:
        self.reason = self.reason or reason
        self._cancelled.set()

    @property
    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() > self.deadline

    def check(self) -> None:
        """Raise :class:`WorkStopped` if cancelled or past the deadline."""
        if self._cancelled.is_set():
            raise WorkStopped(self.reason or "cancelled")
        if self.expired:
            self.cancel("time")
            raise WorkStopped("time")


_CURRENT: contextvars.ContextVar[WorkBound | None] = contextvars.ContextVar("work_bound",
                                                                           default=None)


def checkpoint() -> None:
    """Raise :class:`WorkStopped` if the current work's bound says stop (no-op when unbounded)."""
    bound = _CURRENT.get()
    if bound is not None:
        bound.check()


@contextmanager
def bounded(bound: WorkBound) -> Iterator[WorkBound]:
    """Run the block under ``bound``: :func:`checkpoint` calls inside it (same thread or
    context) check it."""
    token = _CURRENT.set(bound)
    try:
        bound.check()
        yield bound
    finally:
        _CURRENT.reset(token)
