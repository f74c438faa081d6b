"""The Duplicates view in the real window, on real files and the fake colour embedder: the sidebar entry and its
count (found on a worker, with a busy indicator), groups side by side with their differences, changing the
keeper, the confirmed trash (into a private desktop trash), undo, bursts as stacks, and short error messages."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from photosense.ui.duplicate_groups import trash_plan, trashes_one_group
from photosense.ui.widgets.sidebar import CountRole

COPIES = ("red_copy", "blue_small", "blue_png")  # what "Trash all suggested" takes


def settled(window) -> bool:
    """The Duplicates view is shown, its groups are found, nothing runs and every thumbnail has arrived."""
    c, view = window.controller, window.duplicates_view
    return (c.page[0] == "duplicates" and c.duplicates.groups is not None and not c.duplicates.busy
            and view.thumbnails_pending() == 0 and c.shown == c.query)


def open_duplicates(qtbot, window):
    window.sidebar.tree.setCurrentItem(window.sidebar.duplicates)  # as a click on the row selects it
    qtbot.waitUntil(lambda: settled(window), timeout=30_000)
    return window.duplicates_view


def card_of(view, kind: str):
    return next(card for card in view.cards if card.group.kind == kind)


def files_in(trash: Path) -> list[str]:
    return sorted(os.listdir(trash / "files")) if (trash / "files").is_dir() else []


def test_the_sidebar_counts_the_groups_found_on_a_worker(qtbot, make_window, duplicate_library, monkeypatch):
    from photosense.services.duplicates import Duplicates

    gate, threads = threading.Event(), []
    real = Duplicates.groups

    def slow_groups(self):
        threads.append(threading.current_thread() is threading.main_thread())
        assert gate.wait(30), "the test never opened the gate"
        return real(self)

    monkeypatch.setattr(Duplicates, "groups", slow_groups)
    window = make_window(duplicate_library, auto_index=False)
    sidebar, c = window.sidebar, window.controller
    assert sidebar.library_header.child(1) is sidebar.duplicates and sidebar.duplicates.text(0) == "Duplicates"
    qtbot.waitUntil(lambda: bool(threads))  # finding runs, and the window answers meanwhile
    assert threads == [False] and c.duplicates.finding
    assert sidebar.duplicates.data(0, CountRole) == "…"
    window.sidebar.tree.setCurrentItem(sidebar.duplicates)
    view = window.duplicates_view
    assert window.stack.currentWidget() is view and not window.details.isVisible()
    assert view.busy_bar.isVisible() and view.busy_label.text() == "Looking for duplicates…"
    assert view.empty.title.text() == "Looking for duplicates…"
    gate.set()
    qtbot.waitUntil(lambda: settled(window), timeout=30_000)
    assert sidebar.duplicates.data(0, CountRole) == 3 and not view.busy_bar.isVisible()
    window.sidebar.select_all_photos()  # back to the grid
    qtbot.waitUntil(lambda: c.page[0] == "grid" and window.stack.currentWidget() is window.grid)
    assert window.details.isVisible()


def test_groups_side_by_side_with_their_differences_highlighted(qtbot, make_window, duplicate_library,
                                                               duplicate_shots):
    window = make_window(duplicate_library, auto_index=False)
    view = open_duplicates(qtbot, window)
    s = duplicate_shots
    assert [card.title.text() for card in view.cards] == ["Exact copies · 2 photos", "Near duplicates · 3 photos",
                                                           "Burst: 3 shots"]
    near = card_of(view, "near")
    assert [t.shot.path for t in near.tiles][0] == s["blue"]  # the suggested keeper first
    keeper, *others = near.tiles
    assert keeper.badge.text() == "✓ Keep · suggested" and not keeper.keep_button.isVisible()
    assert all(t.badge.text() == "Copy · to trash" and t.keep_button.isVisible() for t in others)
    assert near.differs.text() == "Differ in size, resolution, format, date"

    def highlighted(name: str) -> list[str]:  # the facts unlike the keeper's (bold amber)
        return [f for f, label in near.tile(s[name]).values.items() if label.property("differs")]

    assert highlighted("blue") == [] and {label.objectName() for label in keeper.values.values()} == {"factReference"}
    assert highlighted("blue_small") == ["size", "resolution"]
    assert highlighted("blue_png") == ["size", "format", "date"]
    png = near.tile(s["blue_png"])
    assert png.values["format"].text() == "PNG" and png.values["date"].text() == "no capture date"
    assert near.tile(s["blue_small"]).values["resolution"].text() == "64 × 64"
    exact = card_of(view, "exact")
    assert exact.differs.text().startswith("Identical")
    assert not any(t.values[f].property("differs") for t in exact.tiles for f in t.values)
    assert {t.folder.toolTip() for t in exact.tiles} == {str(Path(s["red"]).parent), str(Path(s["red_copy"]).parent)}
    assert all(thumb.pixmap_set for card in view.cards for thumb in card.thumbs)  # real thumbnails
    freed = sum(os.path.getsize(s[k]) for k in COPIES)
    plan = trash_plan(view.groups)
    assert plan.freed == freed and {i.path for i in plan.items} == {s[k] for k in COPIES}
    assert view.trash_all_button.isEnabled() and view.trash_all_button.text().startswith("Trash all suggested · ")
    assert "3 copies to remove" in view.summary.text()


def test_another_photo_becomes_the_keeper(qtbot, make_window, duplicate_library, duplicate_shots):
    window = make_window(duplicate_library, auto_index=False)
    view = open_duplicates(qtbot, window)
    c, s = window.controller, duplicate_shots
    card_of(view, "near").tile(s["blue_png"]).keep_button.click()
    near = card_of(view, "near")  # shown at once, stored on the worker
    assert near.tiles[0].shot.path == s["blue_png"] and near.tiles[0].badge.text() == "✓ Keep · your choice"
    assert near.tile(s["blue"]).badge.text() == "Copy · to trash"
    qtbot.waitUntil(lambda: not c.duplicates.busy)
    stored = next(g for g in c.library.duplicates.groups() if g.kind == "near")
    assert stored.keeper.path == s["blue_png"] and stored.chosen
    assert {i.path for i in c.duplicates.plan().items} == {s["red_copy"], s["blue"], s["blue_small"]}


def test_trash_all_asks_first_then_undo_brings_everything_back(qtbot, make_window, duplicate_library,
                                                             duplicate_shots, trash_home):
    window = make_window(duplicate_library)  # live sync watches the folders meanwhile
    c, s = window.controller, duplicate_shots
    qtbot.waitUntil(lambda: not c.indexer.running, timeout=30_000)
    view = open_duplicates(qtbot, window)
    actions = window.duplicate_actions
    copies = {s[k] for k in COPIES}

    view.trash_all_button.click()
    dialog = actions.dialog
    assert dialog is not None and dialog.isVisible() and set(dialog.paths()) == copies
    assert dialog.heading.text() == "Move 3 copies to the trash?"
    assert "system trash" in dialog.text.text() and "Bursts are kept" in dialog.text.text()
    assert dialog.cancel_button.isDefault() and dialog.list.topLevelItemCount() == 3
    dialog.reject()  # cancelled: nothing moves
    assert all(os.path.exists(p) for p in s.values()) and not trash_home.exists()

    view.trash_all_button.click()
    actions.dialog.move_button.click()
    qtbot.waitUntil(lambda: settled(window) and [g.kind for g in c.duplicates.groups] == ["burst"], timeout=30_000)
    assert len(files_in(trash_home)) == 3 and not any(os.path.exists(p) for p in copies)
    assert all(os.path.exists(p) for p in set(s.values()) - copies)  # keepers, bursts and the rest
    window.sidebar.select_all_photos()
    qtbot.waitUntil(lambda: c.page[0] == "grid" and c.shown == c.query and set(c.photos.paths()) == set(s.values()) - copies)
    qtbot.waitUntil(lambda: window.status_label.text() == "7 photos · 7 searchable")
    assert window.sidebar.duplicates.data(0, CountRole) == 1
    assert not actions.undo_action.isEnabled()  # Ctrl+Z undoes a trash only while Duplicates is shown

    open_duplicates(qtbot, window)
    assert view.note.text().startswith("Moved 3 copies to the trash, freeing ")
    assert view.undo_button.isEnabled() and view.undo_button.text() == "Undo · restore 3"
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    QTest.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: settled(window) and len(c.duplicates.groups) == 3, timeout=30_000)
    assert all(os.path.exists(p) for p in s.values()) and files_in(trash_home) == []
    assert view.note.text() == "Restored 3 copies from the trash." and not view.undo_button.isEnabled()
    window.sidebar.select_all_photos()
    qtbot.waitUntil(lambda: c.shown == c.query and set(c.photos.paths()) == set(s.values()))


def test_bursts_are_stacks_with_no_trash_control(qtbot, make_window, duplicate_library, duplicate_shots):
    window = make_window(duplicate_library, auto_index=False)
    view = open_duplicates(qtbot, window)
    burst = card_of(view, "burst")
    assert burst.title.text() == "Burst: 3 shots" and burst.trash_button is None
    assert not burst.expanded and len(burst.thumbs) == 1 and burst.thumbs[0].stacked == 3
    assert "never trashed" in burst.differs.text()
    burst.toggle.click()
    qtbot.waitUntil(lambda: view.thumbnails_pending() == 0)
    assert [t.shot.path for t in burst.tiles] == [duplicate_shots[f"burst{n}"] for n in range(3)]  # in time order
    assert all(t.keep_button.text() == "Use as cover" for t in burst.tiles if not t.shot.keep)
    assert not any(t.badge.text().startswith("Copy") for t in burst.tiles)
    assert not any(b.text().startswith("Trash") for b in burst.findChildren(type(view.trash_all_button)))
    assert not any(p.startswith(str(Path(duplicate_shots["burst0"]).parent)) for p in
                   (i.path for i in trash_plan(view.groups).items))
    burst.tile(duplicate_shots["burst1"]).keep_button.click()  # another cover; the stack stays open
    burst = card_of(view, "burst")
    assert burst.expanded and burst.tile(duplicate_shots["burst1"]).badge.text() == "Cover · your choice"
    assert [t.shot.path for t in burst.tiles] == [duplicate_shots[f"burst{n}"] for n in range(3)]
    qtbot.waitUntil(lambda: not window.controller.duplicates.busy)
    view.findRequested.emit()  # found again: still open
    qtbot.waitUntil(lambda: settled(window))
    assert card_of(view, "burst").expanded


def test_a_page_of_groups_at_a_time(qapp, tmp_path):
    import shiboken6

    from photosense.core.thumbnails import ThumbnailCache
    from photosense.ui.duplicate_groups import Group, Shot
    from photosense.ui.tasks import Pools
    from photosense.ui.thumbnailer import ThumbnailLoader
    from photosense.ui.widgets.duplicates_view import PAGE, DuplicatesView

    groups = [Group.of("exact", [Shot(2 * n, f"/gone/{n}/a.jpg", True, 40, 30, 1000),
                                 Shot(2 * n + 1, f"/gone/{n}/b.jpg", False, 40, 30, 1000)]) for n in range(70)]
    view = DuplicatesView(ThumbnailLoader(Pools(synchronous=True), ThumbnailCache(tmp_path / "thumbs")))
    view.show_groups(groups)
    assert len(view.cards) == PAGE == 30 and view.more_button.text() == "Show 30 more groups (40 not shown)"
    assert view.thumbnails_pending() == 0  # missing files: the "broken" tile, at once on synchronous pools
    view.more_button.click()
    view.more_button.click()
    assert len(view.cards) == 70 and view.more_button.isHidden()
    assert view.trash_all_button.text() == "Trash all suggested · 70.0 kB"
    view.show_groups(groups[:40])  # found again: as many cards as were shown
    assert len(view.cards) == 40
    shiboken6.delete(view)  # now: a live view would be restyled by the next test's application()


def test_trash_the_others_of_one_group(qtbot, make_window, duplicate_library, duplicate_shots, monkeypatch):
    """The per-group button needs ``library.duplicates.trash(only=...)``; here the library's trash is replaced by
    one that takes it and moves nothing, so the window's side is checked whatever the library offers."""
    from photosense.services.duplicates import Duplicates

    calls = []
    real = Duplicates.trash

    def trash(self, confirm=False, *, dry_run=False, only=None):
        plan = real(self, dry_run=True)
        plan["trashed"] = [t for t in plan["trashed"] if only is None or t["path"] in only]
        calls.append((sorted(only or []), confirm(plan)))
        return {"trashed": [], "freed_bytes": 0, "skipped": []}

    monkeypatch.setattr(Duplicates, "trash", trash)
    window = make_window(duplicate_library, auto_index=False)
    view = open_duplicates(qtbot, window)
    s = duplicate_shots
    near = card_of(view, "near")
    assert near.trash_button is not None and near.trash_button.text().startswith("Trash the others · ")
    near.trash_button.click()
    dialog = window.duplicate_actions.dialog
    assert set(dialog.paths()) == {s["blue_small"], s["blue_png"]}
    assert dialog.heading.text() == "Move 2 copies of this group to the trash?"
    dialog.accept()
    qtbot.waitUntil(lambda: settled(window) and bool(calls))
    assert calls == [(sorted([s["blue_small"], s["blue_png"]]), True)]  # the library agreed on the same copies


