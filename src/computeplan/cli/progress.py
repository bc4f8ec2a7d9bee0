"""A progress bar for long work, on stderr and only when stderr is a terminal.

Shells create one with :func:`progress_for` (None when stderr is not a terminal or the output is
JSON, so pipes and tests see nothing) and pass its :meth:`Progress.update` to the core as a
callback.
"""

from __future__ import annotations

import sys


class Progress:
    """A rich progress bar: ``label``, a bar, done/total, a detail text, elapsed and remaining."""

    def __init__(self, label: str):
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as Bar

        self._bar = Bar(TextColumn(label), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.fields[detail]}"), TimeElapsedColumn(),
                        TimeRemainingColumn(), console=Console(stderr=True), transient=True)
        self._label, self._task = label, None
        self._bar.start()

    def update(self, done: int, total: int, detail: str = "") -> None:
        if self._task is None:
            self._task = self._bar.add_task(self._label, total=total, detail="")
        self._bar.update(self._task, completed=done, total=total, detail=detail)

    def stop(self) -> None:
        self._bar.stop()


def progress_for(label: str, as_json: bool = False) -> Progress | None:
    """A :class:`Progress` when stderr is a terminal and the output is not JSON, else None."""
    return Progress(label) if sys.stderr.isatty() and not as_json else None
