"""The index command's progress bar: done/total, images per second and time left, on stderr."""
from __future__ import annotations

import sys

from photosense.cli.common import stderr_console


class IndexProgress:
    """A rich progress bar on stderr: done/total, images per second and time left."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self._progress = None
        self._task = None

    def __enter__(self) -> IndexProgress:
        if self.enabled:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                                       TimeRemainingColumn)

            self._progress = Progress(
                SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[rate]:>6.1f} img/s"), TimeRemainingColumn(),
                console=stderr_console(), transient=True)
            self._progress.__enter__()
            self._task = self._progress.add_task("Scanning", total=None, rate=0.0)
        return self

    def update(self, p) -> None:
        if self._progress is None:
            return
        if p.phase == "scanning":
            self._progress.update(self._task, description="Scanning")
        elif p.phase == "reading text":
            self._progress.update(self._task, description="Reading text", total=p.total, completed=p.done,
                                  rate=p.rate)
        else:
            self._progress.update(self._task, description="Indexing", total=p.total, completed=p.done,
                                  rate=p.rate)

    def __exit__(self, *exc: object) -> None:
        if self._progress:
            self._progress.__exit__(*exc)
