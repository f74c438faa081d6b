"""``LiveSync``: keep a library in step with its folders (reconcile at start, then watch), in the background."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from photosense.core import paths
from photosense.core.changes import ChangeBatch, Vanishing
from photosense.core.errors import PhotoSenseError
from photosense.core.indexer import ProgressCallback
from photosense.services.library import IndexSummary, Library, TextSummary

log = logging.getLogger(__name__)

RETRY_S = 5.0  # a batch that could not be applied (library busy, disk full) is retried after this
POLLING_SETTING = "watch.polling"
TEXT_SLICE = 64  # photos the text stage reads between two looks for new file events  # library setting: "1" to poll instead of using file events


def set_polling(library: Library, polling: bool) -> None:
    """Remember for *library* whether to poll (network shares) or use file events (the default)."""
    library.catalog.set_setting(POLLING_SETTING, "1" if polling else "0")


@dataclass
class SyncReport:
    """One piece of work LiveSync finished: the start-up reconcile or one batch of changes.

    ``kind`` is ``"reconcile"`` (changes made while PhotoSense was not running), ``"changes"``
    (a batch of live file events), ``"pending"`` (photos left pending by a pause or a stop) or
    ``"text"`` (the text stage read words in photos: ``text`` says what it did; ``summary`` is empty).
    ``folders`` names the folders the batch rescanned (empty for a reconcile: all of them).
    """

    kind: str
    summary: IndexSummary
    folders: list[str] = field(default_factory=list)
    seconds: float = 0.0
    text: TextSummary | None = None

    @property
    def changed(self) -> bool:
        """True when the library's photos changed (worth refreshing a view)."""
        s = self.summary
        return bool(s.indexed or s.reused or s.failed or s.moved or s.removed or s.vanished)

    def to_json(self) -> dict:
        out = {"kind": self.kind, **self.summary.to_json(), "folders": self.folders,
               "seconds": round(self.seconds, 3)}
        if self.text is not None:
            out["text"] = self.text.to_json()
        return out


