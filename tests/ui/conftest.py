"""UI fixtures: isolated settings, photo folders (colour photos for the fake embedder, Fashion photos for the
real tiny model), libraries, windows and controllers.

Tests that load the real model carry ``@pytest.mark.model`` (tests/conftest.py fails an unmarked test that
imports torch), so ``-m "not slow and not model"`` stays fast.
"""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

from fakes import NAME as FAKE_MODEL
from fakes import FakeEmbedder, color_image
from helpers import TINY_MODEL, fashion_images, save

LABELS = ("t-shirt", "trousers", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot")
COLORS = ("red", "green", "blue", "yellow")


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


def write_colors(folder: Path, per_color: int = 6, colors: tuple[str, ...] = COLORS, seed: int = 0) -> dict[str, str]:
    """Colour photos (``<colour>-NN.jpg``, 48 × 48) for the fake embedder; returns {path: colour}."""
    out = {}
    for color in colors:
        for k in range(per_color):
            path = save(color_image(color, seed=seed + k), folder / f"{color}-{seed + k:02d}.jpg")
            out[str(path)] = color
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
def color_folder(tmp_path) -> tuple[Path, dict[str, str]]:
    """24 colour photos: 6 each of red, green, blue and yellow."""
    folder = tmp_path / "photos"
    return folder, write_colors(folder)


@pytest.fixture
def color_library(tmp_path, color_folder) -> Path:
    """The 24 colour photos indexed with the fake embedder (closed: the window or controller opens it)."""
    from photosense import Library

    with Library.open(tmp_path / "library", model=FAKE_MODEL) as lib:
        assert lib.index([color_folder[0]]).indexed == 24
    return tmp_path / "library"


@pytest.fixture
def video_folder(tmp_path) -> tuple[Path, Path]:
    """8 colour photos (2 each of red, green, blue and yellow) and clip.mp4: red 0-4 s, blue 4-8 s (10 fps,
    keyframes every second); returns (folder, clip)."""
    from fakes import COLORS
    from videos import write_clip

    folder = tmp_path / "media"
    write_colors(folder, per_color=2)
    clip = write_clip(folder / "clip.mp4", [(COLORS["red"], 4.0), (COLORS["blue"], 4.0)], fps=10, gop=10)
    return folder, clip


@pytest.fixture
def video_library(tmp_path, video_folder) -> Path:
    """The photos and the clip indexed with the fake embedder (closed)."""
    from photosense import Library

    with Library.open(tmp_path / "library", model=FAKE_MODEL) as lib:
        assert lib.index([video_folder[0]]).indexed == 9
    return tmp_path / "library"


@pytest.fixture
def gated_model(request):
    """The model spec "fake-gated": its embedder lets ``free_batches`` batches through, then holds each batch
    until ``gate`` is set; ``waiting`` is set once a batch waits there."""
    from photosense.core.models import register_embedder, unregister_embedder

    class Gated(FakeEmbedder):
        gate = threading.Event()
        waiting = threading.Event()
        free_batches = 0

        def encode_images(self, batch):
            if Gated.free_batches > 0:
                Gated.free_batches -= 1
                return super().encode_images(batch)
            Gated.waiting.set()
            assert Gated.gate.wait(60), "the test never opened the gate"
            return super().encode_images(batch)

    register_embedder("fake-gated", Gated)
    request.addfinalizer(lambda: (Gated.gate.set(), unregister_embedder("fake-gated")))
    return Gated


@pytest.fixture
def fashion_folder(tmp_path) -> tuple[Path, dict[str, str]]:
    folder = tmp_path / "photos"
    return folder, write_photos(folder, 60)


@pytest.fixture
def indexed_library(tmp_path, fashion_folder) -> Path:
    """A library of 60 Fashion photos indexed with the tiny model (closed: the window opens it).
    Tests using it carry ``@pytest.mark.model``."""
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
        qtbot.waitUntil(lambda: window.controller.folders is not None, timeout=15_000)
        if wait_model:
            qtbot.waitUntil(lambda: window.controller.model_state == "ready", timeout=60_000)
        return window

    yield make
    for window in windows:
        window.close()


@pytest.fixture
def make_controller(qapp, tmp_path):
    """``make_controller(library_dir, **kwargs)``: a MainController on synchronous pools, opened (no window,
    no waits: every answer has arrived when a call returns). Indexing stays off unless ``auto_index=True``
    (it runs on LiveSync's own threads: wait for ``indexFinished``)."""
    from photosense.core.thumbnails import ThumbnailCache
    from photosense.ui.controller import MainController
    from photosense.ui.tasks import Pools

    controllers = []

    def make(library_dir: Path, model: str | None = None, auto_index: bool = False,
             start: bool = True) -> MainController:
        controller = MainController(Pools(synchronous=True), ThumbnailCache(tmp_path / "thumbs"), auto_index)
        controllers.append(controller)
        if start:  # else the test connects to its signals first, then calls open()
            controller.open(library_dir, model)
        return controller

    yield make
    for controller in controllers:
        controller.close()


def wait_results(qtbot, window, kind: str, timeout: int = 30_000):
    """Wait until the grid shows the answer to the window's current query, of *kind*."""
    c = window.controller
    qtbot.waitUntil(lambda: c.query.kind == kind and c.shown == c.query, timeout=timeout)


# -- duplicates ---------------------------------------------------------------------------------------

from duplicate_shots import T0, save_shot, write_duplicates  # noqa: E402,F401 - shared with tests/


@pytest.fixture
def duplicate_shots(tmp_path) -> dict[str, str]:
    return write_duplicates(tmp_path / "photos")


@pytest.fixture
def duplicate_library(tmp_path, duplicate_shots) -> Path:
    """The duplicate shots indexed with the fake embedder (closed). The grid lists every file: stacking in
    results, where the library has it, is off."""
    from photosense import Library

    with Library.open(tmp_path / "library", model=FAKE_MODEL) as lib:
        lib.index([tmp_path / "photos"])
        assert lib.status()["indexed"] == len(duplicate_shots)
        if hasattr(lib, "set_stacking"):
            lib.set_stacking(False)
    return tmp_path / "library"
