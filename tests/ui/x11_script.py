"""The steps the X11 end-to-end test drives inside the real app (run by x11_runner.py), with real key events.

Each step acts on the window, then waits (in the app's event loop, never sleeping) until the window has
settled: the answer shown, the visible thumbnails painted, details and dialogs on screen. It then sends
its facts as one JSON line to the test (fd ``$E2E_FACTS_FD``) and waits for the test to write the step's
name back (fd ``$E2E_SHOTS_FD``) once the screenshot is taken. After the last step the app quits.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator

from PySide6.QtCore import QObject, QPoint, QSocketNotifier, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractItemView, QApplication, QWidget

from photosense.ui.bridge import Query
from photosense.ui.models.photo_model import BadgeRole, PathRole, StackRole, StateRole
from photosense.ui.widgets.filmstrip import ReadyRole

ValueRole = Qt.ItemDataRole.UserRole + 2
CountRole = Qt.ItemDataRole.UserRole + 3
Condition = Callable[[], bool]


def on_screen(widget: QWidget | None) -> bool:
    """Shown and exposed by the X server (so a screenshot holds it)."""
    handle = widget.window().windowHandle() if widget is not None else None
    return bool(widget is not None and widget.isVisible() and handle is not None and handle.isExposed())


def thumbnails_painted(view: QAbstractItemView) -> bool:
    """Every cell the view shows has its thumbnail (or its "broken" tile), not the placeholder."""
    model, area = view.model(), view.viewport().rect()
    cells = (model.index(row, 0) for row in range(model.rowCount()))
    return all(index.data(StateRole) != "loading" for index in cells if view.visualRect(index).intersects(area))


class Steps(QObject):
    """Drives *window* through the steps named in ``$E2E_STEPS``."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.c = window.controller
        self.names = [s for s in os.environ["E2E_STEPS"].split(",") if s]
        self.facts_out = os.fdopen(int(os.environ["E2E_FACTS_FD"]), "w", buffering=1)
        self.shots_fd = int(os.environ["E2E_SHOTS_FD"])
        self.shots = QSocketNotifier(self.shots_fd, QSocketNotifier.Type.Read, self)
        self.shots.activated.connect(self._shot_taken)
        self.tags_for: str | None = None  # the photo whose tags the details panel got last
        self.c.photoTagsReady.connect(lambda path, _tags, _albums: setattr(self, "tags_for", path))
        self.step: Iterator[Condition] | None = None
        self.condition: Condition | None = None
        self.timer = QTimer(self, interval=50)  # conditions are checked between events
        self.timer.timeout.connect(self._check)
        window.setGeometry(0, 0, 1280, 800)
        window.activateWindow()
        self._next()

    # -- conditions -----------------------------------------------------------------------------

    def settled(self) -> bool:
        c, w = self.c, self.window
        if c.shown != c.query or c.loader.pending() or c.organize.working:
            return False
        if c.folders and c.model_state not in ("ready", "failed"):
            return False
        return w.stack.currentWidget() is not w.grid or thumbnails_painted(w.grid)

    def details_shown(self) -> bool:
        path = self.c.selection[0] if len(self.c.selection) == 1 else None
        return path is not None and self.c.details_path == path and self.tags_for == path

    def select_first(self) -> Iterator[Condition]:
        """Select the first photo and wait for its details and tags (only when there is one)."""
        if self.c.photos.rowCount():
            self.window.grid.setCurrentIndex(self.c.photos.index(0, 0))
            yield self.details_shown

    # -- the steps ------------------------------------------------------------------------------

    def browse(self) -> Iterator[Condition]:
        yield self.settled

    def search(self) -> Iterator[Condition]:
        self.window.search.setFocus()
        QTest.keyClicks(self.window.search, "sneaker", Qt.KeyboardModifier.NoModifier, 40)
        yield lambda: self.c.query == Query("text", "sneaker") and self.settled()
        yield from self.select_first()

    def similar(self) -> Iterator[Condition]:
        source = self.c.photos.path(1)
        self.window.grid.setCurrentIndex(self.c.photos.index(1, 0))
        self.c.find_similar(source)
        yield lambda: self.c.query == Query("similar", source) and self.settled()
        yield from self.select_first()

    def preview(self) -> Iterator[Condition]:
        self.window.grid.setFocus()
        self.window.grid.setCurrentIndex(self.c.photos.index(0, 0))
        QTest.keyClick(self.window.grid, Qt.Key.Key_Space)
        preview = self.window.photo_actions.preview
        yield lambda: (on_screen(preview) and preview.label.pixmap() is not None
                       and not preview.label.pixmap().isNull())

    def album(self) -> Iterator[Condition]:
        yield lambda: bool(self.c.albums) and bool(self.window.sidebar.rows("tag"))  # the sidebar has loaded
        self.window.sidebar.select("album", self.c.albums[0].id)
        yield lambda: self.c.query.kind == "album" and self.settled()
        yield from self.select_first()

    def tag(self) -> Iterator[Condition]:
        rows = self.window.sidebar.rows("tag")
        self.window.sidebar.select("tag", next(v for v in (r.data(0, ValueRole) for r in rows)
                                              if v.startswith("wardrobe/")))
        yield lambda: self.c.query.kind == "tag" and self.settled()
        yield from self.select_first()

    def judge(self) -> Iterator[Condition]:  # reject the selected photo's first tag, add one by hand
        tags = self.window.details.tags
        rejected = tags.rows[0].key
        tags.rows[0].reject.click()
        tags.add.setText("favourite")
        QTest.keyClick(tags.add, Qt.Key.Key_Return)
        yield lambda: (not self.c.organize.working and tags.row("favourite") is not None
                       and tags.row(rejected) is not None and tags.row(rejected).tag.rejected)

    def album_dialog(self) -> Iterator[Condition]:
        self.window.album_actions.new_album(self.c.folders or [], "sunsets at the beach")
        yield lambda: on_screen(self.window.album_actions.dialog) and self.settled()

    def editor(self) -> Iterator[Condition]:
        rows = self.window.sidebar.rows("set")
        name = next(v for v in (r.data(0, ValueRole) for r in rows) if v != "manual")
        self.c.load_prompt_set(name, self.window.open_prompt_set_editor)
        yield lambda: (on_screen(self.window.editor) and bool(self.window.editor.previews)
                       and not self.window.editor.previewing and thumbnails_painted(self.window.editor.preview_view))

    # -- videos (a library of clips and colour photos on the fake embedder) ------------------------

    def video_row(self, name: str) -> int:
        return next(r for r, p in enumerate(self.c.photos.paths()) if os.path.basename(p) == name)

    def video_details_shown(self) -> bool:
        strip = self.window.details.filmstrip
        rows = [strip.moments.index(r, 0) for r in range(strip.moments.rowCount())]
        return (self.details_shown() and self.window.details.video_path == self.c.selection[0] and bool(rows)
                and all(i.data(ReadyRole) for i in rows) and on_screen(strip))

    def video_search(self) -> Iterator[Condition]:
        self.window.search.setFocus()
        QTest.keyClicks(self.window.search, "blue", Qt.KeyboardModifier.NoModifier, 40)
        yield lambda: self.c.query == Query("text", "blue") and self.settled()
        self.window.grid.setFocus()
        self.window.grid.setCurrentIndex(self.c.photos.index(self.video_row("beach.mp4"), 0))
        yield lambda: self.video_details_shown() and any(m.relevant for m in self.c.moments)

    def video_player(self) -> Iterator[Condition]:
        QTest.keyClick(self.window.grid, Qt.Key.Key_Return)  # plays the selected hit from its moment
        player = self.window.photo_actions.player
        at = self.c.moment_of(player.path) or 0.0
        yield lambda: on_screen(player) and player.screen_view.image is not None and player.position >= at + 1.0

    # -- duplicates (a folder copied twice, a few copies re-saved smaller, a burst) ----------------------

    def duplicates_settled(self) -> bool:
        view, d = self.window.duplicates_view, self.c.duplicates
        return (self.c.page[0] == "duplicates" and d.groups is not None and not d.busy and on_screen(view)
                and view.thumbnails_pending() == 0)

    def open_duplicates(self) -> Iterator[Condition]:
        yield self.settled  # the grid first: the window as it opens
        self.window.sidebar.tree.setCurrentItem(self.window.sidebar.duplicates)  # as a click selects the row
        yield self.duplicates_settled

    def burst(self) -> Iterator[Condition]:  # the burst's stack opened to its shots
        view = self.window.duplicates_view
        card = next(card for card in view.cards if card.group.kind == "burst")
        QTest.mouseClick(card.toggle, Qt.MouseButton.LeftButton)
        yield lambda: card.expanded and self.duplicates_settled()
        view.scroll.verticalScrollBar().setValue(card.y() - 16)  # the burst at the top, laid out by now
        yield lambda: view.scroll.verticalScrollBar().value() == min(card.y() - 16,
                                                                     view.scroll.verticalScrollBar().maximum())

    def trash_confirm(self) -> Iterator[Condition]:  # the suggested keepers kept: trash the rest
        view = self.window.duplicates_view
        view.scroll.verticalScrollBar().setValue(0)
        QTest.mouseClick(view.trash_all_button, Qt.MouseButton.LeftButton)
        yield lambda: on_screen(self.window.duplicate_actions.dialog)

    def trashed(self) -> Iterator[Condition]:
        QTest.mouseClick(self.window.duplicate_actions.dialog.move_button, Qt.MouseButton.LeftButton)
        yield lambda: (self.window.duplicate_actions.dialog is None and self.c.duplicates.undo_count > 0
                       and self.duplicates_settled())

    def grid_after_trash(self) -> Iterator[Condition]:
        self.window.sidebar.select_all_photos()
        yield lambda: self.c.page[0] == "grid" and self.settled()

    def undo(self) -> Iterator[Condition]:
        self.window.sidebar.tree.setCurrentItem(self.window.sidebar.duplicates)
        self.window.activateWindow()  # the closed dialog left no active window (Xvfb runs no window manager)
        yield lambda: self.duplicates_settled() and QApplication.activeWindow() is self.window
        QTest.keyClick(self.window.duplicates_view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        yield lambda: self.c.duplicates.undo_count == 0 and self.duplicates_settled()

    # -- stacks (a folder and its copy: one item per photo, a "2" count badge) ----------------------------------

    def stacked(self) -> Iterator[Condition]:
        yield lambda: self.c.stacking.enabled is not None and self.settled()

    def stack_open(self) -> Iterator[Condition]:  # a click on the first item's badge
        grid, index = self.window.grid, self.c.photos.index(0, 0)
        rect = grid.visualRect(index)
        pos = next(p for p in (rect.topRight() + QPoint(-dx, dy) for dx in range(8, 60, 2) for dy in range(6, 40, 2))
                   if grid.stack_badge_at(p) is not None)
        QTest.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)
        yield lambda: self.c.query.kind == "stack" and self.settled()

    def close_step(self, name: str) -> None:
        """Close what the step opened."""
        w = self.window
        if name == "video-player" and w.photo_actions.player is not None:
            QTest.keyClick(w.photo_actions.player, Qt.Key.Key_Escape)
        if name == "preview" and w.photo_actions.preview is not None:
            QTest.keyClick(w.photo_actions.preview, Qt.Key.Key_Escape)
        if name == "editor" and w.editor is not None:
            w.editor.reject()
        if name == "album-dialog" and w.album_actions.dialog is not None:
            w.album_actions.dialog.reject()

    # -- driving --------------------------------------------------------------------------------

    def facts(self) -> dict:
        w, c = self.window, self.c
        return {"query": [c.query.kind, c.query.value], "paths": c.photos.paths()[:20],
                "title": w.windowTitle(), "placeholder": w.search.placeholderText(),
                "empty": w.stack.currentWidget() is w.empty, "empty_title": w.empty.title.text(),
                "count": w.top_bar.count_label.text(),
                "albums": [[i.text(0), i.data(0, CountRole)] for i in w.sidebar.rows("album")],
                "tags": [[i.data(0, ValueRole), i.data(0, CountRole)] for i in w.sidebar.rows("tag")],
                "detail_tags": [r.key for r in w.details.tags.rows],
                "preview": w.editor.matches.paths() if w.editor is not None else [],
                "badges": {os.path.basename(i.data(PathRole)): i.data(BadgeRole) for i in
                           (c.photos.index(r, 0) for r in range(c.photos.rowCount())) if i.data(BadgeRole)},
                "moments": [[m.t, m.relevant, m.best] for m in c.moments],
                "stacks": {os.path.basename(i.data(PathRole)): i.data(StackRole) for i in
                           (c.photos.index(r, 0) for r in range(c.photos.rowCount())) if i.data(StackRole) > 1},
                "chip": w.top_bar.chip.text() if w.top_bar.chip.isVisible() else None,
                "player": ([w.photo_actions.player.path, w.photo_actions.player.position]
                           if w.photo_actions.player is not None else None),
                "status": w.status_label.text(), "duplicates": self.duplicate_facts()}

    def duplicate_facts(self) -> dict:
        w, d = self.window, self.c.duplicates
        view = w.duplicates_view
        dialog = w.duplicate_actions.dialog
        return {"count": w.sidebar.duplicates.data(0, CountRole),
                "groups": [[g.kind, [p.path for p in g.photos], g.keeper.path] for g in d.groups or []],
                "titles": [card.title.text() for card in view.cards], "summary": view.summary.text(),
                "note": view.note.text(), "trash_all": view.trash_all_button.text(),
                "dialog": dialog.paths() if dialog is not None else None,
                "dialog_text": dialog.text.text() if dialog is not None else None,
                "trash": sorted(os.listdir(trash)) if os.path.isdir(trash := os.path.join(
                    os.environ.get("XDG_DATA_HOME", "/nonexistent"), "Trash", "files")) else []}

    def _next(self) -> None:
        if not self.names:
            self.window.close()
            QApplication.quit()
            return
        name = self.names[0]
        self.step = getattr(self, name.replace("-", "_"))()
        self._advance()

    def _advance(self) -> None:
        try:
            self.condition = next(self.step)
        except StopIteration:
            self.condition = None
            self._settled()
            return
        self.timer.start()

    def _check(self) -> None:
        if self.condition is not None and self.condition():
            self.timer.stop()
            self._advance()

    def _settled(self) -> None:
        for widget in QApplication.topLevelWidgets():  # painted now; flushed to the server before the
            if widget.isVisible():  # next wait for events, i.e. before the facts go out below
                widget.repaint()
        facts = {"step": self.names[0], "facts": self.facts()}
        QTimer.singleShot(0, lambda: self.facts_out.write(json.dumps(facts) + "\n"))

    def _shot_taken(self) -> None:
        data = os.read(self.shots_fd, 4096).decode()
        if not data:  # the test is gone
            QApplication.exit(3)
            return
        for name in data.split():
            assert name == self.names[0], f"screenshot of {name!r} while at {self.names[0]!r}"
            self.close_step(self.names.pop(0))
            self._next()
