"""Words in photos, names, folders, tags and cameras: the keyword index kept in step, the text stage and the
fusion with the visual search (fake colour embedder and a fake text reader: torch-free)."""
from __future__ import annotations

import json
import logging
import os
import shutil
import threading
from pathlib import Path

import pytest

from fakes import NAME as FAKE_MODEL
from fakes import FakeReader, color_image, text_photo
from helpers import save
from photosense import Library
from photosense.core.errors import OcrUnavailable
from photosense.core.query import parse


def names(hits) -> list[str]:
    return [Path(h.path).name for h in hits]


def by_words(lib: Library, query: str) -> list[str]:
    """Names of the hits found by their words (the fake model may see something in any word)."""
    return [Path(h.path).name for h in lib.search(query) if set(h.matched) - {"visual"}]


def use_reader(lib: Library, reader) -> None:
    """Have the library's text stage use *reader* (a factory returning it)."""
    lib.text.reader_factory = lambda: reader


@pytest.fixture
def words_library(library_dir, photos_dir):
    """Photos with words (a receipt, a sign, a screenshot), plain colour photos, and telling names."""
    text_photo(photos_dir / "docs" / "receipt.png", "white", "ACME Store\nInvoice #4471\nTotal 12.50", seed=1)
    text_photo(photos_dir / "docs" / "sign.png", "yellow", "Gate B12\nDépart", seed=2)
    text_photo(photos_dir / "docs" / "screen.png", "blue", "WiFi password: hunter2\nCafé Ñandú", seed=3)
    text_photo(photos_dir / "docs" / "plain-red.png", "red", "", seed=4)
    for n in range(6):
        save(color_image("red" if n % 2 else "green", seed=10 + n), photos_dir / "misc" / f"IMG_{2040 + n}.jpg")
    save(color_image("blue", seed=20), photos_dir / "Lisbon" / "harbour.jpg")
    save(color_image("green", seed=21), photos_dir / "São Paulo" / "park.jpg")
    lib = Library.open(library_dir, model=FAKE_MODEL)
    reader = FakeReader()
    use_reader(lib, reader)
    lib.index([photos_dir])
    lib.read_text()
    yield lib, reader
    lib.close()


# -- the index: what is searchable, folded ---------------------------------------------------------

def test_words_names_folders_are_found_case_and_accents_folded_codes_kept(words_library):
    lib, _ = words_library
    assert names(lib.search("invoice 4471"))[0] == "receipt.png"
    assert names(lib.search("4471"))[0] == "receipt.png"
    assert names(lib.search("gate b12"))[0] == "sign.png"
    assert names(lib.search("B12"))[0] == "sign.png"
    assert names(lib.search("depart"))[0] == "sign.png"  # Départ, accent folded
    assert names(lib.search("CAFE NANDU"))[0] == "screen.png"
    assert names(lib.search("wifi password"))[0] == "screen.png"
    assert names(lib.search("IMG_2041"))[0] == "IMG_2041.jpg"
    assert names(lib.search("img 2043"))[0] == "IMG_2043.jpg"
    assert names(lib.search("lisbon")) == ["harbour.jpg"]
    assert names(lib.search("sao paulo")) == ["park.jpg"]
    hit = lib.search("invoice 4471")[0]
    assert hit.matched == ("text",)
    assert lib.search("lisbon")[0].matched == ("name",)
    for query in ("b1", "4470"):  # whole tokens, no prefix guesses (the fake model may still see something)
        assert all(h.matched == ("visual",) for h in lib.search(query))


def test_text_filter_selects_by_recognized_text_only(words_library):
    lib, _ = words_library
    assert names(lib.search("text:4471")) == ["receipt.png"]
    assert names(lib.search('text:"wifi password"')) == ["screen.png"]
    assert lib.search('text:"password wifi"') == []  # a phrase keeps its order
    assert lib.search("text:lisbon") == []  # a folder name is not text in the photo
    assert names(lib.search("text:total text:acme")) == ["receipt.png"]  # every text: filter must hold
    assert lib.search("text:total text:gate") == []
    assert names(lib.search("blue text:password")) == ["screen.png"]
    q = parse('text:"Two  words" "exact phrase" loose words')
    assert q.filters.texts == ["Two words"] and q.filters.to_json()["texts"] == ["Two words"]
    assert [t.exact for t in q.positive] == [True, False]


