"""Albums in the window: the create/edit dialog, rename and delete, "Save search as album" and "Add to album"."""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (QButtonGroup, QDialog, QDialogButtonBox, QFormLayout, QInputDialog, QLabel, QLineEdit,
                               QListWidget, QListWidgetItem, QMenu, QMessageBox, QPushButton, QRadioButton, QVBoxLayout, QWidget)

from photosense.core.query import HELP
from photosense.ui.organize_bridge import OrganizeBridge
from photosense.ui.widgets.search_bar import help_html

_DATE = re.compile(r"^\d{4}(-\d{1,2}(-\d{1,2})?)?$")


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


class AlbumDialog(QDialog):
    """Name, kind, description (a search query) and filters of a new or existing album."""

    def __init__(self, folders: Sequence[str], album=None, description: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Edit album" if album is not None else "New album")
        self.setMinimumWidth(480)
        self.album = album
        self.name = QLineEdit(album.name if album is not None else "", self)
        self.name.setPlaceholderText("e.g. Beach holidays")
        self.smart = QRadioButton("Smart: fills itself with the photos that match a description", self)
        self.manual = QRadioButton("Manual: only the photos you add", self)
        kinds = QButtonGroup(self)
        kinds.addButton(self.smart)
        kinds.addButton(self.manual)
        (self.manual if album is not None and album.kind == "manual" else self.smart).setChecked(True)
        self.description = QLineEdit(album.description or "" if album is not None else description, self)
        self.description.setPlaceholderText("e.g. sunsets at the beach -people")
        self.description.setToolTip(help_html(HELP))
        self.folders = QListWidget(self)
        self.folders.setObjectName("folderChoice")
        self.folders.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.folders.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.folders.setFixedHeight(26 * min(4, max(1, len(folders))) + 10)
        chosen = set(album.filters.folders) if album is not None else set()
        for folder in folders:
            item = QListWidgetItem(Path(folder).name or folder, self.folders)
            item.setData(Qt.ItemDataRole.UserRole, folder)
            item.setToolTip(folder)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if folder in chosen else Qt.CheckState.Unchecked)
        filters = album.filters if album is not None else None
        self.after = QLineEdit(filters.after or "" if filters else "", self)
        self.after.setPlaceholderText("YYYY-MM-DD (optional)")
        self.before = QLineEdit(filters.before or "" if filters else "", self)
        self.before.setPlaceholderText("YYYY-MM-DD (optional)")
        self.tags = QLineEdit(", ".join(filters.tags) if filters else "", self)
        self.tags.setPlaceholderText("e.g. subjects/dog, beach (all must apply)")
        self.cameras = QLineEdit(", ".join(filters.cameras) if filters else "", self)
        self.cameras.setPlaceholderText("e.g. pixel")
        self.problem = QLabel(self)
        self.problem.setObjectName("problem")
        self.problem.setWordWrap(True)
        self.problem.hide()

        form = QFormLayout()
        form.setVerticalSpacing(8)
        form.setHorizontalSpacing(12)
        form.addRow("Name", self.name)
        if album is None:
            form.addRow("", self.smart)
            form.addRow("", self.manual)
        form.addRow("Description", self.description)
        form.addRow("Only folders", self.folders)
        form.addRow("Taken after", self.after)
        form.addRow("Taken before", self.before)
        form.addRow("With tags", self.tags)
        form.addRow("Camera", self.cameras)
        self.smart_rows = [self.description, self.folders, self.after, self.before, self.tags, self.cameras]
        self.buttons = QDialogButtonBox(self)
        self.ok = QPushButton("Save" if album is not None else "Create", self)
        self.ok.setObjectName("primary")
        self.buttons.addButton(self.ok, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(QPushButton("Cancel", self), QDialogButtonBox.ButtonRole.RejectRole)
        self.buttons.accepted.connect(self._check)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 18, 20, 16)
        layout.setSpacing(12)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self.manual.toggled.connect(self._update)
        self.name.textChanged.connect(self._update)
        self._update()

    def _update(self) -> None:
        for widget in self.smart_rows:
            widget.setEnabled(not self.manual.isChecked())
        self.ok.setEnabled(bool(self.name.text().strip()))

    def values(self) -> dict:
        """{name, manual, description, filters} as the library's album API takes them."""
        folders = [self.folders.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.folders.count())
                   if self.folders.item(i).checkState() == Qt.CheckState.Checked]
        filters = {"folders": folders, "after": self.after.text().strip() or None,
                   "before": self.before.text().strip() or None, "tags": _split(self.tags.text()),
                   "cameras": _split(self.cameras.text())}
        return {"name": " ".join(self.name.text().split()), "manual": self.manual.isChecked(),
                "description": self.description.text().strip() or None, "filters": filters}

    def _check(self) -> None:
        values = self.values()
        problem = ""
        if not values["manual"] and not values["description"] and not any(values["filters"].values()):
            problem = "Describe what the album collects, e.g. “sunsets at the beach”, or choose a filter."
        for key in ("after", "before"):
            if values["filters"][key] and not _DATE.match(values["filters"][key]):
                problem = f"“{values['filters'][key]}” is not a date: write YYYY, YYYY-MM or YYYY-MM-DD."
        self.problem.setText(problem)
        self.problem.setVisible(bool(problem))
        if not problem:
            self.accept()


