"""The GUI's one door to the core: Library calls on worker pools, answers as queued signals."""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from PySide6.QtCore import QObject, Signal

from photosense.core.errors import DownloadCancelled, PhotoSenseError
from photosense.core.filetypes import is_video_name
from photosense.ui.tasks import Pools
from photosense.ui.videos import load_moments

log = logging.getLogger(__name__)

RESULT_LIMIT = 300


@dataclass(frozen=True)
class Query:
    """What the grid shows: every photo, a folder, an album (by id), a tag ("set/label"), a text search,
    photos like an image or a video (at the moment *at*, in seconds), or a stack expanded (by a member's
    path). A text search keeps to the relevance cut-off unless *show_all*."""

    kind: str  # "all" | "folder" | "album" | "tag" | "text" | "similar" | "stack" (*value*'s stack)
    value: str = ""
    show_all: bool = False
    at: float | None = None  # "similar": the moment of the video in *value*

    @property
    def is_search(self) -> bool:
        return self.kind in ("text", "similar")


class GridItem(NamedTuple):
    """One cell of the grid: a photo or a video, its score in a search (None when browsing), and for a
    video its length and the moment that matched (seconds); *stack* > 1 when it stands for a folded stack
    (duplicates, a burst) of that many items; *matched*: what found a search hit ("visual", "text", "name",
    "tag")."""

    id: int
    path: str
    score: float | None = None
    kind: str = "photo"  # "photo" | "video"
    at: float | None = None
    duration: float | None = None
    stack: int = 1
    matched: tuple[str, ...] = ()

    @property
    def by_text(self) -> bool:
        """Found by the words in the photo (the grid marks it)."""
        return "text" in self.matched

    @property
    def is_video(self) -> bool:
        return self.kind == "video"

    @classmethod
    def of(cls, item) -> GridItem:
        """A GridItem from itself, an (id, path[, score]) tuple or a core ``Hit`` (*score* None for a browse)."""
        if isinstance(item, GridItem):
            return item
        if isinstance(item, tuple):
            return cls(*item)
        return cls(item.id, item.path, float(item.score), item.kind, item.at, item.duration,
                   int(getattr(item, "stack", 1) or 1), tuple(getattr(item, "matched", ()) or ()))


@dataclass
class Results:
    """One answer for the grid: its rows (``GridItem``, or (id, path, score) tuples) for *query*."""

    query: Query
    items: list[GridItem] = field(default_factory=list)
    seconds: float = 0.0


def user_message(err: BaseException) -> str:
    """A short sentence for the user (PhotoSense errors are written for people; others are bugs)."""
    if isinstance(err, PhotoSenseError):
        return str(err)
    return f"Something went wrong ({type(err).__name__}). Details were written to the log file."


