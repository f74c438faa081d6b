"""Watch library folders with watchdog and hand over debounced, coalesced batches of changes."""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable

from watchdog.events import (DirCreatedEvent, DirDeletedEvent, DirMovedEvent, FileClosedEvent, FileCreatedEvent,
                             FileDeletedEvent, FileModifiedEvent, FileMovedEvent, FileSystemEvent,
                             FileSystemEventHandler)

from photosense.core import paths
from photosense.core.changes import ChangeBatch
from photosense.core.filetypes import is_media_name

log = logging.getLogger(__name__)

DEBOUNCE_S = 0.75  # quiet time ending a burst (> inotify's 0.5 s wait to pair the halves of a move)
MAX_DELAY_S = 5.0  # a never-ending burst is still handed over this often
SETTLE_S = 2.0  # a file with no write for this long is complete even without a close event
DELETE_GRACE_S = 1.0  # a batch with deletions waits this much longer for the arrival that makes it a move
BUSY_MAX_S = 60.0  # a batch waits at most this long for files still being written
POLL_INTERVAL_S = 2.0  # polling observer: seconds between snapshots of every watched tree


def _key(path: str | bytes) -> bytes:
    return os.fsencode(path)


def _parent(key: bytes) -> bytes:
    return os.path.dirname(key)


class _Collector(FileSystemEventHandler):
    """Receives watchdog events (on the observer thread) and folds them into the pending batch."""

    def __init__(self, owner: FolderWatcher) -> None:
        self.owner = owner

    def on_any_event(self, event: FileSystemEvent) -> None:
        try:
            self.owner._record(event)
        except Exception:  # an observer thread that dies silently stops all watching
            log.exception("could not record file event %r", event)


