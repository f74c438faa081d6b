"""The prompt-set editor: labels with prompts, negatives and thresholds, a live preview of the top matches, save = tag."""
from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (QComboBox, QDialog, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                               QListView, QListWidget, QPlainTextEdit, QProgressBar, QPushButton, QSplitter, QStyle,
                               QStyledItemDelegate, QStyleOptionViewItem, QVBoxLayout, QWidget)

from photosense.core import promptsets
from photosense.core.promptsets import PromptSet
from photosense.ui import style
from photosense.ui.organize_bridge import OrganizeBridge
from photosense.ui.models.photo_model import PhotoGridModel, ScoreRole
from photosense.ui.thumbnailer import ThumbnailLoader

PREVIEW_DEBOUNCE_MS = 400
THUMB = 92


def to_toml(name: str, labels: list[dict], templates: list[str], background: tuple[str, ...] = (),
            description: str = "") -> str:
    """A prompt set as TOML text (the format of docs/tagging.md); JSON strings are valid TOML strings."""
    def strings(values) -> str:
        return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in values) + "]"

    lines = [f"name = {json.dumps(name, ensure_ascii=False)}"]
    if description:
        lines.append(f"description = {json.dumps(description, ensure_ascii=False)}")
    if templates:
        lines.append(f"templates = {strings(templates)}")
    if background:
        lines.append(f"background = {strings(background)}")
    for label in labels:
        lines += ["", f"[labels.{json.dumps(label['name'], ensure_ascii=False)}]"]
        if label["prompts"]:
            lines.append(f"prompts = {strings(label['prompts'])}")
        if label["negatives"]:
            lines.append(f"negatives = {strings(label['negatives'])}")
        if label["threshold"] is not None:
            lines.append(f"threshold = {label['threshold']:g}")
    return "\n".join(lines) + "\n"


def _lines(edit: QPlainTextEdit) -> list[str]:
    return [" ".join(line.split()) for line in edit.toPlainText().splitlines() if line.strip()]


class _ThumbDelegate(QStyledItemDelegate):
    """A small thumbnail with its score under it."""

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        return QSize(THUMB + 12, THUMB + 28)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        box = QRect(option.rect.left() + 6, option.rect.top() + 4, THUMB, THUMB)
        if option.state & QStyle.StateFlag.State_MouseOver:
            painter.fillRect(option.rect.adjusted(2, 0, -2, 0), QColor("#f3f4f6"))
        style.draw_fitted(painter, index.data(Qt.ItemDataRole.DecorationRole), box)
        score = index.data(ScoreRole)
        painter.setPen(QColor(style.TEXT_DIM))
        painter.drawText(QRect(box.left(), box.bottom() + 4, THUMB, 18), Qt.AlignmentFlag.AlignHCenter,
                         f"{score:.2f}" if score is not None else "")
        painter.restore()