def test_move_rename_tag_delete_and_change_keep_the_index_in_step(words_library, photos_dir):
    lib, reader = words_library
    receipt = photos_dir / "docs" / "receipt.png"
    receipt_id = lib.photo(receipt).id
    moved = photos_dir / "Archive 2024" / "acme-bill.png"
    moved.parent.mkdir()
    os.replace(receipt, moved)
    lib.index()
    calls = len(reader.calls)
    assert lib.read_text().read == 0 and len(reader.calls) == calls  # a move keeps its text: no re-read
    assert lib.photo(moved).id == receipt_id
    assert names(lib.search("invoice 4471")) == ["acme-bill.png"]
    assert names(lib.search("archive 2024")) == ["acme-bill.png"] and names(lib.search("acme bill"))[0] == "acme-bill.png"
    assert by_words(lib, "receipt") == []  # the old name is gone from the index
    lib.tags.accept("Paperwork", [moved])
    assert lib.search("paperwork")[0].matched == ("tag",)
    lib.tags.reject("Paperwork", [moved])
    assert by_words(lib, "paperwork") == []
    # a changed file: its old words leave the index at once, the new ones are read
    text_photo(moved, "white", "Invoice #9000", seed=7)
    lib.index()
    assert by_words(lib, "4471") == [] and lib.status()["text_pending"] == 1
    lib.read_text()
    assert by_words(lib, "9000") == ["acme-bill.png"] and lib.text_of(moved) == "Invoice #9000"
    moved.unlink()
    lib.index()
    assert by_words(lib, "9000") == [] and by_words(lib, "acme") == []
    assert lib.check() == []


def test_check_repair_rebuilds_the_keyword_index(words_library):
    lib, _ = words_library
    receipt = lib.photo(lib.search("invoice 4471")[0].path).id
    with lib.catalog.transaction() as db:  # the index is derived: damage it through SQL
        db.execute("DELETE FROM words WHERE rowid = ?", (receipt,))
    assert by_words(lib, "invoice 4471") == []
    problems = lib.check()
    assert any("keyword index" in p for p in problems)
    lib.check(repair=True)
    assert lib.check() == []
    assert names(lib.search("invoice 4471"))[0] == "receipt.png"


# -- fusion ----------------------------------------------------------------------------------------

def test_purely_visual_query_ranks_as_before_when_no_photo_has_the_words(words_library):
    lib, _ = words_library
    for query in ("green", "blue", "yellow", "a green photo", "blue -green"):  # words no photo holds
        fused = lib.search(query, show_all=False)
        compiled = lib.search_service.compile(parse(query))
        ranking = lib.search_service.sources[0].rank(compiled, None, 50, False)
        assert [h.id for h in fused] == ranking.ids.tolist()[:len(fused)] and fused, query
        assert all(h.matched == ("visual",) for h in fused)


def test_a_literal_match_of_every_word_comes_first_and_partial_matches_add_nothing(words_library, photos_dir):
    lib, _ = words_library
    visual = {h.id for h in lib.search("red")}
    # "red" is also a word of a file name (plain-red.png): that photo comes first, then the visual hits
    save(color_image("blue", seed=30), photos_dir / "misc" / "red-door.jpg")
    lib.index()
    hits = lib.search("red")
    first = {Path(h.path).name: h.matched for h in hits[:2]}
    assert first == {"red-door.jpg": ("name",), "plain-red.png": ("visual", "name")}
    assert {h.id for h in hits[2:]} | {hits[0].id, hits[1].id} == visual | {lib.photo(photos_dir / "misc" / "red-door.jpg").id}
    # "red lisbon": no photo holds both words; "lisbon" only re-ranks photos that passed the visual cut-off
    partial = lib.search("red lisbon")
    assert "harbour.jpg" not in names(partial)  # blue: never passes "red", so a partial match cannot add it
    assert {h.id for h in partial} == {h.id for h in lib.search("red lisbon", show_all=False)}
    # a photo found by both words and by sight carries both kinds of evidence, and scores its cosine
    both = lib.search("plain red")  # the model knows the last word (the null phrases swap it: core.calibration)
    assert names(both)[0] == "plain-red.png" and both[0].matched == ("visual", "name")
    # Hit.score stays the visual cosine, for a photo found by its words only too
    door = hits[[Path(h.path).name for h in hits].index("red-door.jpg")]
    vector = lib.search_service.compile(parse("red")).vector
    assert door.score == pytest.approx(float(lib.vectors().vectors([door.id])[0] @ vector), abs=1e-5)


