"""Dialogs: failed files, the model error (with a local weights file choice), model loading, preview."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QKeyEvent, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QFileDialog, QHeaderView, QLabel,
                               QProgressDialog, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout)


class FailuresDialog(QDialog):
    """The files that could not be indexed, with the reason of each."""

    def __init__(self, failures: list, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Files that could not be indexed")
        self.resize(760, 420)
        intro = QLabel(f"{len(failures):,} file(s) could not be indexed. They are retried when they change.", self)
        self.table = QTableWidget(len(failures), 2, self)
        self.table.setHorizontalHeaderLabels(["File", "Reason"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        for row, failure in enumerate(failures):
            name = QTableWidgetItem(Path(failure.path).name)
            name.setToolTip(failure.path)
            self.table.setItem(row, 0, name)
            self.table.setItem(row, 1, QTableWidgetItem(failure.reason))
        self.table.setColumnWidth(0, 260)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)


class ModelErrorDialog(QDialog):
    """Why the model could not be loaded; offers a local weights file. ``weightsChosen(spec)``."""

    weightsChosen = Signal(str)

    def __init__(self, message: str, model_spec: str, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Search model unavailable")
        self.model_spec = model_spec
        title = QLabel("<b>The search model could not be loaded</b>", self)
        text = QLabel(message, self)
        text.setWordWrap(True)
        text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        hint = QLabel("You can keep browsing your photos. To search offline, choose a local weights file "
                      "for this model (.safetensors, .pt or .bin).", self)
        hint.setWordWrap(True)
        self.choose = QPushButton("Choose weights file…", self)
        self.choose.clicked.connect(self._choose)
        buttons = QDialogButtonBox(self)
        buttons.addButton(self.choose, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton("Continue browsing", QDialogButtonBox.ButtonRole.RejectRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        for widget in (title, text, hint):
            layout.addWidget(widget)
        layout.addWidget(buttons)
        self.setMinimumWidth(520)

    def arch(self) -> str:
        return self.model_spec.partition(":")[0] if ":" in self.model_spec else self.model_spec

    def _choose(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose model weights", str(Path.home()),
                                              "Model weights (*.safetensors *.pt *.pth *.bin)")
        if path:
            self.choose_file(path)

    def choose_file(self, path: str) -> None:
        self.weightsChosen.emit(f"{self.arch()}:{path}")
        self.accept()


class ModelLoadingDialog(QProgressDialog):
    """Shown while a model downloads: busy progress; Cancel keeps the app in browse-only mode."""

    def __init__(self, model_spec: str, parent=None) -> None:
        super().__init__(f"Downloading the search model “{model_spec}”…\nThis happens once; "
                         "you can browse your photos meanwhile.", "Cancel", 0, 0, parent)
        self.setWindowTitle("PhotoSense")
        self.setMinimumDuration(0)
        self.setAutoClose(False)
        self.setAutoReset(False)
        self.setWindowModality(Qt.WindowModality.NonModal)


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
        if parent is not None:
            self.resize(parent.size() * 0.85)

    def set_image(self, image: QImage) -> None:
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
