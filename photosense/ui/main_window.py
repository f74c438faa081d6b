"""The main window: search bar, sidebar, thumbnail grid, details panel and status bar, wired to the bridge."""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QByteArray, QModelIndex, QSettings, Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QDragEnterEvent, QDropEvent, QGuiApplication, QImage, QKeySequence
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QMainWindow, QMenu, QMessageBox, QProgressBar, QSplitter,
                               QStackedWidget, QToolButton, QVBoxLayout, QWidget)

from photosense.core.media import is_image_name
from photosense.ui import style
from photosense.ui.dialogs.albums import AlbumActions
from photosense.ui.bridge import LibraryBridge, Query, Results
from photosense.ui.widgets.details import DetailsPanel
from photosense.ui.dialogs.failures import FailuresDialog
from photosense.ui.dialogs.model import ModelErrorDialog, ModelLoadingDialog
from photosense.ui.dialogs.preview import PreviewDialog
from photosense.ui.widgets.empty_state import EmptyState
from photosense.ui.widgets.grid import GridView
from photosense.ui.live import IndexState, LiveIndexController
from photosense.ui.organize_bridge import OrganizeBridge
from photosense.ui.models.photo_model import PhotoGridModel, ScoreRole
from photosense.ui.dialogs.prompt_set_editor import PromptSetEditor
from photosense.ui.widgets.search_bar import SearchBar
from photosense.ui.widgets.sidebar import Sidebar
from photosense.ui.widgets.status import IndexingStatus
from photosense.ui.tasks import Pools
from photosense.ui.thumbnailer import ThumbnailLoader

DOWNLOAD_DIALOG_AFTER_MS = 1200  # a model still loading after this is being downloaded


