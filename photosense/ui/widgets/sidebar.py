"""The left sidebar: All photos and Duplicates, the library folders, albums and tags per prompt set (with counts)."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import (QHBoxLayout, QMenu, QStyle, QStyledItemDelegate, QStyleOptionViewItem, QToolButton,
                               QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from photosense.ui import style

KindRole = Qt.ItemDataRole.UserRole + 1
ValueRole = Qt.ItemDataRole.UserRole + 2
CountRole = Qt.ItemDataRole.UserRole + 3  # shown right-aligned
IndentRole = Qt.ItemDataRole.UserRole + 4  # px: labels sit under their prompt set


class _RowDelegate(QStyledItemDelegate):
    """Draws a row as the style does, indented by IndentRole, with its count right-aligned in grey."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.rect.adjust(int(index.data(IndentRole) or 0), 0, 0, 0)
        count = index.data(CountRole)
        count_text = f"{count:,}" if isinstance(count, int) else str(count or "")
        room = opt.fontMetrics.horizontalAdvance(count_text) + 12 if count_text else 0
        text_width = opt.rect.width() - opt.decorationSize.width() - 36 - room
        opt.text = opt.fontMetrics.elidedText(opt.text, Qt.TextElideMode.ElideRight, max(10, text_width))
        widget = opt.widget
        widget.style().drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        if count_text:
            painter.save()
            selected = bool(opt.state & QStyle.StateFlag.State_Selected)
            painter.setPen(QColor("#374151" if selected else style.TEXT_DIM))
            painter.setFont(opt.font)
            painter.drawText(opt.rect.adjusted(0, 0, -18, 0), Qt.AlignmentFlag.AlignRight
                             | Qt.AlignmentFlag.AlignVCenter, count_text)
            painter.restore()


