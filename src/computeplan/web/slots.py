"""Slow requests (fits, tradeoff grids, hardware solves, reports): bounded in number, in time, and
stopped when their client goes away.

Each runs in a worker thread, off the event loop, so cheap requests (a plan) keep answering; at
most ``slots`` run at once and the others wait for a free one. A request has ``seconds`` in all,
waiting included: past that, or once its client disconnects, its work is stopped at the next
:func:`computeplan.work.checkpoint` (every solver iteration) and the slot is freed when the
thread returns. A stopped request answers 503 (:class:`computeplan.work.WorkStopped`).
"""

from __future__ import annotations

import asyncio

from fastapi.concurrency import run_in_threadpool

from ..work import WorkBound, WorkStopped, bounded

#: How often a waiting request looks at its client and its deadline, in seconds.
POLL_SECONDS = 0.1


class SlowWork:
    """At most ``slots`` slow requests at once, each with ``seconds`` (or None: no limit)."""

    def __init__(self, slots: int, seconds: float | None):
        self.slots = slots
        self.seconds = seconds
        self._free = asyncio.Semaphore(slots)
        #: Requests whose work runs now, and works stopped so far (time limit or client gone).
        self.running = 0
        self.stopped = 0

    async def run(self, request, fn, *args, **kwargs):
        """``fn(*args, **kwargs)`` in a worker thread once a slot is free, bounded in time and
        stopped if ``request``'s client disconnects."""
        bound = WorkBound(self.seconds)
        waiting = asyncio.ensure_future(self._free.acquire())
        try:
            await self._watch(waiting, request, bound, late="busy")
        except BaseException:
            waiting.cancel()
            if waiting.done() and not waiting.cancelled():
                self._free.release()  # acquired just as the request was stopped
            raise
        self.running += 1

        def job():
            with bounded(bound):
                return fn(*args, **kwargs)

        work = asyncio.ensure_future(run_in_threadpool(job))
        work.add_done_callback(self._finished)  # the slot is free when the thread is
        try:
            await self._watch(work, request, bound, late="time")
        except BaseException:
            bound.cancel("client")  # also when the server cancels this request
            raise
        return work.result()

    def _finished(self, work: asyncio.Future) -> None:
        self.running -= 1
        self.stopped += not work.cancelled() and isinstance(work.exception(), WorkStopped)
        self._free.release()

    async def _watch(self, future: asyncio.Future, request, bound: WorkBound, late: str
                     ) -> None:
        """Wait for ``future`` while the client is connected and the bound allows; raise
        :class:`WorkStopped` otherwise, with reason ``late`` past the deadline (the work, if
        running, stops at its next checkpoint)."""
        while True:
            done, _ = await asyncio.wait({future}, timeout=POLL_SECONDS)
            if done:
                return
            if request is not None and await request.is_disconnected():
                bound.cancel("client")
            if bound.expired:
                bound.cancel(late)
            if bound.reason is not None:
                raise WorkStopped(bound.reason)


def stopped_message(exc: WorkStopped, seconds: float | None) -> str:
    """The one-line answer to a stopped request: no free worker in time (``busy``), over the
    time limit (``time``) or cancelled."""
    if exc.reason == "busy":
        return (f"the server is busy: no worker was free within its limit of {seconds:g} s per "
                "request; try again later")
    if exc.reason == "time":
        return (f"the request needs more than the server's limit of {seconds:g} s per request "
                "(waiting for a worker included); ask for less work (fewer runs, resamples or "
                "grid points), or run the same command locally, where no limit applies")
    return f"the request was stopped ({exc.reason})"


__all__ = ["SlowWork", "WorkStopped", "stopped_message"]
