"""Stacks in the grid: a photo copied into a second folder shows once with a "2" count badge (in browsing and in a
search), expands to its members as a browsing query with a way back, and the setting lists every copy."""
from __future__ import annotations

import shutil

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QStyleOptionViewItem

from fakes import NAME as FAKE_MODEL
from fakes import color_image
from photosense.ui.bridge import Query
from photosense.ui import style
from photosense.ui.models.photo_model import StackRole, StateRole
from photosense.ui.widgets.grid import thumb_box


@pytest.fixture
def copied(tmp_path):
    """Four photos in a/ (one each of red, green, blue, yellow) and a copy of red.jpg in b/, indexed with the
    fake embedder (closed); returns (library, red, its copy)."""
    from photosense import Library

    for n, color in enumerate(("red", "green", "blue", "yellow")):
        path = tmp_path / "a" / f"{color}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        color_image(color, size=96, seed=10 + 5 * n).save(path, quality=95)
    (tmp_path / "b").mkdir()
    shutil.copy2(tmp_path / "a" / "red.jpg", tmp_path / "b" / "red.jpg")
    with Library.open(tmp_path / "library", model=FAKE_MODEL) as lib:
        assert lib.index([tmp_path / "a", tmp_path / "b"]).indexed == 5
        assert lib.stacking
    return tmp_path / "library", str(tmp_path / "a" / "red.jpg"), str(tmp_path / "b" / "red.jpg")


def stacked(controller) -> dict[str, int]:
    return {item.path: item.stack for item in controller.photos.items() if item.stack > 1}


def test_a_copy_shows_once_with_its_count_and_expands_to_both(make_controller, copied, qtmodeltester):
    library, red, copy = copied
    c = make_controller(library)
    assert c.stacking.enabled is True
    assert c.photos.rowCount() == 4
    (cover, count), = stacked(c).items()
    assert cover in (red, copy) and count == 2
    row = c.photos.row_of(cover)
    assert c.photos.index(row, 0).data(StackRole) == 2 and "Stack of 2" in c.photos.index(row, 0).data(
        Qt.ItemDataRole.ToolTipRole)
    qtmodeltester.check(c.photos)

    c.browse("folder", str(library.parent / "a"))  # a folder folds too
    c.stacking.expand(cover)
    assert c.query == c.shown == Query("stack", cover) and c.page == ("grid", "")
    assert c.photos.paths() == [cover, ({red, copy} - {cover}).pop()]  # the keeper first
    assert all(item.stack == 1 for item in c.photos.items())
    qtmodeltester.check(c.photos)
    c.stacking.back()
    assert c.query == c.shown == Query("folder", str(library.parent / "a"))


def test_a_search_hit_stands_for_its_stack_and_back_returns_to_the_search(make_controller, copied):
    library, red, copy = copied
    c = make_controller(library)
    c.search("red")
    assert c.shown == Query("text", "red")
    assert list(stacked(c).values()) == [2] and set(stacked(c)) <= {red, copy}
    c.stacking.expand(next(iter(stacked(c))))
    assert sorted(c.photos.paths()) == sorted([red, copy])
    c.stacking.back()
    assert c.query == c.shown == Query("text", "red") and list(stacked(c).values()) == [2]


def test_the_setting_off_lists_every_copy_and_is_remembered(make_controller, copied):
    library, red, copy = copied
    c = make_controller(library)
    changes = []
    c.stacking.changed.connect(changes.append)
    c.stacking.set_enabled(False)
    assert changes == [False] and c.bridge.library.stacking is False
    assert c.photos.rowCount() == 5 and stacked(c) == {} and {red, copy} <= set(c.photos.paths())
    c.search("red")
    assert {red, copy} <= set(c.photos.paths()) and stacked(c) == {}
    c.close()
    again = make_controller(library)
    assert again.stacking.enabled is False and again.photos.rowCount() == 5
    again.stacking.set_enabled(True)
    assert again.photos.rowCount() == 4 and list(stacked(again).values()) == [2]


def test_the_window_paints_the_badge_and_opens_the_stack_by_click_menu_and_key(qtbot, make_window, copied):
    from conftest import wait_results

    library, red, copy = copied
    window = make_window(library)
    c, grid = window.controller, window.grid
    wait_results(qtbot, window, "all")
    qtbot.waitUntil(lambda: window.stacking_action.isEnabled())
    assert window.stacking_action.isChecked() and window.stacking_action.text() == "Stack duplicates and bursts"
    cover = next(iter(stacked(c)))
    index = c.photos.index(c.photos.row_of(cover), 0)
    grid.scrollTo(index)

    # the badge is painted: a dark pill in the top right corner of the red thumbnail
    qtbot.waitUntil(lambda: index.data(StateRole) == "ready", timeout=15_000)
    image = QImage(grid.visualRect(index).size(), QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.white)
    option = QStyleOptionViewItem()
    option.rect = image.rect()
    option.fontMetrics = grid.fontMetrics()
    painter = QPainter(image)
    grid.itemDelegate().paint(painter, option, index)
    painter.end()
    box = thumb_box(image.rect().adjusted(4, 4, -4, -4))
    pill = style.stack_badge_rect(box, 2)
    inside = image.pixelColor(int(pill.left()) + 4, int(pill.center().y()))
    photo = image.pixelColor(box.center())
    assert photo.red() > 150 and photo.green() < 100  # the red photo
    assert inside.red() < 100 and inside.green() < 100  # the pill over it

    # the context menu offers the stack; the click on the badge opens it
    grid.setCurrentIndex(index)
    window.photo_actions.show_menu(grid.visualRect(index).center())
    texts = [a.text() for a in window.photo_actions.context_menu.actions()]
    window.photo_actions.context_menu.close()
    assert "Show the 2 in this stack" in texts and "Stack duplicates and bursts" in texts
    rect = grid.visualRect(index)
    pos = None
    for x in range(rect.right(), rect.left(), -2):
        for y in range(rect.top(), rect.top() + 40, 2):
            if grid.stack_badge_at(QPoint(x, y)) == cover:
                pos = QPoint(x, y)
                break
        if pos:
            break
    assert pos is not None and grid.stack_badge_at(rect.center()) is None
    with qtbot.waitSignal(grid.stackRequested) as requested:
        qtbot.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert requested.args == [cover]
    wait_results(qtbot, window, "stack")
    assert sorted(c.photos.paths()) == sorted([red, copy])
    assert window.top_bar.chip.isVisible() and window.top_bar.chip.text() == "Stack of red.jpg"
    window.top_bar.chip.click()  # the way back
    wait_results(qtbot, window, "all")
    assert not window.top_bar.chip.isVisible() and c.photos.rowCount() == 4

    # Ctrl+E on the current item
    grid.setFocus()
    grid.setCurrentIndex(c.photos.index(c.photos.row_of(cover), 0))
    assert window.expand_action.shortcut().toString() == "Ctrl+E"
    window.expand_action.trigger()
    wait_results(qtbot, window, "stack")
    window.top_bar.chip.click()
    wait_results(qtbot, window, "all")

    # the setting off: both copies, no badge
    window.stacking_action.trigger()
    qtbot.waitUntil(lambda: c.photos.rowCount() == 5)
    assert stacked(c) == {} and not window.stacking_action.isChecked()
    window.stacking_action.trigger()
    qtbot.waitUntil(lambda: c.photos.rowCount() == 4)
