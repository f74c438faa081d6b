"""The search model in the window: a status-bar button (the model in use, or a switch's progress) that opens
the model preference, and what a finished switch refreshes (results, counts, tags and albums)."""
from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QToolButton, QWidget

from photosense.ui.controller import MainController
from photosense.ui.dialogs.models_dialog import ModelsDialog
from photosense.ui.model_bridge import ModelBridge


class ModelActions(QObject):
    """Owns the ``ModelBridge``; ``button`` goes into the status bar; ``dialog`` is the preference when open."""

    def __init__(self, controller: MainController, window: QWidget) -> None:
        super().__init__(window)
        self.controller = controller
        self.window = window
        self.models = m = ModelBridge(controller.bridge, self)
        self.dialog: ModelsDialog | None = None
        self.button = QToolButton(window)
        self.button.setAutoRaise(True)
        self.button.setToolTip("The search model: click to see the models and switch")
        self.button.clicked.connect(self.open_dialog)
        self._progress = ""
        m.switchProgress.connect(lambda name, done, total: self._show_progress(
            f"Switching to {name}: {done * 100 // max(total, 1)} %"))
        m.downloadProgress.connect(lambda name, done, total: self._show_progress(
            f"Downloading {name}: {done / 1e6:,.0f}" + (f" of {total / 1e6:,.0f} MB" if total else " MB")))
        m.stateChanged.connect(self._update_button)
        m.switched.connect(self._on_switched)
        m.message.connect(controller.message)
        m.error.connect(controller.message)
        controller.modelStateChanged.connect(self._on_model_state)
        self._update_button()

    def open_dialog(self) -> None:
        if self.dialog is None:
            self.dialog = ModelsDialog(self.models, self.window)
            self.dialog.finished.connect(self._dialog_closed)
        self.dialog.show()
        self.dialog.raise_()
        self.models.refresh()

    def _dialog_closed(self) -> None:
        if self.dialog is not None:
            self.dialog.deleteLater()
            self.dialog = None

    def _on_model_state(self, state: str) -> None:
        self._update_button()
        if state == "ready":  # a switch that a previous session left unfinished goes on
            self.models.resume()

    def _show_progress(self, text: str) -> None:
        self._progress = text
        self._update_button()

    def _update_button(self) -> None:
        if self.models.working:
            self.button.setText(self._progress or f"Switching to {self.models.switching}…")
        else:
            self._progress = ""
            spec = self.controller.model_spec
            self.button.setText(f"Model: {spec}" if spec else "Model")
        self.button.setVisible(self.controller.library is not None)

    def _on_switched(self, _spec: str) -> None:
        c = self.controller
        self._update_button()
        c.bridge.refresh_status()
        c.organize.refresh()  # tags and smart albums were recomputed with the new model
        c.refresh()
