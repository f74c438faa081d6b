"""The search model preference: bundled and known models with size and speed here, and the switch to one."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QHBoxLayout, QHeaderView, QLabel,
                               QProgressBar, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout)

STATES = {"serving": "In use", "switching": "Switching…", "kept": "Kept (instant switch back)", "": ""}


def _size(mb: float) -> str:
    return f"{mb / 1000:.1f} GB" if mb >= 1000 else f"{mb:.0f} MB" if mb >= 10 else f"{mb:.1f} MB"


def _mb(n: int) -> str:
    return f"{n / 1e6:,.0f} MB"


class ModelsDialog(QDialog):
    """Lists ``bridge.rows``; "Use this model" starts ``bridge.switch``; progress and Cancel while it works."""

    COLUMNS = ("Model", "Size", "Speed here", "")

    def __init__(self, bridge, parent=None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.setWindowTitle("Search model")
        intro = QLabel("The model that understands your photos and your words. Switching re-reads every photo "
                       "with the new model in the background; search keeps working with the current one "
                       "until the new one is ready. The old model is kept, so switching back is instant.", self)
        intro.setWordWrap(True)
        self.table = QTableWidget(0, len(self.COLUMNS), self)
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in (1, 2, 3):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.itemDoubleClicked.connect(lambda _item: self._use())
        self.progress_label = QLabel(self)
        self.progress = QProgressBar(self)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.clicked.connect(bridge.cancel)
        row = QHBoxLayout()
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        self.use_button = QPushButton("Use this model", self)
        self.use_button.clicked.connect(self._use)
        self.prune_button = QPushButton("Remove unused", self)
        self.prune_button.setToolTip("Delete the embeddings of models not in use (switching back re-reads every photo)")
        self.prune_button.clicked.connect(bridge.prune)
        buttons = QDialogButtonBox(self)
        buttons.addButton(self.use_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.prune_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.progress_label)
        layout.addLayout(row)
        layout.addWidget(buttons)
        self.resize(640, 420)
        self._speeds: dict[str, float] = {}
        bridge.rowsChanged.connect(self.show_rows)
        bridge.speedMeasured.connect(self._on_speed)
        bridge.downloadProgress.connect(self._on_download)
        bridge.switchProgress.connect(self._on_switch)
        bridge.stateChanged.connect(self._update_buttons)
        if bridge.rows is not None:
            self.show_rows(bridge.rows)
        self._update_buttons()

    def show_rows(self, rows: list) -> None:
        selected = self.selected()
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            where = "bundled" if row.bundled else ("downloaded" if row.downloaded else "download")
            speed = self._speeds.get(row.name, row.speed)
            cells = (row.name, f"{_size(row.size_mb)} ({where})" if row.size_mb else where,
                     "measuring…" if speed is None else f"{speed:,.0f} photos/s", STATES.get(row.state, row.state))
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, row.name)
                if c == 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
            if row.name == selected or (selected is None and row.state == "serving"):
                self.table.selectRow(r)
        self._update_buttons()
        self.bridge.measure_speeds()

    def selected(self) -> str | None:
        items = self.table.selectedItems()
        return items[0].data(Qt.ItemDataRole.UserRole) if items else None

    def _row_of(self, name: str) -> int | None:
        for r in range(self.table.rowCount()):
            if self.table.item(r, 0).data(Qt.ItemDataRole.UserRole) == name:
                return r
        return None

    def _on_speed(self, name: str, speed: float) -> None:
        self._speeds[name] = speed
        r = self._row_of(name)
        if r is not None:
            self.table.item(r, 2).setText(f"{speed:,.0f} photos/s")

    def _on_download(self, name: str, done: int, total: int) -> None:
        self.progress_label.setText(f"Downloading {name}: {_mb(done)}" + (f" of {_mb(total)}" if total else ""))
        self.progress.setRange(0, max(total, 0) // 1024 or 0)
        self.progress.setValue(done // 1024)

    def _on_switch(self, name: str, done: int, total: int) -> None:
        self.progress_label.setText(f"Switching to {name}: {done:,} of {total:,} photos read; search keeps "
                                    "using the current model meanwhile")
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def _use(self) -> None:
        name = self.selected()
        if name is not None and not self.bridge.working:
            self.bridge.switch(name)

    def _update_buttons(self) -> None:
        working = bool(self.bridge.working)
        name = self.selected()
        rows = {r.name: r for r in (self.bridge.rows or [])}
        serving = name is not None and name in rows and rows[name].state == "serving"
        self.use_button.setEnabled(name is not None and not working and not serving)
        self.prune_button.setEnabled(not working and any(r.state == "kept" for r in rows.values()))
        self.progress.setVisible(working)
        self.cancel_button.setVisible(working)
        self.progress_label.setVisible(working or bool(self.bridge.switching))
        if not working and self.bridge.switching:
            self.progress_label.setText(f"A switch to {self.bridge.switching} is paused; choose it again to go on.")