class MainWindow(QMainWindow):
    """The PhotoSense window over one library directory."""

    def __init__(self, library_dir: str | os.PathLike[str], settings: QSettings, model: str | None = None,
                 thumbnail_cache=None, auto_index: bool = True,
                 remember_library: bool = True) -> None:
        super().__init__()
        self.setWindowTitle("PhotoSense")
        self.setWindowIcon(style.icon("photosense"))
        self.setAcceptDrops(True)
        self.settings = settings
        self.library_dir = str(library_dir)
        self.auto_index = auto_index
        self.remember_library = remember_library  # the demo is not "the last library"
        self.pools = Pools()
        self.bridge = LibraryBridge(self.pools, self)
        self.organize = OrganizeBridge(self.bridge, self)
        self.album_actions = AlbumActions(self.organize, self)
        self.editor: PromptSetEditor | None = None
        self._select_album = None  # an album just created, selected once the sidebar lists it
        self.indexer = LiveIndexController(self.bridge, self)
        self.loader = ThumbnailLoader(self.pools, thumbnail_cache, self)
        self.photos = PhotoGridModel(self.loader, self)
        self.browse_query = Query("all")
        self.query = self.browse_query
        self.shown: Query | None = None  # the query whose answer the grid holds
        self._previous_shown: Query | None = None
        self.folders: list[str] | None = None  # None until the library has answered
        self.model_error_dialog: ModelErrorDialog | None = None
        self.model_dialog: ModelLoadingDialog | None = None
        self.preview: PreviewDialog | None = None
        self._build()
        self._connect()
        self._restore()
        self.bridge.open(library_dir, model)

    # -- layout ---------------------------------------------------------------------------------

    def _build(self) -> None:
        self.search = SearchBar(self)
        self.chip = QToolButton(self)
        self.chip.setObjectName("chip")
        self.chip.setIcon(style.icon("close"))
        self.chip.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.chip.setLayoutDirection(Qt.LayoutDirection.RightToLeft)  # the × sits at the end
        self.chip.setToolTip("Clear this search")
        self.chip.hide()
        self.count_label = QLabel(self)
        self.count_label.setStyleSheet(f"color: {style.TEXT_DIM};")
        self.count_label.setMinimumWidth(110)
        self.count_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.show_all_button = QToolButton(self)
        self.show_all_button.setObjectName("link")
        self.show_all_button.setCheckable(True)
        self.show_all_button.setText("Show all")
        self.show_all_button.setToolTip("Results stop where photos match no better than their background.\n"
                                        "Show all lists the rest too, best first.")
        self.show_all_button.hide()
        self.save_album_button = QToolButton(self)
        self.save_album_button.setObjectName("saveAlbum")
        self.save_album_button.setIcon(style.icon("album"))
        self.save_album_button.setText("Save as album")
        self.save_album_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.save_album_button.setToolTip("Save this search as a smart album: it fills with the photos that\n"
                                          "match, and takes in new ones as they are indexed")
        self.save_album_button.setEnabled(False)
        top = QWidget(self)
        top.setObjectName("topBar")
        top.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        top_layout = QHBoxLayout(top)
        top_layout.setContentsMargins(16, 10, 16, 10)
        top_layout.setSpacing(10)
        top_layout.addWidget(self.search, 1)
        top_layout.addWidget(self.chip)
        top_layout.addWidget(self.count_label)
        top_layout.addWidget(self.show_all_button)
        top_layout.addWidget(self.save_album_button)

        self.sidebar = Sidebar(self)
        self.grid = GridView(self)
        self.grid.setModel(self.photos)
        self.empty = EmptyState(self)
        self.empty.show_message("image", "Opening the library…", "")
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.grid)
        self.stack.addWidget(self.empty)
        self.stack.setCurrentWidget(self.empty)
        self.details = DetailsPanel(self)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.setHandleWidth(1)
        self.splitter.setChildrenCollapsible(False)
        for widget in (self.sidebar, self.stack, self.details):
            self.splitter.addWidget(widget)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([220, 800, 260])

        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(top)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)

        self.status_label = QLabel(self)
        self.indexing_status = IndexingStatus(self)
        self.task_label = QLabel(self)
        self.task_bar = QProgressBar(self)
        self.task_bar.setRange(0, 0)  # tagging and album matching report no steps: a busy bar
        self.task_bar.setTextVisible(False)
        self.task_bar.setMaximumWidth(120)
        self.task_label.hide()
        self.task_bar.hide()
        self.statusBar().addWidget(self.status_label, 1)
        self.statusBar().addPermanentWidget(self.task_label)
        self.statusBar().addPermanentWidget(self.task_bar)
        self.statusBar().addPermanentWidget(self.indexing_status)
        self.statusBar().setSizeGripEnabled(False)

        find = QAction("Find", self, shortcut=QKeySequence.StandardKey.Find)
        find.triggered.connect(self.focus_search)
        add = QAction("Add a photo folder…", self, shortcut=QKeySequence("Ctrl+O"))
        add.triggered.connect(self.choose_folder)
        quit_ = QAction("Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        quit_.triggered.connect(self.close)
        self.addActions([find, add, quit_])

    def _connect(self) -> None:
        b = self.bridge
        b.opened.connect(self._on_opened)
        b.openFailed.connect(self._on_open_failed)
        b.modelLoading.connect(self._on_model_loading)
        b.modelReady.connect(self._on_model_ready)
        b.modelFailed.connect(self._on_model_failed)
        b.results.connect(self._on_results)
        b.searchFailed.connect(lambda msg: self.flash(msg))
        b.folders.connect(self._on_folders)
        b.status.connect(self._on_status)
        b.failures.connect(self._show_failures)
        b.details.connect(self._on_details)
        b.error.connect(self.show_error)
        self.search.queryChanged.connect(self._on_query_text)
        self.search.imageDropped.connect(self.find_similar)
        self.chip.clicked.connect(self.clear_search)
        self.sidebar.selected.connect(self._on_sidebar)
        self.sidebar.addFolderRequested.connect(self.choose_folder)
        self.sidebar.removeFolderRequested.connect(self.remove_folder)
        self.empty.actionClicked.connect(self.choose_folder)
        self.grid.activated.connect(lambda index: self.open_paths(self.grid.selected_paths()
                                                                  or [self.photos.path(index.row())]))
        self.grid.previewRequested.connect(self.show_preview)
        self.grid.customContextMenuRequested.connect(self._context_menu)
        self.grid.selectionModel().selectionChanged.connect(self._on_selection)
        self.indexer.changed.connect(self._on_index_state)
        self.indexer.finished.connect(self._on_index_finished)
        self.indexer.failed.connect(self.flash)
        self.indexing_status.pauseToggled.connect(lambda paused: self.indexer.pause() if paused
                                                  else self.indexer.resume())
        self.indexing_status.failuresRequested.connect(self.bridge.load_failures)
        o = self.organize
        o.albums.connect(self._on_albums)
        o.tags.connect(self._on_tags)
        o.photoTags.connect(self.details.show_tags)
        o.busy.connect(self._on_busy)
        o.done.connect(self.flash)
        o.error.connect(self.flash)
        self.details.tags.judged.connect(self.judge_tag)
        self.sidebar.albumAction.connect(lambda action, album_id: self.album_actions.act(action, album_id,
                                                                                          self.folders or []))
        self.sidebar.setAction.connect(self._on_set_action)
        self.sidebar.actionRequested.connect(self._on_sidebar_action)
        self.album_actions.created.connect(self._on_album_created)
        self.save_album_button.clicked.connect(self.save_search_as_album)
        self.show_all_button.toggled.connect(self._on_show_all)

    # -- settings -------------------------------------------------------------------------------

    def _restore(self) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        state = self.settings.value("window/splitter")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.splitter.restoreState(state)

    def save_settings(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/splitter", self.splitter.saveState())
        if self.remember_library:
            self.settings.setValue("library/last", self.library_dir)
        self.settings.sync()

    def closeEvent(self, event) -> None:
        self.save_settings()
        self.indexer.stop()
        self.bridge.close()
        super().closeEvent(event)

    # -- library and model ----------------------------------------------------------------------

    def _on_opened(self, library) -> None:
        self.library_dir = str(library.directory)
        if self.remember_library:
            self.settings.setValue("library/last", self.library_dir)
        self.empty.show_message("image", "Loading your photos…", "")

    def _on_open_failed(self, message: str) -> None:
        self.empty.show_message("failed", "The library could not be opened", message)
        self.search.setEnabled(False)

    def _on_model_loading(self) -> None:
        self.search.set_model_state("loading")
        spec = self.bridge.library.model_spec if self.bridge.library else ""
        if ":" in spec and not spec.endswith(":none") and "/" not in spec:  # a pretrained tag: may download
            QTimer.singleShot(DOWNLOAD_DIALOG_AFTER_MS, lambda: self._maybe_show_download(spec))

    def _maybe_show_download(self, spec: str) -> None:
        if self.bridge.model_state == "loading" and self.model_dialog is None:
            self.model_dialog = ModelLoadingDialog(spec, self)
            self.model_dialog.canceled.connect(self._download_cancelled)
            self.model_dialog.show()

    def _close_model_dialog(self) -> None:
        if self.model_dialog is not None:
            self.model_dialog.canceled.disconnect(self._download_cancelled)
            self.model_dialog.close()
            self.model_dialog.deleteLater()
            self.model_dialog = None

    def _download_cancelled(self) -> None:
        self._close_model_dialog()
        self.search.set_model_state("failed")
        self.flash("Model download cancelled: browsing only. Restart PhotoSense to try again.")

    def _on_model_ready(self) -> None:
        self._close_model_dialog()
        self.search.set_model_state("ready")

    def _on_model_failed(self, message: str) -> None:
        self._close_model_dialog()
        self.search.set_model_state("failed")
        spec = self.bridge.library.model_spec if self.bridge.library else ""
        self.model_error_dialog = ModelErrorDialog(message, spec, self)
        self.model_error_dialog.weightsChosen.connect(self.bridge.use_model)
        self.model_error_dialog.open()

    # -- what the grid shows --------------------------------------------------------------------

    def show_query(self, query: Query) -> None:
        self.query = query
        self.save_album_button.setEnabled(query.kind == "text")
        self.show_all_button.setVisible(query.kind == "text")
        self.chip.setVisible(query.kind == "similar")
        if query.kind == "similar":
            self.chip.setText(f"Similar to {Path(query.value).name}")
        if query.is_search and self.bridge.model_state != "ready":
            self.count_label.setText("Waiting for the model…")
        self.bridge.request(query)

    def _on_query_text(self, text: str) -> None:
        if text:
            self.show_query(Query("text", text, self.show_all_button.isChecked()))
        elif self.query.kind == "text":
            self.show_query(self.browse_query)

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def clear_search(self) -> None:
        self.search.forget()
        self.show_query(self.browse_query)

    def find_similar(self, path: str) -> None:
        """Photos that look like *path* (a library photo or any image file), shown as a clearable search."""
        self.search.forget()
        self.show_query(Query("similar", path))

    def _on_sidebar(self, kind: str, value) -> None:
        if kind in ("all", "folder", "album", "tag"):
            self.browse_query = Query(kind, "" if kind == "all" else str(value))
            self.search.forget()
            self.show_query(self.browse_query)

    def _on_show_all(self, show_all: bool) -> None:
        self.show_all_button.setText("Only relevant" if show_all else "Show all")
        if self.query.kind == "text":
            self.show_query(Query("text", self.query.value, show_all))

    def _on_results(self, results: Results) -> None:
        self.shown = results.query
        if results.items != self.photos.items():
            current = self.grid.current_path() if self.shown == self._previous_shown else None
            self.photos.set_items(results.items)
            self.details.clear()
            rows = self.photos.paths()
            if current is not None and current in rows:  # the same view, refreshed: keep the photo selected
                self.grid.setCurrentIndex(self.photos.index(rows.index(current), 0))
        self._previous_shown = results.query
        count = len(results.items)
        if results.query.kind == "text" and not results.query.show_all:
            self.count_label.setText(f"{count:,} relevant result{'s' * (count != 1)}")
        elif results.query.is_search:
            self.count_label.setText(f"{count:,} result{'s' * (count != 1)}")
        else:
            self.count_label.setText(f"{count:,} photo{'s' * (count != 1)}")
        self._update_stack()

    def _update_stack(self) -> None:
        if self.folders == []:
            self.empty.show_no_folders()
            self.stack.setCurrentWidget(self.empty)
        elif self.photos.rowCount() == 0 and self.folders is not None:
            if self.shown != self.query:
                return  # no answer yet: "no photos" would be premature
            if self.query.is_search:
                self.empty.show_no_matches(self.search.text() or Path(self.query.value).name)
            elif self.query.kind == "album":
                self.empty.show_message("album", "This album is empty", "Right-click photos and choose “Add to album”,\n"
                                        "or right-click the album to edit its description.")
            elif self.query.kind == "tag":
                self.empty.show_message("tag", "No photo has this tag", "")
            else:
                self.empty.show_no_photos()
            self.stack.setCurrentWidget(self.empty)
        else:
            self.stack.setCurrentWidget(self.grid)

    # -- folders and indexing -------------------------------------------------------------------

    def _on_folders(self, folders: list[str]) -> None:
        first = self.folders is None
        self.folders = folders
        self.sidebar.set_folders(folders)
        if folders and self.bridge.model_state == "idle":
            self.bridge.load_model()
        if first:
            self.sidebar.select_all_photos()
            self.organize.refresh()  # albums and tag counts, queued after the photo list
            if self.auto_index and folders:
                self.indexer.start()
        if self.browse_query.kind == "folder" and self.browse_query.value not in folders:
            self.sidebar.select_all_photos()
        self._update_stack()

    def choose_folder(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path = QFileDialog.getExistingDirectory(self, "Add a photo folder", str(Path.home()))
        if path:
            self.add_folder(path)

    def add_folder(self, path: str) -> None:
        """Add *path* to the library and index it in the background."""
        self.bridge.add_folder(path, then=self._after_folder_change)

    def remove_folder(self, path: str) -> None:
        answer = QMessageBox.question(
            self, "Remove folder", f"Remove “{Path(path).name}” from the library?\n\n"
            "Its photos leave PhotoSense; the files on disk are not touched.")
        if answer == QMessageBox.StandardButton.Yes:
            self.bridge.remove_folder(path, then=self._after_folder_change)

    def _after_folder_change(self) -> None:
        self.show_query(self.query)
        self.indexer.start()

    def _on_index_state(self, state: IndexState) -> None:
        previous = getattr(self, "_index_phase", "idle")
        self._index_phase = state.state
        self.indexing_status.show_state(state)
        if previous == "scanning" and state.state == "indexing" and not self.query.is_search:
            self.show_query(self.query)  # the scan's new photos are listed (as placeholders) at once

    def _on_index_finished(self, _summary) -> None:
        self.bridge.refresh_status()
        self.organize.refresh()  # new photos were tagged and joined smart albums
        self.show_query(self.query)

    def _on_status(self, status: dict) -> None:
        self.status_label.setText(f"{status['photos']:,} photos · {status['indexed']:,} searchable")
        self.indexing_status.set_failed(status["failed"])

    def _show_failures(self, failures: list) -> None:
        dialog = FailuresDialog(failures, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.failures_dialog = dialog
        dialog.open()

    # -- selection, details, actions ------------------------------------------------------------

    def _on_selection(self) -> None:
        paths = self.grid.selected_paths()
        if len(paths) == 1:
            self.bridge.load_details(paths[0])
            self.organize.load_photo_tags(paths[0])
        elif len(paths) > 1:
            self.details.clear(f"{len(paths):,} photos selected")
        else:
            self.details.clear()

    def _on_details(self, photo) -> None:
        paths = self.grid.selected_paths()
        if photo is None or paths == [photo.path]:
            index = self.grid.currentIndex()
            self.details.show_photo(photo, index.data(ScoreRole) if index.isValid() else None)

    def _context_menu(self, pos) -> None:
        index = self.grid.indexAt(pos)
        if not index.isValid():
            return
        if not self.grid.selectionModel().isSelected(index):
            self.grid.setCurrentIndex(index)
        paths = self.grid.selected_paths()
        self.context_menu = menu = QMenu(self)
        similar = menu.addAction(style.icon("similar"), "Find similar",
                                 lambda: self.find_similar(self.photos.path(index.row())))
        similar.setEnabled(self.bridge.model_state == "ready")
        menu.addSeparator()
        menu.addAction(style.icon("open"), "Open" if len(paths) == 1 else f"Open {len(paths)} photos",
                       lambda: self.open_paths(paths))
        menu.addAction(style.icon("show-folder"), "Show in folder", lambda: self.show_in_folder(paths[0]))
        menu.addAction(style.icon("copy"), "Copy path" if len(paths) == 1 else f"Copy {len(paths)} paths",
                       lambda: QGuiApplication.clipboard().setText("\n".join(paths)))
        menu.addSeparator()
        self.album_actions.add_to_album_menu(menu, paths, self.folders or []).setIcon(style.icon("album"))
        album = self.album_actions.album(int(self.query.value)) if self.query.kind == "album" else None
        if album is not None:
            menu.addAction(style.icon("remove"), f"Remove from “{album.name}”",
                           lambda: self.organize.remove_from_album(album, paths,
                                                                   lambda _r: self.show_query(self.query)))
        menu.popup(self.grid.viewport().mapToGlobal(pos))

    def open_paths(self, paths: list[str]) -> None:
        for path in paths[:20]:  # a huge selection must not launch hundreds of viewers
            QDesktopServices.openUrl(QUrl.fromLocalFile(path))

    def show_in_folder(self, path: str) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(os.path.dirname(path)))

    def show_preview(self, path: str) -> None:
        self.preview = PreviewDialog(path, self)
        self.preview.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        preview = self.preview
        size = max(800, int(max(self.width(), self.height()) * 1.2))
        self.pools.run(self.pools.io, lambda: _decode_preview(path, size), preview.set_image,
                       lambda _err: preview.set_image(QImage()))
        preview.open()

    # -- albums and tags ------------------------------------------------------------------------

    def _on_albums(self, albums: list) -> None:
        self.sidebar.set_albums([(a.id, a.name, a.count) for a in albums])
        if self._select_album is not None and any(a.id == self._select_album for a in albums):
            self.sidebar.select("album", self._select_album)
            self._select_album = None
        elif self.query.kind == "album":
            if any(str(a.id) == self.query.value for a in albums):
                self.show_query(self.query)  # edited or re-matched: show what it holds now
            else:
                self.sidebar.select_all_photos()  # deleted

    def _on_tags(self, sets: list) -> None:
        self.sidebar.set_tags(sets)
        if self.query.kind == "tag":
            self.show_query(self.query)

    def _on_album_created(self, album) -> None:
        self._select_album = album.id

    def _on_busy(self, message: str) -> None:
        self.task_label.setText(message)
        self.task_label.setVisible(bool(message))
        self.task_bar.setVisible(bool(message))

    def save_search_as_album(self) -> None:
        if self.query.kind == "text":
            self.album_actions.save_search(self.query.value)

    def judge_tag(self, label: str, accepted: bool) -> None:
        """Accept or reject a tag of the photo in the details panel (kept for good)."""
        path = self.details.path
        if path is not None:
            self.organize.judge(label, [path], accepted, then=lambda: self.organize.load_photo_tags(path))

    def open_prompt_set_editor(self, prompt_set=None) -> PromptSetEditor:
        """The prompt-set editor, empty or on *prompt_set*."""
        if self.editor is not None:
            self.editor.close()
        self.editor = editor = PromptSetEditor(self.organize, self.loader, prompt_set, self)
        editor.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        editor.destroyed.connect(lambda: setattr(self, "editor", None) if self.editor is editor else None)
        editor.open()
        return editor

    def _on_set_action(self, action: str, name: str) -> None:
        if action == "edit":
            self.organize.load_prompt_set(name, self.open_prompt_set_editor)
        elif action == "remove":
            box = QMessageBox(QMessageBox.Icon.Question, "Remove prompt set",
                              f"Remove the prompt set “{name}” and its tags (your own choices included)?",
                              QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self)
            box.button(QMessageBox.StandardButton.Yes).setText("Remove")
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.buttonClicked.connect(lambda button: self.organize.remove_set(name)
                                      if box.standardButton(button) == QMessageBox.StandardButton.Yes else None)
            self.album_actions.dialog = box
            box.open()

    def _on_sidebar_action(self, action: str) -> None:
        if action == "new-album":
            self.album_actions.new_album(self.folders or [], self.query.value if self.query.kind == "text" else "")
        elif action == "new-set":
            self.open_prompt_set_editor()
        elif action == "import-set":
            self.open_prompt_set_editor()._choose_file()
        elif action == "default-sets":
            self.organize.apply_defaults()

    # -- messages and drops ---------------------------------------------------------------------

    def flash(self, message: str, msecs: int = 8000) -> None:
        self.statusBar().showMessage(message, msecs)

    def show_error(self, message: str) -> None:
        self.flash(message)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._dropped_folders(event):
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:
        if self._dropped_folders(event):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        folders = self._dropped_folders(event)
        for folder in folders:
            self.add_folder(folder)
        if folders:
            event.acceptProposedAction()

    @staticmethod
    def _dropped_folders(event) -> list[str]:
        """Local paths that are not photos (checked as folders by the worker that adds them: no I/O here)."""
        if not event.mimeData().hasUrls():
            return []
        return [u.toLocalFile() for u in event.mimeData().urls()
                if u.isLocalFile() and not is_image_name(u.toLocalFile())]


def _decode_preview(path: str, size: int) -> QImage:  # worker thread
    from photosense.core.media import open_image

    image = open_image(path, min_side=size).image
    image.thumbnail((size, size))
    data = image.tobytes()
    return QImage(data, image.width, image.height, 3 * image.width, QImage.Format.Format_RGB888).copy()