class PromptSetEditor(QDialog):
    """Edit a prompt set; the selected label's top matches are previewed live (debounced, on a worker).

    "Save and tag photos" stores the set in the library and tags every photo (on a worker);
    ``previews`` holds the latest preview ({label: [Hit]}), ``problem`` what is wrong with the set.
    """

    def __init__(self, organize: OrganizeBridge, loader: ThumbnailLoader | None = None,
                 prompt_set: PromptSet | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.organize = organize
        self.setWindowTitle("Prompt set")
        self.resize(1000, 640)
        self.labels: list[dict] = []
        self.current = -1
        self.previews: dict[str, list] = {}
        self.weak: dict[str, list[str]] = {}  # label -> "'prompt': reason" of its weak prompts
        self.preview_source: str | None = None  # the TOML the preview answers
        self.saved: dict | None = None  # the library's answer once saved
        self._extra: tuple[tuple[str, ...], str] = ((), "")  # background and description kept from a loaded set
        self._in_flight = False  # a preview is running
        self._pending = False
        self._loading = False
        self._closed = False
        self._bundled: list[PromptSet] = []
        self._build(loader)
        self._timer = QTimer(self, singleShot=True, interval=PREVIEW_DEBOUNCE_MS)
        self._timer.timeout.connect(self._preview)
        if prompt_set is not None:
            self.load_set(prompt_set)
        else:
            self.add_label()
        self.organize.pools.run(self.organize.pools.io, promptsets.bundled, self._on_bundled, lambda _e: None)

    @property
    def previewing(self) -> bool:
        """A preview is running or waiting for the typing to pause."""
        return self._in_flight or self._pending or self._timer.isActive()

    # -- layout ---------------------------------------------------------------------------------

    def _build(self, loader: ThumbnailLoader | None) -> None:
        self.name = QLineEdit(self)
        self.name.setPlaceholderText("e.g. wardrobe")
        self.start_from = QComboBox(self)
        self.start_from.addItem("Start from a default set…")
        self.start_from.activated.connect(self._start_from)
        self.open_button = QPushButton("Open file…", self)
        self.open_button.clicked.connect(self.choose_file)
        top = QHBoxLayout()
        top.setSpacing(8)
        top.addWidget(QLabel("Name", self))
        top.addWidget(self.name, 1)
        top.addSpacing(12)
        top.addWidget(self.start_from)
        top.addWidget(self.open_button)

        self.label_list = QListWidget(self)
        self.label_list.setObjectName("labelList")
        self.label_list.currentRowChanged.connect(self._select)
        self.add_button = QPushButton(style.icon("add"), "Add label", self)
        self.add_button.clicked.connect(lambda: self.add_label())
        self.remove_button = QPushButton(style.icon("remove"), "Remove", self)
        self.remove_button.clicked.connect(self.remove_label)
        buttons = QHBoxLayout()
        buttons.setSpacing(6)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self._title("LABELS"))
        left_layout.addWidget(self.label_list, 1)
        left_layout.addLayout(buttons)

        self.label_name = QLineEdit(self)
        self.label_name.setPlaceholderText("e.g. sneaker")
        self.prompts = QPlainTextEdit(self)
        self.prompts.setPlaceholderText("One per line, e.g.\nsneaker\nrunning shoe\n(empty: the label's name)")
        self.negatives = QPlainTextEdit(self)
        self.negatives.setPlaceholderText("Optional, one per line: look-alikes\nthat are not it, e.g. sandal")
        self.negatives.setFixedHeight(64)
        self.threshold = QDoubleSpinBox(self)
        self.threshold.setRange(0.0, 0.95)
        self.threshold.setSingleStep(0.05)
        self.threshold.setDecimals(2)
        self.threshold.setSpecialValueText("Default (0.30)")
        self.threshold.setToolTip("How sure the label must be (a calibrated probability). Raise it for labels\n"
                                  "that are hard to see; lower it to tag more photos.")
        self.templates = QPlainTextEdit(self)
        self.templates.setPlaceholderText("Optional, for every label; {} is the prompt, e.g.\na photo of a {}.")
        self.templates.setFixedHeight(64)
        self.prompts.setFixedHeight(132)
        form = QFormLayout()
        form.setVerticalSpacing(8)
        form.setHorizontalSpacing(12)
        form.addRow("Label", self.label_name)
        form.addRow("Prompts", self.prompts)
        form.addRow("Negatives", self.negatives)
        form.addRow("Threshold", self.threshold)
        form.addRow("Templates", self.templates)
        middle = QWidget(self)
        middle_layout = QVBoxLayout(middle)
        middle_layout.setContentsMargins(0, 0, 0, 0)
        middle_layout.addWidget(self._title("SELECTED LABEL"))
        middle_layout.addLayout(form)
        middle_layout.addStretch(1)

        self.preview_title = self._title("PREVIEW")
        self.preview_status = QLabel("", self)
        self.preview_status.setProperty("class", "fieldName")
        self.preview_status.setWordWrap(True)
        self.matches = PhotoGridModel(loader, self)
        self.preview_view = QListView(self)
        self.preview_view.setObjectName("preview")
        self.preview_view.setViewMode(QListView.ViewMode.IconMode)
        self.preview_view.setResizeMode(QListView.ResizeMode.Adjust)
        self.preview_view.setMovement(QListView.Movement.Static)
        self.preview_view.setUniformItemSizes(True)
        self.preview_view.setGridSize(QSize(THUMB + 12, THUMB + 28))
        self.preview_view.setItemDelegate(_ThumbDelegate(self.preview_view))
        self.preview_view.setSelectionMode(QListView.SelectionMode.NoSelection)
        self.preview_view.setModel(self.matches)
        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.preview_title)
        right_layout.addWidget(self.preview_status)
        right_layout.addWidget(self.preview_view, 1)

        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.setObjectName("editorSplitter")
        splitter.setHandleWidth(12)
        splitter.setChildrenCollapsible(False)
        for widget in (left, middle, right):
            splitter.addWidget(widget)
        splitter.setSizes([200, 380, 420])
        splitter.setStretchFactor(2, 1)

        self.problem = QLabel(self)
        self.problem.setObjectName("problem")
        self.problem.setWordWrap(True)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 0)  # tagging reports no steps: a busy bar
        self.progress.setTextVisible(False)
        self.progress.setMaximumWidth(160)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.clicked.connect(self.reject)
        self.save_button = QPushButton("Save and tag photos", self)
        self.save_button.setObjectName("primary")
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self.save)
        bottom = QHBoxLayout()
        bottom.setSpacing(8)
        bottom.addWidget(self.problem, 1)
        bottom.addWidget(self.progress)
        bottom.addWidget(self.cancel_button)
        bottom.addWidget(self.save_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 18, 20, 16)
        layout.setSpacing(14)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        layout.addLayout(bottom)

        self.name.textEdited.connect(self._changed)
        self.label_name.textEdited.connect(self._label_edited)
        for edit in (self.prompts, self.negatives, self.templates):
            edit.textChanged.connect(self._label_edited)
        self.threshold.valueChanged.connect(self._label_edited)

    def _title(self, text: str) -> QLabel:
        label = QLabel(text, self)
        label.setObjectName("sectionTitle")
        return label

    # -- content --------------------------------------------------------------------------------

    def load_set(self, prompt_set: PromptSet) -> None:
        """Fill the editor from a parsed set."""
        self._loading = True
        self.name.setText(prompt_set.name)
        self.templates.setPlainText("\n".join(prompt_set.templates))
        self._extra = (prompt_set.background, prompt_set.description)
        self.labels = [{"name": lab.name, "prompts": [p for p in lab.prompts if p != lab.name or len(lab.prompts) > 1],
                        "negatives": list(lab.negatives), "threshold": lab.threshold} for lab in prompt_set.labels]
        self.label_list.clear()
        self.label_list.addItems([lab["name"] for lab in self.labels])
        self.current = -1
        self._loading = False
        self.label_list.setCurrentRow(0)
        self._changed()

    def open_file(self, path: str) -> None:
        """Read a TOML prompt set (on the io pool) into the editor."""
        self.problem.setText("")
        self.organize.pools.run(self.organize.pools.io, lambda: promptsets.load(path),
                                lambda ps: None if self._closed else self.load_set(ps),
                                lambda err: None if self._closed else self.problem.setText(str(err)))

    def choose_file(self) -> None:
        """Ask for a TOML prompt set to open."""
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getOpenFileName(self, "Open a prompt set", str(Path.home()), "Prompt sets (*.toml)")
        if path:
            self.open_file(path)

    def _on_bundled(self, sets: list[PromptSet]) -> None:
        if self._closed:
            return
        self._bundled = sets
        for prompt_set in sets:
            self.start_from.addItem(f"{prompt_set.name} ({len(prompt_set.labels)} labels)")

    def _start_from(self, row: int) -> None:
        if row > 0:
            self.load_set(self._bundled[row - 1])
        self.start_from.setCurrentIndex(0)

    def add_label(self, name: str = "", prompts: list[str] | None = None) -> None:
        name = name or self._free_name()
        self.labels.append({"name": name, "prompts": list(prompts or []), "negatives": [], "threshold": None})
        self.label_list.addItem(name)
        self.label_list.setCurrentRow(len(self.labels) - 1)
        self.label_name.setFocus()
        self.label_name.selectAll()
        self._changed()

    def _free_name(self) -> str:
        names = {lab["name"] for lab in self.labels}
        return next(f"label {n}" for n in range(1, len(names) + 2) if f"label {n}" not in names)

    def remove_label(self) -> None:
        row = self.label_list.currentRow()
        if row < 0:
            return
        self.labels.pop(row)
        self.current = -1
        self.label_list.takeItem(row)
        self._select(self.label_list.currentRow())
        self._changed()

    def _select(self, row: int) -> None:
        self.current = row
        self._loading = True
        label = self.labels[row] if 0 <= row < len(self.labels) else None
        self.label_name.setText(label["name"] if label else "")
        self.prompts.setPlainText("\n".join(label["prompts"]) if label else "")
        self.negatives.setPlainText("\n".join(label["negatives"]) if label else "")
        self.threshold.setValue(label["threshold"] or 0.0 if label else 0.0)
        for widget in (self.label_name, self.prompts, self.negatives, self.threshold):
            widget.setEnabled(label is not None)
        self._loading = False
        self._show_preview()

    def _label_edited(self) -> None:
        if self._loading:
            return
        if 0 <= self.current < len(self.labels):
            label = self.labels[self.current]
            label["name"] = " ".join(self.label_name.text().split())
            label["prompts"] = _lines(self.prompts)
            label["negatives"] = _lines(self.negatives)
            label["threshold"] = self.threshold.value() or None
            self.label_list.item(self.current).setText(label["name"] or "(no name)")
        self._changed()

    def source(self) -> str:
        """The set as TOML text."""
        return to_toml(self.name.text().strip(), self.labels, _lines(self.templates), *self._extra)

    def prompt_set(self) -> PromptSet | None:
        """The set as parsed, or None (``problem`` says why)."""
        if not self.name.text().strip():
            self._problem("Give the set a name, e.g. “wardrobe”.")
            return None
        if not self.labels:
            self._problem("Add at least one label.")
            return None
        names = [lab["name"] for lab in self.labels]
        if "" in names or len(set(names)) != len(names):
            self._problem("Every label needs a name of its own.")
            return None
        try:
            parsed = promptsets.parse(self.source(), "This set")
        except promptsets.PromptSetError as err:
            self._problem(str(err))
            return None
        self._problem("")
        return parsed

    def _problem(self, text: str) -> None:
        self.problem.setText(text)

    # -- preview --------------------------------------------------------------------------------

    def _changed(self) -> None:
        if not self._loading:
            self._timer.start()  # restarts: the preview waits for a pause in typing

    def _preview(self) -> None:
        if self.prompt_set() is None:
            return
        if self._in_flight:
            self._pending = True  # one preview at a time; the newest edit runs next
            return
        prompt_set = self.prompt_set()
        self._in_flight = True
        self.preview_status.setText("Finding the best matches…")
        source = prompt_set.source
        self.organize.preview(prompt_set, lambda result: self._preview_done(source, result), self._preview_failed)

    def done(self, result: int) -> None:
        self._closed = True  # answers still on their way are dropped
        self._timer.stop()
        super().done(result)

    def _preview_done(self, source: str, result: tuple[dict, list[dict]]) -> None:
        self._in_flight = False
        if self._closed:
            return
        (self.previews, weak), self.preview_source = result, source
        self.weak = {}
        for d in weak:
            self.weak.setdefault(d["label"], []).append(f"Weak prompt “{d['prompt']}”: {d['reason']}.")
        self._show_preview()
        if self._pending:
            self._pending = False
            self._preview()

    def _preview_failed(self, err: BaseException) -> None:
        from photosense.ui.bridge import user_message

        self._in_flight = False
        self._pending = False
        if not self._closed:
            self.preview_status.setText(user_message(err))

    def _show_preview(self) -> None:
        label = self.labels[self.current]["name"] if 0 <= self.current < len(self.labels) else ""
        hits = self.previews.get(label)
        self.preview_title.setText(f"TOP MATCHES FOR “{label.upper()}”" if label else "PREVIEW")
        if hits is None:
            self.matches.set_items([])
            if not self._in_flight:
                self.preview_status.setText("The best matches appear here as you type.")
            return
        self.matches.set_items(hits)
        if hits:
            status = f"The {len(hits)} best-scoring photos that would be tagged “{label}”."
        else:
            status = f"No photo reaches the threshold for “{label}”: add prompts, or lower the threshold."
        self.preview_status.setText("\n".join([status, *self.weak.get(label, [])]))

    # -- saving ---------------------------------------------------------------------------------

    def save(self) -> None:
        """Store the set in the library and tag every photo with it (on a worker)."""
        prompt_set = self.prompt_set()
        if prompt_set is None:
            return
        for widget in (self.save_button, self.name, self.label_list, self.add_button, self.remove_button,
                       self.open_button, self.start_from):
            widget.setEnabled(False)
        self.progress.show()
        self._problem("Tagging your photos…")
        self.organize.apply_set(prompt_set, self._saved, self._save_failed)

    def _saved(self, result: dict) -> None:
        self.saved = result
        if self._closed:  # closed while tagging: the set is saved all the same
            return
        self.progress.hide()
        self.accept()

    def _save_failed(self, err: BaseException) -> None:
        from photosense.ui.bridge import user_message

        if self._closed:
            return
        self.progress.hide()
        for widget in (self.save_button, self.name, self.label_list, self.add_button, self.remove_button,
                       self.open_button, self.start_from):
            widget.setEnabled(True)
        self._problem(user_message(err))