class FolderWatcher:
    """Watches folder trees recursively and calls ``on_batch(ChangeBatch)`` from its own thread.

    Events are debounced (a batch is handed over after *debounce_s* of quiet, or *max_delay_s*
    into a long burst) and coalesced into folder scopes, so a whole folder moved or deleted is one
    scope, not thousands of files. A file is complete on its close-after-write event or, where
    the platform or the polling observer sends none, once no write was seen for *settle_s*. The
    only per-file state is the set of files being written right now, so memory does not grow with
    the library. With ``polling=True`` a ``PollingObserver`` snapshots the trees every
    *poll_interval_s* (for network shares that send no events).
    """

    def __init__(self, roots: Iterable[str | os.PathLike[str]], on_batch: Callable[[ChangeBatch], None], *,
                 polling: bool = False, debounce_s: float = DEBOUNCE_S, max_delay_s: float = MAX_DELAY_S,
                 settle_s: float = SETTLE_S, poll_interval_s: float = POLL_INTERVAL_S) -> None:
        self.on_batch = on_batch
        self.polling = polling
        self.debounce_s = debounce_s
        self.max_delay_s = max_delay_s
        self.settle_s = settle_s
        self.poll_interval_s = poll_interval_s
        self._roots: dict[str, object] = {}  # root path -> watchdog watch
        self._roots_lock = threading.Lock()
        self._wanted = [paths.normalize(r) for r in roots]
        self._cond = threading.Condition()
        self._pending = ChangeBatch()
        self._first_event: float | None = None
        self._last_event = 0.0
        self._writing: dict[bytes, float] = {}  # file key -> time of its last write event
        self._held = 0  # >0 while paused: events are collected but not handed over
        self._force = False
        self._applying = False
        self._deletions = False  # the pending batch holds a deletion (it gets DELETE_GRACE_S more)
        self._stopping = False
        self._observer = None
        self._thread: threading.Thread | None = None
        self._handler = _Collector(self)

    # -- life cycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the observer and the thread that hands over batches."""
        if self.polling:
            from watchdog.observers.polling import PollingObserver

            self._observer = PollingObserver(timeout=self.poll_interval_s)
        else:
            from watchdog.observers import Observer

            self._observer = Observer()
        self._observer.daemon = True
        self._observer.start()
        self.set_roots(self._wanted)
        self._thread = threading.Thread(target=self._run, name="photosense-watch", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop watching; a batch being handed over finishes first (waits up to *timeout* s)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._observer is not None:
            self._observer.stop()
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in (self._thread, self._observer):
            if thread is not None and thread is not threading.current_thread():
                thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))

    def hold(self, held: bool) -> None:
        """Pause (True) or resume (False) handing over batches; events keep being collected."""
        with self._cond:
            self._held = 1 if held else 0
            self._cond.notify_all()

    @property
    def roots(self) -> list[str]:
        """The folders watched now."""
        return list(self._roots)

    def set_roots(self, roots: Iterable[str | os.PathLike[str]]) -> list[str]:
        """Watch exactly *roots*: drops watches of other roots and of roots that vanished (so they
        are watched again once back), adds the rest; returns the roots newly watched."""
        # (not under self._cond: the observer holds its own lock while it calls _record)
        with self._roots_lock:
            return self._set_roots([paths.normalize(r) for r in roots])

    def _set_roots(self, wanted: list[str]) -> list[str]:
        self._wanted = wanted
        if self._observer is None:
            return []
        for root in list(self._roots):
            if root not in wanted or not os.path.isdir(root):
                try:
                    self._observer.unschedule(self._roots.pop(root))
                except (KeyError, ValueError):
                    pass
        added = []
        for root in wanted:
            if root in self._roots or not os.path.isdir(root):
                continue
            try:
                self._roots[root] = self._observer.schedule(self._handler, root, recursive=True)
                added.append(root)
            except OSError as err:  # vanished meanwhile, unreadable, or out of inotify watches
                hint = (" (raise fs.inotify.max_user_watches, or watch with polling)"
                        if getattr(err, "errno", None) == 28 else "")
                log.warning("cannot watch %s: %s%s", paths.display(root), err.strerror or err, hint)
        return added

    @property
    def has_pending(self) -> bool:
        """True while file events wait to be handed over (a long background job yields to them)."""
        with self._cond:
            return bool(self._pending)

    def flush_now(self) -> None:
        """Hand over a batch now, without waiting for the debounce, even an empty one (which
        lets the receiver index photos still pending)."""
        with self._cond:
            self._force = True
            self._cond.notify_all()

    def requeue(self, batch: ChangeBatch, delay_s: float = 5.0) -> None:
        """Put back a batch that could not be applied (disk full, library busy); retried later."""
        with self._cond:
            self._pending.merge(batch)
            now = time.monotonic()
            self._first_event = self._first_event or now
            self._last_event = max(self._last_event, now + delay_s - self.debounce_s)
            self._first_event = max(self._first_event, now + delay_s - self.max_delay_s)
            self._cond.notify_all()

    def add_scope(self, key: bytes, recursive: bool = True) -> None:
        """Ask for a rescan of a folder (a newly added library folder, say) with the next batch."""
        with self._cond:
            self._pending.add_scope(key, recursive)
            self._first_event = self._first_event or time.monotonic()
            self._cond.notify_all()

    @property
    def alive(self) -> bool:
        """True while the hand-over thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is pending, being written or being applied; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending or self._writing or self._applying or self._force:
                left = deadline - time.monotonic()
                if left <= 0 or self._stopping:
                    return False
                self._cond.wait(left)
        return True

    # -- events (observer thread) -----------------------------------------------------------

    def _record(self, event: FileSystemEvent) -> None:
        if getattr(event, "is_synthetic", False):
            return  # children of a moved folder: the folder's own move covers them
        src = _key(event.src_path)
        now = time.monotonic()
        with self._cond:
            pending = self._pending
            if isinstance(event, (DirMovedEvent, FileMovedEvent)):
                dest = _key(event.dest_path)
                if event.is_directory:
                    pending.moves.append((src, dest, True))
                    pending.add_scope(src, True)
                    pending.add_scope(dest, True)
                    self._move_writing(src, dest)
                else:
                    if not (is_media_name(os.path.basename(src)) or is_media_name(os.path.basename(dest))):
                        return
                    pending.moves.append((src, dest, False))
                    pending.add_scope(_parent(src), False)
                    pending.add_scope(_parent(dest), False)
                    if src in self._writing:
                        self._writing[dest] = self._writing.pop(src)
            elif isinstance(event, (DirCreatedEvent, DirDeletedEvent)):
                pending.add_scope(src, True)
                if isinstance(event, DirDeletedEvent):
                    self._move_writing(src, None)
                    self._deletions = True
            elif event.is_directory:
                return  # a folder's own modified/attrib events: its files' events say what changed
            elif isinstance(event, (FileCreatedEvent, FileModifiedEvent, FileClosedEvent, FileDeletedEvent)):
                if not is_media_name(os.path.basename(src)):
                    return
                if isinstance(event, FileModifiedEvent):
                    self._writing[src] = now  # (a created event alone may be a file moved in: complete)
                elif not isinstance(event, FileCreatedEvent):
                    self._writing.pop(src, None)
                    self._deletions = self._deletions or isinstance(event, FileDeletedEvent)
                pending.add_scope(_parent(src), False)
            else:
                return  # opened, closed without writing (our own reads), attributes
            self._last_event = now
            if self._first_event is None:
                self._first_event = now
            self._cond.notify_all()

    def _move_writing(self, src: bytes, dest: bytes | None) -> None:
        prefix = src + paths.SEP
        for key in [k for k in self._writing if k.startswith(prefix)]:
            stamp = self._writing.pop(key)
            if dest is not None:
                self._writing[dest + key[len(src):]] = stamp

    # -- hand-over (own thread) -------------------------------------------------------------

    def _due(self, now: float, busy: bool) -> float | None:
        """Seconds until the pending batch is due (0: now), or None when nothing is pending.

        While files are being written the batch waits for them (up to BUSY_MAX_S), so that a
        deletion and the creation it pairs with as a move land in the same batch.
        """
        if self._held or self._first_event is None:
            return None
        if busy:
            return max(0.0, self._first_event + BUSY_MAX_S - now)
        # the halves of a move between watched trees can come apart, in either order
        quiet = self.debounce_s + (DELETE_GRACE_S if self._deletions else 0.0)
        return max(0.0, min(self._last_event + quiet, self._first_event + self.max_delay_s) - now)

    def _settled(self, now: float) -> tuple[frozenset[bytes], float | None]:
        """Files still being written, and when the next of them settles."""
        busy, next_settle = [], None
        for key, stamp in list(self._writing.items()):
            left = stamp + self.settle_s - now
            if left <= 0:
                del self._writing[key]  # no write for settle_s: complete (stable size)
                self._pending.add_scope(_parent(key), False)
                if self._first_event is None:
                    self._first_event = self._last_event = now - self.debounce_s
            else:
                busy.append(key)
                next_settle = left if next_settle is None else min(next_settle, left)
        return frozenset(busy), next_settle

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._stopping:
                        return
                    now = time.monotonic()
                    busy, next_settle = self._settled(now)
                    due = self._due(now, bool(busy))
                    if (due == 0.0 and self._pending) or (self._force and not self._held):
                        batch, self._pending = self._pending, ChangeBatch()
                        batch.busy = busy
                        self._first_event, self._force, self._deletions = None, False, False
                        self._applying = True
                        break
                    if due == 0.0:
                        self._first_event = None
                        due = None
                    waits = [w for w in (due, next_settle) if w is not None]
                    self._cond.wait(min(waits) + 0.01 if waits else None)
            try:
                self.on_batch(batch)
            except Exception:
                log.exception("could not apply file changes")
            finally:
                with self._cond:
                    self._applying = False
                    self._cond.notify_all()
