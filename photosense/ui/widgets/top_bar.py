"""The bar above the grid: the search bar, the "Similar to …" chip, the count, "Show all" and "Save as album"."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

from photosense.ui import style
from photosense.ui.videos import clock
from photosense.ui.widgets.search_bar import SearchBar


class TopBar(QWidget):
    """``search`` (a SearchBar), ``chip`` (clears a search by image), ``count_label``, ``show_all_button``
    (checkable) and ``save_album_button``; ``show_query(query)`` fits them to what the grid shows."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("topBar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
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
        self.show_all_button.toggled.connect(
            lambda on: self.show_all_button.setText("Only relevant" if on else "Show all"))
        self.show_all_button.hide()
        self.save_album_button = QToolButton(self)
        self.save_album_button.setObjectName("saveAlbum")
        self.save_album_button.setIcon(style.icon("album"))
        self.save_album_button.setText("Save as album")
        self.save_album_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.save_album_button.setToolTip("Save this search as a smart album: it fills with the photos that\n"
                                          "match, and takes in new ones as they are indexed")
        self.save_album_button.setEnabled(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(16, 10, 16, 10)
        layout.setSpacing(10)
        layout.addWidget(self.search, 1)
        layout.addWidget(self.chip)
        layout.addWidget(self.count_label)
        layout.addWidget(self.show_all_button)
        layout.addWidget(self.save_album_button)

    def show_query(self, query) -> None:
        """*query* (``bridge.Query``) is what the grid is asked for now; the search bar empties for any
        other kind than a text search."""
        text = query.kind == "text"
        self.save_album_button.setEnabled(text)
        self.show_all_button.setVisible(text)
        self.chip.setVisible(query.kind in ("similar", "stack"))
        self.chip.setToolTip("Back to what was shown before" if query.kind == "stack" else "Clear this search")
        if query.kind == "stack":
            self.chip.setText(f"Stack of {Path(query.value).name}")
        elif query.kind == "similar":
            moment = f" at {clock(query.at)}" if getattr(query, "at", None) is not None else ""
            self.chip.setText(f"Similar to {Path(query.value).name}{moment}")
        if not text:
            self.search.forget()
