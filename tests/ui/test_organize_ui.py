"""Albums, tags and prompt sets in the real main window, with the tiny model on Fashion-style photos."""
from __future__ import annotations

from collections import Counter

import pytest
from PySide6.QtCore import Qt

from conftest import label_of, wait_results
from helpers import TINY_MODEL

WARDROBE = """name = "wardrobe"
[labels.sneaker]
prompts = ["sneaker"]
[labels.sandal]
prompts = ["sandal"]
[labels.bag]
prompts = ["bag", "handbag"]
"""


@pytest.fixture
def organized_library(tmp_path, indexed_library):
    """The 60-photo library with the "wardrobe" set applied and two albums."""
    from photosense import Library

    toml = tmp_path / "wardrobe.toml"
    toml.write_text(WARDROBE)
    with Library.open(indexed_library, model=TINY_MODEL) as lib:
        lib.tags.apply(toml)
        lib.albums.create("Sneakers", "a photo of a sneaker")
        lib.albums.create("Picks", manual=True)
        lib.albums.pin("Picks", [p for _i, p in lib.photos()][:3])
    return indexed_library


def sidebar_rows(window, kind: str) -> dict:
    return {item.text(0): item for item in window.sidebar.rows(kind)}


def click_row(qtbot, window, item) -> None:
    tree = window.sidebar.tree
    tree.scrollToItem(item)
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=tree.visualItemRect(item).center())


def sidebar_menu(window, item) -> dict:
    tree = window.sidebar.tree
    tree.scrollToItem(item)
    tree.customContextMenuRequested.emit(tree.visualItemRect(item).center())
    menu = window.sidebar.context_menu
    return {a.text(): a for a in menu.actions() if a.text()}


def photo_menu(window, row: int) -> dict:
    rect = window.grid.visualRect(window.photos.index(row, 0))
    window.grid.customContextMenuRequested.emit(rect.center())
    return {a.text(): a for a in window.context_menu.actions() if a.text()}


def idle(qtbot, window, timeout: int = 60_000) -> None:
    """Wait until the tagging/album work and the sidebar refresh after it are over."""
    qtbot.waitUntil(lambda: window.organize._long == 0 and window.pools.organize.activeThreadCount() == 0
                    and window.pools.io.activeThreadCount() == 0, timeout=timeout)
    qtbot.wait(50)


def test_clicking_an_album_shows_its_photos(qtbot, make_window, organized_library):
    window = make_window(organized_library, wait_model=False)
    wait_results(qtbot, window, "all")
    qtbot.waitUntil(lambda: "Sneakers" in sidebar_rows(window, "album"), timeout=10_000)
    lib = window.bridge.library
    expected = [h.path for h in lib.albums.photos("Sneakers")]
    assert 3 <= len(expected) < 60
    row = sidebar_rows(window, "album")["Sneakers"]
    assert row.data(0, Qt.ItemDataRole.UserRole + 3) == len(expected)  # the count beside the name
    click_row(qtbot, window, row)
    wait_results(qtbot, window, "album")
    assert window.photos.paths() == expected
    assert Counter(label_of(p) for p in expected).most_common(1)[0][0] == "sneaker"
    assert window.count_label.text() == f"{len(expected)} photos"

    click_row(qtbot, window, sidebar_rows(window, "album")["Picks"])  # the manual album: only its pins
    wait_results(qtbot, window, "album")
    assert sorted(window.photos.paths()) == sorted(p for _i, p in lib.photos()[:3])


def test_save_search_as_album(qtbot, make_window, indexed_library):
    window = make_window(indexed_library)
    wait_results(qtbot, window, "all")
    assert not window.save_album_button.isEnabled()  # nothing to save while browsing
    qtbot.keyClicks(window.search, "sneaker")
    wait_results(qtbot, window, "text")
    assert window.save_album_button.isEnabled()
    window.save_album_button.click()
    dialog = window.album_actions.dialog
    assert dialog.textValue() == "Sneaker"
    dialog.setTextValue("Running shoes")
    dialog.accept()
    qtbot.waitUntil(lambda: "Running shoes" in sidebar_rows(window, "album"), timeout=60_000)
    album = window.bridge.library.albums.get("Running shoes")
    assert album.kind == "smart" and album.description == "sneaker" and album.count >= 3
    wait_results(qtbot, window, "album")  # the new album is selected and shown
    assert window.search.text() == ""
    assert Counter(label_of(p) for p in window.photos.paths())["sneaker"] >= 0.8 * window.photos.rowCount()