class LibraryBridge(QObject):
    """Owns the Library and the pools; every method returns at once and answers through a signal."""

    opened = Signal(object)  # Library
    openFailed = Signal(str)
    modelLoading = Signal()
    modelReady = Signal()
    modelFailed = Signal(str)
    modelDownload = Signal(int, int)  # bytes so far, total (0: unknown), while the model's weights download
    results = Signal(object)  # Results
    searchFailed = Signal(str)
    folders = Signal(list)  # [str]
    status = Signal(dict)
    failures = Signal(list)  # [Failure]
    details = Signal(object)  # Photo | None
    photoText = Signal(str, str)  # path, the words read in the photo ("" when none)
    moments = Signal(str, list)  # video path, [Moment]
    error = Signal(str)

    def __init__(self, pools: Pools, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pools = pools
        self.library = None
        self.model_state = "idle"  # idle | loading | ready | failed
        self._query: Query | None = None  # the latest request; older answers are dropped
        self._in_flight = False
        self._pending: Query | None = None

    @property
    def searching(self) -> bool:
        """A search is running or waiting to run."""
        return self._in_flight or self._pending is not None

    # -- opening and the model ----------------------------------------------------------------

    def open(self, directory: str | os.PathLike[str], model: str | None = None) -> None:
        def work():
            from photosense.services.library import Library

            return Library.open(directory, model=model)

        self.pools.run(self.pools.io, work, self._on_opened, lambda e: self._report(e, self.openFailed))

    def _on_opened(self, library) -> None:
        self.library = library
        self.opened.emit(library)
        self.refresh_folders()
        self.refresh_status()
        # The model is loaded by the window once the library has folders: a new user is not
        # greeted by a download before there is anything to search.

    def load_model(self) -> None:
        """Load (downloading if needed) the model on the search pool; searches wait behind it."""
        if self.library is None:
            return
        library = self.library
        self.model_state = "loading"
        self.modelLoading.emit()
        self._download_cancel = cancel = threading.Event()
        self.pools.run(self.pools.search, lambda: _load_model(library, self.modelDownload.emit, cancel),
                       lambda _: self._on_model(None), lambda err: self._on_model(err))

    def cancel_download(self) -> None:
        """Stop a model download in progress (what arrived is kept: the next start resumes it)."""
        cancel = getattr(self, "_download_cancel", None)
        if cancel is not None:
            cancel.set()

    def use_model(self, spec: str) -> None:
        """Reopen the library with another model spec (e.g. a local weights file), then load it."""
        if self.library is None:
            return
        old = self.library
        self.library = None

        def work():
            from photosense.services.library import Library

            directory = old.directory
            old.close()
            try:
                return Library.open(directory, model=spec)
            except PhotoSenseError:
                self._fallback = Library.open(directory)
                raise

        def failed(err: BaseException) -> None:
            self.library = getattr(self, "_fallback", None)
            self._report(err, self.modelFailed)

        def reopened(library) -> None:
            self._on_opened(library)
            self.load_model()

        self.pools.run(self.pools.io, work, reopened, failed)

    def _on_model(self, err: BaseException | None) -> None:
        if err is None:
            self.model_state = "ready"
            self.modelReady.emit()
            if self._query is not None and self._query.is_search:
                self.request(self._query)  # a query typed while loading runs now
            return
        self.model_state = "failed"
        if isinstance(err, DownloadCancelled):
            return  # the user's choice: the controller already says so
        if not isinstance(err, PhotoSenseError):
            log.error("model load failed", exc_info=err)
        self.modelFailed.emit(user_message(err))

    # -- the grid's content -------------------------------------------------------------------

    def request(self, query: Query) -> None:
        """Show *query*. Searches run one at a time: a newer one replaces a waiting one (never queued)."""
        self._query = query
        if self.library is None:
            return
        if not query.is_search:
            library = self.library
            self.pools.run(self.pools.io, lambda: Results(query, _browse(library, query)), self._deliver,
                           self._search_failed)
            return
        if self.model_state != "ready":
            return  # run by _on_model once the model is there
        if self._in_flight:
            self._pending = query
            return
        self._start_search(query)

    def _start_search(self, query: Query) -> None:
        import time

        library = self.library
        self._in_flight = True

        def work():
            start = time.perf_counter()
            if query.kind == "text":
                hits = library.search(query.value, limit=RESULT_LIMIT, show_all=query.show_all)
            else:
                hits = library.similar(query.value, limit=RESULT_LIMIT, at=query.at)
            return Results(query, [GridItem.of(h) for h in hits], time.perf_counter() - start)

        self.pools.run(self.pools.search, work, self._search_done, self._search_error)

    def _search_done(self, results: Results) -> None:
        self._in_flight = False
        self._deliver(results)
        self._next_search()

    def _search_error(self, err: BaseException) -> None:
        self._in_flight = False
        self._search_failed(err)
        self._next_search()

    def _next_search(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None and pending == self._query:
            self._start_search(pending)

    def _deliver(self, results: Results) -> None:
        if results.query == self._query:  # a stale answer is dropped
            self.results.emit(results)

    def _search_failed(self, err: BaseException) -> None:
        self._report(err, self.searchFailed)

    # -- folders, status, details --------------------------------------------------------------

    def refresh_folders(self) -> None:
        if self.library is not None:
            library = self.library
            self.pools.run(self.pools.io, lambda: [f.path for f in library.folders()], self.folders.emit,
                           self._report)

    def set_stacking(self, on: bool, then=None) -> None:
        """``library.set_stacking(on)`` on the io pool, then *then()* (the grid refreshes)."""
        if self.library is not None:
            library = self.library
            self.pools.run(self.pools.io, lambda: library.set_stacking(on), lambda _: then and then(),
                           self._report)

    def load_stacking(self, then) -> None:
        """``then(library.stacking)`` once read on the io pool."""
        if self.library is not None:
            self.pools.run(self.pools.io, lambda library=self.library: library.stacking, then, self._report)

    def refresh_status(self) -> None:
        if self.library is not None:
            self.pools.run(self.pools.io, self.library.status, self.status.emit, self._report)

    def load_failures(self) -> None:
        if self.library is not None:
            self.pools.run(self.pools.io, self.library.failures, self.failures.emit, self._report)

    def add_folder(self, path: str, then=None) -> None:
        if self.library is not None:
            def done(_folder: Any) -> None:
                self.refresh_folders()
                if then is not None:
                    then()

            self.pools.run(self.pools.io, lambda: self.library.add_folder(path), done, self._report)

    def remove_folder(self, path: str, then=None) -> None:
        if self.library is not None:
            def done(_count: Any) -> None:
                self.refresh_folders()
                self.refresh_status()
                if then is not None:
                    then()

            self.pools.run(self.pools.io, lambda: self.library.remove_folder(path), done, self._report)

    def load_details(self, path: str) -> None:
        if self.library is None:
            return
        library = self.library

        def work():
            try:
                photo = library.photo(path)
            except PhotoSenseError:
                return None
            text_of = getattr(library, "text_of", None)
            if text_of is not None and not photo.is_video:
                try:
                    self.photoText.emit(path, text_of(path))  # queued to the GUI thread, before the details
                except PhotoSenseError:
                    pass
            return photo

        self.pools.run(self.pools.io, work, self.details.emit, self._report)

    def load_moments(self, path: str, text: str = "", best_at: float | None = None) -> None:
        """A video's sampled moments (``moments(path, [Moment])``), judged against the query *text* if any:
        the catalog alone on the io pool; with a query on the search pool (behind a running search: the
        model is busy there) once the model is ready."""
        if self.library is None:
            return
        library = self.library
        judged = bool(text) and self.model_state == "ready"
        pool = self.pools.search if judged else self.pools.io
        self.pools.run(pool, lambda: load_moments(library, path, text if judged else "", best_at),
                       lambda moments: self.moments.emit(path, moments), self._report)

    def _report(self, err: BaseException, signal: Signal | None = None) -> None:
        if not isinstance(err, PhotoSenseError):
            log.error("background task failed", exc_info=err)
        (signal or self.error).emit(user_message(err))

    def close(self) -> None:
        """Wait for the pools, then close the library (shutdown only)."""
        self.pools.shutdown()
        if self.library is not None:
            self.library.close()
            self.library = None


def _load_model(library, progress=None, cancel: threading.Event | None = None) -> None:  # worker thread
    """Bring the library's model into memory: open_clip weights load (downloaded first if needed, with byte
    *progress* and *cancel*) once; an ``ImageTextEmbedder`` with nothing to load (the tests' fake) is ready."""
    embedder = library.embedder
    load = getattr(embedder, "load", None)
    if load is None:
        return
    if getattr(embedder, "spec", None) is not None and embedder.spec.kind == "pretrained":
        from photosense.core import config
        from photosense.core.model_downloads import download, needs_download

        if needs_download(embedder.spec, config.model_cache_dir()):
            download(embedder.spec, config.model_cache_dir(), progress, cancel)
    load()


def _browse(library, query: Query) -> list[GridItem]:  # worker thread
    """The rows of a browsing query: every photo, a folder's, an album's (best first), a tag's or a stack's
    members (keeper first). A video brings its length; in an album or a tag, the moment that matched too; a
    folded stack, its count."""
    if query.kind in ("album", "tag", "stack"):
        if query.kind == "album":
            album = next((a for a in library.albums.list() if str(a.id) == query.value), None)
            hits = [] if album is None else library.albums.photos(album.name)
        elif query.kind == "tag":
            hits = library.search(f'tag:"{query.value.replace(chr(34), "")}"', limit=10_000_000)
        else:
            try:
                hits = library.stack(query.value)
            except PhotoSenseError:  # gone from the library meanwhile
                hits = []
        return [GridItem(h.id, h.path, None, h.kind, h.at, h.duration,
                         1 if query.kind == "stack" else int(getattr(h, "stack", 1) or 1)) for h in hits]
    rows = library.photos(query.value if query.kind == "folder" else None, counts=True)
    videos = [i for i, p, _n in rows if is_video_name(p)]
    found = library.catalog.photos_by_ids(videos) if videos else {}
    return [GridItem(i, p, None, "video", None, found[i].duration, n) if i in found and found[i].is_video
            else GridItem(i, p, None, "photo", None, None, n) for i, p, n in rows]


def display_name(path: str) -> str:
    return Path(path).name