def test_each_group_of_copies_offers_trash_the_others_and_bursts_do_not(qtbot, make_window, duplicate_library):
    window = make_window(duplicate_library, auto_index=False)
    view = open_duplicates(qtbot, window)
    assert trashes_one_group(window.controller.library)  # the library takes a group's copies alone (only=)
    assert {card.group.kind: card.trash_button is not None for card in view.cards} == \
        {"exact": True, "near": True, "burst": False}
    assert view.trash_all_button.isEnabled()


def test_errors_show_as_short_messages(qtbot, make_window, duplicate_library, duplicate_shots, trash_home):
    window = make_window(duplicate_library, auto_index=False)
    view = open_duplicates(qtbot, window)
    c, s = window.controller, duplicate_shots
    c.library.duplicates.keep(s["blue_small"])  # behind the view's back: what it lists is no longer the plan
    view.trash_all_button.click()
    window.duplicate_actions.dialog.accept()
    qtbot.waitUntil(lambda: settled(window) and view.note.objectName() == "noteError", timeout=30_000)
    assert view.note.text().startswith("The duplicates changed since they were listed: nothing was moved")
    assert all(os.path.exists(p) for p in s.values()) and files_in(trash_home) == []
    assert card_of(view, "near").tiles[0].shot.path == s["blue_small"]  # found again

    with open(s["blue_png"], "ab") as fh:  # changed since it was indexed: the library keeps it
        fh.write(b"\0")
    view.trash_all_button.click()
    window.duplicate_actions.dialog.accept()
    qtbot.waitUntil(lambda: settled(window) and view.note.text().startswith("1 not moved"), timeout=30_000)
    assert view.note.text() == "1 not moved: blue.png (it changed since it was indexed)."
    assert os.path.exists(s["blue_png"]) and len(files_in(trash_home)) == 2
    assert window.statusBar().currentMessage() == view.note.text()


