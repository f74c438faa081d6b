"""Albums, tags and prompt sets in the real main window, with the fake colour embedder on colour photos."""
from __future__ import annotations

from collections import Counter

import pytest
from PySide6.QtCore import Qt

from conftest import label_of, wait_results
from fakes import NAME as FAKE_MODEL

PALETTE = """name = "palette"
[labels.red]
prompts = ["red"]
[labels.blue]
prompts = ["blue", "a blue photo"]
[labels.purple]
"""


@pytest.fixture
def organized_library(tmp_path, color_library):
    """The 24-photo colour library with the "palette" set applied and two albums."""
    from photosense import Library

    toml = tmp_path / "palette.toml"
    toml.write_text(PALETTE)
    with Library.open(color_library, model=FAKE_MODEL) as lib:
        lib.tags.apply(toml)
        lib.albums.create("Reds", "a photo of red")
        lib.albums.create("Picks", manual=True)
        lib.albums.pin("Picks", [p for _i, p in lib.photos()][:3])
    return color_library


def sidebar_rows(window, kind: str) -> dict:
    return {item.text(0): item for item in window.sidebar.rows(kind)}


def album_count(window, name: str):
    row = sidebar_rows(window, "album").get(name)
    return None if row is None else row.data(0, Qt.ItemDataRole.UserRole + 3)


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
    rect = window.grid.visualRect(window.controller.photos.index(row, 0))
    window.grid.customContextMenuRequested.emit(rect.center())
    return {a.text(): a for a in window.photo_actions.context_menu.actions() if a.text()}


def colors(window) -> Counter:
    return Counter(label_of(p) for p in window.controller.photos.paths())


def test_clicking_an_album_shows_its_photos(qtbot, make_window, organized_library):
    window = make_window(organized_library, wait_model=False)
    c = window.controller
    wait_results(qtbot, window, "all")
    qtbot.waitUntil(lambda: "Reds" in sidebar_rows(window, "album"), timeout=10_000)
    expected = [h.path for h in c.library.albums.photos("Reds")]
    assert len(expected) == 6
    assert album_count(window, "Reds") == 6  # the count beside the name
    click_row(qtbot, window, sidebar_rows(window, "album")["Reds"])
    wait_results(qtbot, window, "album")
    assert c.photos.paths() == expected and colors(window) == {"red": 6}
    assert window.top_bar.count_label.text() == "6 photos"

    click_row(qtbot, window, sidebar_rows(window, "album")["Picks"])  # the manual album: only its pins
    wait_results(qtbot, window, "album")
    assert sorted(c.photos.paths()) == sorted(p for _i, p in c.library.photos()[:3])


def test_save_search_as_album(qtbot, make_window, color_library):
    window = make_window(color_library)
    c = window.controller
    wait_results(qtbot, window, "all")
    assert not window.top_bar.save_album_button.isEnabled()  # nothing to save while browsing
    qtbot.keyClicks(window.search, "blue")
    wait_results(qtbot, window, "text")
    assert window.top_bar.save_album_button.isEnabled()
    window.top_bar.save_album_button.click()
    dialog = window.album_actions.dialog
    assert dialog.textValue() == "Blue"
    dialog.setTextValue("Sky")
    dialog.accept()
    qtbot.waitUntil(lambda: "Sky" in sidebar_rows(window, "album"), timeout=30_000)
    album = c.library.albums.get("Sky")
    assert album.kind == "smart" and album.description == "blue" and album.count == 6
    wait_results(qtbot, window, "album")  # the new album is selected and shown
    assert c.query.value == str(album.id) and window.sidebar.tree.currentItem().text(0) == "Sky"
    assert window.search.text() == "" and colors(window) == {"blue": 6}


