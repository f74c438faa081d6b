"""What can be done to the grid's photos: the context menu, open, show in folder, copy paths and the preview."""
from __future__ import annotations

import os

from PySide6.QtCore import QModelIndex, QObject, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QMenu, QWidget

from photosense.ui import style
from photosense.ui.controller import MainController
from photosense.ui.dialogs.albums import AlbumActions
from photosense.ui.dialogs.preview import PreviewDialog, open_preview
from photosense.ui.widgets.grid import GridView

MAX_OPENED = 20  # a huge selection must not launch hundreds of viewers


def open_paths(paths: list[str]) -> None:
    """Open photos in the system's viewer."""
    for path in paths[:MAX_OPENED]:
        QDesktopServices.openUrl(QUrl.fromLocalFile(path))


def show_in_folder(path: str) -> None:
    """Open the folder holding *path* in the file manager."""
    QDesktopServices.openUrl(QUrl.fromLocalFile(os.path.dirname(path)))


def copy_paths(paths: list[str]) -> None:
    """Put the paths on the clipboard, one a line."""
    QGuiApplication.clipboard().setText("\n".join(paths))


class PhotoActions(QObject):
    """Enter (or a double click) opens the selection, Space previews the current photo, a right click
    shows the menu. ``context_menu`` and ``preview`` are the menu and preview open last."""

    def __init__(self, controller: MainController, grid: GridView, albums: AlbumActions, window: QWidget) -> None:
        super().__init__(window)
        self.controller = controller
        self.grid = grid
        self.albums = albums
        self.window = window
        self.context_menu: QMenu | None = None
        self.preview: PreviewDialog | None = None
        grid.activated.connect(self._activated)
        grid.previewRequested.connect(self.show_preview)
        grid.customContextMenuRequested.connect(self.show_menu)

    def _activated(self, index: QModelIndex) -> None:
        open_paths(self.grid.selected_paths() or [self.controller.photos.path(index.row())])

    def show_preview(self, path: str) -> None:
        """The large preview of *path* (decoded on the io pool)."""
        self.preview = open_preview(self.controller.pools, path, self.window)

    def show_menu(self, pos) -> None:
        """The context menu of the photo at *pos* (viewport coordinates) and the selection it is in."""
        index = self.grid.indexAt(pos)
        if not index.isValid():
            return
        if not self.grid.selectionModel().isSelected(index):
            self.grid.setCurrentIndex(index)
        paths = self.grid.selected_paths()
        c = self.controller
        self.context_menu = menu = QMenu(self.window)
        clicked = c.photos.path(index.row())
        similar = menu.addAction(style.icon("similar"), "Find similar", lambda: c.find_similar(clicked))
        similar.setEnabled(c.model_state == "ready")
        menu.addSeparator()
        menu.addAction(style.icon("open"), "Open" if len(paths) == 1 else f"Open {len(paths)} photos",
                       lambda: open_paths(paths))
        menu.addAction(style.icon("show-folder"), "Show in folder", lambda: show_in_folder(paths[0]))
        menu.addAction(style.icon("copy"), "Copy path" if len(paths) == 1 else f"Copy {len(paths)} paths",
                       lambda: copy_paths(paths))
        menu.addSeparator()
        self.albums.add_to_album_menu(menu, paths, c.folders or []).setIcon(style.icon("album"))
        album = c.current_album()
        if album is not None:
            menu.addAction(style.icon("remove"), f"Remove from “{album.name}”", lambda: c.remove_from_album(paths))
        menu.popup(self.grid.viewport().mapToGlobal(pos))
