"""Live indexing through ``photosense.services.sync.LiveSync``: reconcile, then watch the folders; same API as IndexController."""
from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal

from photosense.ui.bridge import LibraryBridge, user_message
from photosense.ui.indexing import IndexState, decode_workers

log = logging.getLogger(__name__)


def available() -> bool:
    """True when the live sync service is installed."""
    try:
        from photosense.services.sync import LiveSync  # noqa: F401
    except ImportError:
        return False
    return True


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
        state = "scanning" if p.phase == "scanning" else "indexing"
        self._set(IndexState(state, p.done, p.total, p.rate, p.eta, p.failed))

    def _on_report(self, report) -> None:
        self._busy = False
        if not self._paused:
            self._set(IndexState("idle", failed=report.summary.failed))
        self.finished.emit(report.summary)

    def _set(self, state: IndexState) -> None:
        self.state = state
        self.changed.emit(state)