def test_rename_edit_and_delete_an_album(qtbot, make_window, organized_library):
    window = make_window(organized_library, wait_model=False)
    c = window.controller
    wait_results(qtbot, window, "all")
    qtbot.waitUntil(lambda: "Reds" in sidebar_rows(window, "album"), timeout=10_000)
    actions = sidebar_menu(window, sidebar_rows(window, "album")["Reds"])
    assert {"Rename…", "Edit description and filters…", "Delete album"} <= set(actions)
    actions["Rename…"].trigger()
    window.sidebar.context_menu.close()
    dialog = window.album_actions.dialog
    dialog.setTextValue("Scarlets")
    dialog.accept()
    qtbot.waitUntil(lambda: "Scarlets" in sidebar_rows(window, "album"), timeout=30_000)
    assert "Reds" not in sidebar_rows(window, "album")

    click_row(qtbot, window, sidebar_rows(window, "album")["Scarlets"])
    wait_results(qtbot, window, "album")
    sidebar_menu(window, sidebar_rows(window, "album")["Scarlets"])["Edit description and filters…"].trigger()
    window.sidebar.context_menu.close()
    dialog = window.album_actions.dialog
    assert dialog.description.text() == "a photo of red"
    dialog.description.setText("a photo of yellow")
    dialog.buttons.accepted.emit()
    qtbot.waitUntil(lambda: colors(window) == {"yellow": 6}, timeout=30_000)  # the shown album, re-matched
    assert album_count(window, "Scarlets") == 6
    assert {label_of(h.path) for h in c.library.albums.photos("Scarlets")} == {"yellow"}

    sidebar_menu(window, sidebar_rows(window, "album")["Scarlets"])["Delete album"].trigger()
    window.sidebar.context_menu.close()
    box = window.album_actions.dialog
    from PySide6.QtWidgets import QMessageBox

    box.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: "Scarlets" not in sidebar_rows(window, "album"), timeout=30_000)
    assert [a.name for a in c.library.albums.list()] == ["Picks"]
    wait_results(qtbot, window, "all")  # the album shown is gone: back to every photo
    assert c.photos.rowCount() == 24 and window.sidebar.tree.currentItem() is window.sidebar.all_photos


def test_tag_counts_in_the_sidebar_and_click_to_filter(qtbot, make_window, organized_library):
    window = make_window(organized_library, wait_model=False)
    c = window.controller
    wait_results(qtbot, window, "all")
    qtbot.waitUntil(lambda: bool(sidebar_rows(window, "tag")), timeout=10_000)
    counts = {f"{r['set']}/{r['label']}": r["count"] for r in c.library.tags.counts()}
    shown = {item.data(0, Qt.ItemDataRole.UserRole + 2): item.data(0, Qt.ItemDataRole.UserRole + 3)
             for item in window.sidebar.rows("tag")}
    assert shown == counts == {"palette/red": 6, "palette/blue": 6}  # purple tags nothing
    assert [i.text(0) for i in window.sidebar.rows("set")] == ["palette"]
    click_row(qtbot, window, sidebar_rows(window, "tag")["blue"])
    wait_results(qtbot, window, "tag")
    assert c.query.value == "palette/blue" and colors(window) == {"blue": 6}


def test_prompt_set_editor_previews_then_saving_tags_the_photos(qtbot, make_window, color_library):
    window = make_window(color_library)
    c = window.controller
    wait_results(qtbot, window, "all")
    click_row(qtbot, window, window.sidebar.rows("action")[1])  # "New prompt set…"
    editor = window.editor
    assert editor is not None and editor.isVisible()
    editor.name.setFocus()
    qtbot.keyClicks(editor.name, "shades")
    editor.label_name.selectAll()
    qtbot.keyClicks(editor.label_name, "warm")
    qtbot.keyClicks(editor.prompts, "yellow")
    qtbot.keyClick(editor.prompts, Qt.Key.Key_Return)
    qtbot.keyClicks(editor.prompts, "a yellow photo")
    qtbot.waitUntil(lambda: "warm" in editor.previews and not editor.previewing, timeout=30_000)
    assert Counter(label_of(p) for p in editor.matches.paths()) == {"yellow": 6}
    assert editor.preview_title.text() == "TOP MATCHES FOR “WARM”"

    editor.add_button.click()  # a second label, previewed in its turn
    editor.label_name.selectAll()
    qtbot.keyClicks(editor.label_name, "green")
    qtbot.waitUntil(lambda: "green" in editor.previews and not editor.previewing, timeout=30_000)
    assert Counter(label_of(p) for p in editor.matches.paths()) == {"green": 6}
    assert "[labels.\"green\"]" in editor.source()

    editor.save_button.click()
    qtbot.waitUntil(lambda: window.editor is None, timeout=30_000)
    qtbot.waitUntil(lambda: "shades" in [i.text(0) for i in window.sidebar.rows("set")], timeout=30_000)
    counts = {r["label"]: r["count"] for r in c.library.tags.counts() if r["set"] == "shades"}
    assert counts == {"warm": 6, "green": 6}
    assert "labels applied to 24 photos" in window.statusBar().currentMessage()


