"""The model preference: the status-bar button, the list of models, a switch with progress while the grid keeps
answering from the current model, and the refresh once the library serves the new one."""
from __future__ import annotations

import pytest

from fakes import NAME as FAKE_MODEL
from fakes import OTHER, OtherFake
from photosense.core.models import register_embedder, unregister_embedder
from photosense.ui.bridge import Query

pytestmark = pytest.mark.model  # listing the known models asks open_clip whether their weights are downloaded


@pytest.fixture
def other_model():
    OtherFake.gate.set()
    register_embedder(OTHER, OtherFake)
    yield OtherFake
    OtherFake.gate.set()
    unregister_embedder(OTHER)


def rows(dialog) -> dict[str, tuple[str, ...]]:
    t = dialog.table
    return {t.item(r, 0).text(): tuple(t.item(r, c).text() for c in range(1, t.columnCount()))
            for r in range(t.rowCount())}


def test_switching_in_the_app_keeps_search_working_and_refreshes_after(qtbot, make_window, color_library,
                                                                      other_model, monkeypatch):
    from photosense.ui.model_bridge import ModelBridge

    monkeypatch.setattr(ModelBridge, "measure_speeds", lambda self: None)  # timed in tests/test_model_speed.py
    window = make_window(color_library)
    actions = window.model_actions
    assert actions.button.isVisible() and actions.button.text() == f"Model: {FAKE_MODEL}"
    actions.open_dialog()
    dialog = actions.dialog
    qtbot.waitUntil(lambda: FAKE_MODEL in rows(dialog), timeout=30_000)
    listed = rows(dialog)
    assert listed[FAKE_MODEL][2] == "In use" and "bundled" in listed["tiny-fashion"][0]
    assert "ViT-B-32:laion2b_s34b_b79k" in listed and "MB" in listed["ViT-B-32:laion2b_s34b_b79k"][0]
    assert not dialog.use_button.isEnabled()  # the model in use is selected

    other_model.gate.clear()  # the switch waits inside the new model: the app must keep answering
    window.controller.show(Query("text", "red"))
    actions.models.switch(OTHER)
    qtbot.waitUntil(lambda: other_model.waiting.is_set(), timeout=30_000)
    assert actions.button.text().startswith(f"Switching to {OTHER}")
    assert dialog.progress.isVisible() and dialog.cancel_button.isVisible()
    window.controller.show(Query("text", "blue"))
    qtbot.waitUntil(lambda: window.controller.shown == Query("text", "blue"), timeout=30_000)
    assert len(window.controller.photos.items()) == 6  # answered by the model still in use
    with qtbot.waitSignal(actions.models.switched, timeout=60_000):
        other_model.gate.set()
    qtbot.waitUntil(lambda: actions.button.text() == f"Model: {OTHER}", timeout=30_000)
    qtbot.waitUntil(lambda: rows(dialog).get(OTHER, ("", "", ""))[2] == "In use", timeout=30_000)
    assert rows(dialog)[FAKE_MODEL][2].startswith("Kept")
    assert dialog.prune_button.isEnabled()
    window.controller.show(Query("text", "green"))
    qtbot.waitUntil(lambda: window.controller.shown == Query("text", "green"), timeout=30_000)
    assert len(window.controller.photos.items()) == 6  # now from the new model's vectors


def test_a_model_download_shows_its_bytes_and_cancel_stops_it(qtbot, make_window, color_library):
    window = make_window(color_library)
    c = window.controller
    c._set_model_state("loading")  # as while the weights of a pretrained model arrive
    c.bridge.modelDownload.emit(150_000_000, 605_000_000)
    dialog = window.model_dialog
    assert dialog is not None and "150 of 605 MB" in dialog.labelText()
    assert dialog.maximum() == 605_000_000 // 1024 and dialog.value() == 150_000_000 // 1024
    c.bridge._download_cancel = cancel = __import__("threading").Event()
    from PySide6.QtWidgets import QPushButton

    next(b for b in dialog.findChildren(QPushButton) if b.text() == "Cancel").click()
    assert cancel.is_set() and c.model_state == "failed" and window.model_dialog is None
