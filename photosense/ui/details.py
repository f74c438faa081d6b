"""The right-hand details panel: name, folder, size, dimensions, date taken, camera (and later tags)."""
from __future__ import annotations

import os
import re
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

FIELDS = ("Folder", "Size", "Dimensions", "Date taken", "Camera", "Match", "Tags")


def human_size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


class DetailsPanel(QWidget):
    """Shows one photo's catalog record (``show_photo``), a count for a multi-selection, or a hint."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("details")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setMinimumWidth(200)
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
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 16, 16, 16)
        layout.setSpacing(14)
        layout.addWidget(self.title)
        layout.addLayout(self.form)
        layout.addStretch(1)
        self.clear()

    def clear(self, text: str = "No photo selected") -> None:
        self.title.setText(text)
        for value in self.values.values():
            value.setText("—")
        self._set_visible_rows(False)

    def show_photo(self, photo, score: float | None = None, tags: list[str] | None = None) -> None:
        """*photo*: a catalog ``Photo`` (or None when it left the library)."""
        if photo is None:
            self.clear("This photo is no longer in the library")
            return
        self._set_visible_rows(True)
        self.title.setText(Path(photo.path).name)
        folder = os.path.dirname(photo.path)
        self.values["Folder"].setText(re.sub(r"([/_.\-])", "\\1\u200b", folder))  # may wrap after / _ . -
        self.values["Folder"].setToolTip(folder)
        self.values["Size"].setText(human_size(photo.size))
        self.values["Dimensions"].setText(f"{photo.width} × {photo.height}" if photo.width else "—")
        self.values["Date taken"].setText((photo.taken_at or "—").replace("T", " "))
        self.values["Camera"].setText(photo.camera or "—")
        self.values["Match"].setText(f"{score:.3f}" if score is not None else "—")
        self.values["Tags"].setText(", ".join(tags) if tags else "—")

    def _set_visible_rows(self, visible: bool) -> None:
        for row in range(self.form.rowCount()):
            self.form.setRowVisible(row, visible)