class Sidebar(QWidget):
    """Emits ``selected(kind, value)``: ("all", ""), ("duplicates", ""), ("folder", path), ("album", id) or
    ("tag", "set/label").

    Right-click and the "New …" rows ask for actions: ``albumAction("rename" | "edit" | "delete", id)``,
    ``setAction("edit" | "remove", set name)`` and ``actionRequested("new-album" | "new-set" |
    "default-sets" | "import-set")``.
    """

    selected = Signal(str, object)
    addFolderRequested = Signal()
    removeFolderRequested = Signal(str)
    albumAction = Signal(str, object)
    setAction = Signal(str, str)
    actionRequested = Signal(str)

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
        self.tree.setItemDelegate(_RowDelegate(self.tree))
        self.tree.itemClicked.connect(self._on_click)
        self.context_menu: QMenu | None = None
        self.library_header = self._section("LIBRARY")
        self.all_photos = self._entry(self.library_header, "All photos", "photos", "all", "")
        self.duplicates = self._entry(self.library_header, "Duplicates", "copy", "duplicates", "",
                                      "Copies, re-saved versions and bursts, side by side: keep the best")
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
        self._fill(self.albums_header, [(str(a[1]), "album", "album", a[0], a[1], a[2] if len(a) > 2 else None, 0)
                                        for a in albums],
                   "No albums yet", [("New album…", "new-album", "Make an album from a description, or an empty one")])

    def set_tags(self, sets: Sequence[tuple[str, Sequence[tuple[str, int]]]]) -> None:
        """Tags as (prompt set, [(label, count)]) rows: each set, then its labels; none shows a hint."""
        rows: list[tuple] = []
        for name, labels in sets:
            if name == "manual":  # labels users added by hand, in no prompt set
                rows.append(("Your tags", "", "set", name, "Tags you added by hand", None, 0))
            else:
                rows.append((name, "", "set", name, f"Prompt set “{name}”: right-click to edit or remove", None, 0))
            rows += [(label, "tag", "tag", f"{name}/{label}", f"Photos tagged {label} ({name})", count, 14)
                     for label, count in labels]
        actions = [("New prompt set…", "new-set", "Describe labels with prompts; photos are tagged automatically")]
        if not sets:
            actions.append(("Use the default sets", "default-sets",
                            "Tag photos with the prompt sets that ship with PhotoSense:\n"
                            "scenes, subjects, documents and events"))
        self._fill(self.tags_header, rows, "No tags yet", actions)

    def set_duplicates(self, count: int | None, finding: bool = False) -> None:
        """The number of duplicate groups and bursts ("…" while they are first looked for)."""
        self.duplicates.setData(0, CountRole, count if count is not None else "…" if finding else None)
        self.duplicates.setToolTip(0, "Looking for duplicates…" if finding and count is None else
                                   f"{count:,} groups of copies and bursts: keep the best, trash the rest"
                                   if count else "Copies, re-saved versions and bursts, side by side")

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

    def rows(self, kind: str) -> list[QTreeWidgetItem]:
        """The items of one kind ("album", "set", "tag", "action", …), top to bottom."""
        out = []
        for section in (self.library_header, self.folders_header, self.albums_header, self.tags_header):
            out += [section.child(i) for i in range(section.childCount()) if section.child(i).data(0, KindRole) == kind]
        return out

    def select(self, kind: str, value: Any) -> None:
        """Select the row of (kind, value) if there is one."""
        for item in self.rows(kind):
            if item.data(0, ValueRole) == value:
                self.tree.setCurrentItem(item)

    # -- internals ------------------------------------------------------------------------------

    def _entry(self, parent: QTreeWidgetItem, text: str, icon: str, kind: str, value: Any,
               tip: str = "") -> QTreeWidgetItem:
        item = QTreeWidgetItem(parent, [text])
        if icon:
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

    def _fill(self, header: QTreeWidgetItem, rows: list[tuple], empty_hint: str,
              actions: Sequence[tuple[str, str, str]] = ()) -> None:
        current = self.tree.currentItem()
        keep = (current.data(0, KindRole), current.data(0, ValueRole)) if current is not None else None
        self.tree.blockSignals(True)
        header.takeChildren()
        for text, icon, kind, value, tip, *extra in rows:
            item = self._entry(header, text, icon, kind, value, str(tip))
            if extra:
                item.setData(0, CountRole, extra[0])
                item.setData(0, IndentRole, extra[1])
            if kind == "set":
                item.setFlags(Qt.ItemFlag.ItemIsEnabled)
                font = QFont(item.font(0))
                font.setWeight(QFont.Weight.DemiBold)
                item.setFont(0, font)
                item.setForeground(0, QColor("#4b5563"))
            if keep == (kind, value):
                self.tree.setCurrentItem(item)
        if not rows:
            hint = QTreeWidgetItem(header, [empty_hint])
            hint.setFlags(Qt.ItemFlag.NoItemFlags)
            hint.setForeground(0, Qt.GlobalColor.gray)
        for text, value, tip in actions:
            item = self._entry(header, text, "add", "action", value, tip)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled)  # clickable, never selected
            item.setForeground(0, style.ACCENT)
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

    def _on_click(self, item: QTreeWidgetItem, _column: int) -> None:
        if item.data(0, KindRole) == "action":
            self.actionRequested.emit(item.data(0, ValueRole))

    def _context_menu(self, pos) -> None:
        item = self.tree.itemAt(pos)
        kind = item.data(0, KindRole) if item is not None else None
        value = item.data(0, ValueRole) if item is not None else None
        section = item if item is not None and item.parent() is None else item.parent() if item is not None else None
        self.context_menu = menu = QMenu(self)
        if kind == "album":
            menu.addAction("Rename…", lambda: self.albumAction.emit("rename", value))
            menu.addAction("Edit description and filters…", lambda: self.albumAction.emit("edit", value))
            menu.addSeparator()
            menu.addAction(style.icon("remove"), "Delete album", lambda: self.albumAction.emit("delete", value))
        elif kind in ("set", "tag"):
            name = value if kind == "set" else value.rpartition("/")[0]
            if name != "manual":  # the tags users add by hand: nothing to edit
                menu.addAction(style.icon("tag"), f"Edit prompt set “{name}”…",
                               lambda: self.setAction.emit("edit", name))
            menu.addAction(style.icon("remove"), f"Remove prompt set “{name}”",
                           lambda: self.setAction.emit("remove", name))
        elif section is self.albums_header:
            menu.addAction(style.icon("add"), "New album…", lambda: self.actionRequested.emit("new-album"))
        elif section is self.tags_header:
            menu.addAction(style.icon("add"), "New prompt set…", lambda: self.actionRequested.emit("new-set"))
            menu.addAction("Open a prompt set file…", lambda: self.actionRequested.emit("import-set"))
            menu.addAction("Apply the default prompt sets", lambda: self.actionRequested.emit("default-sets"))
        else:
            menu.addAction(style.icon("add"), "Add a photo folder…", self.addFolderRequested.emit)
            if kind == "folder":
                menu.addAction(style.icon("remove"), "Remove from library",
                               lambda: self.removeFolderRequested.emit(value))
        menu.popup(self.tree.viewport().mapToGlobal(pos))