def test_show_all_lists_the_rest_after_the_literal_matches(words_library):
    lib, _ = words_library
    everything = lib.search("invoice 4471", show_all=True, limit=100)
    assert names(everything)[0] == "receipt.png" and len(everything) == lib.status()["photos"]
    rest = [h.score for h in everything[1:]]
    assert rest == sorted(rest, reverse=True)  # then every other photo, by its cosine
    assert all(h.matched == ("visual",) for h in everything[1:])  # below the cut-off too, by what they show


def test_negative_words_leave_out_photos_holding_them(words_library):
    lib, _ = words_library
    assert "receipt.png" not in names(lib.search("white -invoice"))
    assert "receipt.png" in names(lib.search("white"))
    assert names(lib.search("gate -acme"))[0] == "sign.png"
    assert lib.search("invoice -4471") == []
    assert names(lib.search('"gate b12"')) == ["sign.png"] and lib.search('"b12 gate"') == []


def test_filters_restrict_keyword_hits(words_library):
    lib, _ = words_library
    assert by_words(lib, "4471 folder:docs") == ["receipt.png"]
    assert by_words(lib, "4471 folder:misc") == []
    assert by_words(lib, "lisbon kind:video") == []


# -- the text stage --------------------------------------------------------------------------------

def test_stage_cancelled_mid_run_resumes_without_rereading(library_dir, photos_dir):
    for n in range(20):
        text_photo(photos_dir / f"t{n:02d}.png", "gray", f"word{n} page {n}", seed=n)
    lib = Library.open(library_dir, model=FAKE_MODEL)
    try:
        lib.index([photos_dir])
        reader = FakeReader()
        use_reader(lib, reader)
        cancel = threading.Event()
        seen = []

        def progress(p):
            seen.append((p.phase, p.done, p.total))
            if p.done >= 8:
                cancel.set()

        first = lib.text.run(progress=progress, cancel=cancel, batch_size=4)
        assert first.cancelled and first.read == 8 and first.pending == 12
        assert seen[0] == ("reading text", 0, 20) and lib.status()["text_pending"] == 12
        second = lib.read_text()
        assert second.read == 12 and second.pending == 0
        assert sorted(reader.calls) == sorted(str(p) for p in photos_dir.glob("*.png"))  # each read once
        assert names(lib.search("word17")) == ["t17.png"]
    finally:
        lib.close()


def test_unreadable_photo_records_its_reason_and_waits_for_a_change(fake_library, photos_dir):
    good = text_photo(photos_dir / "good.png", "gray", "hello world")
    bad = text_photo(photos_dir / "bad.png", "gray", "lost words", seed=2)

    class Flaky(FakeReader):
        def read_path(self, path):
            if Path(path).name == "bad.png":
                self.calls.append(os.fspath(path))
                raise ValueError("image too large to read (90 megapixels)")
            return super().read_path(path)

    reader = Flaky()
    use_reader(fake_library, reader)
    fake_library.index([photos_dir])
    summary = fake_library.read_text()
    assert (summary.read, summary.failed, summary.pending) == (1, 1, 0)
    assert fake_library.catalog.text_failures() == [(str(bad), "image too large to read (90 megapixels)")]
    assert fake_library.read_text().failed == 0 and reader.calls.count(str(bad)) == 1  # not retried
    text_photo(bad, "gray", "found words", seed=3)  # the file changes: read again
    fake_library.index()
    assert fake_library.status()["text_pending"] == 1
    fake_library.text.reader_factory = FakeReader  # a fresh reader (the first one is kept once made)
    fake_library.text._reader = None
    fake_library.read_text()
    assert names(fake_library.search("found words")) == ["bad.png"] and fake_library.text_of(good) == "hello world"


def test_copies_take_the_text_of_their_original(fake_library, photos_dir):
    original = text_photo(photos_dir / "a.png", "gray", "shared words")
    reader = FakeReader()
    use_reader(fake_library, reader)
    fake_library.index([photos_dir])
    fake_library.read_text()
    shutil.copy(original, photos_dir / "copy.png")
    fake_library.index()
    summary = fake_library.read_text()
    assert (summary.reused, summary.read) == (1, 0) and len(reader.calls) == 1
    assert sorted(names(fake_library.search("shared words", stack=False))) == ["a.png", "copy.png"]