class AlbumActions(QObject):
    """Dialogs and menus for albums; the work goes through the OrganizeBridge. ``created(album)`` after a create."""

    created = Signal(object)

    def __init__(self, organize: OrganizeBridge, window: QWidget) -> None:
        super().__init__(window)
        self.organize = organize
        self.window = window
        self.dialog: QDialog | None = None  # the dialog open now (tests drive it)

    def album(self, album_id) -> object | None:
        return next((a for a in self.organize.album_list if a.id == album_id), None)

    def _show(self, dialog: QDialog, on_accept: Callable[[], None]) -> None:
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(on_accept)
        self.dialog = dialog
        dialog.open()

    # -- sidebar --------------------------------------------------------------------------------

    def new_album(self, folders: Sequence[str], description: str = "", pin: Sequence[str] = ()) -> None:
        dialog = AlbumDialog(folders, None, description, self.window)
        if pin:
            dialog.manual.setChecked(True)

        def create() -> None:
            v = dialog.values()
            self.organize.create_album(v["name"], None if v["manual"] else v["description"],
                                       None if v["manual"] else v["filters"], manual=v["manual"], pin=pin,
                                       on_done=self.created.emit)

        self._show(dialog, create)

    def act(self, action: str, album_id, folders: Sequence[str] = ()) -> None:
        album = self.album(album_id)
        if album is None:
            return
        if action == "rename":
            dialog = QInputDialog(self.window)
            dialog.setWindowTitle("Rename album")
            dialog.setLabelText("New name:")
            dialog.setTextValue(album.name)
            self._show(dialog, lambda: self._rename(album, dialog.textValue()))
        elif action == "edit":
            dialog = AlbumDialog(folders, album, parent=self.window)

            def save() -> None:
                v = dialog.values()
                changes = {"new_name": v["name"] if v["name"] != album.name else None}
                if album.kind == "smart":
                    changes.update(description=v["description"] or "", filters=v["filters"])
                self.organize.edit_album(album.name, **changes)

            self._show(dialog, save)
        elif action == "delete":
            box = QMessageBox(QMessageBox.Icon.Question, "Delete album",
                              f"Delete the album “{album.name}”?\n\nIts photos stay in the library.",
                              QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self.window)
            box.button(QMessageBox.StandardButton.Yes).setText("Delete")
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            self.dialog = box
            box.open()
            box.buttonClicked.connect(lambda button: self.organize.delete_album(album.name)
                                      if box.standardButton(button) == QMessageBox.StandardButton.Yes else None)

    def _rename(self, album, name: str) -> None:
        name = " ".join(name.split())
        if name and name != album.name:
            self.organize.edit_album(album.name, new_name=name)

    # -- search bar and photos ------------------------------------------------------------------

    def save_search(self, query: str) -> None:
        dialog = QInputDialog(self.window)
        dialog.setWindowTitle("Save search as album")
        dialog.setLabelText(f"A smart album of the photos matching “{query}”, now and later.\n\nAlbum name:")
        dialog.setTextValue(query[:1].upper() + query[1:])

        def save() -> None:
            name = " ".join(dialog.textValue().split())
            if name:
                self.organize.save_search(name, query, on_done=self.created.emit)

        self._show(dialog, save)

    def add_to_album_menu(self, menu: QMenu, paths: list[str], folders: Sequence[str]) -> QMenu:
        """The "Add to album" submenu: every album, then "New album…" (a manual one holding *paths*)."""
        sub = menu.addMenu("Add to album")
        for album in self.organize.album_list:
            sub.addAction(album.name, lambda name=album.name: self.organize.add_to_album(name, paths))
        if self.organize.album_list:
            sub.addSeparator()
        sub.addAction("New album…", lambda: self.new_album(folders, pin=paths))
        return sub
