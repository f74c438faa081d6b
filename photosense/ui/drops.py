"""Dropping folders on the window adds them to the library (photos dropped on the search bar search by image)."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QMimeData, QObject, Signal
from PySide6.QtWidgets import QWidget

from photosense.core.media import is_image_name


def dropped_folders(mime: QMimeData) -> list[str]:
    """Local paths that are not photos (the worker that adds them checks they are folders: no I/O here)."""
    if not mime.hasUrls():
        return []
    return [u.toLocalFile() for u in mime.urls() if u.isLocalFile() and not is_image_name(u.toLocalFile())]


class FolderDrops(QObject):
    """Installed on *widget* as an event filter; a drop of folders emits ``foldersDropped([path])``."""

    foldersDropped = Signal(list)

    def __init__(self, widget: QWidget) -> None:
        super().__init__(widget)
        widget.setAcceptDrops(True)
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.Drop):
            folders = dropped_folders(event.mimeData())
            if not folders:
                return False
            event.acceptProposedAction()
            if kind == QEvent.Type.Drop:
                self.foldersDropped.emit(folders)
            return True
        return False