def test_missing_engine_logs_once_leaves_photos_pending_and_search_works(fake_library, photos_dir, caplog):
    text_photo(photos_dir / "Lisbon" / "a.png", "red", "invoice")
    made = []

    def missing():
        made.append(1)
        raise OcrUnavailable("text recognition engine not installed")

    fake_library.text.reader_factory = missing
    fake_library.index([photos_dir])
    with caplog.at_level(logging.WARNING):
        first, second = fake_library.read_text(), fake_library.read_text()
    assert first.unavailable == "text recognition engine not installed" and second.pending == 1
    messages = [r.getMessage() for r in caplog.records if "cannot be read" in r.getMessage()]
    assert len(messages) == 1 and "search still finds names" in messages[0] and made == [1]
    assert fake_library.status()["text_pending"] == 1
    assert names(fake_library.search("lisbon")) == ["a.png"]
    assert names(fake_library.search("red")) == ["a.png"] and fake_library.search("invoice") == []


# -- CLI and API contract ----------------------------------------------------------------------------

def test_cli_json_fields(words_library, library_dir, photos_dir, cli):
    lib, _ = words_library
    lib.close()
    info = json.loads(cli("info", photos_dir / "docs" / "receipt.png", "--json", library=library_dir).stdout)
    assert info["text"] == "ACME Store\nInvoice #4471\nTotal 12.50"
    plain = json.loads(cli("info", photos_dir / "misc" / "IMG_2040.jpg", "--json", library=library_dir).stdout)
    assert plain["text"] == ""
    hits = json.loads(cli("search", "invoice", "4471", "--json", library=library_dir).stdout)
    assert Path(hits[0]["path"]).name == "receipt.png" and hits[0]["matched"] == ["text"]
    hits = json.loads(cli("search", "red", "--json", library=library_dir).stdout)
    assert all(h["matched"] for h in hits) and {"visual"} <= {m for h in hits for m in h["matched"]}
    status = json.loads(cli("status", "--json", library=library_dir).stdout)
    assert status["text_pending"] == 0
    text = cli("search", "lisbon", library=library_dir)
    assert "harbour.jpg" in text.stdout and "(words in its name)" in text.stdout


def test_cli_index_runs_the_text_stage_unless_no_text(tmp_path, cli, monkeypatch):
    from photosense.core import ocr

    photos = tmp_path / "photos"
    text_photo(photos / "a.png", "red", "boarding pass")
    monkeypatch.setattr(ocr, "create_reader", lambda device=None: FakeReader())
    skipped = json.loads(cli("index", photos, "--model", FAKE_MODEL, "--no-text", "--json",
                             library=tmp_path / "lib").stdout)
    assert "text" not in skipped
    assert json.loads(cli("status", "--json", library=tmp_path / "lib").stdout)["text_pending"] == 1
    done = json.loads(cli("index", photos, "--json", library=tmp_path / "lib").stdout)
    assert done["text"]["read"] == 1 and done["text"]["pending"] == 0
    assert json.loads(cli("info", photos / "a.png", "--json", library=tmp_path / "lib").stdout)["text"] == "boarding pass"


def test_cli_index_without_engine_says_so_once(tmp_path, cli, monkeypatch):
    from photosense.core import ocr

    def missing(device=None):
        raise OcrUnavailable("the text recognition engine is not installed (pip install rapidocr_onnxruntime)")

    monkeypatch.setattr(ocr, "create_reader", missing)
    photos = tmp_path / "photos"
    text_photo(photos / "a.png", "red", "boarding pass")
    result = cli("index", photos, "--model", FAKE_MODEL, library=tmp_path / "lib")
    assert result.returncode == 0
    said = " ".join(result.stderr.split())  # the console wraps long lines
    assert said.count("Text in photos cannot be read") == 1 and "not installed" in said


def test_keyword_query_units_and_row_matching_fold_like_the_index():
    from photosense.services.keywords import keyword_query, matches

    kq = keyword_query(parse('a photo of IMG_2041 "Gate B12" café -people'))
    assert kq.units == ('"img 2041"', '"gate b12"', '"café"') and kq.negatives == ('"people"',)
    assert kq.unit_tokens == (("img", "2041"), ("gate", "b12"), ("cafe",))
    row = ("Départ GATE b12\nCAFÉ", "IMG_2041", "Trips/Lisbon/", "Beach", "Pixel 8")
    assert matches(row, kq.unit_tokens) == (3, ("text", "name"))
    assert matches(row, [("b12", "gate")]) == (0, ())  # a phrase keeps its order
    assert matches(row, [("lisbon",), ("pixel", "8")]) == (2, ("name", "tag"))
    assert keyword_query(parse("a photo of the")).units == ()  # stop words only: nothing to look up