class LiveSync:
    """Keeps *library* in step with its folders, on background threads.

    ``start()`` begins watching at once (so nothing is missed), then brings the library up to
    date with changes made while PhotoSense was not running (a normal incremental
    :meth:`Library.index`: stat pass, mark-and-sweep, moves paired by partial hash), then applies
    live changes as they come: new and changed files are indexed, deleted ones leave the catalog,
    the vector index and every album, and moves or renames keep the photo's id, embedding, tags
    and albums with no model work.

    Callbacks run on LiveSync's threads, never the caller's: ``on_progress(Progress)`` during
    indexing, ``on_change(SyncReport)`` after each reconcile or batch, and
    ``on_error(PhotoSenseError)`` when a batch could not be applied (it is retried after
    ``RETRY_S``). A GUI should forward them to its own thread (queued signals).

    After the reconcile and after each batch, the text stage (``Library.read_text``) reads the words
    in the photos just embedded, on the same thread, unless *text* is False; a pause or a stop ends
    it after the photo batch in flight, and what it did not reach stays pending.

    *polling* uses watchdog's ``PollingObserver`` (snapshots every *poll_interval_s*) for network
    shares that send no change events; None (the default) follows the library's setting
    ``POLLING_SETTING`` ("1" or "0", see :func:`set_polling`). *workers* sets the decode threads of
    every indexing run (None: the indexer's default; a GUI leaves a core free). *debounce_s* is the quiet time that ends a burst of events;
    *settle_s* is how long a file must go unwritten to count as complete when no close event comes.
    """

    def __init__(self, library: Library, *, polling: bool | None = None, debounce_s: float | None = None,
                 settle_s: float | None = None, poll_interval_s: float | None = None,
                 on_progress: ProgressCallback | None = None,
                 on_change: Callable[[SyncReport], None] | None = None,
                 on_error: Callable[[PhotoSenseError], None] | None = None,
                 workers: int | None = None, text: bool = True) -> None:
        from photosense.core import watcher

        self.library = library
        if polling is None:
            polling = library.catalog.setting(POLLING_SETTING, "0") == "1"
        self.polling = polling
        self.on_progress = on_progress
        self.on_change = on_change
        self.on_error = on_error
        self.workers = workers  # decode threads for indexing (None: the indexer's default)
        self.text = text  # read the words in new photos after each indexing run
        self._cancel = threading.Event()  # set by pause() and stop(): the run in flight ends after its batch
        self._stopped = False
        self._ready = threading.Event()  # the start-up reconcile is over
        self._vanishing = Vanishing()  # photos whose file vanished, kept a moment for their arrival
        self._thread: threading.Thread | None = None
        self._lifecycle = threading.Lock()  # start() and stop() from different threads never interleave
        self._watcher = watcher.FolderWatcher(
            [], self._apply, polling=polling,
            debounce_s=watcher.DEBOUNCE_S if debounce_s is None else debounce_s,
            settle_s=watcher.SETTLE_S if settle_s is None else settle_s,
            poll_interval_s=watcher.POLL_INTERVAL_S if poll_interval_s is None else poll_interval_s)

    # -- public API -------------------------------------------------------------------------

    def start(self) -> None:
        """Start watching and reconciling in the background; returns at once (does nothing once stopped)."""
        with self._lifecycle:
            if self._thread is not None or self._stopped:
                return
            self._watcher.hold(True)  # live batches wait for the reconcile
            self._watcher.start()
            self._watcher.set_roots(f.path for f in self.library.folders())
            self._thread = threading.Thread(target=self._reconcile, name="photosense-reconcile", daemon=True)
            self._thread.start()

    def stop(self, timeout: float | None = 10.0) -> bool:
        """Stop: the indexing batch in flight finishes and is saved, then the threads end.

        Photos not reached stay pending and are indexed on the next start. Returns False when
        the threads did not end within *timeout* seconds.
        """
        with self._lifecycle:  # a start() on another thread has finished starting, or will not start
            self._stopped = True
            self._cancel.set()
        deadline = None if timeout is None else time.monotonic() + timeout
        self._watcher.stop(timeout)
        if self._thread is not None:
            self._thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        alive = (self._thread is not None and self._thread.is_alive()) or self._watcher.alive
        return not alive

    def pause(self) -> None:
        """Stop indexing after the batch in flight; file events are still collected (coalesced)."""
        self._watcher.hold(True)
        self._cancel.set()

    def resume(self) -> None:
        """Apply everything collected while paused and index what is pending."""
        if self._stopped:
            return
        self._cancel.clear()
        if self._ready.is_set():
            self._watcher.hold(False)
            self._watcher.flush_now()

    @property
    def paused(self) -> bool:
        return self._cancel.is_set() and not self._stopped

    def refresh_folders(self) -> None:
        """Watch the library's folders as they are now: call after adding or removing one (the CLI
        calls it every few seconds). A folder newly watched (added, or back after being unmounted)
        is rescanned and indexed."""
        for root in self._watcher.set_roots(f.path for f in self.library.folders()):
            if self._ready.is_set():
                self._watcher.add_scope(paths.to_db(root), True)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until the reconcile is over and no batch is pending or in flight (tests, scripts)."""
        deadline = time.monotonic() + timeout
        if not self._ready.wait(timeout):
            return False
        return self._watcher.wait_idle(max(0.0, deadline - time.monotonic()))

    @property
    def poll_interval_s(self) -> float:
        """Seconds between snapshots in polling mode."""
        return self._watcher.poll_interval_s

    @property
    def watched(self) -> list[str]:
        """The folders watched now."""
        return self._watcher.roots

    # -- work (background threads) ----------------------------------------------------------

    def _reconcile(self) -> None:
        started = time.monotonic()
        cancelled = False
        try:
            summary = self.library.index(progress=self.on_progress, cancel=self._cancel, workers=self.workers)
            cancelled = summary.cancelled
            self._report(SyncReport("reconcile", summary, seconds=time.monotonic() - started))
            self._read_text()
        except PhotoSenseError as err:
            self._failed(err)
            self._watcher.flush_now()  # the first live batch retries what is pending
        except Exception:
            log.exception("start-up reconcile failed")
        finally:
            self._ready.set()
            if not self._cancel.is_set():
                self._watcher.hold(False)
                if cancelled:  # paused, then resumed before the reconcile ended: index what it left
                    self._watcher.flush_now()

    def _apply(self, batch: ChangeBatch) -> None:
        """Runs on the watcher's thread: one batch at a time, while later events keep coalescing."""
        if self._stopped:
            return
        started = time.monotonic()
        scopes = [paths.display(k) for k, _ in batch.coalesced_scopes()]
        try:
            summary = self.library.apply_changes(batch, progress=self.on_progress, cancel=self._cancel,
                                                 vanishing=self._vanishing, workers=self.workers)
        except PhotoSenseError as err:
            self._failed(err)
            if not self._stopped:
                self._watcher.requeue(batch, RETRY_S)
            return
        if self._vanishing.recheck:  # photos found gone: removed on a recheck unless they turn up
            recheck = ChangeBatch(scopes=dict(self._vanishing.recheck))
            self._vanishing.recheck.clear()
            self._watcher.requeue(recheck, self._vanishing.grace_s)
        kind = "changes" if batch else "pending"
        self._report(SyncReport(kind, summary, scopes, time.monotonic() - started))
        self._read_text()

    def _read_text(self) -> None:
        """The text stage after an indexing run (the words in new photos); errors are reported, not raised."""
        if not self.text or self._cancel.is_set():
            return
        try:
            total = self.library.text.pending_count()
            done = TextSummary()
            while total and done.read + done.failed + done.reused < total:
                offset = done.read + done.failed + done.reused

                def progress(p, offset=offset):
                    if self.on_progress is not None:
                        self.on_progress(replace(p, done=offset + p.done, total=total))

                part = self.library.read_text(progress=progress, cancel=self._cancel, limit=TEXT_SLICE)
                for name in ("read", "with_text", "reused", "failed", "seconds"):
                    setattr(done, name, getattr(done, name) + getattr(part, name))
                done.pending, done.cancelled, done.unavailable = part.pending, part.cancelled, part.unavailable
                # new file events come first: the next batch resumes reading where this one stopped
                if not (part.read or part.failed or part.reused) or part.cancelled or self._watcher.has_pending:
                    break
            if done.read or done.failed or done.reused:  # words became searchable (and progress ends)
                self._report(SyncReport("text", IndexSummary(), seconds=done.seconds, text=done))
        except PhotoSenseError as err:
            self._failed(err)
        except Exception:
            log.exception("reading text in photos failed")

    def _report(self, report: SyncReport) -> None:
        log.debug("sync %s: %s", report.kind, report.to_json())
        if self.on_change is not None:
            try:
                self.on_change(report)
            except Exception:
                log.exception("on_change callback failed")

    def _failed(self, err: PhotoSenseError) -> None:
        log.warning("could not update the library: %s", err)
        if self.on_error is not None:
            try:
                self.on_error(err)
            except Exception:
                log.exception("on_error callback failed")
