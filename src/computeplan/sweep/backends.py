"""Where blocks run: in this process (numpy), or on a Dask cluster (``dask.distributed``).

Both run the same block function (:func:`computeplan.sweep.block.run_block`); Dask only moves
it to workers with ``client.submit``. At most a few blocks per worker are in flight, so the
client's memory stays bounded whatever the sweep's size. A block whose worker dies is
rescheduled by Dask (and retried up to ``RETRIES`` times if it raises); results come back to
the client, which alone writes files, once per block.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator

from ..errors import InputError
from ..vocabulary import option

RETRIES = 3
IN_FLIGHT_PER_WORKER = 2
CONNECT_TIMEOUT_S = 10.0


class NumpyBackend:
    """Blocks one after another in this process."""

    name = "numpy"
    workers = 1

    def map(self, fn: Callable, job, tasks: Iterable) -> Iterator:
        for task in tasks:
            yield fn(job, task)

    def close(self) -> None:
        pass


def _distributed():
    try:
        import distributed
    except ImportError:
        raise InputError(f"{option('workers')} and {option('scheduler')} need "
                         "dask.distributed: pip install 'computeplan[dask]'") from None
    return distributed


class DaskBackend:
    """Blocks on a Dask cluster: a new local one of ``workers`` processes (loopback only), or
    the existing one at ``scheduler`` (``tcp://host:8786``)."""

    name = "dask"

    def __init__(self, *, workers: int | None = None, scheduler: str | None = None,
                 timeout: float = CONNECT_TIMEOUT_S):
        distributed = _distributed()
        self._cluster = None
        if scheduler is not None:
            try:
                self.client = distributed.Client(scheduler, timeout=timeout)
            except (OSError, TimeoutError, ValueError) as exc:
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise InputError(f"cannot reach the Dask scheduler at {scheduler!r} within "
                                 f"{timeout:g} s: {reason}") from None
        else:
            if workers is None or workers < 1:
                raise InputError(f"{option('workers')} must be a whole number >= 1; got {workers}")
            self._cluster = distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address=None, silence_logs=logging.ERROR,
                # no dashboard; the scheduler's own HTTP server on a free port, not 8787 (a
                # second local cluster there warned that the port was in use)
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
            self.client = distributed.Client(self._cluster)
        self.workers = max(sum(self.client.nthreads().values()), 1)

    def map(self, fn: Callable, job, tasks: Iterable) -> Iterator:
        distributed = _distributed()
        [shared] = self.client.scatter([job], broadcast=True, hash=False)
        window = IN_FLIGHT_PER_WORKER * self.workers
        tasks = iter(tasks)
        pending = distributed.as_completed()

        def submit() -> bool:
            task = next(tasks, None)
            if task is None:
                return False
            pending.add(self.client.submit(fn, shared, task, retries=RETRIES, pure=False,
                                           key=f"computeplan-sweep-block-{task.index}-"
                                               f"{id(self):x}"))
            return True

        for _ in range(window):
            if not submit():
                break
        for future in pending:
            result = future.result()
            future.release()
            submit()
            yield result

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def backend(*, workers: int | None = None, scheduler: str | None = None):
    if workers is not None and scheduler is not None:
        raise InputError(f"give {option('workers')} (a local Dask cluster) or "
                         f"{option('scheduler')} (an existing one), not both")
    if workers is None and scheduler is None:
        return NumpyBackend()
    return DaskBackend(workers=workers, scheduler=scheduler)
