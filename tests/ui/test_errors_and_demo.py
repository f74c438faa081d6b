"""The offline model path, error reporting without tracebacks, the demo library and the CLI commands."""
from __future__ import annotations

import sys

import pytest

from conftest import label_of, wait_results, write_photos
from fakes import NAME as FAKE_MODEL
from helpers import run_cli

NOT_BUNDLED = "ViT-B-32:laion2b_s34b_b79k"  # needs a download; HF_ENDPOINT cannot resolve in tests


@pytest.mark.model  # open_clip and torch try to fetch the pretrained weights
def test_offline_model_explains_and_browsing_still_works(qtbot, make_window, tmp_path):
    from photosense import Library
    from photosense.core.errors import ModelUnavailable

    folder = tmp_path / "photos"
    photos = write_photos(folder, 12)
    with Library.open(tmp_path / "library", model=NOT_BUNDLED) as lib:
        lib.add_folder(folder)
        with pytest.raises(ModelUnavailable):
            lib.index()  # the scan lists the photos; the model cannot be fetched
    window = make_window(tmp_path / "library", wait_model=False, model=NOT_BUNDLED, auto_index=False)
    qtbot.waitUntil(lambda: window.model_error_dialog is not None, timeout=120_000)
    dialog = window.model_error_dialog
    assert dialog.isVisible()
    text = " ".join(label.text() for label in dialog.findChildren(type(window.status_label)))
    assert "Could not download the model" in text and "Traceback" not in text
    assert dialog.choose.text() == "Choose weights file…"
    assert "unavailable" in window.search.placeholderText()
    wait_results(qtbot, window, "all")  # browsing works without the model
    assert sorted(window.controller.photos.paths()) == sorted(photos)

    missing = tmp_path / "no-such-weights.safetensors"
    dialog.choose_file(str(missing))  # a local weights file: the library reopens with it
    qtbot.waitUntil(lambda: window.model_error_dialog is not dialog, timeout=60_000)
    message = " ".join(label.text() for label in window.model_error_dialog.findChildren(type(window.status_label)))
    assert "no-such-weights.safetensors" in message
    assert window.controller.library is not None  # still browsing the same library


def test_unexpected_errors_are_logged_and_shown_briefly(tmp_path, monkeypatch):
    import logging

    from photosense.ui import errors

    shown: list[str] = []
    log_path = errors.setup_file_logging(tmp_path / "logs" / "photosense.log")
    before = sys.excepthook, __import__("threading").excepthook
    try:
        errors.install(shown.append, log_path)
        try:
            raise ZeroDivisionError("boom in a slot")
        except ZeroDivisionError:
            sys.excepthook(*sys.exc_info())
    finally:
        sys.excepthook, __import__("threading").excepthook = before
        for handler in list(logging.getLogger().handlers):
            if getattr(handler, "baseFilename", "") == str(log_path):
                logging.getLogger().removeHandler(handler)
                handler.close()
    assert len(shown) == 1 and "ZeroDivisionError" in shown[0] and "Traceback" not in shown[0]
    assert str(log_path) in shown[0]
    logged = log_path.read_text()
    assert "Traceback" in logged and "boom in a slot" in logged


@pytest.mark.model
def test_the_demo_library_searches_out_of_the_box(qtbot, make_window, tmp_path):
    from photosense.services.demo import build_demo, samples

    library_dir = build_demo(tmp_path / "demo")
    assert len(samples()) == 200
    window = make_window(library_dir)
    wait_results(qtbot, window, "all")
    assert window.controller.photos.rowCount() == 200
    qtbot.keyClicks(window.search, "ankle boot")
    wait_results(qtbot, window, "text")
    top = [label_of(p) for p in window.controller.photos.paths()[:10]]
    assert top.count("ankle-boot") >= 8
    again = build_demo(tmp_path / "demo")  # a second run reuses it
    assert again == library_dir


@pytest.mark.model  # the demo is indexed with the bundled tiny model (in a subprocess)
def test_cli_demo_builds_offline_and_help_still_prints(tmp_path):
    env = {"PHOTOSENSE_CACHE": str(tmp_path / "cache")}
    result = run_cli("demo", "--no-gui", env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(tmp_path / "cache" / "demo" / "library")
    status = run_cli("status", "--json", library=tmp_path / "cache" / "demo" / "library", env=env)
    assert '"photos": 200' in status.stdout and '"indexed": 200' in status.stdout
    usage = run_cli("--help")
    assert usage.returncode == 0 and "gui" in usage.stdout and "demo" in usage.stdout


def test_the_demo_is_not_remembered_as_the_last_library(qtbot, tmp_path, settings):
    from photosense.ui.app import application
    from photosense.ui.main_window import MainWindow

    application()
    settings.setValue("library/last", str(tmp_path / "mine"))
    window = MainWindow(tmp_path / "demo-library", settings, model=FAKE_MODEL, remember_library=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.controller.folders is not None)
    assert window.controller.library_dir == str(tmp_path / "demo-library")
    window.close()
    assert settings.value("library/last") == str(tmp_path / "mine")
