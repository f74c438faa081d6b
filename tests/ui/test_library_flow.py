"""First run, adding a folder, indexing progress, pause/resume, failures, settings and the 100k grid, in the real
window with the fake colour embedder."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from conftest import wait_results, write_colors
from fakes import NAME as FAKE_MODEL
from photosense.ui.live import IndexState


def test_first_run_shows_the_add_a_folder_empty_state(qtbot, make_window, tmp_path):
    window = make_window(tmp_path / "new-library", wait_model=False)
    assert window.stack.currentWidget() is window.empty
    assert window.empty.title.text() == "Add a photo folder"
    assert window.empty.button.isVisible() and window.empty.button.text() == "Add a photo folder…"
    assert window.sidebar.folders_header.child(0).text(0) == "No folders yet"
    assert window.controller.model_state == "idle"  # nothing to search yet: no model download either


def test_adding_a_folder_indexes_it_with_progress(qtbot, make_window, tmp_path):
    folder = tmp_path / "photos"
    photos = write_colors(folder)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    window = make_window(tmp_path / "library", wait_model=False, model=FAKE_MODEL)
    c = window.controller
    states: list[IndexState] = []
    labels: list[str] = []
    c.indexStateChanged.connect(states.append)
    c.indexStateChanged.connect(lambda _s: labels.append(window.indexing_status.label.text()))
    with qtbot.waitSignal(c.indexFinished, timeout=60_000) as done:
        c.add_folder(str(folder))
    assert done.args[0].indexed == 24 and done.args[0].failed == 1
    assert states[0].state == "scanning" and labels[0] == "Looking for new photos…"
    indexing = [s for s in states if s.state == "indexing"]
    assert indexing and indexing[-1].total == 25 and indexing[-1].done == 25
    assert any(label.startswith("Indexing ") and "/ 25" in label for label in labels)
    assert states[-1].state == "idle"
    qtbot.waitUntil(lambda: sorted(c.photos.paths()) == sorted(photos))  # the broken file is not listed
    assert c.query == c.shown and window.sidebar.folder_paths() == [str(folder)]
    assert window.stack.currentWidget() is window.grid
    qtbot.waitUntil(lambda: window.indexing_status.failed_button.text() == "1 failed")
    assert window.status_label.text() == "24 photos · 24 searchable"

    with qtbot.waitSignal(c.failuresLoaded):
        window.indexing_status.failed_button.click()
    table = window.failures_dialog.table
    assert table.rowCount() == 1 and table.item(0, 0).text() == "broken.jpg" and table.item(0, 1).text()


def test_pause_and_resume_indexing(qtbot, make_window, tmp_path, gated_model):
    folder = tmp_path / "photos"
    write_colors(folder, per_color=10)
    window = make_window(tmp_path / "library", wait_model=False, model="fake-gated")
    c = window.controller
    c.add_folder(str(folder))
    qtbot.waitUntil(gated_model.waiting.is_set, timeout=30_000)  # a batch is being embedded
    window.indexing_status.pause_button.click()
    assert c.indexer.paused and window.indexing_status.label.text().startswith("Paused")
    with qtbot.waitSignal(c.indexFinished, timeout=60_000) as paused_run:
        gated_model.gate.set()  # the batch in flight is saved; the rest waits for resume
    assert paused_run.args[0].indexed < 40 and not c.indexer.running
    assert window.indexing_status.label.text().startswith("Paused")
    with qtbot.waitSignal(c.indexFinished, timeout=60_000):
        window.indexing_status.pause_button.click()  # resume
    qtbot.waitUntil(lambda: window.status_label.text() == "40 photos · 40 searchable", timeout=10_000)
    # then the words in the new photos are read (the text stage), and the status bar clears
    qtbot.waitUntil(lambda: window.indexing_status.label.text() == "", timeout=60_000)


def test_removing_a_folder_forgets_its_photos(qtbot, make_window, color_library, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    window = make_window(color_library, wait_model=False)
    wait_results(qtbot, window, "all")
    folder = window.sidebar.folder_paths()[0]
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    window.sidebar.select_folder(folder)
    window.sidebar.remove_button.click()
    qtbot.waitUntil(lambda: window.sidebar.folder_paths() == [], timeout=10_000)
    qtbot.waitUntil(lambda: window.empty.title.text() == "Add a photo folder", timeout=10_000)
    assert window.stack.currentWidget() is window.empty


def test_window_size_splitters_and_library_are_remembered(qtbot, make_window, color_library, settings):
    window = make_window(color_library, wait_model=False)
    window.resize(720, 540)  # within the offscreen screen (restoreGeometry keeps windows on screen)
    window.splitter.setSizes([250, 270, 200])
    sizes = window.splitter.sizes()
    window.close()
    assert settings.value("library/last") == str(color_library)
    again = make_window(color_library, wait_model=False)
    assert (again.width(), again.height()) == (720, 540)
    assert all(abs(a - b) <= 4 for a, b in zip(again.splitter.sizes(), sizes))  # layout rounding

    from photosense.ui.app import choose_library

    assert choose_library(None, settings) == str(color_library)


def test_a_100k_grid_asks_only_for_visible_thumbnails(qtbot, make_window, tmp_path):
    import time

    from photosense import Library
    from photosense.ui.bridge import Results

    (tmp_path / "nowhere").mkdir()
    with Library.open(tmp_path / "library", model=FAKE_MODEL) as lib:
        lib.add_folder(tmp_path / "nowhere")
    window = make_window(tmp_path / "library", wait_model=False, model=FAKE_MODEL, auto_index=False)
    c = window.controller
    wait_results(qtbot, window, "all")  # the empty folder has answered
    requested: list[str] = []
    original = c.loader.request
    c.loader.request = lambda path, at=None: (requested.append(path), original(path, at))[-1]
    items = [(i, f"/nowhere/IMG_{i:06d}.jpg", None) for i in range(100_000)]
    c.bridge.results.emit(Results(c.query, items))  # a 100k answer, delivered as the bridge delivers one
    assert c.photos.rowCount() == 100_000 and window.stack.currentWidget() is window.grid
    assert window.top_bar.count_label.text() == "100,000 photos"
    qtbot.waitUntil(lambda: len(requested) > 0)
    per_screen = len(set(requested))
    assert 0 < per_screen < 100  # the visible cells only
    window.grid.scrollTo(c.photos.index(50_000, 0))
    qtbot.waitUntil(lambda: any("IMG_05" in p for p in requested))
    assert len(set(requested)) < 250

    bar = window.grid.verticalScrollBar()
    start = time.perf_counter()
    for step in range(20):
        bar.setValue(bar.maximum() * step // 20)
        window.grid.viewport().repaint()
    assert (time.perf_counter() - start) / 20 < 0.05  # each jump repaints well within a frame budget
    assert c.photos.index(99_999, 0).data(Qt.ItemDataRole.DisplayRole) == "IMG_099999.jpg"


def test_new_files_appear_live_while_the_app_runs(qtbot, make_window, color_library, color_folder):
    from fakes import color_image
    from helpers import save

    window = make_window(color_library)
    c = window.controller
    wait_results(qtbot, window, "all")
    qtbot.waitUntil(lambda: not c.indexer.running, timeout=30_000)  # the start-up reconcile is over
    assert window.indexing_status.label.text() == ""
    new = save(color_image("purple", seed=99), color_folder[0] / "new-arrival.jpg")
    qtbot.waitUntil(lambda: str(new) in c.photos.paths(), timeout=30_000)
    qtbot.waitUntil(lambda: window.status_label.text() == "25 photos · 25 searchable", timeout=30_000)


def test_dropping_a_folder_on_the_window_adds_it(qtbot, make_window, tmp_path):
    from PySide6.QtCore import QMimeData, QPoint, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent

    folder = tmp_path / "dropped"
    photos = write_colors(folder, per_color=2)
    window = make_window(tmp_path / "library", wait_model=False, model=FAKE_MODEL)
    c = window.controller

    def mime(*paths) -> QMimeData:
        data = QMimeData()
        data.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
        return data

    def drag(data: QMimeData) -> QDragEnterEvent:
        return QDragEnterEvent(QPoint(300, 300), Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton,
                               Qt.KeyboardModifier.NoModifier)

    # Qt delivers drag events only during a real drag: they go to the window's filter as Qt would pass them.
    a_photo = mime(tmp_path / "a-photo.jpg")  # events only point at their data: it must outlive them
    assert not window.drops.eventFilter(window, drag(a_photo))  # photos are for the search bar
    dropped = mime(folder, tmp_path / "a-photo.jpg")
    assert window.drops.eventFilter(window, drag(dropped))
    drop = QDropEvent(QPoint(300, 300), Qt.DropAction.CopyAction, dropped, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(c.indexFinished, timeout=60_000):
        assert window.drops.eventFilter(window, drop) and drop.isAccepted()
    qtbot.waitUntil(lambda: sorted(c.photos.paths()) == sorted(photos), timeout=30_000)
    assert window.sidebar.folder_paths() == [str(folder)]  # the photo dropped with it is not a folder


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
    with Library.open(tmp_path / "library", model=FAKE_MODEL) as library:
        library.add_folder(tmp_path / "photos")
        apply_plan(library.catalog, plan_scan(library.catalog, library.catalog.folders()))
        assert library.status()["photos"] == 10_000
    app = application()
    start = time.perf_counter()
    window = MainWindow(tmp_path / "library", settings, model=FAKE_MODEL, auto_index=False)
    qtbot.addWidget(window)
    window.show()
    app.processEvents()
    assert time.perf_counter() - start < 1.5
    qtbot.waitUntil(lambda: window.controller.photos.rowCount() == 10_000, timeout=15_000)
    window.close()
