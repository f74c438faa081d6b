"""Starting the desktop app: QApplication, style, error hook, settings and the main window."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtWidgets import QApplication, QMessageBox

from photosense.core import config
from photosense.ui import errors, style

if TYPE_CHECKING:
    from photosense.ui.main_window import MainWindow


class _ErrorNotice(QObject):
    """Shows short error messages on the GUI thread, whichever thread reported them."""

    message = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self._showing = False
        self.message.connect(self._show)

    def _show(self, text: str) -> None:
        if self._showing:  # never a cascade of dialogs
            return
        self._showing = True
        try:
            QMessageBox.warning(QApplication.activeWindow(), "PhotoSense", text)
        finally:
            self._showing = False


def open_settings() -> QSettings:
    """The window settings (an INI file in the platformdirs config dir, or ``$PHOTOSENSE_SETTINGS``)."""
    return QSettings(str(config.settings_file()), QSettings.Format.IniFormat)


def application(argv: list[str] | None = None) -> QApplication:
    """The QApplication, created once, with the PhotoSense look."""
    app = QApplication.instance() or QApplication(argv or [sys.argv[0]])
    app.setApplicationName("PhotoSense")
    app.setOrganizationName("PhotoSense")
    app.setDesktopFileName("photosense")
    app.setStyle("Fusion")
    app.setStyleSheet(style.STYLESHEET)
    app.setWindowIcon(style.icon("photosense"))
    return app


def choose_library(explicit: str | None, settings: QSettings) -> str:
    """--library, else $PHOTOSENSE_LIBRARY, else the last library opened, else the default one."""
    if explicit or os.environ.get(config.LIBRARY_ENV):
        return str(config.library_dir(explicit))
    last = settings.value("library/last")
    return str(last) if last else str(config.library_dir())


@dataclass
class Session:
    """A started app: the QApplication, the shown main window and the error notice they rely on."""

    app: QApplication
    window: MainWindow
    notice: _ErrorNotice


def start(library: str | None = None, model: str | None = None, remember: bool = True) -> Session:
    """Log to the log file, install the error hook, and show the main window on a library.
    *remember*: make it the library that a plain ``photosense`` opens next time."""
    log_path = errors.setup_file_logging()
    app = application()
    notice = _ErrorNotice()
    errors.install(notice.message.emit, log_path)
    settings = open_settings()
    from photosense.ui.main_window import MainWindow

    window = MainWindow(choose_library(library, settings), settings, model=model, remember_library=remember)
    window.show()
    return Session(app, window, notice)


def run(library: str | None = None, model: str | None = None, remember: bool = True) -> int:
    """Open the main window on a library (``start``) and run the event loop; returns the exit status."""
    session = start(library, model, remember)  # held: the window lives as long as the loop runs
    return session.app.exec()
