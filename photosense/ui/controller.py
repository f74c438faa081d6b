"""The main window's controller: what the window shows and does, with no widgets (testable without a window).

It owns the bridges (LibraryBridge, OrganizeBridge), the indexer (LiveIndexController) and the grid's
item model, keeps the state (query, results, folders, model, indexing, albums and tags, selection)
and tells the view through signals. Every call returns at once; the work runs on the Pools.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from photosense.ui.bridge import GridItem, LibraryBridge, Query, Results
from photosense.ui.duplicates_bridge import DuplicatesBridge
from photosense.ui.live import IndexState, LiveIndexController
from photosense.ui.models.photo_model import PhotoGridModel
from photosense.ui.organize_bridge import OrganizeBridge
from photosense.ui.stacking import Stacking
from photosense.ui.tasks import Pools
from photosense.ui.thumbnailer import ThumbnailLoader

DOWNLOAD_DIALOG_AFTER_MS = 1200  # a model still loading after this is being downloaded
NO_SELECTION = "No photo selected"
WAITING_FOR_MODEL = "Waiting for the model…"
BROWSE_KINDS = ("all", "folder", "album", "tag")


def count_text(results: Results) -> str:
    """The count beside the search bar: "N relevant results", "N results", "N photos" or, when videos are
    among them, "N photos, M videos"."""
    count = len(results.items)
    if results.query.kind == "text" and not results.query.show_all:
        return f"{count:,} relevant result{'s' * (count != 1)}"
    if results.query.is_search:
        return f"{count:,} result{'s' * (count != 1)}"
    videos = sum(1 for item in results.items if len(item) > 3 and item[3] == "video")
    photos = f"{count - videos:,} photo{'s' * (count - videos != 1)}"
    return f"{photos}, {videos:,} video{'s' * (videos != 1)}" if videos else photos


class MainController(QObject):
    """The window's state and actions. Pages (``pageChanged(page, detail)``): "opening", "loading",
    "open-failed" (detail: why), "no-folders", "no-photos", "no-matches" (detail: what was searched),
    "empty-album", "empty-tag", "grid" and "duplicates" (the Duplicates view, over the grid's query)."""

    queryChanged = Signal(object)  # Query: the grid is asked for something else
    resultsShown = Signal(object)  # Results, now in ``photos``
    currentRowKept = Signal(int)  # a refreshed view still holds the current photo: its row
    countChanged = Signal(str)
    pageChanged = Signal(str, str)  # page, detail
    libraryOpened = Signal(str)  # directory
    foldersChanged = Signal(list)  # [str]
    statusChanged = Signal(dict)  # {"photos", "indexed", "failed", ...}
    failuresLoaded = Signal(list)  # [Failure]
    indexStateChanged = Signal(object)  # IndexState
    indexFinished = Signal(object)  # IndexSummary
    modelStateChanged = Signal(str)  # "loading" | "ready" | "failed"
    modelFailed = Signal(str, str)  # message, model spec
    downloadSuspected = Signal(str)  # model spec, still loading after DOWNLOAD_DIALOG_AFTER_MS
    downloadProgress = Signal(int, int)  # bytes of the model's weights so far, total (0: unknown)
    albumsChanged = Signal(list)  # [Album]
    tagsChanged = Signal(list)  # [(set name, [(label, count)])]
    busyChanged = Signal(str)  # a long organizing task ("" when none)
    detailsCleared = Signal(str)  # the details panel shows this hint instead of a photo
    detailsReady = Signal(object, object)  # Photo (None: gone from the library), match score or None
    momentsReady = Signal(str, list)  # the video shown in the details, [Moment] (marked for the query)
    momentChosen = Signal(str, object)  # video path, seconds (None: no moment chosen)
    photoTagsReady = Signal(str, list, list)  # path, [Tag], [album name]
    message = Signal(str)  # a sentence for the status bar

    def __init__(self, pools: Pools, thumbnail_cache=None, auto_index: bool = True,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pools = pools
        self.auto_index = auto_index
        self.bridge = LibraryBridge(pools, self)
        self.organize = OrganizeBridge(self.bridge, self)
        self.indexer = LiveIndexController(self.bridge, self)
        self.duplicates = DuplicatesBridge(self.bridge, self)
        self.loader = ThumbnailLoader(pools, thumbnail_cache, self)
        self.photos = PhotoGridModel(self.loader, self)
        self.stacking = Stacking(self)  # the setting, a stack expanded (``expand``) and ``back``
        self.library_dir: str | None = None
        self.browse_query = Query("all")  # the sidebar's choice; a search is shown over it
        self.query = self.browse_query  # what the grid is asked to show
        self.shown: Query | None = None  # the query whose answer the grid holds
        self.show_all = False  # text searches list everything, not only the relevant photos
        self.folders: list[str] | None = None  # None until the library has answered
        self.status: dict = {}
        self.model_state = "idle"  # idle | loading | ready | failed
        self.index_state = IndexState("idle")
        self.selection: list[str] = []
        self.current_path: str | None = None
        self.details_path: str | None = None  # the photo whose details were delivered
        self.moments: list = []  # the details' video: its sampled moments ([Moment])
        self.moment: tuple[str, float] | None = None  # the moment chosen in the details' filmstrip
        self.page: tuple[str, str] = ("opening", "")
        self.duplicates_open = False  # the Duplicates view is shown instead of the grid's page
        self._select_album: int | None = None  # an album just created, shown once the list has it
        self._download_timer = QTimer(self, singleShot=True, interval=DOWNLOAD_DIALOG_AFTER_MS)
        self._download_timer.timeout.connect(self._download_check)
        self._connect()

    def _connect(self) -> None:
        b, o = self.bridge, self.organize
        b.opened.connect(self._on_opened)
        b.openFailed.connect(lambda message: self._set_page("open-failed", message))
        b.modelLoading.connect(self._on_model_loading)
        b.modelReady.connect(self._on_model_ready)
        b.modelDownload.connect(self._on_download_bytes)
        b.modelFailed.connect(self._on_model_failed)
        b.results.connect(self._on_results)
        b.searchFailed.connect(self.message)
        b.folders.connect(self._on_folders)
        b.status.connect(self._on_status)
        b.failures.connect(self.failuresLoaded)
        b.details.connect(self._on_details)
        b.moments.connect(self._on_moments)
        b.error.connect(self.message)
        self.indexer.changed.connect(self._on_index_state)
        self.indexer.finished.connect(self._on_index_finished)
        self.indexer.failed.connect(self.message)
        o.albums.connect(self._on_albums)
        o.tags.connect(self._on_tags)
        o.photoTags.connect(self.photoTagsReady)
        o.busy.connect(self.busyChanged)
        o.done.connect(self.message)
        o.error.connect(self.message)
        d = self.duplicates
        d.removed.connect(self._after_removal)
        d.message.connect(self.message)
        d.error.connect(self.message)

    # -- the library ----------------------------------------------------------------------------

    def open(self, library_dir: str | os.PathLike[str], model: str | None = None) -> None:
        """Open the library (on the io pool); its folders, photos and model follow."""
        self.library_dir = str(library_dir)
        self.bridge.open(library_dir, model)

    def close(self) -> None:
        """Wait for the pools, stop indexing, close the library (the window is closing)."""
        self._download_timer.stop()
        self.pools.shutdown()  # first: a LiveSync.start() still on the io pool must be over before stop()
        self.indexer.stop()
        self.bridge.close()

    @property
    def library(self):
        return self.bridge.library

    @property
    def model_spec(self) -> str:
        return self.bridge.library.model_spec if self.bridge.library is not None else ""

    def _on_opened(self, library) -> None:
        self.library_dir = str(library.directory)
        self.libraryOpened.emit(self.library_dir)
        if self.page[0] == "opening":  # not when the library reopens with another model
            self._set_page("loading", "")

    def _on_status(self, status: dict) -> None:
        self.status = status
        self.statusChanged.emit(status)

    def load_failures(self) -> None:
        self.bridge.load_failures()

    # -- the search model -----------------------------------------------------------------------

    def _set_model_state(self, state: str) -> None:
        self.model_state = state
        self.modelStateChanged.emit(state)

    def _on_model_loading(self) -> None:
        self._set_model_state("loading")
        spec = self.model_spec
        if ":" in spec and not spec.endswith(":none") and "/" not in spec:  # a pretrained tag: may download
            self._download_timer.start()

    def _on_download_bytes(self, done: int, total: int) -> None:
        if self.model_state == "loading":
            self._download_timer.stop()
            self.downloadSuspected.emit(self.model_spec)  # no guessing: it is downloading
            self.downloadProgress.emit(done, total)

    def _download_check(self) -> None:
        if self.model_state == "loading":
            self.downloadSuspected.emit(self.model_spec)

    def cancel_download(self) -> None:
        """The user gave up waiting for the model: browse only (the download stops; it resumes next start)."""
        self.bridge.cancel_download()
        self._set_model_state("failed")
        self.message.emit("Model download cancelled: browsing only. Restart PhotoSense to try again.")

    def _on_model_ready(self) -> None:
        self._download_timer.stop()
        self._set_model_state("ready")

    def _on_model_failed(self, message: str) -> None:
        self._download_timer.stop()
        self._set_model_state("failed")
        self.modelFailed.emit(message, self.model_spec)

    def use_model(self, spec: str) -> None:
        """Reopen the library with another model spec (e.g. ``ARCH:/path/to/weights``)."""
        self.bridge.use_model(spec)

    # -- what the grid shows --------------------------------------------------------------------

    def show(self, query: Query, navigate: bool = True) -> None:
        """Ask for *query*'s photos (again, if it is the current one: a refresh); *navigate*: the user asked
        for it, so the grid's page comes back if the Duplicates view was shown."""
        if navigate and self.duplicates_open:
            self.duplicates_open = False
            self._update_page()
        changed = query != self.query
        self.query = query
        if changed:
            self.queryChanged.emit(query)
        if query.is_search and self.model_state != "ready":
            self.countChanged.emit(WAITING_FOR_MODEL)
        self.bridge.request(query)

    def refresh(self) -> None:
        self.show(self.query, navigate=False)

    def browse(self, kind: str, value: Any = "") -> None:
        """Show every photo ("all"), a folder (path), an album (id) or a tag ("set/label"); "duplicates" opens
        the Duplicates view."""
        if kind == "duplicates":
            self.show_duplicates()
        elif kind in BROWSE_KINDS:
            self.browse_query = Query(kind, "" if kind == "all" else str(value))
            self.show(self.browse_query)

    def search(self, text: str) -> None:
        """The search bar's text: a text search, or (empty) back to browsing."""
        text = text.strip()
        if text:
            self.show(Query("text", text, self.show_all))
        elif self.query.kind == "text":
            self.show(self.browse_query)

    def set_show_all(self, show_all: bool) -> None:
        """Text searches list every photo, best first (True), or only the relevant ones."""
        self.show_all = show_all
        if self.query.kind == "text":
            self.show(Query("text", self.query.value, show_all))

    def clear_search(self) -> None:
        self.show(self.browse_query)

    def find_similar(self, path: str, at: float | None = None) -> None:
        """Photos and videos that look like *path* (a library photo or video, or any image or video file);
        *at* (seconds) picks a video's moment, else a video stands for all of its moments."""
        self.show(Query("similar", path, at=at))

    def search_text(self) -> str:
        """The text searched for now ("" when browsing or searching by image)."""
        return self.query.value if self.query.kind == "text" else ""

    def _on_results(self, results: Results) -> None:
        refreshed = results.query == self.shown  # the same view, answered again
        self.shown = results.query
        if [GridItem.of(item) for item in results.items] != self.photos.items():
            keep = self.current_path if refreshed else None
            self.photos.set_items(results.items)
            self._select([], None)  # the model was reset: nothing is selected
            row = self.photos.row_of(keep) if keep is not None else None
            if row is not None:
                self.currentRowKept.emit(row)
        elif self.details_path is not None and self.moments:
            self._load_moments(self.details_path)  # the same video, maybe another query: marked anew
        self.countChanged.emit(count_text(results))
        self.resultsShown.emit(results)
        self._update_page()

    def _update_page(self) -> None:
        if self.duplicates_open:
            self._set_page("duplicates", "")
        elif self.folders == []:
            self._set_page("no-folders", "")
        elif self.folders is None:
            return  # the library has not answered yet
        elif self.photos.rowCount() == 0:
            if self.shown != self.query:
                return  # no answer yet: "no photos" would be premature
            if self.query.kind == "text":
                self._set_page("no-matches", self.query.value)
            elif self.query.kind == "similar":
                self._set_page("no-matches", Path(self.query.value).name)
            else:
                self._set_page({"album": "empty-album", "tag": "empty-tag"}.get(self.query.kind, "no-photos"), "")
        else:
            self._set_page("grid", "")

    def _set_page(self, page: str, detail: str) -> None:
        if (page, detail) != self.page:
            self.page = (page, detail)
            self.pageChanged.emit(page, detail)

    # -- folders and indexing -------------------------------------------------------------------

    def _on_folders(self, folders: list[str]) -> None:
        first = self.folders is None
        self.folders = folders
        self.foldersChanged.emit(folders)
        if folders and self.bridge.model_state == "idle":
            self.bridge.load_model()
        if first:
            self.browse("all")
            self.organize.refresh()  # albums and tag counts, queued after the photo list
            if self.auto_index and folders:
                self.indexer.start()  # duplicates are found once its first run is over
            elif folders:
                self.duplicates.find()
        elif self.browse_query.kind == "folder" and self.browse_query.value not in folders:
            self.browse("all")
        self._update_page()

    def add_folder(self, path: str) -> None:
        """Add *path* to the library and index it in the background."""
        self.bridge.add_folder(path, then=self._after_folder_change)

    def remove_folder(self, path: str) -> None:
        """Remove *path* from the library (its files are not touched)."""
        self.bridge.remove_folder(path, then=self._after_folder_change)

    def _after_folder_change(self) -> None:
        self.refresh()
        self.indexer.start()

    def start_indexing(self) -> None:
        self.indexer.start()

    def set_indexing_paused(self, paused: bool) -> None:
        if paused:
            self.indexer.pause()
        else:
            self.indexer.resume()

    def _on_index_state(self, state: IndexState) -> None:
        previous = self.index_state.state
        self.index_state = state
        self.indexStateChanged.emit(state)
        if previous == "scanning" and state.state == "indexing" and not self.query.is_search:
            self.refresh()  # the scan's new photos are listed (as placeholders) at once

    def _on_index_finished(self, summary) -> None:
        self.bridge.refresh_status()
        self.organize.refresh()  # new photos were tagged and joined smart albums
        self.refresh()
        figures = summary.to_json() if hasattr(summary, "to_json") else {}
        if self.duplicates.groups is None or any(figures.get(k) for k in ("indexed", "moved", "removed")):
            self.duplicates.find()  # on its own pool; a find asked for while one runs runs once more after it
        self.indexFinished.emit(summary)

    # -- duplicates -------------------------------------------------------------------------------

    def show_duplicates(self) -> None:
        """The Duplicates view instead of the grid; groups are found if they never were."""
        self.duplicates_open = True
        self._set_page("duplicates", "")
        if self.duplicates.groups is None and not self.duplicates.finding:
            self.duplicates.find()

    def _after_removal(self) -> None:
        """Copies went to the trash or came back: the grid, the counts and the albums follow."""
        self.bridge.refresh_status()
        self.organize.refresh()
        self.refresh()

    # -- selection and details ------------------------------------------------------------------

    def select(self, paths: list[str], current: str | None = None) -> None:
        """The grid's selection changed: one photo's details and tags are loaded, or a hint shown."""
        self._select(list(paths), current)
        if len(self.selection) == 1:
            self.bridge.load_details(self.selection[0])
            self.organize.load_photo_tags(self.selection[0])

    def _select(self, paths: list[str], current: str | None) -> None:
        self.selection, self.current_path, self.details_path = paths, current, None
        self.moments = []
        if self.moment is not None and paths != [self.moment[0]]:
            self.choose_moment(None)
        if len(paths) > 1:
            self.detailsCleared.emit(f"{len(paths):,} photos selected")
        elif not paths:
            self.detailsCleared.emit(NO_SELECTION)

    def _on_details(self, photo) -> None:
        if photo is None:
            if len(self.selection) == 1:
                self.details_path = None
                self.detailsReady.emit(None, None)
        elif self.selection == [photo.path]:
            self.details_path = photo.path
            self.detailsReady.emit(photo, self.photos.score(photo.path))
            if photo.is_video:
                self._load_moments(photo.path)

    def _load_moments(self, path: str) -> None:
        """The video's moments, marked for the text searched for now (or at least the hit's best moment)."""
        item = self.photos.item(path)
        self.bridge.load_moments(path, self.search_text(), item.at if item is not None else None)

    def _on_moments(self, path: str, moments: list) -> None:
        if path == self.details_path:
            self.moments = moments
            self.momentsReady.emit(path, moments)

    # -- video moments ----------------------------------------------------------------------------

    def choose_moment(self, path: str | None, t: float | None = None) -> None:
        """The moment of a video picked in the filmstrip (None: none); "Find similar" then starts there."""
        moment = (path, float(t)) if path is not None and t is not None else None
        if moment != self.moment:
            self.moment = moment
            self.momentChosen.emit(path or "", None if moment is None else moment[1])

    def moment_of(self, path: str) -> float | None:
        """The moment of the video *path* that the user means: the one chosen in the filmstrip, else the
        moment its search hit matched at (None: the video as a whole)."""
        if self.moment is not None and self.moment[0] == path:
            return self.moment[1]
        item = self.photos.item(path)
        return item.at if item is not None else None

    def judge_tag(self, label: str, accepted: bool) -> None:
        """Accept or reject a tag ("set/label", or a new label) of the photo shown in the details."""
        path = self.details_path
        if path is not None:
            self.organize.judge(label, [path], accepted, then=lambda: self.organize.load_photo_tags(path))

    # -- albums, tags and prompt sets -----------------------------------------------------------

    @property
    def albums(self) -> list:
        return self.organize.album_list

    @property
    def tag_sets(self) -> list:
        return self.organize.tag_sets

    def album(self, album_id) -> Any:
        """The album with this id (int or its text), or None."""
        return next((a for a in self.organize.album_list if str(a.id) == str(album_id)), None)

    def current_album(self) -> Any:
        """The album the grid shows, or None."""
        return self.album(self.query.value) if self.query.kind == "album" else None

    def album_created(self, album) -> None:
        """Show *album* once the album list (reloaded after every change) holds it."""
        if self.album(album.id) is not None:  # already listed (synchronous pools)
            self.browse("album", album.id)
        else:
            self._select_album = album.id

    def remove_from_album(self, paths: list[str]) -> None:
        """Take photos out of the album shown (manual: forgotten; smart: excluded for good)."""
        album = self.current_album()
        if album is not None:
            self.organize.remove_from_album(album, paths, lambda _r: self.refresh())

    def load_prompt_set(self, name: str, on_done) -> None:
        self.organize.load_prompt_set(name, on_done)

    def remove_prompt_set(self, name: str) -> None:
        self.organize.remove_set(name)

    def apply_default_sets(self) -> None:
        self.organize.apply_defaults()

    def _on_albums(self, albums: list) -> None:
        self.albumsChanged.emit(albums)
        if self._select_album is not None and any(a.id == self._select_album for a in albums):
            album_id, self._select_album = self._select_album, None
            self.browse("album", album_id)
        elif self.query.kind == "album":
            if any(str(a.id) == self.query.value for a in albums):
                self.refresh()  # edited or re-matched: show what it holds now
            else:
                self.browse("all")  # deleted

    def _on_tags(self, sets: list) -> None:
        self.tagsChanged.emit(sets)
        if self.query.kind == "tag":
            self.refresh()