def test_prompt_set_editor_shows_problems_and_opens_files(qtbot, make_window, color_library, tmp_path):
    window = make_window(color_library)
    editor = window.open_prompt_set_editor()
    editor.save_button.click()
    assert "name" in editor.problem.text() and window.editor is editor  # not saved
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[labels.a]\nthreshold = 3\n')
    editor.open_file(str(bad))
    qtbot.waitUntil(lambda: "threshold" in editor.problem.text(), timeout=10_000)
    good = tmp_path / "palette.toml"
    good.write_text(PALETTE)
    editor.open_file(str(good))
    qtbot.waitUntil(lambda: editor.label_list.count() == 3, timeout=10_000)
    assert editor.name.text() == "palette" and editor.label_name.text() == "red"
    qtbot.waitUntil(lambda: editor.start_from.count() > 4, timeout=10_000)  # the bundled sets, to start from
    editor.reject()


def test_default_prompt_sets_apply_from_the_sidebar(qtbot, make_window, color_library):
    window = make_window(color_library)
    wait_results(qtbot, window, "all")
    assert "Apply the default prompt sets" in sidebar_menu(window, window.sidebar.tags_header)
    window.sidebar.context_menu.close()
    click_row(qtbot, window, window.sidebar.rows("action")[-1])  # "Use the default sets", while there are none
    assert window.task_bar.isVisibleTo(window) and window.task_label.text().startswith("Tagging photos")
    qtbot.waitUntil(lambda: len(window.sidebar.rows("set")) >= 4, timeout=60_000)
    assert {"scenes", "subjects", "documents", "events"} <= {i.text(0) for i in window.sidebar.rows("set")}
    qtbot.waitUntil(lambda: not window.task_bar.isVisibleTo(window), timeout=30_000)
    assert "Default prompt sets applied" in window.statusBar().currentMessage()


def test_accept_and_reject_in_the_details_panel_persist(qtbot, make_window, organized_library, tmp_path):
    from photosense import Library

    window = make_window(organized_library)
    c = window.controller
    wait_results(qtbot, window, "all")
    tagged = [p for p, tags in c.library.tags.all() if any(t.label == "blue" for t in tags)]
    path = tagged[0]
    window.grid.setCurrentIndex(c.photos.index(c.photos.row_of(path), 0))
    tags = window.details.tags
    qtbot.waitUntil(lambda: tags.row("blue") is not None, timeout=10_000)
    row = tags.row("blue")
    assert row.score.text() and not row.accept.isChecked()
    qtbot.mouseClick(row.reject, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tags.row("blue") is not row and tags.row("blue").tag.rejected, timeout=10_000)
    assert tags.row("blue").reject.isChecked()  # the library's answer, reloaded
    tags.add.setText("favourite")  # a tag of the user's own, accepted
    qtbot.keyClick(tags.add, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: tags.row("favourite") is not None, timeout=10_000)
    assert tags.row("favourite").accept.isChecked()
    qtbot.waitUntil(lambda: not c.organize.working, timeout=10_000)
    window.close()

    toml = tmp_path / "again.toml"
    toml.write_text(PALETTE)
    with Library.open(organized_library) as again:
        again.tags.apply(toml)  # re-tagging never overwrites the user's choices
        stored = {t.label: t for t in again.tags.of(path, include_rejected=True)}
    assert stored["blue"].rejected and stored["blue"].source == "manual"
    assert stored["favourite"].source == "manual" and not stored["favourite"].rejected