def test_rename_edit_and_delete_an_album(qtbot, make_window, organized_library):
    window = make_window(organized_library, wait_model=False)
    wait_results(qtbot, window, "all")
    qtbot.waitUntil(lambda: "Sneakers" in sidebar_rows(window, "album"), timeout=10_000)
    actions = sidebar_menu(window, sidebar_rows(window, "album")["Sneakers"])
    assert {"Rename…", "Edit description and filters…", "Delete album"} <= set(actions)
    actions["Rename…"].trigger()
    window.sidebar.context_menu.close()
    dialog = window.album_actions.dialog
    dialog.setTextValue("Trainers")
    dialog.accept()
    qtbot.waitUntil(lambda: "Trainers" in sidebar_rows(window, "album"), timeout=30_000)
    assert "Sneakers" not in sidebar_rows(window, "album")

    sidebar_menu(window, sidebar_rows(window, "album")["Trainers"])["Edit description and filters…"].trigger()
    window.sidebar.context_menu.close()
    dialog = window.album_actions.dialog
    assert dialog.description.text() == "a photo of a sneaker"
    dialog.description.setText("a photo of a bag")
    dialog.buttons.accepted.emit()
    idle(qtbot, window)
    bags = window.bridge.library.albums.photos("Trainers")
    assert Counter(label_of(h.path) for h in bags).most_common(1)[0][0] == "bag"
    qtbot.waitUntil(lambda: sidebar_rows(window, "album")["Trainers"].data(0, Qt.ItemDataRole.UserRole + 3)
                    == len(bags))

    sidebar_menu(window, sidebar_rows(window, "album")["Trainers"])["Delete album"].trigger()
    window.sidebar.context_menu.close()
    box = window.album_actions.dialog
    from PySide6.QtWidgets import QMessageBox

    box.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: "Trainers" not in sidebar_rows(window, "album"), timeout=30_000)
    assert [a.name for a in window.bridge.library.albums.list()] == ["Picks"]
    assert window.photos.rowCount() == 60 or window.query.kind == "all"


def test_tag_counts_in_the_sidebar_and_click_to_filter(qtbot, make_window, organized_library):
    window = make_window(organized_library, wait_model=False)
    wait_results(qtbot, window, "all")
    qtbot.waitUntil(lambda: bool(sidebar_rows(window, "tag")), timeout=10_000)
    counts = {f"{c['set']}/{c['label']}": c["count"] for c in window.bridge.library.tags.counts()}
    shown = {item.data(0, Qt.ItemDataRole.UserRole + 2): item.data(0, Qt.ItemDataRole.UserRole + 3)
             for item in window.sidebar.rows("tag")}
    assert shown == counts and counts["wardrobe/sneaker"] >= 3
    assert [i.text(0) for i in window.sidebar.rows("set")] == ["wardrobe"]
    click_row(qtbot, window, sidebar_rows(window, "tag")["sneaker"])
    wait_results(qtbot, window, "tag")
    assert window.query.value == "wardrobe/sneaker"
    assert window.photos.rowCount() == counts["wardrobe/sneaker"]
    assert Counter(label_of(p) for p in window.photos.paths())["sneaker"] >= 0.8 * window.photos.rowCount()


