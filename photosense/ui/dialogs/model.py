"""The search model's dialogs: why it could not be loaded (with a local weights file choice), and its download."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFileDialog, QLabel, QProgressDialog, QPushButton, QVBoxLayout


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
    """Shown while a model downloads: its bytes (busy until the first arrive); Cancel keeps the app in
    browse-only mode and stops the download (the next start resumes it)."""

    def __init__(self, model_spec: str, parent=None) -> None:
        super().__init__(f"Downloading the search model “{model_spec}”…\nThis happens once; "
                         "you can browse your photos meanwhile.", "Cancel", 0, 0, parent)
        self.model_spec = model_spec
        self.setWindowTitle("PhotoSense")
        self.setMinimumDuration(0)
        self.setAutoClose(False)
        self.setAutoReset(False)
        self.setWindowModality(Qt.WindowModality.NonModal)

    def show_bytes(self, done: int, total: int) -> None:
        """Bytes downloaded so far, of *total* (0: unknown, the bar stays busy)."""
        self.setLabelText(f"Downloading the search model “{self.model_spec}”: {done / 1e6:,.0f}"
                          + (f" of {total / 1e6:,.0f} MB" if total else " MB")
                          + "\nThis happens once; you can browse your photos meanwhile.")
        if total:
            self.setRange(0, max(1, total // 1024))
            self.setValue(min(done, total) // 1024)
