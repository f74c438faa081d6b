"""UI fixtures: isolated settings, generated Fashion-style photo folders, libraries and windows."""
from __future__ import annotations

from pathlib import Path

import pytest

from helpers import TINY_MODEL, fashion_images, save

LABELS = ("t-shirt", "trousers", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot")


def pytest_collection_modifyitems(items):
    # The offscreen platform cannot raise windows, grab the keyboard for popups or resize hints.
    for item in items:
        if "tests/ui" in str(item.fspath):
            item.add_marker(pytest.mark.qt_log_ignore("This plugin does not support"))


def write_photos(folder: Path, n: int, seed: int = 0) -> dict[str, str]:
    """*n* Fashion-MNIST photos named ``<class>-NN.jpg`` under *folder*; returns {path: class}."""
    out = {}
    for k, (image, label) in enumerate(fashion_images(n, seed=seed)):
        path = save(image, folder / f"{LABELS[label]}-{k:03d}.jpg")
        out[str(path)] = LABELS[label]
    return out


def label_of(path: str) -> str:
    return Path(path).stem.rsplit("-", 1)[0]


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("PHOTOSENSE_SETTINGS", str(tmp_path / "settings" / "ui.ini"))
    monkeypatch.setenv("PHOTOSENSE_LOG_DIR", str(tmp_path / "logs"))


@pytest.fixture
def settings(tmp_path):
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "settings" / "ui.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def fashion_folder(tmp_path) -> tuple[Path, dict[str, str]]:
    folder = tmp_path / "photos"
    return folder, write_photos(folder, 60)


@pytest.fixture
def indexed_library(tmp_path, fashion_folder) -> Path:
    """A library of 60 Fashion photos indexed with the tiny model (closed: the window opens it)."""
    from photosense import Library

    with Library.open(tmp_path / "library", model=TINY_MODEL) as lib:
        summary = lib.index([fashion_folder[0]])
        assert summary.indexed == 60
    return tmp_path / "library"


@pytest.fixture
def make_window(qtbot, settings, tmp_path):
    """``make_window(library_dir, **kwargs)``: a shown MainWindow, open once its library answered."""
    from photosense.core.thumbnails import ThumbnailCache
    from photosense.ui.app import application
    from photosense.ui.main_window import MainWindow

    application()
    windows = []

    def make(library_dir: Path, wait_model: bool = True, **kwargs) -> MainWindow:
        kwargs.setdefault("thumbnail_cache", ThumbnailCache(tmp_path / "thumbs"))
        window = MainWindow(library_dir, settings, **kwargs)
        qtbot.addWidget(window)
        windows.append(window)
        window.show()
        qtbot.waitUntil(lambda: window.folders is not None, timeout=15_000)
        if wait_model:
            qtbot.waitUntil(lambda: window.bridge.model_state == "ready", timeout=60_000)
        return window

    yield make
    for window in windows:
        window.close()


def wait_results(qtbot, window, kind: str, timeout: int = 30_000):
    """Wait until the grid shows the answer to the window's current query, of *kind*."""
    qtbot.waitUntil(lambda: window.query.kind == kind and window.shown == window.query, timeout=timeout)