def test_prompt_set_editor_previews_then_saving_tags_the_photos(qtbot, make_window, indexed_library):
    window = make_window(indexed_library)
    wait_results(qtbot, window, "all")
    click_row(qtbot, window, window.sidebar.rows("action")[1])  # "New prompt set…"
    editor = window.editor
    assert editor is not None and editor.isVisible()
    editor.name.setFocus()
    qtbot.keyClicks(editor.name, "shoes")
    editor.label_name.selectAll()
    qtbot.keyClicks(editor.label_name, "sneaker")
    qtbot.keyClicks(editor.prompts, "sneaker")
    qtbot.keyClick(editor.prompts, Qt.Key.Key_Return)
    qtbot.keyClicks(editor.prompts, "running shoe")
    qtbot.waitUntil(lambda: "sneaker" in editor.previews, timeout=60_000)
    top = [label_of(p) for p in editor.matches.paths()]
    assert top and Counter(top)["sneaker"] >= 0.8 * len(top)
    assert editor.preview_title.text() == "TOP MATCHES FOR “SNEAKER”"

    editor.add_button.click()  # a second label, previewed in its turn
    editor.label_name.selectAll()
    qtbot.keyClicks(editor.label_name, "ankle boot")
    qtbot.waitUntil(lambda: "ankle boot" in editor.previews, timeout=60_000)
    assert Counter(label_of(p) for p in editor.matches.paths())["ankle-boot"] >= 0.8 * editor.matches.rowCount()
    assert "[labels.\"ankle boot\"]" in editor.source()

    editor.save_button.click()
    qtbot.waitUntil(lambda: window.editor is None, timeout=60_000)
    qtbot.waitUntil(lambda: "shoes" in [i.text(0) for i in window.sidebar.rows("set")], timeout=30_000)
    counts = {c["label"]: c["count"] for c in window.bridge.library.tags.counts() if c["set"] == "shoes"}
    assert counts["sneaker"] >= 3 and counts["ankle boot"] >= 3
    assert "labels applied to 60 photos" in window.statusBar().currentMessage()


def test_prompt_set_editor_shows_problems_and_opens_files(qtbot, make_window, indexed_library, tmp_path):
    window = make_window(indexed_library)
    editor = window.open_prompt_set_editor()
    editor.save_button.click()
    assert "name" in editor.problem.text() and window.editor is editor  # not saved
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[labels.a]\nthreshold = 3\n')
    editor.open_file(str(bad))
    qtbot.waitUntil(lambda: "threshold" in editor.problem.text(), timeout=10_000)
    good = tmp_path / "wardrobe.toml"
    good.write_text(WARDROBE)
    editor.open_file(str(good))
    qtbot.waitUntil(lambda: editor.label_list.count() == 3, timeout=10_000)
    assert editor.name.text() == "wardrobe" and editor.label_name.text() == "sneaker"
    qtbot.waitUntil(lambda: editor.start_from.count() > 4, timeout=10_000)  # the bundled sets, to start from
    editor.reject()


def test_default_prompt_sets_apply_from_the_sidebar(qtbot, make_window, indexed_library):
    window = make_window(indexed_library)
    wait_results(qtbot, window, "all")
    assert "Apply the default prompt sets" in sidebar_menu(window, window.sidebar.tags_header)
    window.sidebar.context_menu.close()
    click_row(qtbot, window, window.sidebar.rows("action")[-1])  # "Use the default sets", while there are none
    assert window.task_bar.isVisibleTo(window)
    qtbot.waitUntil(lambda: len(window.sidebar.rows("set")) >= 4, timeout=120_000)
    assert {"scenes", "subjects", "documents", "events"} <= {i.text(0) for i in window.sidebar.rows("set")}
    idle(qtbot, window)
    assert not window.task_bar.isVisibleTo(window)


