"""The friendly empty states: no folders yet ("Add a photo folder"), and no matches."""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from photosense.ui import style


class EmptyState(QWidget):
    """A centred icon, title, text and an optional button (``actionClicked``)."""

    actionClicked = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("emptyState")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet("QWidget#emptyState { background: #ffffff; }")
        self.icon = QLabel(self)
        self.icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title = QLabel(self)
        self.title.setObjectName("emptyTitle")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text = QLabel(self)
        self.text.setObjectName("emptyText")
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text.setWordWrap(False)  # lines are broken by hand: a wrapped, centred label clips its height
        self.button = QPushButton(self)
        self.button.setObjectName("primary")
        self.button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.button.clicked.connect(self.actionClicked)
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        layout.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(8)
        layout.addWidget(self.title, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.text, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(12)
        layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(3)

    def show_message(self, icon: str, title: str, text: str, action: str | None = None) -> None:
        self.icon.setPixmap(style.icon(icon).pixmap(QSize(64, 64)))
        self.title.setText(title)
        self.text.setText(text)
        self.button.setText(action or "")
        self.button.setVisible(bool(action))

    def show_no_folders(self) -> None:
        self.show_message("folder", "Add a photo folder",
                          "PhotoSense indexes the photos in your folders on this computer,\n"
                          "so you can find them by describing them. Nothing leaves your machine.",
                          "Add a photo folder…")

    def show_no_matches(self, query: str) -> None:
        shown = query if len(query) <= 60 else query[:57] + "…"
        self.show_message("search", "No matching photos", f"Nothing in the library looks like “{shown}”.")

    def show_no_photos(self) -> None:
        self.show_message("image", "No photos here yet",
                          "Photos appear here as soon as they are found.")
