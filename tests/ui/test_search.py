"""Search as you type, stale queries, find similar, search by image, details, open and preview, in the real main
window with the fake colour embedder."""
from __future__ import annotations

from collections import Counter

from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent

from conftest import label_of, wait_results
from photosense.ui.bridge import Query


def top_labels(window, k: int) -> list[str]:
    return [label_of(p) for p in window.controller.photos.paths()[:k]]


def test_typing_a_query_fills_the_grid_with_the_right_photos(qtbot, make_window, color_library):
    window = make_window(color_library)
    c = window.controller
    wait_results(qtbot, window, "all")
    assert c.photos.rowCount() == 24
    qtbot.keyClicks(window.search, "red")
    wait_results(qtbot, window, "text")  # after the debounce, the answer to "red"
    assert c.query == Query("text", "red")
    assert top_labels(window, 6) == ["red"] * 6 and c.photos.rowCount() == 6
    assert window.top_bar.count_label.text() == "6 relevant results"
    assert "Match score" in c.photos.index(0, 0).data(Qt.ItemDataRole.ToolTipRole)
    scores = [item.score for item in c.photos.items()]
    assert scores == sorted(scores, reverse=True)

    qtbot.keyClick(window.search, Qt.Key.Key_Escape)  # Escape clears: back to all photos
    wait_results(qtbot, window, "all")
    assert c.photos.rowCount() == 24 and window.search.text() == ""


def test_ctrl_f_focuses_the_search_bar(qtbot, make_window, color_library):
    window = make_window(color_library, wait_model=False)
    window.grid.setFocus()
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(window.search.hasFocus)


def test_a_stale_query_is_superseded_never_queued(qtbot, make_window, color_library):
    window = make_window(color_library, auto_index=False)  # no refresh after indexing asks for something else
    bridge = window.controller.bridge
    wait_results(qtbot, window, "all")
    delivered = []
    bridge.results.connect(lambda r: delivered.append(r.query.value))
    for text in ("red", "green", "blue", "yellow"):  # faster than any search answers
        bridge.request(Query("text", text))
    assert bridge.searching
    qtbot.waitUntil(lambda: not bridge.searching, timeout=30_000)  # nothing running, nothing waiting
    assert delivered == ["yellow"]  # "red" ran but its answer was stale; the others never ran


def test_right_click_find_similar_is_a_clearable_search(qtbot, make_window, color_library):
    window = make_window(color_library)
    c = window.controller
    wait_results(qtbot, window, "all")
    rect = window.grid.visualRect(c.photos.index(0, 0))
    source = c.photos.path(0)
    window.grid.customContextMenuRequested.emit(rect.center())
    menu = window.photo_actions.context_menu
    actions = {a.text(): a for a in menu.actions() if a.text()}
    assert {"Find similar", "Open", "Show in folder", "Copy path"} <= set(actions)
    assert actions["Find similar"].isEnabled()
    actions["Find similar"].trigger()
    menu.close()
    wait_results(qtbot, window, "similar")
    chip = window.top_bar.chip
    assert chip.isVisible() and chip.text() == f"Similar to {source.rsplit('/', 1)[1]}"
    assert source not in c.photos.paths()  # the photo itself is left out
    assert Counter(top_labels(window, 5))[label_of(source)] == 5

    chip.click()  # clearing the search shows the library again
    wait_results(qtbot, window, "all")
    assert not chip.isVisible() and c.photos.rowCount() == 24


def test_multi_selection_copies_every_path(qtbot, make_window, color_library):
    from PySide6.QtGui import QGuiApplication

    window = make_window(color_library, wait_model=False)
    c = window.controller
    wait_results(qtbot, window, "all")
    window.grid.selectAll()
    assert window.details.title.text() == "24 photos selected"
    rect = window.grid.visualRect(c.photos.index(2, 0))
    window.grid.customContextMenuRequested.emit(rect.center())
    menu = window.photo_actions.context_menu
    copy = next(a for a in menu.actions() if a.text() == "Copy 24 paths")
    copy.trigger()
    menu.close()
    assert QGuiApplication.clipboard().text().splitlines() == c.photos.paths()


