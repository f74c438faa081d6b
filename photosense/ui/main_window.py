"""The main window, a view of the MainController: top bar, sidebar, thumbnail grid (or the Duplicates view),
details panel and status bar."""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, QSignalBlocker, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QLabel, QMainWindow, QMessageBox, QProgressBar, QSplitter, QStackedWidget,
                               QVBoxLayout, QWidget)

from photosense.ui import style
from photosense.ui.bridge import Query
from photosense.ui.controller import BROWSE_KINDS, MainController
from photosense.ui.dialogs.albums import AlbumActions
from photosense.ui.dialogs.failures import FailuresDialog
from photosense.ui.dialogs.model import ModelErrorDialog, ModelLoadingDialog
from photosense.ui.model_actions import ModelActions
from photosense.ui.dialogs.prompt_set_editor import PromptSetEditor
from photosense.ui.drops import FolderDrops
from photosense.ui.duplicate_actions import DuplicateActions
from photosense.ui.photo_actions import PhotoActions
from photosense.ui.tasks import Pools
from photosense.ui.thumbnailer import ThumbnailLoader
from photosense.ui.widgets.details import DetailsPanel
from photosense.ui.widgets.duplicates_view import DuplicatesView
from photosense.ui.widgets.empty_state import EmptyState
from photosense.ui.widgets.grid import GridView
from photosense.ui.widgets.sidebar import Sidebar
from photosense.ui.widgets.status import IndexingStatus
from photosense.ui.widgets.top_bar import TopBar

EMPTY_PAGES = {  # controller page -> (icon, title, text); the others are made by EmptyState itself
    "opening": ("image", "Opening the library…", ""),
    "loading": ("image", "Loading your photos…", ""),
    "empty-album": ("album", "This album is empty",
                    "Right-click photos and choose “Add to album”,\nor right-click the album to edit its description."),
    "empty-tag": ("tag", "No photo has this tag", ""),
}


