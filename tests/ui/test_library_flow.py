"""First run, adding a folder, indexing progress, pause/resume, failures, settings and the 100k grid."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from conftest import wait_results, write_photos
from photosense.ui.live import IndexState


def test_first_run_shows_the_add_a_folder_empty_state(qtbot, make_window, tmp_path):
    window = make_window(tmp_path / "new-library", wait_model=False)
    assert window.stack.currentWidget() is window.empty
    assert window.empty.title.text() == "Add a photo folder"
    assert window.empty.button.isVisible() and window.empty.button.text() == "Add a photo folder…"
    assert window.sidebar.folders_header.child(0).text(0) == "No folders yet"
    assert window.bridge.model_state == "idle"  # nothing to search yet: no model download either


def test_adding_a_folder_indexes_it_with_progress(qtbot, make_window, tmp_path):
    folder = tmp_path / "photos"
    photos = write_photos(folder, 40)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    window = make_window(tmp_path / "library", wait_model=False, model="tiny-fashion")
    states: list[IndexState] = []
    labels: list[str] = []
    window.indexer.changed.connect(states.append)
    window.indexer.changed.connect(lambda _s: labels.append(window.indexing_status.label.text()))
    with qtbot.waitSignal(window.indexer.finished, timeout=120_000) as done:
        window.add_folder(str(folder))
    assert done.args[0].indexed == 40 and done.args[0].failed == 1
    assert [s.state for s in states][0] == "scanning"
    indexing = [s for s in states if s.state == "indexing"]
    assert indexing and indexing[-1].total == 41 and indexing[-1].done == 41
    assert any(label.startswith("Indexing ") and "/ 41" in label for label in labels)
    assert states[-1].state == "idle"
    wait_results(qtbot, window, "all")
    assert sorted(window.photos.paths()) == sorted(photos)
    assert window.sidebar.folder_paths() == [str(folder)]
    assert window.stack.currentWidget() is window.grid
    qtbot.waitUntil(lambda: window.indexing_status.failed_button.text() == "1 failed")
    assert window.status_label.text() == "40 photos · 40 searchable"

    with qtbot.waitSignal(window.bridge.failures):
        window.indexing_status.failed_button.click()
    table = window.failures_dialog.table
    assert table.rowCount() == 1 and table.item(0, 0).text() == "broken.jpg" and table.item(0, 1).text()


def test_pause_and_resume_indexing(qtbot, make_window, tmp_path):
    folder = tmp_path / "photos"
    write_photos(folder, 120)
    window = make_window(tmp_path / "library", wait_model=False, model="tiny-fashion")
    window.add_folder(str(folder))
    qtbot.waitUntil(lambda: window.indexer.running, timeout=10_000)
    window.indexing_status.pause_button.click()
    assert window.indexer.paused and window.indexing_status.label.text().startswith("Paused")
    qtbot.waitUntil(lambda: not window.indexer.running, timeout=60_000)
    with qtbot.waitSignal(window.indexer.finished, timeout=120_000):
        window.indexing_status.pause_button.click()  # resume
    window.bridge.refresh_status()
    qtbot.waitUntil(lambda: window.status_label.text() == "120 photos · 120 searchable", timeout=10_000)


def test_removing_a_folder_forgets_its_photos(qtbot, make_window, indexed_library, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    window = make_window(indexed_library, wait_model=False)
    wait_results(qtbot, window, "all")
    folder = window.sidebar.folder_paths()[0]
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    window.sidebar.select_folder(folder)
    window.sidebar.remove_button.click()
    qtbot.waitUntil(lambda: window.sidebar.folder_paths() == [], timeout=10_000)
    qtbot.waitUntil(lambda: window.empty.title.text() == "Add a photo folder", timeout=10_000)


def test_window_size_splitters_and_library_are_remembered(qtbot, make_window, indexed_library, settings):
    window = make_window(indexed_library, wait_model=False)
    window.resize(720, 540)  # within the offscreen screen (restoreGeometry keeps windows on screen)
    window.splitter.setSizes([250, 270, 200])
    sizes = window.splitter.sizes()
    window.close()
    assert settings.value("library/last") == str(indexed_library)
    again = make_window(indexed_library, wait_model=False)
    assert (again.width(), again.height()) == (720, 540)
    assert all(abs(a - b) <= 4 for a, b in zip(again.splitter.sizes(), sizes))  # layout rounding

    from photosense.ui.app import choose_library

    assert choose_library(None, settings) == str(indexed_library)


def test_a_100k_grid_asks_only_for_visible_thumbnails(qtbot, make_window, tmp_path):
    window = make_window(tmp_path / "library", wait_model=False)
    qtbot.waitUntil(lambda: window.shown is not None)  # the (empty) library has answered
    requested: list[str] = []
    original = window.loader.request
    window.loader.request = lambda path: (requested.append(path), original(path))[-1]
    items = [(i, f"/nowhere/IMG_{i:06d}.jpg", None) for i in range(100_000)]
    window.folders = ["/nowhere"]
    window.photos.set_items(items)
    window._update_stack()
    qtbot.waitUntil(lambda: len(requested) > 0)
    per_screen = len(set(requested))
    assert 0 < per_screen < 100  # the visible cells only
    window.grid.scrollTo(window.photos.index(50_000, 0))
    qtbot.waitUntil(lambda: any("IMG_05" in p for p in requested))
    assert len(set(requested)) < 250
    import time

    bar = window.grid.verticalScrollBar()
    start = time.perf_counter()
    for step in range(20):
        bar.setValue(bar.maximum() * step // 20)
        window.grid.viewport().repaint()
    assert (time.perf_counter() - start) / 20 < 0.05  # each jump repaints well within a frame budget
    assert window.photos.index(99_999, 0).data(Qt.ItemDataRole.DisplayRole) == "IMG_099999.jpg"


def test_new_files_appear_live_while_the_app_runs(qtbot, make_window, indexed_library, fashion_folder):
    from helpers import fashion_images, save
    from photosense.ui.live import LiveIndexController

    window = make_window(indexed_library)
    assert isinstance(window.indexer, LiveIndexController)
    wait_results(qtbot, window, "all")
    qtbot.waitUntil(lambda: window.indexing_status.label.text() == "", timeout=30_000)  # reconcile done
    new = save(fashion_images(1, seed=5)[0][0], fashion_folder[0] / "new-arrival.jpg")
    qtbot.waitUntil(lambda: str(new) in window.photos.paths(), timeout=30_000)
    qtbot.waitUntil(lambda: window.status_label.text() == "61 photos · 61 searchable", timeout=30_000)


def test_dropping_a_folder_on_the_window_adds_it(qtbot, make_window, tmp_path):
    from PySide6.QtCore import QMimeData, QPoint, QUrl
    from PySide6.QtGui import QDropEvent

    folder = tmp_path / "dropped"
    photos = write_photos(folder, 10)
    window = make_window(tmp_path / "library", wait_model=False, model="tiny-fashion")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    with qtbot.waitSignal(window.indexer.finished, timeout=120_000):
        window.dropEvent(QDropEvent(QPoint(300, 300), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                    Qt.KeyboardModifier.NoModifier))
    qtbot.waitUntil(lambda: sorted(window.photos.paths()) == sorted(photos), timeout=30_000)
    assert window.sidebar.folder_paths() == [str(folder)]


@pytest.mark.slow
def test_the_window_appears_at_once_on_a_10k_library(qtbot, settings, tmp_path):
    import shutil
    import time

    from photosense import Library
    from photosense.core.scanner import apply_plan, plan_scan
    from photosense.services.demo import samples
    from photosense.ui.app import application
    from photosense.ui.main_window import MainWindow

    sources = samples()
    for i in range(10_000):
        folder = tmp_path / "photos" / f"roll-{i // 500:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(sources[i % len(sources)], folder / f"IMG_{i:05d}.jpg")
    with Library.open(tmp_path / "library", model="tiny-fashion") as library:
        library.add_folder(tmp_path / "photos")
        apply_plan(library.catalog, plan_scan(library.catalog, library.catalog.folders()))
        assert library.status()["photos"] == 10_000
    app = application()
    start = time.perf_counter()
    window = MainWindow(tmp_path / "library", settings, model="tiny-fashion", auto_index=False)
    qtbot.addWidget(window)
    window.show()
    app.processEvents()
    assert time.perf_counter() - start < 1.5
    assert "Loading" in window.search.placeholderText() or window.bridge.model_state == "idle"
    qtbot.waitUntil(lambda: window.photos.rowCount() == 10_000, timeout=15_000)