def test_dropping_an_image_on_the_search_bar_searches_by_image(qtbot, make_window, color_library, tmp_path):
    from PIL import Image

    window = make_window(color_library)
    c = window.controller
    wait_results(qtbot, window, "all")
    twin = c.photos.path(7)
    outside = tmp_path / "elsewhere" / "query.png"  # the same picture, outside the library
    outside.parent.mkdir()
    Image.open(twin).save(outside)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(outside))])
    drop = QDropEvent(QPoint(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    window.search.dropEvent(drop)
    wait_results(qtbot, window, "similar")
    assert c.photos.path(0) == twin
    assert Counter(top_labels(window, 5))[label_of(twin)] == 5
    assert window.top_bar.chip.text() == "Similar to query.png"


def test_details_panel_shows_the_selected_photo(qtbot, make_window, color_library):
    import os

    from photosense.ui.widgets.details import human_size

    window = make_window(color_library, wait_model=False)
    c = window.controller
    wait_results(qtbot, window, "all")
    window.grid.setCurrentIndex(c.photos.index(3, 0))
    path = c.photos.path(3)
    qtbot.waitUntil(lambda: window.details.title.text() == os.path.basename(path), timeout=10_000)
    assert window.details.values["Dimensions"].text() == "48 × 48"
    assert window.details.values["Size"].text() == human_size(os.path.getsize(path))
    assert window.details.values["Folder"].toolTip() == os.path.dirname(path)
    assert window.details.values["Match"].text() == "—"  # browsing: no score


def test_enter_opens_in_the_system_viewer_and_space_previews(qtbot, make_window, color_library):
    from PySide6.QtCore import QObject, Slot
    from PySide6.QtGui import QDesktopServices

    class Viewer(QObject):  # Qt's own hook for where file URLs go
        def __init__(self) -> None:
            super().__init__()
            self.opened: list[str] = []

        @Slot(QUrl)
        def show(self, url: QUrl) -> None:
            self.opened.append(url.toLocalFile())

    viewer = Viewer()
    QDesktopServices.setUrlHandler("file", viewer, "show")
    try:
        window = make_window(color_library, wait_model=False)
        c = window.controller
        wait_results(qtbot, window, "all")
        window.grid.setFocus()
        window.grid.setCurrentIndex(c.photos.index(2, 0))
        qtbot.keyClick(window.grid, Qt.Key.Key_Return)
        assert viewer.opened == [c.photos.path(2)]
        qtbot.keyClick(window.grid, Qt.Key.Key_Space)
        preview = window.photo_actions.preview
        assert preview.path == c.photos.path(2)
        qtbot.waitUntil(lambda: preview.label.pixmap() is not None and not preview.label.pixmap().isNull(),
                        timeout=10_000)
        qtbot.keyClick(preview, Qt.Key.Key_Space)  # Space again closes it
        assert not preview.isVisible()
    finally:
        QDesktopServices.unsetUrlHandler("file")


def test_the_download_dialog_can_be_cancelled(qtbot, make_window, color_library):
    from PySide6.QtWidgets import QPushButton

    window = make_window(color_library, wait_model=False)
    window.controller.downloadSuspected.emit("ViT-B-32:laion2b_s34b_b79k")  # as while a pretrained model downloads
    dialog = window.model_dialog
    assert dialog.isVisible() and "Downloading the search model" in dialog.labelText()
    next(b for b in dialog.findChildren(QPushButton) if b.text() == "Cancel").click()
    assert window.model_dialog is None and window.controller.model_state == "failed"
    assert "unavailable" in window.search.placeholderText()
    assert "cancelled" in window.statusBar().currentMessage()
