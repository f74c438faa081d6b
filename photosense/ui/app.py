"""Starting the desktop app: QApplication, style, error hook, settings and the main window."""
from __future__ import annotations

import os
import sys

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtWidgets import QApplication, QMessageBox

from photosense.core import config
from photosense.ui import errors, style


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


def run(library: str | None = None, model: str | None = None, remember: bool = True) -> int:
    """Open the main window on a library and run the event loop; returns the exit status.
    *remember*: make it the library that a plain ``photosense`` opens next time."""
    log_path = errors.setup_file_logging()
    app = application()
    notice = _ErrorNotice()
    errors.install(notice.message.emit, log_path)
    settings = open_settings()
    from photosense.ui.main_window import MainWindow

    window = MainWindow(choose_library(library, settings), settings, model=model, remember_library=remember)
    window.show()
    _test_hook(window)
    return app.exec()


def _test_hook(window) -> None:
    """End-to-end tests: ``PHOTOSENSE_UI_SCRIPT=path.py`` runs ``script(window)`` after the window shows."""
    script = os.environ.get("PHOTOSENSE_UI_SCRIPT")
    if script:
        namespace: dict = {}
        with open(script, encoding="utf-8") as fh:
            exec(compile(fh.read(), script, "exec"), namespace)  # noqa: S102 - a test's own file
        namespace["script"](window)
