"""Thread pools by purpose, and running a function on one with its result posted back as a queued signal.

``Pools(synchronous=True)`` runs every task inline instead and calls its handler at once, on the
calling thread (like Picard's ``FakeThreadPool`` or napari's ``force_sync``): tests of the
controller then need no waits.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)


class _Relay(QObject):
    """Lives on the GUI thread; the worker emits, Qt queues the call to the GUI thread."""

    done = Signal(object)
    failed = Signal(object)


class _Task(QRunnable):
    def __init__(self, func: Callable[[], Any], relay: _Relay) -> None:
        super().__init__()
        self.func, self.relay = func, relay

    def run(self) -> None:
        try:
            result = self.func()
        except BaseException as err:  # noqa: BLE001 - every failure goes back to the GUI as a signal
            self.relay.failed.emit(err)
        else:
            self.relay.done.emit(result)


class Pools:
    """One pool per purpose, so slow indexing never queues ahead of a search or a thumbnail.

    *synchronous*: run each task inline in ``run`` and deliver its result (or error) before
    ``run`` returns, on the calling thread; for tests.
    """

    def __init__(self, thumbnail_threads: int | None = None, synchronous: bool = False) -> None:
        self.synchronous = synchronous
        if thumbnail_threads is None:  # half the cores: the GUI thread keeps CPU time to paint
            thumbnail_threads = max(1, (os.cpu_count() or 2) // 2)
        self.search = self._pool("search", 1)  # one at a time: later queries supersede earlier ones
        self.thumbnails = self._pool("thumbnails", thumbnail_threads)
        self.indexing = self._pool("indexing", 1)
        self.io = self._pool("io", 1)  # catalog reads, details, previews, folder changes
        self.organize = self._pool("organize", 1)  # tagging and album matching (model work, the writer lock)
        self.duplicates = self._pool("duplicates", 1)  # finding groups (seconds), keep, trash, undo: in order
        self.models = self._pool("models", 1)  # timing models, downloading one, a model switch (minutes)
        self._relays: set[_Relay] = set()
        self.closed = False  # after shutdown, late answers are dropped (their receivers are gone)

    @staticmethod
    def _pool(name: str, threads: int) -> QThreadPool:
        pool = QThreadPool()
        pool.setObjectName(name)
        pool.setMaxThreadCount(threads)
        pool.setExpiryTimeout(30_000)
        return pool

    def all(self) -> tuple[QThreadPool, ...]:
        return self.search, self.thumbnails, self.indexing, self.io, self.organize, self.duplicates, self.models

    def run(self, pool: QThreadPool, func: Callable[[], Any], on_done: Callable[[Any], None] | None = None,
            on_error: Callable[[BaseException], None] | None = None) -> None:
        """Run *func* on *pool*; *on_done(result)* or *on_error(exception)* then runs on the GUI thread."""
        if self.synchronous:
            self._run_inline(func, on_done, on_error)
            return
        relay = _Relay()
        self._relays.add(relay)  # kept alive until the result is delivered

        def finish(handler: Callable | None, value: Any) -> None:
            self._relays.discard(relay)
            relay.deleteLater()
            if self.closed:
                return
            if handler is not None:
                handler(value)
            elif isinstance(value, BaseException):
                log.error("background task failed", exc_info=value)

        relay.done.connect(lambda value: finish(on_done, value))
        relay.failed.connect(lambda err: finish(on_error, err) if on_error else finish(None, err))
        pool.start(_Task(func, relay))

    def _run_inline(self, func: Callable[[], Any], on_done: Callable[[Any], None] | None,
                    on_error: Callable[[BaseException], None] | None) -> None:
        if self.closed:
            return
        try:
            result = func()
        except Exception as err:  # noqa: BLE001 - delivered as the pools deliver it: to on_error
            if on_error is not None:
                on_error(err)
            else:
                log.error("background task failed", exc_info=err)
            return
        if on_done is not None:
            on_done(result)  # outside the try: a failing handler raises in the caller, as a test wants

    def wait_idle(self, msecs: int = 30_000) -> bool:
        """Block until every pool is idle (tests and shutdown; never called from a live GUI path)."""
        return all(pool.waitForDone(msecs) for pool in self.all())

    def shutdown(self, msecs: int = 10_000) -> None:
        self.closed = True
        for pool in self.all():
            pool.clear()
        self.wait_idle(msecs)
