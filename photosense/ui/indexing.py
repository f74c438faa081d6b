"""Indexing in the background: Library.index on the indexing pool, with progress, pause and resume."""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from photosense.ui.bridge import LibraryBridge, user_message


def decode_workers() -> int:
    """Decode threads for indexing from the app: one core stays with the GUI (the stall benchmark)."""
    return max(1, (os.cpu_count() or 2) - 1)


@dataclass(frozen=True)
class IndexState:
    """What the status bar shows."""

    state: str  # "idle" | "scanning" | "indexing" | "paused"
    done: int = 0
    total: int = 0
    rate: float = 0.0
    eta: float | None = None
    failed: int = 0


class IndexController(QObject):
    """Runs one indexing pass at a time; a request during a pass runs one more pass after it."""

    changed = Signal(object)  # IndexState
    finished = Signal(object)  # IndexSummary
    failed = Signal(str)

    def __init__(self, bridge: LibraryBridge, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.state = IndexState("idle")
        self._cancel: threading.Event | None = None
        self._again = False
        self._paused = False
        self._last_emit = 0.0
        self._progress.connect(self._on_progress)

    _progress = Signal(object)  # from the worker thread; queued to the GUI thread

    @property
    def running(self) -> bool:
        return self._cancel is not None

    def start(self) -> None:
        """Bring the library up to date with its folders (no-op while paused)."""
        library = self.bridge.library
        if library is None or self._paused:
            return
        if self.running:
            self._again = True
            return
        cancel = self._cancel = threading.Event()
        self._set(IndexState("scanning"))

        def progress(p) -> None:  # worker thread: throttle to ~10 updates a second
            now = time.monotonic()
            if now - self._last_emit >= 0.1 or p.done == p.total:
                self._last_emit = now
                self._progress.emit(p)

        workers = decode_workers()
        self.bridge.pools.run(self.bridge.pools.indexing,
                              lambda: library.index(progress=progress, cancel=cancel, workers=workers),
                              self._on_done, self._on_error)

    def pause(self) -> None:
        self._paused = True
        if self._cancel is not None:
            self._cancel.set()
        self._set(IndexState("paused", self.state.done, self.state.total, failed=self.state.failed))

    def resume(self) -> None:
        self._paused = False
        if self.running:
            self._again = True
        else:
            self._set(IndexState("idle"))
            self.start()

    @property
    def paused(self) -> bool:
        return self._paused

    def stop(self) -> None:
        if self._cancel is not None:
            self._cancel.set()

    def _on_progress(self, p) -> None:
        if self._paused or self._cancel is None:
            return
        state = "scanning" if p.phase == "scanning" else "indexing"
        self._set(IndexState(state, p.done, p.total, p.rate, p.eta, p.failed))

    def _on_done(self, summary) -> None:
        self._cancel = None
        if not self._paused:
            self._set(IndexState("idle", failed=summary.failed))
        self.finished.emit(summary)
        self._rerun()

    def _on_error(self, err: BaseException) -> None:
        self._cancel = None
        self._set(IndexState("paused" if self._paused else "idle"))
        self.failed.emit(user_message(err))
        self._rerun()

    def _rerun(self) -> None:
        if self._again and not self._paused:
            self._again = False
            self.start()

    def _set(self, state: IndexState) -> None:
        self.state = state
        self.changed.emit(state)