class MainWindow(QMainWindow):
    """The PhotoSense window over one library directory; ``controller`` holds its state and does the work."""

    def __init__(self, library_dir: str | os.PathLike[str], settings: QSettings, model: str | None = None,
                 thumbnail_cache=None, auto_index: bool = True, remember_library: bool = True,
                 pools: Pools | None = None) -> None:
        super().__init__()
        self.setWindowTitle("PhotoSense")
        self.setWindowIcon(style.icon("photosense"))
        self.settings = settings
        self.remember_library = remember_library  # the demo is not "the last library"
        self.pools = pools or Pools()
        self.controller = MainController(self.pools, thumbnail_cache, auto_index, self)
        self.album_actions = AlbumActions(self.controller.organize, self)
        self.editor: PromptSetEditor | None = None
        self.failures_dialog: FailuresDialog | None = None
        self.model_dialog: ModelLoadingDialog | None = None
        self.model_error_dialog: ModelErrorDialog | None = None
        self._build()
        self.photo_actions = PhotoActions(self.controller, self.grid, self.album_actions, self)
        self.duplicate_actions = DuplicateActions(self.controller, self.duplicates_view, self.sidebar,
                                                  self.photo_actions, self)
        self.drops = FolderDrops(self)
        self.model_actions = ModelActions(self.controller, self)
        self.statusBar().addPermanentWidget(self.model_actions.button)
        self._connect()
        self._restore()
        self.controller.open(library_dir, model)

    # -- layout ---------------------------------------------------------------------------------

    def _build(self) -> None:
        self.top_bar = TopBar(self)
        self.search = self.top_bar.search
        self.sidebar = Sidebar(self)
        self.grid = GridView(self)
        self.grid.setModel(self.controller.photos)
        self.empty = EmptyState(self)
        # its own loader: the grid's new answers drop the grid's waiting requests, never the view's
        self.duplicates_view = DuplicatesView(ThumbnailLoader(self.pools, self.controller.loader.cache, self), self)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.grid)
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.duplicates_view)
        self._show_page(*self.controller.page)
        self.details = DetailsPanel(self, self.controller.loader)
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
        layout.addWidget(self.top_bar)
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
        self.expand_action = QAction("Show this stack", self, shortcut=QKeySequence("Ctrl+E"))
        self.expand_action.triggered.connect(self.expand_current_stack)
        self.stacking_action = QAction("Stack duplicates and bursts", self, checkable=True, checked=True)
        self.stacking_action.setEnabled(False)  # until the library says
        self.addActions([find, add, quit_, self.expand_action, self.stacking_action])

    def _connect(self) -> None:
        c, top = self.controller, self.top_bar
        c.queryChanged.connect(self._on_query)
        c.currentRowKept.connect(lambda row: self.grid.setCurrentIndex(c.photos.index(row, 0)))
        c.countChanged.connect(top.count_label.setText)
        c.pageChanged.connect(self._show_page)
        c.libraryOpened.connect(lambda _directory: self._remember_library())
        c.foldersChanged.connect(self.sidebar.set_folders)
        c.statusChanged.connect(self._on_status)
        c.failuresLoaded.connect(self._show_failures)
        c.indexStateChanged.connect(self.indexing_status.show_state)
        c.modelStateChanged.connect(self._on_model_state)
        c.modelFailed.connect(self._show_model_error)
        c.downloadSuspected.connect(self._show_download)
        c.downloadProgress.connect(lambda done, total: self.model_dialog.show_bytes(done, total)
                                   if self.model_dialog is not None else None)
        c.albumsChanged.connect(lambda albums: self.sidebar.set_albums([(a.id, a.name, a.count) for a in albums]))
        c.tagsChanged.connect(self.sidebar.set_tags)
        c.busyChanged.connect(self._on_busy)
        c.detailsCleared.connect(self.details.clear)
        c.detailsReady.connect(self.details.show_photo)
        c.bridge.photoText.connect(lambda path, text: self.details.show_text(path, text, c.search_text()))
        c.photoTagsReady.connect(self.details.show_tags)
        c.momentsReady.connect(self.details.show_moments)
        c.momentChosen.connect(self.details.show_chosen)
        c.message.connect(self.flash)
        top.search.queryChanged.connect(c.search)
        top.search.imageDropped.connect(c.find_similar)
        top.chip.clicked.connect(lambda: c.stacking.back() if c.query.kind == "stack" else c.clear_search())
        self.grid.stackRequested.connect(c.stacking.expand)
        self.stacking_action.toggled.connect(c.stacking.set_enabled)
        c.stacking.changed.connect(self._on_stacking)
        top.show_all_button.toggled.connect(c.set_show_all)
        top.save_album_button.clicked.connect(
            lambda: self.album_actions.save_search(c.search_text()) if c.search_text() else None)
        self.sidebar.selected.connect(c.browse)  # "duplicates" opens the Duplicates view
        self.sidebar.addFolderRequested.connect(self.choose_folder)
        self.sidebar.removeFolderRequested.connect(self.remove_folder)
        self.sidebar.albumAction.connect(lambda action, album_id: self.album_actions.act(action, album_id,
                                                                                          c.folders or []))
        self.sidebar.setAction.connect(self._on_set_action)
        self.sidebar.actionRequested.connect(self._on_sidebar_action)
        self.album_actions.created.connect(c.album_created)
        self.empty.actionClicked.connect(self.choose_folder)
        self.grid.selectionModel().selectionChanged.connect(
            lambda: c.select(self.grid.selected_paths(), self.grid.current_path()))
        self.details.tags.judged.connect(c.judge_tag)
        self.details.momentClicked.connect(self._play_moment)
        self.details.playRequested.connect(lambda path, t: self.photo_actions.play(path, t))
        self.details.similarRequested.connect(c.find_similar)
        self.indexing_status.pauseToggled.connect(c.set_indexing_paused)
        self.indexing_status.failuresRequested.connect(c.load_failures)
        self.drops.foldersDropped.connect(self._add_folders)

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

    def _remember_library(self) -> None:
        if self.remember_library and self.controller.library_dir:
            self.settings.setValue("library/last", self.controller.library_dir)

    def save_settings(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/splitter", self.splitter.saveState())
        self._remember_library()
        self.settings.sync()

    def closeEvent(self, event) -> None:
        self.photo_actions.close_player()  # its decoding thread stops first
        self.save_settings()
        self.controller.close()
        super().closeEvent(event)

    def expand_current_stack(self) -> None:
        """Ctrl+E: the members of the current item's stack, if it stands for one."""
        item = self.controller.photos.item(self.grid.current_path() or "")
        if item is not None and item.stack > 1:
            self.controller.stacking.expand(item.path)

    def _on_stacking(self, on: bool) -> None:
        self.stacking_action.setEnabled(True)
        with QSignalBlocker(self.stacking_action):
            self.stacking_action.setChecked(on)

    # -- what the controller shows --------------------------------------------------------------

    def _on_query(self, query: Query) -> None:
        self.top_bar.show_query(query)
        if query.kind in BROWSE_KINDS:  # the sidebar row, if it is not picked already
            value = int(query.value) if query.kind == "album" else query.value
            with QSignalBlocker(self.sidebar):
                self.sidebar.select(query.kind, value)

    def _show_page(self, page: str, detail: str) -> None:
        leaving = self.stack.currentWidget() is self.duplicates_view and page != "duplicates"
        if hasattr(self, "details"):
            self.details.setVisible(page != "duplicates")  # the groups get the room side by side
        if page == "duplicates":
            self.stack.setCurrentWidget(self.duplicates_view)
            with QSignalBlocker(self.sidebar):
                self.sidebar.select("duplicates", "")
            return
        if leaving:  # the sidebar shows what the grid shows again
            query = self.controller.browse_query
            with QSignalBlocker(self.sidebar):
                self.sidebar.select(query.kind, int(query.value) if query.kind == "album" else query.value)
        if page == "grid":
            self.stack.setCurrentWidget(self.grid)
            return
        if page == "no-folders":
            self.empty.show_no_folders()
        elif page == "no-photos":
            self.empty.show_no_photos()
        elif page == "no-matches":
            self.empty.show_no_matches(detail)
        elif page == "open-failed":
            self.empty.show_message("failed", "The library could not be opened", detail)
            self.search.setEnabled(False)
        else:
            self.empty.show_message(*EMPTY_PAGES[page])
        self.stack.setCurrentWidget(self.empty)

    def _on_status(self, status: dict) -> None:
        videos = status.get("videos", 0)
        items = f"{status['photos'] - videos:,} photos"
        if videos:
            items += f" · {videos:,} video{'s' * (videos != 1)}"
        self.status_label.setText(f"{items} · {status['indexed']:,} searchable")
        self.indexing_status.set_failed(status["failed"])

    def _on_busy(self, message: str) -> None:
        self.task_label.setText(message)
        self.task_label.setVisible(bool(message))
        self.task_bar.setVisible(bool(message))

    def flash(self, message: str, msecs: int = 8000) -> None:
        self.statusBar().showMessage(message, msecs)

    def _show_failures(self, failures: list) -> None:
        self.failures_dialog = dialog = FailuresDialog(failures, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    # -- the search model -----------------------------------------------------------------------

    def _on_model_state(self, state: str) -> None:
        self.search.set_model_state(state)
        if state != "loading":
            self._close_download()

    def _show_download(self, spec: str) -> None:
        if self.model_dialog is None:
            self.model_dialog = ModelLoadingDialog(spec, self)
            self.model_dialog.canceled.connect(self.controller.cancel_download)
            self.model_dialog.show()

    def _close_download(self) -> None:
        if self.model_dialog is not None:
            self.model_dialog.canceled.disconnect(self.controller.cancel_download)
            self.model_dialog.close()
            self.model_dialog.deleteLater()
            self.model_dialog = None

    def _show_model_error(self, message: str, spec: str) -> None:
        self.model_error_dialog = ModelErrorDialog(message, spec, self)
        self.model_error_dialog.weightsChosen.connect(self.controller.use_model)
        self.model_error_dialog.open()

    # -- user actions ---------------------------------------------------------------------------

    def _play_moment(self, path: str, t: float) -> None:
        """A frame of the filmstrip was clicked: it becomes the chosen moment, and plays from there."""
        self.controller.choose_moment(path, t)
        self.photo_actions.play(path, t)

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def choose_folder(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path = QFileDialog.getExistingDirectory(self, "Add a photo folder", str(Path.home()))
        if path:
            self.controller.add_folder(path)

    def _add_folders(self, folders: list[str]) -> None:
        for folder in folders:
            self.controller.add_folder(folder)

    def remove_folder(self, path: str) -> None:
        answer = QMessageBox.question(
            self, "Remove folder", f"Remove “{Path(path).name}” from the library?\n\n"
            "Its photos leave PhotoSense; the files on disk are not touched.")
        if answer == QMessageBox.StandardButton.Yes:
            self.controller.remove_folder(path)

    def open_prompt_set_editor(self, prompt_set=None) -> PromptSetEditor:
        """The prompt-set editor, empty or on *prompt_set*."""
        if self.editor is not None:
            self.editor.close()
        self.editor = editor = PromptSetEditor(self.controller.organize, self.controller.loader, prompt_set, self)
        editor.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        editor.destroyed.connect(lambda: setattr(self, "editor", None) if self.editor is editor else None)
        editor.open()
        return editor

    def _on_set_action(self, action: str, name: str) -> None:
        if action == "edit":
            self.controller.load_prompt_set(name, self.open_prompt_set_editor)
        elif action == "remove":
            box = QMessageBox(QMessageBox.Icon.Question, "Remove prompt set",
                              f"Remove the prompt set “{name}” and its tags (your own choices included)?",
                              QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self)
            box.button(QMessageBox.StandardButton.Yes).setText("Remove")
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.buttonClicked.connect(lambda button: self.controller.remove_prompt_set(name)
                                      if box.standardButton(button) == QMessageBox.StandardButton.Yes else None)
            self.album_actions.dialog = box
            box.open()

    def _on_sidebar_action(self, action: str) -> None:
        if action == "new-album":
            self.album_actions.new_album(self.controller.folders or [], self.controller.search_text())
        elif action == "new-set":
            self.open_prompt_set_editor()
        elif action == "import-set":
            self.open_prompt_set_editor().choose_file()
        elif action == "default-sets":
            self.controller.apply_default_sets()
