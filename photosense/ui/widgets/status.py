"""The status bar's indexing panel: done/total, images per second, time left, pause/resume, failures."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget

from photosense.ui import style
from photosense.ui.live import IndexState


def human_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class IndexingStatus(QWidget):
    """Emits ``pauseToggled(paused)`` and ``failuresRequested()``."""

    pauseToggled = Signal(bool)
    failuresRequested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.label = QLabel("", self)
        self.bar = QProgressBar(self)
        self.bar.setTextVisible(False)
        self.bar.setFixedWidth(160)
        self.pause_button = QToolButton(self)
        self.pause_button.setAutoRaise(True)
        self.pause_button.clicked.connect(self._toggle)
        self.failed_button = QToolButton(self)
        self.failed_button.setAutoRaise(True)
        self.failed_button.setIcon(style.icon("failed"))
        self.failed_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.failed_button.setToolTip("Show the files that could not be indexed, and why")
        self.failed_button.clicked.connect(self.failuresRequested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 6, 0)
        layout.setSpacing(6)
        for widget in (self.label, self.bar, self.pause_button, self.failed_button):
            layout.addWidget(widget)
        self._paused = False
        self.set_failed(0)
        self.show_state(IndexState("idle"))

    def show_state(self, state: IndexState) -> None:
        self._paused = state.state == "paused"
        self.pause_button.setIcon(style.icon("resume" if self._paused else "pause"))
        self.pause_button.setToolTip("Resume indexing" if self._paused else "Pause indexing")
        if state.state == "idle":
            self.label.setText("")
            self.bar.hide()
            self.pause_button.hide()
            return
        self.pause_button.show()
        self.bar.show()
        if state.state == "scanning":
            self.bar.setRange(0, 0)  # busy
            self.label.setText("Looking for new photos…")
            return
        self.bar.setRange(0, max(state.total, 1))
        self.bar.setValue(state.done)
        doing = "Reading text in photos" if state.state == "reading" else "Indexing"
        parts = [f"{doing} {state.done:,} / {state.total:,}"]
        if state.state == "paused":
            parts = [f"Paused at {state.done:,} / {state.total:,}"]
        elif state.rate > 0:
            parts.append(f"{state.rate:.0f} img/s")
            if state.eta is not None:
                parts.append(f"{human_duration(state.eta)} left")
        self.label.setText("  ·  ".join(parts))

    def set_failed(self, count: int) -> None:
        self.failed_button.setText(f"{count:,} failed")
        self.failed_button.setVisible(count > 0)

    def _toggle(self) -> None:
        self.pauseToggled.emit(not self._paused)
