"""The left sidebar: All photos, the library folders, and the Albums and Tags sections."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHBoxLayout, QToolButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from photosense.ui import style

KindRole = Qt.ItemDataRole.UserRole + 1
ValueRole = Qt.ItemDataRole.UserRole + 2


class Sidebar(QWidget):
    """Emits ``selected(kind, value)``: ("all", ""), ("folder", path), ("album", id) or ("tag", name)."""

    selected = Signal(str, object)
    addFolderRequested = Signal()
    removeFolderRequested = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.tree = QTreeWidget(self)
        self.tree.setObjectName("sidebar")
        self.tree.setHeaderHidden(True)
        self.tree.setRootIsDecorated(False)
        self.tree.setIndentation(0)  # sections are told apart by their headers, not by indentation
        self.tree.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        self.library_header = self._section("LIBRARY")
        self.all_photos = self._entry(self.library_header, "All photos", "photos", "all", "")
        self.folders_header = self._section("FOLDERS")
        self.albums_header = self._section("ALBUMS")
        self.tags_header = self._section("TAGS")
        self.set_folders([])
        self.set_albums([])
        self.set_tags([])
        self.tree.itemSelectionChanged.connect(self._on_selection)

        self.add_button = self._button("add", "Add a photo folder…")
        self.add_button.setText("Add folder")
        self.add_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.remove_button = self._button("remove", "Remove the selected folder from the library")
        self.add_button.clicked.connect(self.addFolderRequested)
        self.remove_button.clicked.connect(self._remove_selected)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(8, 4, 8, 8)
        buttons.setSpacing(4)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.tree, 1)
        layout.addLayout(buttons)
        self.setObjectName("sidebarPanel")
        self.setMinimumWidth(180)
        self._update_buttons()

    # -- API ------------------------------------------------------------------------------------

    def set_folders(self, folders: Sequence[str]) -> None:
        self._fill(self.folders_header, [(Path(p).name or p, "folder", "folder", p, p) for p in folders],
                   "No folders yet")

    def set_albums(self, albums: Sequence[tuple[Any, str] | tuple[Any, str, int]]) -> None:
        """Albums as (id, name[, count]) rows; an empty list shows a hint."""
        self._fill(self.albums_header, [(self._label(a), "album", "album", a[0], a[1]) for a in albums],
                   "No albums yet")

    def set_tags(self, tags: Sequence[tuple[str, int] | str]) -> None:
        """Tags as names or (name, count) rows; an empty list shows a hint."""
        rows = [(t, 0) if isinstance(t, str) else t for t in tags]
        self._fill(self.tags_header, [(f"{n}  ({c})" if c else n, "tag", "tag", n, n) for n, c in rows],
                   "No tags yet")

    def select_all_photos(self) -> None:
        self.tree.setCurrentItem(self.all_photos)

    def select_folder(self, path: str) -> None:
        for i in range(self.folders_header.childCount()):
            item = self.folders_header.child(i)
            if item.data(0, ValueRole) == path:
                self.tree.setCurrentItem(item)

    def clear_selection(self) -> None:
        self.tree.blockSignals(True)
        self.tree.clearSelection()
        self.tree.blockSignals(False)
        self._update_buttons()

    def folder_paths(self) -> list[str]:
        return [self.folders_header.child(i).data(0, ValueRole) for i in range(self.folders_header.childCount())
                if self.folders_header.child(i).data(0, KindRole) == "folder"]

    # -- internals ------------------------------------------------------------------------------

    @staticmethod
    def _label(album: Sequence) -> str:
        return f"{album[1]}  ({album[2]})" if len(album) > 2 else str(album[1])

    def _entry(self, parent: QTreeWidgetItem, text: str, icon: str, kind: str, value: Any,
               tip: str = "") -> QTreeWidgetItem:
        item = QTreeWidgetItem(parent, [text])
        item.setIcon(0, style.icon(icon))
        item.setData(0, KindRole, kind)
        item.setData(0, ValueRole, value)
        if tip:
            item.setToolTip(0, tip)
        return item

    def _section(self, title: str) -> QTreeWidgetItem:
        item = QTreeWidgetItem(self.tree.invisibleRootItem(), [title])
        item.setFlags(Qt.ItemFlag.ItemIsEnabled)
        font = QFont(item.font(0))
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.8))
        font.setBold(True)
        font.setLetterSpacing(QFont.SpacingType.PercentageSpacing, 106)
        item.setFont(0, font)
        item.setForeground(0, Qt.GlobalColor.gray)
        item.setSizeHint(0, QSize(0, 32))
        item.setExpanded(True)
        return item

    def _fill(self, header: QTreeWidgetItem, rows: list[tuple], empty_hint: str) -> None:
        current = self.tree.currentItem()
        keep = (current.data(0, KindRole), current.data(0, ValueRole)) if current is not None else None
        self.tree.blockSignals(True)
        header.takeChildren()
        for text, icon, kind, value, tip in rows:
            item = self._entry(header, text, icon, kind, value, str(tip))
            if keep == (kind, value):
                self.tree.setCurrentItem(item)
        if not rows:
            hint = QTreeWidgetItem(header, [empty_hint])
            hint.setFlags(Qt.ItemFlag.NoItemFlags)
            hint.setForeground(0, Qt.GlobalColor.gray)
        header.setExpanded(True)
        self.tree.blockSignals(False)
        self._update_buttons()

    def _button(self, icon: str, tip: str) -> QToolButton:
        button = QToolButton(self)
        button.setIcon(style.icon(icon))
        button.setToolTip(tip)
        button.setAutoRaise(True)
        return button

    def _selected_folder(self) -> str | None:
        item = self.tree.currentItem()
        if item is not None and item.isSelected() and item.data(0, KindRole) == "folder":
            return item.data(0, ValueRole)
        return None

    def _on_selection(self) -> None:
        self._update_buttons()
        item = self.tree.currentItem()
        if item is not None and item.isSelected() and item.data(0, KindRole):
            self.selected.emit(item.data(0, KindRole), item.data(0, ValueRole))

    def _update_buttons(self) -> None:
        if hasattr(self, "remove_button"):
            self.remove_button.setEnabled(self._selected_folder() is not None)

    def _remove_selected(self) -> None:
        folder = self._selected_folder()
        if folder is not None:
            self.removeFolderRequested.emit(folder)

    def _context_menu(self, pos) -> None:
        from PySide6.QtWidgets import QMenu

        item = self.tree.itemAt(pos)
        menu = QMenu(self)
        menu.addAction(style.icon("add"), "Add a photo folder…", self.addFolderRequested.emit)
        if item is not None and item.data(0, KindRole) == "folder":
            path = item.data(0, ValueRole)
            menu.addAction(style.icon("remove"), "Remove from library",
                           lambda: self.removeFolderRequested.emit(path))
        menu.exec(self.tree.viewport().mapToGlobal(pos))
