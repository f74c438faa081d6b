"""Search as you type, stale queries, find similar and search by image, in the real main window."""
from __future__ import annotations

from collections import Counter

from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent

from conftest import label_of, wait_results
from photosense.ui.bridge import Query


def top_labels(window, k: int) -> list[str]:
    return [label_of(p) for p in window.photos.paths()[:k]]


def test_typing_a_query_fills_the_grid_with_the_right_photos(qtbot, make_window, indexed_library):
    window = make_window(indexed_library)
    wait_results(qtbot, window, "all")
    assert window.photos.rowCount() == 60
    qtbot.keyClicks(window.search, "sneaker")
    wait_results(qtbot, window, "text")
    assert window.query == Query("text", "sneaker")
    assert Counter(top_labels(window, 5))["sneaker"] >= 4
    assert "Match score" in window.photos.index(0, 0).data(Qt.ItemDataRole.ToolTipRole)
    scores = [s for _i, _p, s in window.photos.items()]
    assert scores == sorted(scores, reverse=True)

    qtbot.keyClick(window.search, Qt.Key.Key_Escape)  # Escape clears: back to all photos
    wait_results(qtbot, window, "all")
    assert window.photos.rowCount() == 60 and window.search.text() == ""


def test_ctrl_f_focuses_the_search_bar(qtbot, make_window, indexed_library):
    window = make_window(indexed_library, wait_model=False)
    window.grid.setFocus()
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(window.search.hasFocus)


def test_a_stale_query_is_superseded_never_queued(qtbot, make_window, indexed_library):
    window = make_window(indexed_library)
    wait_results(qtbot, window, "all")
    delivered = []
    window.bridge.results.connect(lambda r: delivered.append(r.query.value))
    for text in ("bag", "dress", "coat", "ankle boot"):  # faster than any search answers
        window.bridge.request(Query("text", text))
    qtbot.waitUntil(lambda: bool(delivered) and not window.bridge._in_flight, timeout=30_000)
    qtbot.wait(200)
    assert delivered == ["ankle boot"]  # "bag" ran but its answer was stale; the others never ran


def test_right_click_find_similar_is_a_clearable_search(qtbot, make_window, indexed_library):
    window = make_window(indexed_library)
    wait_results(qtbot, window, "all")
    rect = window.grid.visualRect(window.photos.index(0, 0))
    source = window.photos.path(0)
    window.grid.customContextMenuRequested.emit(rect.center())
    menu = window.context_menu
    actions = {a.text(): a for a in menu.actions() if a.text()}
    assert {"Find similar", "Open", "Show in folder", "Copy path"} <= set(actions)
    actions["Find similar"].trigger()
    menu.close()
    wait_results(qtbot, window, "similar")
    assert window.chip.isVisible() and window.chip.text() == f"Similar to {source.rsplit('/', 1)[1]}"
    assert source not in window.photos.paths()  # the photo itself is left out
    assert Counter(top_labels(window, 5))[label_of(source)] >= 4

    window.chip.click()  # clearing the search shows the library again
    wait_results(qtbot, window, "all")
    assert not window.chip.isVisible() and window.photos.rowCount() == 60


def test_multi_selection_copies_every_path(qtbot, make_window, indexed_library):
    from PySide6.QtGui import QGuiApplication

    window = make_window(indexed_library, wait_model=False)
    wait_results(qtbot, window, "all")
    window.grid.selectAll()
    assert window.details.title.text() == "60 photos selected"
    rect = window.grid.visualRect(window.photos.index(2, 0))
    window.grid.customContextMenuRequested.emit(rect.center())
    copy = next(a for a in window.context_menu.actions() if a.text() == "Copy 60 paths")
    copy.trigger()
    window.context_menu.close()
    assert QGuiApplication.clipboard().text().splitlines() == window.photos.paths()


def test_dropping_an_image_on_the_search_bar_searches_by_image(qtbot, make_window, indexed_library, tmp_path):
    from PIL import Image

    window = make_window(indexed_library)
    wait_results(qtbot, window, "all")
    twin = window.photos.path(7)
    outside = tmp_path / "elsewhere" / "query.png"  # the same picture, outside the library
    outside.parent.mkdir()
    Image.open(twin).save(outside)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(outside))])
    drop = QDropEvent(QPoint(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    window.search.dropEvent(drop)
    wait_results(qtbot, window, "similar")
    assert window.photos.path(0) == twin
    assert Counter(top_labels(window, 5))[label_of(twin)] >= 3
    assert window.chip.text() == "Similar to query.png"


def test_details_panel_shows_the_selected_photo(qtbot, make_window, indexed_library):
    window = make_window(indexed_library, wait_model=False)
    wait_results(qtbot, window, "all")
    window.grid.setCurrentIndex(window.photos.index(3, 0))
    name = window.photos.path(3).rsplit("/", 1)[1]
    qtbot.waitUntil(lambda: window.details.title.text() == name, timeout=10_000)
    assert window.details.values["Dimensions"].text() == "96 × 96"
    assert window.details.values["Size"].text().endswith("KB")


def test_enter_opens_in_the_system_viewer_and_space_previews(qtbot, make_window, indexed_library):
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
        window = make_window(indexed_library, wait_model=False)
        wait_results(qtbot, window, "all")
        window.grid.setFocus()
        window.grid.setCurrentIndex(window.photos.index(2, 0))
        qtbot.keyClick(window.grid, Qt.Key.Key_Return)
        assert viewer.opened == [window.photos.path(2)]
        qtbot.keyClick(window.grid, Qt.Key.Key_Space)
        preview = window.preview
        qtbot.waitUntil(lambda: preview.label.pixmap() is not None and not preview.label.pixmap().isNull(),
                        timeout=10_000)
        qtbot.keyClick(preview, Qt.Key.Key_Space)  # Space again closes it
        assert not preview.isVisible()
    finally:
        QDesktopServices.unsetUrlHandler("file")


def test_the_download_dialog_can_be_cancelled(qtbot, make_window, indexed_library):
    window = make_window(indexed_library, wait_model=False)
    window.bridge.model_state = "loading"  # as while a pretrained model downloads
    window._maybe_show_download("ViT-B-32:laion2b_s34b_b79k")
    dialog = window.model_dialog
    assert dialog.isVisible() and "Downloading the search model" in dialog.labelText()
    from PySide6.QtWidgets import QPushButton

    next(b for b in dialog.findChildren(QPushButton) if b.text() == "Cancel").click()
    assert window.model_dialog is None
    assert "unavailable" in window.search.placeholderText()
    assert "cancelled" in window.statusBar().currentMessage()