def test_add_to_album_from_the_context_menu(qtbot, make_window, organized_library):
    window = make_window(organized_library, wait_model=False)
    c = window.controller
    wait_results(qtbot, window, "all")
    qtbot.waitUntil(lambda: "Picks" in sidebar_rows(window, "album"), timeout=10_000)
    for row in (10, 11, 12):
        window.grid.selectionModel().select(c.photos.index(row, 0),
                                            window.grid.selectionModel().SelectionFlag.Select)
    chosen = [c.photos.path(r) for r in (10, 11, 12)]
    menu = photo_menu(window, 10)
    sub = {a.text(): a for a in menu["Add to album"].menu().actions() if a.text()}
    assert {"Picks", "Reds", "New album…"} <= set(sub)
    sub["Picks"].trigger()
    window.photo_actions.context_menu.close()
    qtbot.waitUntil(lambda: album_count(window, "Picks") == 6, timeout=30_000)
    assert set(chosen) <= {h.path for h in c.library.albums.photos("Picks")}

    sub = {a.text(): a for a in photo_menu(window, 10)["Add to album"].menu().actions() if a.text()}
    sub["New album…"].trigger()  # a new manual album holding the selection
    window.photo_actions.context_menu.close()
    dialog = window.album_actions.dialog
    assert dialog.manual.isChecked()
    dialog.name.setText("Trip")
    dialog.buttons.accepted.emit()
    qtbot.waitUntil(lambda: "Trip" in sidebar_rows(window, "album"), timeout=30_000)
    wait_results(qtbot, window, "album")
    assert sorted(c.photos.paths()) == sorted(chosen)

    window.grid.selectAll()  # in a manual album, "Remove from" forgets photos
    photo_menu(window, 0)["Remove from “Trip”"].trigger()
    window.photo_actions.context_menu.close()
    qtbot.waitUntil(lambda: c.photos.rowCount() == 0, timeout=30_000)
    assert window.empty.title.text() == "This album is empty" and window.stack.currentWidget() is window.empty


def test_search_keeps_to_the_cut_off_unless_show_all(qtbot, make_window, color_library):
    window = make_window(color_library)
    c, top = window.controller, window.top_bar
    wait_results(qtbot, window, "all")
    assert "folder:" in window.search.toolTip() and "after:" in window.search.toolTip()
    assert not top.show_all_button.isVisible()
    qtbot.keyClicks(window.search, "green")
    wait_results(qtbot, window, "text")
    assert c.photos.rowCount() == 6 and top.count_label.text() == "6 relevant results"
    assert top.show_all_button.isVisible()
    top.show_all_button.click()
    qtbot.waitUntil(lambda: c.shown == c.query and c.query.show_all, timeout=30_000)
    assert c.photos.rowCount() == 24 and top.count_label.text() == "24 results"
    assert top.show_all_button.text() == "Only relevant"
    assert [label_of(p) for p in c.photos.paths()[:6]] == ["green"] * 6  # the relevant ones first


def test_prompt_set_editor_flags_a_weak_prompt_with_its_reason(qtbot, make_window, color_library):
    window = make_window(color_library)
    editor = window.open_prompt_set_editor()
    qtbot.keyClicks(editor.name, "weak")
    editor.label_name.selectAll()
    qtbot.keyClicks(editor.label_name, "warm")
    qtbot.keyClicks(editor.prompts, "yellow")
    qtbot.keyClick(editor.prompts, Qt.Key.Key_Return)
    qtbot.keyClicks(editor.prompts, "thing")  # a generic word: the fake model cannot ground it
    qtbot.waitUntil(lambda: "warm" in editor.previews and not editor.previewing, timeout=30_000)
    qtbot.waitUntil(lambda: "Weak prompt “thing”" in editor.preview_status.text(), timeout=10_000)
    assert "yellow" not in "".join(editor.weak.get("warm", []))
