"""What can be done to the grid's photos and videos: the context menu, open, play, show in folder, copy paths
and the preview."""
from __future__ import annotations

import os

from PySide6.QtCore import QModelIndex, QObject, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QMenu, QWidget

from photosense.core.filetypes import is_video_name
from photosense.ui import style
from photosense.ui.controller import MainController
from photosense.ui.dialogs.albums import AlbumActions
from photosense.ui.dialogs.player import PlayerDialog
from photosense.ui.dialogs.preview import PreviewDialog, open_preview
from photosense.ui.videos import clock
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
    """Enter (or a double click) opens the selection (one video: plays it in PhotoSense from its moment),
    Space previews the current photo, a right click shows the menu. ``context_menu``, ``preview`` and
    ``player`` are the menu, preview and player open last."""

    def __init__(self, controller: MainController, grid: GridView, albums: AlbumActions, window: QWidget) -> None:
        super().__init__(window)
        self.controller = controller
        self.grid = grid
        self.albums = albums
        self.window = window
        self.context_menu: QMenu | None = None
        self.preview: PreviewDialog | None = None
        self.player: PlayerDialog | None = None
        grid.activated.connect(self._activated)
        grid.previewRequested.connect(self.show_preview)
        grid.customContextMenuRequested.connect(self.show_menu)

    def _activated(self, index: QModelIndex) -> None:
        paths = self.grid.selected_paths() or [self.controller.photos.path(index.row())]
        item = self.controller.photos.item(paths[0]) if len(paths) == 1 else None
        if item is not None and item.is_video:
            self.play(item.path, self.controller.moment_of(item.path) or 0.0)
        else:
            open_paths(paths)

    def show_preview(self, path: str) -> None:
        """The large preview of *path* (decoded on the io pool); a video plays instead."""
        item = self.controller.photos.item(path)
        if item is not None and item.is_video:
            self.play(path, self.controller.moment_of(path) or 0.0)
            return
        self.preview = open_preview(self.controller.pools, path, self.window)

    def play(self, path: str, at: float = 0.0) -> PlayerDialog:
        """The in-app player on *path* from *at* seconds (decoded on its own thread)."""
        self.close_player()
        self.player = player = PlayerDialog(path, at, self.window)
        player.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        player.similarRequested.connect(self.controller.find_similar)
        player.destroyed.connect(lambda: setattr(self, "player", None) if self.player is player else None)
        player.open()
        return player

    def close_player(self) -> None:
        if self.player is not None:
            self.player.close()
            self.player = None

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
        clicked = c.photos.item(c.photos.path(index.row()))
        at = c.moment_of(clicked.path) if clicked.is_video else None
        if clicked.is_video and len(paths) == 1:
            menu.addAction(style.icon("resume"), f"Play from {clock(at)}" if at else "Play",
                           lambda: self.play(clicked.path, at or 0.0))
        similar = menu.addAction(style.icon("similar"), "Find similar" if at is None else
                                 f"Find similar to {clock(at)}", lambda: c.find_similar(clicked.path, at))
        similar.setEnabled(c.model_state == "ready")
        if clicked.stack > 1:
            menu.addAction(style.icon("open"), f"Show the {clicked.stack} in this stack",
                           lambda: c.stacking.expand(clicked.path)).setShortcut("Ctrl+E")
        menu.addSeparator()
        if clicked.is_video and len(paths) == 1:
            menu.addAction(style.icon("open"), "Open in system player", lambda: open_paths(paths))
        else:
            noun = "items" if any(is_video_name(p) for p in paths) else "photos"
            menu.addAction(style.icon("open"), "Open" if len(paths) == 1 else f"Open {len(paths)} {noun}",
                           lambda: open_paths(paths))
        menu.addAction(style.icon("show-folder"), "Show in folder", lambda: show_in_folder(paths[0]))
        menu.addAction(style.icon("copy"), "Copy path" if len(paths) == 1 else f"Copy {len(paths)} paths",
                       lambda: copy_paths(paths))
        menu.addSeparator()
        self.albums.add_to_album_menu(menu, paths, c.folders or []).setIcon(style.icon("album"))
        album = c.current_album()
        if album is not None:
            menu.addAction(style.icon("remove"), f"Remove from “{album.name}”", lambda: c.remove_from_album(paths))
        menu.addSeparator()
        stacking = getattr(self.window, "stacking_action", None)
        if stacking is not None:
            menu.addAction(stacking)
        menu.popup(self.grid.viewport().mapToGlobal(pos))
