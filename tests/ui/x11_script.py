"""Driven inside the real app by the end-to-end test (PHOTOSENSE_UI_SCRIPT): steps with real key events.

Each step waits for the app to settle, writes ``<name>.ready`` (with facts as JSON) into
$E2E_DIR, and goes on when the test, having taken its screenshot, writes ``<name>.done``.
"""
import json
import os
from pathlib import Path

from PySide6.QtCore import QTimer, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

OUT = Path(os.environ["E2E_DIR"])


def script(window):
    window.setGeometry(0, 0, 1280, 800)
    window.activateWindow()
    steps = [s for s in os.environ.get("E2E_STEPS", "browse,search,similar,preview").split(",") if s]
    state = {"step": 0, "phase": "act"}

    def settled():
        return (window.shown == window.query and window.loader.pending() == 0
                and (window.bridge.model_state in ("ready", "failed") or not window.folders))

    def act(name):
        if name == "search":
            window.search.setFocus()
            QTest.keyClicks(window.search, "sneaker", Qt.KeyboardModifier.NoModifier, 40)
        elif name == "similar":
            window.grid.setCurrentIndex(window.photos.index(1, 0))
            window.find_similar(window.photos.path(1))
        elif name == "preview":
            window.grid.setFocus()
            window.grid.setCurrentIndex(window.photos.index(0, 0))
            QTest.keyClick(window.grid, Qt.Key.Key_Space)
        elif name == "select":
            window.grid.setCurrentIndex(window.photos.index(0, 0))
        elif name == "album":
            window.sidebar.select("album", next(a.id for a in window.organize.album_list))
        elif name == "tag":
            window.sidebar.select("tag", next(v for v in (r.data(0, Qt.ItemDataRole.UserRole + 2)
                                                           for r in window.sidebar.rows("tag")) if v.startswith("wardrobe/")))
        elif name == "judge":  # reject the selected photo's first tag, add one by hand
            window.details.tags.rows[0].reject.click()
            window.details.tags.add.setText("favourite")
            QTest.keyClick(window.details.tags.add, Qt.Key.Key_Return)
        elif name == "album-dialog":
            window.album_actions.new_album(window.folders or [], "sunsets at the beach")
        elif name == "editor":
            name = next(v for v in (r.data(0, Qt.ItemDataRole.UserRole + 2) for r in window.sidebar.rows("set"))
                        if v != "manual")
            window.organize.load_prompt_set(name, window.open_prompt_set_editor)

    def tick():
        if state["step"] >= len(steps):
            window.close()
            QApplication.quit()
            return
        name = steps[state["step"]]
        if state["phase"] == "act":
            if name in ("album", "tag", "editor") and not (window.organize.album_list and window.sidebar.rows("tag")):
                return  # the sidebar's albums and tags are still loading
            act(name)
            state["phase"], state["since"] = "wait", 0
        elif state["phase"] == "wait":
            state["since"] += 1
            ok = settled() and state["since"] > 4
            if name == "search":
                ok = ok and window.query.kind == "text"
            if name in ("album", "tag"):
                ok = ok and window.query.kind == name and window.organize._long == 0
            if name == "judge":
                ok = ok and window.organize._long == 0 and window.details.tags.row("favourite") is not None
            if name == "editor":
                editor = window.editor
                ok = ok and editor is not None and bool(editor.previews) and not editor._in_flight \
                    and window.loader.pending() == 0
            if name == "preview":
                ok = ok and window.preview is not None and window.preview.label.pixmap() is not None \
                    and not window.preview.label.pixmap().isNull()
            if ok and name in ("album", "tag") and not state.get("selected"):
                state["selected"] = True  # a photo selected, so the details panel shows its tags
                if window.photos.rowCount():
                    window.grid.setCurrentIndex(window.photos.index(0, 0))
                state["since"] = 0
                ok = False
            if ok:
                state.pop("selected", None)
                if name in ("search", "similar") and window.photos.rowCount():
                    window.grid.setCurrentIndex(window.photos.index(0, 0))
                facts = {"query": [window.query.kind, window.query.value], "paths": window.photos.paths()[:20],
                         "title": window.windowTitle(), "placeholder": window.search.placeholderText(),
                         "empty": window.stack.currentWidget() is window.empty,
                         "empty_title": window.empty.title.text(), "count": window.count_label.text(),
                         "albums": [[i.text(0), i.data(0, Qt.ItemDataRole.UserRole + 3)]
                                    for i in window.sidebar.rows("album")],
                         "tags": [[i.data(0, Qt.ItemDataRole.UserRole + 2), i.data(0, Qt.ItemDataRole.UserRole + 3)]
                                  for i in window.sidebar.rows("tag")],
                         "detail_tags": [r.key for r in window.details.tags.rows],
                         "preview": window.editor.matches.paths() if window.editor is not None else []}
                state["phase"] = "shot"
                QTimer.singleShot(400, lambda: (OUT / f"{name}.ready").write_text(json.dumps(facts)))
        elif state["phase"] == "shot" and (OUT / f"{name}.done").exists():
            if name == "preview" and window.preview is not None:
                QTest.keyClick(window.preview, Qt.Key.Key_Escape)
            if name == "editor" and window.editor is not None:
                window.editor.reject()
            if name == "album-dialog" and window.album_actions.dialog is not None:
                window.album_actions.dialog.reject()
            state["step"] += 1
            state["phase"] = "act"

    timer = QTimer(window)
    timer.timeout.connect(tick)
    timer.start(100)
