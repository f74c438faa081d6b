"""Words in photos in the app: a hit found by its words is marked in the grid, and the details panel shows the
photo's text with the query's words highlighted and a "Copy text" button."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QGuiApplication

from fakes import NAME as FAKE_MODEL
from fakes import FakeReader, color_image, text_photo
from helpers import save
from photosense import Library
from photosense.ui.bridge import Query
from photosense.ui.models.photo_model import TextHitRole
from photosense.ui.widgets.photo_text import highlighted, query_words


def test_query_words_are_folded_and_highlighted_where_the_text_has_them():
    words = query_words('invoice café -people text:"Gate B12" tag:dog')
    assert words == {"invoice", "cafe", "gate", "b12", "dog"}
    marked = highlighted("Invoice #4471\nCAFÉ <b>", words)
    assert marked.count("<span") == 2 and "&lt;b&gt;" in marked and "<br>" in marked


def test_a_text_hit_is_marked_and_its_words_shown_highlighted(qtbot, make_window, tmp_path):
    photos = tmp_path / "photos"
    receipt = text_photo(photos / "receipt.png", "white", "ACME Store\nInvoice #4471\nTotal 12.50", seed=1)
    for n in range(4):
        save(color_image("green", seed=10 + n), photos / f"p{n}.jpg")
    with Library.open(tmp_path / "library", model=FAKE_MODEL) as lib:
        lib.text.reader_factory = FakeReader
        lib.index([photos])
        assert lib.read_text().read == 5
    window = make_window(tmp_path / "library")
    c = window.controller
    c.show(Query("text", "invoice"))
    qtbot.waitUntil(lambda: c.shown == Query("text", "invoice"), timeout=30_000)
    items = c.photos.items()
    assert [Path(i.path).name for i in items][:1] == ["receipt.png"] and items[0].by_text
    assert c.photos.data(c.photos.index(0, 0), TextHitRole) is True
    window.grid.setCurrentIndex(c.photos.index(0, 0))
    text = window.details.photo_text
    qtbot.waitUntil(lambda: text.isVisible() and window.details.path == str(receipt), timeout=30_000)
    assert "<span" in text.body.text() and ">Invoice<" in text.body.text()
    text.copy_button.click()
    assert QGuiApplication.clipboard().text() == "ACME Store\nInvoice #4471\nTotal 12.50"
    c.show(Query("text", "green"))  # a plain photo: no text section
    qtbot.waitUntil(lambda: c.shown == Query("text", "green"), timeout=30_000)
    window.grid.setCurrentIndex(c.photos.index(0, 0))
    qtbot.waitUntil(lambda: window.details.path is not None and window.details.path != str(receipt), timeout=30_000)
    qtbot.waitUntil(lambda: not text.isVisible(), timeout=10_000)