def test_accept_and_reject_in_the_details_panel_persist(qtbot, make_window, organized_library, tmp_path):
    from photosense import Library

    window = make_window(organized_library)
    wait_results(qtbot, window, "all")
    lib = window.bridge.library
    tagged = [p for p, tags in lib.tags.all() if any(t.label == "sneaker" for t in tags)]
    path = tagged[0]
    window.grid.setCurrentIndex(window.photos.index(window.photos.paths().index(path), 0))
    qtbot.waitUntil(lambda: window.details.tags.row("sneaker") is not None, timeout=10_000)
    row = window.details.tags.row("sneaker")
    assert row.score.text() and not row.accept.isChecked()
    qtbot.mouseClick(row.reject, Qt.MouseButton.LeftButton)
    idle(qtbot, window)
    qtbot.waitUntil(lambda: window.details.tags.row("sneaker").tag.rejected, timeout=10_000)
    assert window.details.tags.row("sneaker").reject.isChecked()
    window.details.tags.add.setText("favourite shoe")  # a tag of the user's own, accepted
    qtbot.keyClick(window.details.tags.add, Qt.Key.Key_Return)
    idle(qtbot, window)
    qtbot.waitUntil(lambda: window.details.tags.row("favourite shoe") is not None, timeout=10_000)
    assert window.details.tags.row("favourite shoe").accept.isChecked()
    window.close()

    toml = tmp_path / "again.toml"
    toml.write_text(WARDROBE)
    with Library.open(organized_library, model=TINY_MODEL) as again:
        again.tags.apply(toml)  # re-tagging never overwrites the user's choices
        tags = {t.label: t for t in again.tags.of(path, include_rejected=True)}
    assert tags["sneaker"].rejected and tags["sneaker"].source == "manual"
    assert tags["favourite shoe"].source == "manual" and not tags["favourite shoe"].rejected


def test_add_to_album_from_the_context_menu(qtbot, make_window, organized_library):
    window = make_window(organized_library, wait_model=False)
    wait_results(qtbot, window, "all")
    qtbot.waitUntil(lambda: "Picks" in sidebar_rows(window, "album"), timeout=10_000)
    for row in (10, 11, 12):
        window.grid.selectionModel().select(window.photos.index(row, 0),
                                            window.grid.selectionModel().SelectionFlag.Select)
    chosen = [window.photos.path(r) for r in (10, 11, 12)]
    menu = photo_menu(window, 10)
    sub = {a.text(): a for a in menu["Add to album"].menu().actions() if a.text()}
    assert {"Picks", "Sneakers", "New album…"} <= set(sub)
    sub["Picks"].trigger()
    window.context_menu.close()
    idle(qtbot, window)
    picks = {h.path for h in window.bridge.library.albums.photos("Picks")}
    assert set(chosen) <= picks and len(picks) == 6

    sub = {a.text(): a for a in photo_menu(window, 10)["Add to album"].menu().actions() if a.text()}
    sub["New album…"].trigger()  # a new manual album holding the selection
    window.context_menu.close()
    dialog = window.album_actions.dialog
    assert dialog.manual.isChecked()
    dialog.name.setText("Trip")
    dialog.buttons.accepted.emit()
    qtbot.waitUntil(lambda: "Trip" in sidebar_rows(window, "album"), timeout=30_000)
    wait_results(qtbot, window, "album")
    assert sorted(window.photos.paths()) == sorted(chosen)

    window.grid.selectAll()  # in a manual album, "Remove from" forgets photos
    photo_menu(window, 0)["Remove from “Trip”"].trigger()
    window.context_menu.close()
    qtbot.waitUntil(lambda: window.photos.rowCount() == 0, timeout=30_000)
    assert window.empty.title.text() == "This album is empty"


def test_search_keeps_to_the_cut_off_unless_show_all(qtbot, make_window, indexed_library):
    window = make_window(indexed_library)
    wait_results(qtbot, window, "all")
    assert "folder:" in window.search.toolTip() and "after:" in window.search.toolTip()
    assert not window.show_all_button.isVisible()
    qtbot.keyClicks(window.search, "sneaker")
    wait_results(qtbot, window, "text")
    relevant = window.photos.rowCount()
    assert 3 <= relevant < 60 and window.count_label.text() == f"{relevant} relevant results"
    assert window.show_all_button.isVisible()
    window.show_all_button.click()
    qtbot.waitUntil(lambda: window.shown == window.query and window.query.show_all, timeout=30_000)
    assert window.photos.rowCount() == 60 and window.count_label.text() == "60 results"
    assert window.photos.paths()[:3] == [p for _i, p, _s in window.photos.items()][:3]
