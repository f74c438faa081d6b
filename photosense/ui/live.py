"""Indexing from the app through ``photosense.services.sync.LiveSync``: reconcile, then watch the folders."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from photosense.ui.bridge import LibraryBridge, user_message

log = logging.getLogger(__name__)


def decode_workers() -> int:
    """Decode threads for indexing from the app: one core stays with the GUI (the stall benchmark)."""
    return max(1, (os.cpu_count() or 2) - 1)


@dataclass(frozen=True)
class IndexState:
    """What the status bar shows."""

    state: str  # "idle" | "scanning" | "indexing" | "reading" (text in photos) | "paused"
    done: int = 0
    total: int = 0
    rate: float = 0.0
    eta: float | None = None
    failed: int = 0


class LiveIndexController(QObject):
    """Starts LiveSync on the library; its callbacks (its threads) come back as queued signals."""

    changed = Signal(object)  # IndexState
    finished = Signal(object)  # IndexSummary of a reconcile or a batch of changes
    failed = Signal(str)
    _progress = Signal(object)
    _report = Signal(object)
    _error = Signal(object)

    def __init__(self, bridge: LibraryBridge, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.state = IndexState("idle")
        self.sync = None
        self._busy = False
        self._paused = False
        self._progress.connect(self._on_progress)
        self._report.connect(self._on_report)
        self._error.connect(lambda err: self.failed.emit(user_message(err)))

    @property
    def running(self) -> bool:
        return self._busy

    @property
    def paused(self) -> bool:
        return self._paused

    def start(self) -> None:
        """Start syncing (first call), or pick up added and removed folders (later calls)."""
        library = self.bridge.library
        if library is None:
            return
        self._busy = True
        if self.state.state == "idle":
            self._set(IndexState("scanning"))
        if self.sync is not None and self.sync.library is library:
            self.bridge.pools.run(self.bridge.pools.io, self.sync.refresh_folders)
            return
        from photosense.services.sync import LiveSync

        if self.sync is not None:
            self.sync.stop(0)
        self.sync = sync = LiveSync(library, on_progress=self._progress.emit, on_change=self._report.emit,
                                    on_error=self._error.emit,
                                    workers=decode_workers())
        if self._paused:
            sync.pause()
        self.bridge.pools.run(self.bridge.pools.io, sync.start)

    def pause(self) -> None:
        self._paused = True
        if self.sync is not None:
            self.sync.pause()
        self._set(IndexState("paused", self.state.done, self.state.total, failed=self.state.failed))

    def resume(self) -> None:
        self._paused = False
        self._set(IndexState("idle"))
        if self.sync is not None:
            self._busy = True
            self.sync.resume()

    def stop(self) -> None:
        if self.sync is not None:
            self.sync.stop(10)
            self.sync = None

    def _on_progress(self, p) -> None:
        self._busy = True
        if self._paused:
            return
        state = {"scanning": "scanning", "reading text": "reading"}.get(p.phase, "indexing")
        self._set(IndexState(state, p.done, p.total, p.rate, p.eta, p.failed))

    def _on_report(self, report) -> None:
        self._busy = False
        if not self._paused:
            self._set(IndexState("idle", failed=report.summary.failed))
        self.finished.emit(report.summary)

    def _set(self, state: IndexState) -> None:
        self.state = state
        self.changed.emit(state)