def test_the_controller_finds_groups_at_open_and_switches_pages(make_controller, duplicate_library):
    c = make_controller(duplicate_library)
    assert [g.kind for g in c.duplicates.groups] == ["exact", "near", "burst"] and c.page[0] == "grid"
    pages = []
    c.pageChanged.connect(lambda page, _detail: pages.append(page))
    c.browse("duplicates")
    assert c.page[0] == "duplicates" and c.duplicates_open
    c.refresh()  # a refresh of the grid keeps the Duplicates view
    assert c.page[0] == "duplicates"
    c.search("red")
    assert c.page[0] == "grid" and pages == ["duplicates", "grid"]


def test_group_facts_differences_and_plans():
    from photosense.ui.duplicate_groups import Group, Shot, agrees, format_of, human_size

    assert [human_size(n) for n in (812, 45_300, 1_234_567)] == ["812 bytes", "45.3 kB", "1.2 MB"]
    assert [format_of(p) for p in ("/a/x.JPG", "/a/x.heic", "/a/x.mp4", "/a/x.xyz")] == ["JPEG", "HEIC", "MP4", "XYZ"]
    big = Shot(1, "/a/p.jpg", True, 4000, 3000, 5_000_000, taken="2024-07-14T12:00:00")
    small = Shot(2, "/b/p.jpg", False, 2000, 1500, 900_000, taken="2024-07-14T12:00:00")
    png = Shot(3, "/b/p.png", False, 4000, 3000, 12_000_000)
    group = Group.of("near", [small, png, big])
    assert group.photos[0] is big and group.differing == {"size", "resolution", "format", "date"}
    assert Group.of("exact", [big, Shot(4, "/c/p.jpg", False, 4000, 3000, 5_000_000,
                                        taken="2024-07-14T12:00:00")]).differing == frozenset()
    assert group.freed == 12_900_000 and png.value("date") == "no capture date" and big.value("resolution") == "4000 × 3000"
    chosen = group.with_keeper("/b/p.png")
    assert chosen.keeper.path == "/b/p.png" and chosen.chosen and {p.path for p in chosen.copies} == {"/a/p.jpg", "/b/p.jpg"}
    assert group.without({"/b/p.jpg", "/b/p.png"}) is None and len(group.without({"/b/p.png"}).photos) == 2
    burst = Group.of("burst", [small, big])
    assert burst.copies == () and burst.title() == "Burst: 2 shots"
    plan = trash_plan([group, burst])
    assert plan.count == 2 and plan.freed == 12_900_000
    confirm = agrees(plan)
    assert confirm({"trashed": [{"path": "/b/p.jpg", "keeper": "/a/p.jpg"}, {"path": "/b/p.png", "keeper": "/a/p.jpg"}]})
    assert not confirm({"trashed": [{"path": "/b/p.jpg", "keeper": "/a/p.jpg"}]})  # less than confirmed
    assert not confirm({"trashed": [{"path": "/a/p.jpg", "keeper": "/b/p.jpg"}, {"path": "/b/p.png", "keeper": "/b/p.jpg"}]})


def test_trash_and_undo_from_the_controller_with_stacking_on(make_controller, duplicate_library, duplicate_shots,
                                                            trash_home):
    c = make_controller(duplicate_library)
    if hasattr(c.library, "set_stacking"):
        c.library.set_stacking(True)  # the default for users: the grid shows a stack once
    s = duplicate_shots
    plan = c.duplicates.plan()
    c.duplicates.trash(plan)  # confirmed (the window asks first); synchronous pools: done on return
    assert sorted(os.listdir(trash_home / "files")) == sorted(os.path.basename(p) for p in (s["red_copy"], s["blue_small"],
                                                                                         s["blue_png"]))
    assert [g.kind for g in c.duplicates.groups] == ["burst"] and c.duplicates.undo_count == 3
    assert not {s[k] for k in COPIES} & set(c.photos.paths()) and c.status["photos"] == 7
    c.duplicates.undo()
    assert all(os.path.exists(p) for p in s.values()) and len(c.duplicates.groups) == 3
    assert c.status["photos"] == 10 and c.duplicates.undo_count == 0
