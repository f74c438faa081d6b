"""The right-hand details panel: name, folder, size, dimensions, date taken, camera, match, albums and tags."""
from __future__ import annotations

import os
import re
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QLabel, QScrollArea, QSizePolicy, QVBoxLayout, QWidget

from photosense.ui.widgets.tag_list import TagList

FIELDS = ("Folder", "Size", "Dimensions", "Date taken", "Camera", "Match", "Albums")


def human_size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


class DetailsPanel(QScrollArea):
    """Shows one photo's catalog record (``show_photo``) and tags (``show_tags``), a count for a
    multi-selection, or a hint. ``tags.judged(label, accepted)`` reports accept / reject clicks."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("details")
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setMinimumWidth(200)
        body = QWidget(self)
        body.setObjectName("detailsBody")
        self.setWidget(body)
        self.path: str | None = None  # the photo shown
        self.title = QLabel("No photo selected", self)
        self.title.setObjectName("detailsTitle")
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.form = QFormLayout()
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        self.form.setHorizontalSpacing(12)
        self.form.setVerticalSpacing(8)
        self.values: dict[str, QLabel] = {}
        for name in FIELDS:
            label = QLabel(name, self)
            label.setProperty("class", "fieldName")
            value = QLabel("—", self)
            value.setWordWrap(True)
            value.setMinimumWidth(1)
            value.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.values[name] = value
            self.form.addRow(label, value)
        self.tags_title = QLabel("TAGS", self)
        self.tags_title.setObjectName("sectionTitle")
        self.tags = TagList(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(16, 16, 16, 16)
        layout.setSpacing(14)
        layout.addWidget(self.title)
        layout.addLayout(self.form)
        layout.addSpacing(4)
        layout.addWidget(self.tags_title)
        layout.addWidget(self.tags)
        layout.addStretch(1)
        self.clear()

    def clear(self, text: str = "No photo selected") -> None:
        self.path = None
        self.title.setText(text)
        for value in self.values.values():
            value.setText("—")
        self._set_visible_rows(False)
        self.tags_title.hide()
        self.tags.hide()
        self.tags.set_tags([])

    def show_photo(self, photo, score: float | None = None) -> None:
        """*photo*: a catalog ``Photo`` (or None when it left the library)."""
        if photo is None:
            self.clear("This photo is no longer in the library")
            return
        if photo.path != self.path:
            self.tags.set_tags([])
            self.values["Albums"].setText("—")
        self.path = photo.path
        self._set_visible_rows(True)
        self.tags_title.show()
        self.tags.show()
        self.title.setText(Path(photo.path).name)
        folder = os.path.dirname(photo.path)
        self.values["Folder"].setText(re.sub(r"([/_.\-])", "\\1\u200b", folder))  # may wrap after / _ . -
        self.values["Folder"].setToolTip(folder)
        self.values["Size"].setText(human_size(photo.size))
        self.values["Dimensions"].setText(f"{photo.width} × {photo.height}" if photo.width else "—")
        self.values["Date taken"].setText((photo.taken_at or "—").replace("T", " "))
        self.values["Camera"].setText(photo.camera or "—")
        self.values["Match"].setText(f"{score:.3f}" if score is not None else "—")

    def show_tags(self, path: str, tags: list, albums: list[str]) -> None:
        """The shown photo's tags (rejected ones included) and the albums it is in."""
        if path == self.path:
            self.tags.set_tags(tags)
            self.values["Albums"].setText(", ".join(albums) if albums else "—")

    def _set_visible_rows(self, visible: bool) -> None:
        for row in range(self.form.rowCount()):
            self.form.setRowVisible(row, visible)
