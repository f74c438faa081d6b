"""The large in-app preview of one photo: decoded on the io pool, shown in a dialog."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QKeyEvent, QPixmap
from PySide6.QtWidgets import QDialog, QLabel, QVBoxLayout, QWidget

from photosense.ui.tasks import Pools


class PreviewDialog(QDialog):
    """A large in-app preview; Space or Escape closes it. The image arrives from a worker (``set_image``)."""

    def __init__(self, path: str, parent=None) -> None:
        super().__init__(parent)
        self.path = path
        self.setWindowTitle(Path(path).name)
        self.label = QLabel("Loading…", self)
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.label.setMinimumSize(320, 240)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        self.setStyleSheet("QDialog { background: #111318; } QLabel { color: #d1d5db; }")
        self.closed = False
        if parent is not None:
            self.resize(parent.size() * 0.85)

    def done(self, result: int) -> None:
        self.closed = True
        super().done(result)

    def set_image(self, image: QImage) -> None:
        if self.closed:  # closed (and maybe deleted) before the worker answered
            return
        if image.isNull():
            self.label.setText("This photo cannot be shown.")
            return
        self._pixmap = QPixmap.fromImage(image)
        self._fit()

    def _fit(self) -> None:
        if getattr(self, "_pixmap", None) is not None:
            box = self.label.size().boundedTo(self._pixmap.size() * 4)  # small images: at most 4×
            self.label.setPixmap(self._pixmap.scaled(box, Qt.AspectRatioMode.KeepAspectRatio,
                                                     Qt.TransformationMode.SmoothTransformation))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Space, Qt.Key.Key_Escape):
            self.accept()
            return
        super().keyPressEvent(event)


def open_preview(pools: Pools, path: str, parent: QWidget) -> PreviewDialog:
    """Open the preview of *path* over *parent*; the photo is decoded on the io pool, at about the screen's size."""
    dialog = PreviewDialog(path, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    size = max(800, int(max(parent.width(), parent.height()) * 1.2))
    pools.run(pools.io, lambda: decode_preview(path, size), dialog.set_image, lambda _err: dialog.set_image(QImage()))
    dialog.open()
    return dialog


def decode_preview(path: str, size: int) -> QImage:  # worker thread
    """*path* decoded (orientation applied) and fitted into size × size."""
    from photosense.core.media import open_image

    image = open_image(path, min_side=size).image
    image.thumbnail((size, size))
    data = image.tobytes()
    return QImage(data, image.width, image.height, 3 * image.width, QImage.Format.Format_RGB888).copy()
