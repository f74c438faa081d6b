"""The Library API end to end with the fake colour embedder: index, incremental runs, moves and copies,
failures, cancel, repair, search and similar (torch-free; the real model's side is test_real_model.py)."""
from __future__ import annotations

import os
import shutil
import threading

import numpy as np
import pytest

from fakes import NAME as FAKE_MODEL
from fakes import color_image
from helpers import TINY_MODEL, gradient, jpeg_bytes, save
from photosense import Library
from photosense.core.errors import ModelMismatch, ModelUnavailable, NotInLibrary, UsageError

COLORS = ("red", "blue", "green", "yellow")


@pytest.fixture
def color_folder(photos_dir):
    """12 photos, 3 of each of 4 colours, as JPEG/PNG files; returns {path: colour}."""
    colors = {}
    for n in range(12):
        color = COLORS[n % 4]
        path = save(color_image(color, seed=n), photos_dir / f"c{n:02d}.{'jpg' if n % 2 else 'png'}")
        colors[str(path)] = color
    return colors


def test_index_records_broken_files_and_indexes_the_rest(fake_library, photos_dir):
    save(gradient(), photos_dir / "good.jpg")
    save(gradient(seed=2), photos_dir / "sub" / "good2.png")
    (photos_dir / "empty.jpg").touch()
    (photos_dir / "page.jpg").write_text("<html><body>not a photo</body></html>")
    summary = fake_library.index([photos_dir])
    assert (summary.indexed, summary.failed) == (2, 2)
    status = fake_library.status()
    assert {k: status[k] for k in ("photos", "indexed", "pending", "failed")} == \
        {"photos": 2, "indexed": 2, "pending": 0, "failed": 2}
    assert status["model"] == FAKE_MODEL and status["folders"] == [str(photos_dir)]
    reasons = {os.path.basename(f.path): f.reason for f in fake_library.failures()}
    assert reasons == {"empty.jpg": "empty file (0 bytes)", "page.jpg": "not an image: the file is an HTML page"}


def test_rerun_encodes_nothing_and_the_library_remembers_its_model(library_dir, photos_dir):
    save(gradient(), photos_dir / "a.jpg")
    with Library.open(library_dir, model=FAKE_MODEL) as lib:
        lib.index([photos_dir])
        assert lib.embedder.images_encoded == 1
    with Library.open(library_dir) as lib:  # no model named: the library's own
        assert lib.model_spec == FAKE_MODEL
        summary = lib.index([photos_dir])
        assert summary.indexed == 0 and summary.skipped == 1
        assert lib.embedder.images_encoded == 0


def test_copies_reuse_embeddings_and_moves_keep_identity(library_dir, photos_dir):
    original = save(gradient(seed=5), photos_dir / "a.jpg")
    with Library.open(library_dir, model=FAKE_MODEL) as lib:
        lib.index([photos_dir])
        photo_id = lib.photo(original).id
        vector = lib.vectors().vectors([photo_id])[0]
    shutil.copy(original, photos_dir / "copy.jpg")
    (photos_dir / "sorted").mkdir()
    os.replace(original, photos_dir / "sorted" / "a.jpg")
    with Library.open(library_dir) as lib:
        summary = lib.index()
        assert (summary.moved, summary.reused, summary.indexed) == (1, 1, 0)
        assert lib.embedder.images_encoded == 0  # neither a move nor a copy needs the model
        assert lib.photo(photos_dir / "sorted" / "a.jpg").id == photo_id
        copy = lib.photo(photos_dir / "copy.jpg")
        assert copy.id != photo_id
        assert np.allclose(lib.vectors().vectors([copy.id])[0], vector)
        assert lib.status()["photos"] == 2


def test_deleted_and_changed_files(fake_library, photos_dir):
    a = save(color_image("red", seed=1), photos_dir / "a.jpg")
    b = save(color_image("blue", seed=2), photos_dir / "b.jpg")
    fake_library.index([photos_dir])
    b_id = fake_library.photo(b).id
    a.unlink()
    save(color_image("green", seed=3, size=90), b)
    summary = fake_library.index()
    assert summary.removed == 1 and summary.indexed == 1
    assert fake_library.photo(b).id == b_id  # same file, new content: same photo, new embedding
    assert set(fake_library.vectors().ids().tolist()) == {b_id}
    assert [h.path for h in fake_library.search("green")] == [str(b)]
    assert fake_library.search("blue") == []
    with pytest.raises(NotInLibrary):
        fake_library.photo(a)


def test_search_returns_only_matches_best_first_with_absolute_paths(fake_library, photos_dir, color_folder):
    fake_library.index([photos_dir])
    hits = fake_library.search("red", limit=10)
    assert {h.path for h in hits} == {p for p, c in color_folder.items() if c == "red"}
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert all(os.path.isabs(h.path) for h in hits)
    assert fake_library.search("a dog") == []  # nothing it can see: nothing above the cut-off
    everything = fake_library.search("a dog", limit=100, show_all=True)
    assert len(everything) == 12
    assert len(fake_library.search("red", limit=2)) == 2


def test_similar_leaves_the_query_out_and_accepts_outside_images(fake_library, photos_dir, color_folder,
                                                                  tmp_path):
    fake_library.index([photos_dir])
    query = next(p for p, c in color_folder.items() if c == "green")
    hits = fake_library.similar(query, limit=2)
    assert query not in [h.path for h in hits]
    assert [color_folder[h.path] for h in hits] == ["green", "green"]
    outside = tmp_path / "outside.png"
    shutil.copy(query, outside)
    outside_hits = fake_library.similar(outside, limit=3)
    assert outside_hits[0].path == query and outside_hits[0].score > 0.99


def test_similar_of_unknown_path_and_empty_query_are_clear_errors(fake_library, photos_dir):
    save(gradient(), photos_dir / "a.jpg")
    fake_library.index([photos_dir])
    with pytest.raises(NotInLibrary, match="neither a photo of this library nor an image file"):
        fake_library.similar(photos_dir / "nope.jpg")
    with pytest.raises(UsageError, match="empty"):
        fake_library.search("   ")


def test_another_model_is_refused(library_dir, photos_dir):
    save(gradient(), photos_dir / "a.jpg")
    with Library.open(library_dir, model=FAKE_MODEL) as lib:
        lib.index([photos_dir])
    with pytest.raises(ModelMismatch, match="was indexed with the model 'fake-colors'"):
        Library.open(library_dir, model=TINY_MODEL)
    with Library.open(library_dir, model=FAKE_MODEL) as lib:  # its own model is welcome
        assert lib.status()["indexed"] == 1


def open_catalog_files(library_dir) -> list[str]:
    """This process's open file descriptors on the library's catalog (and its WAL files)."""
    catalog = str(library_dir / "catalog.sqlite3")
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(catalog):
            found.append(target)
    return found


def test_a_refused_open_leaves_no_catalog_connection_open(library_dir, photos_dir):
    save(gradient(), photos_dir / "a.jpg")
    with Library.open(library_dir, model=FAKE_MODEL) as lib:
        lib.index([photos_dir])
        assert open_catalog_files(library_dir) != []  # (the probe sees an open library)
    assert open_catalog_files(library_dir) == []
    for _ in range(3):
        with pytest.raises(ModelMismatch):
            Library.open(library_dir, model=TINY_MODEL)
    assert open_catalog_files(library_dir) == []


def test_cancel_stops_after_a_batch_and_resumes(library_dir, photos_dir):
    for n in range(12):
        save(gradient(seed=n), photos_dir / f"{n}.png")
    cancel = threading.Event()
    with Library.open(library_dir, model=FAKE_MODEL) as lib:
        summary = lib.index([photos_dir], cancel=cancel, batch_size=4,
                            progress=lambda p: cancel.set() if p.done >= 4 else None)
        assert summary.cancelled and summary.indexed < 12
        assert lib.status()["pending"] == 12 - summary.indexed
    with Library.open(library_dir) as lib:
        assert lib.index().indexed == 12 - summary.indexed
        assert lib.status()["pending"] == 0


def test_vector_index_is_repaired_from_the_catalog(library_dir, photos_dir, color_folder, monkeypatch):
    monkeypatch.setattr("photosense.core.vectors.EXACT_LIMIT", 2)  # force the hnswlib file
    with Library.open(library_dir, model=FAKE_MODEL) as lib:
        lib.index([photos_dir])
        ids = set(lib.vectors().ids().tolist())
    vectors_dir = library_dir / "vectors"
    assert any(p.suffix == ".hnsw" for p in vectors_dir.iterdir())
    # lose the graph entirely: it is rebuilt from the embeddings in the catalog
    for p in vectors_dir.iterdir():
        p.unlink()
    with Library.open(library_dir) as lib:
        assert set(lib.vectors().ids().tolist()) == ids
        assert {h.path for h in lib.search("yellow")} == {p for p, c in color_folder.items() if c == "yellow"}


def test_progress_reports_rate_and_eta(fake_library, photos_dir):
    for n in range(10):
        save(gradient(seed=n), photos_dir / f"{n}.jpg")
    seen = []
    fake_library.index([photos_dir], batch_size=4, progress=seen.append)
    assert seen[0].phase == "scanning"
    last = seen[-1]
    assert (last.done, last.total) == (10, 10) and last.rate > 0 and last.eta == 0


def test_index_a_folder_then_its_parent_in_one_call(fake_library, photos_dir):
    """The parent absorbs the subfolder added just before it: each photo is indexed once, no crash."""
    save(gradient(seed=1), photos_dir / "2020" / "a.jpg")
    save(gradient(seed=2), photos_dir / "b.jpg")
    summary = fake_library.index([photos_dir / "2020", photos_dir])
    assert (summary.indexed, summary.failed) == (2, 0)
    assert fake_library.status()["folders"] == [str(photos_dir)]
    again = fake_library.index([photos_dir, photos_dir / "2020"])
    assert (again.indexed, again.skipped) == (0, 2)  # the same folder named twice is scanned once


def test_a_model_that_fails_during_a_run_stops_it_and_costs_no_photo(library_dir, photos_dir, monkeypatch):
    """A model that cannot be used (ModelUnavailable: CUDA out of memory on the real one, see
    test_real_model.py) is fatal for the run, and the pending photos must not be recorded as broken
    files (a failed photo leaves the photos table, and its tags and albums with it)."""
    from fakes import FakeEmbedder

    a = save(gradient(seed=1), photos_dir / "a.jpg")
    with Library.open(library_dir, model=FAKE_MODEL) as lib:
        lib.index([photos_dir])
        lib.tags.accept("favourite", [a])
        lib.albums.create("best", manual=True)
        lib.albums.pin("best", [a])
    save(gradient(seed=7, width=80), a)  # edited: pending again
    save(gradient(seed=2), photos_dir / "b.jpg")

    def unavailable(self, batch):
        raise ModelUnavailable("The model could not be moved to the device: out of memory.")

    monkeypatch.setattr(FakeEmbedder, "encode_images", unavailable)
    with Library.open(library_dir) as lib:
        with pytest.raises(ModelUnavailable, match="out of memory"):
            lib.index()
        assert lib.failures() == [] and lib.status()["pending"] == 2
    monkeypatch.undo()
    with Library.open(library_dir) as lib:
        assert lib.index().indexed == 2
        assert [t.label for t in lib.tags.of(a)] == ["favourite"] and lib.albums.of(a) == ["best"]


def test_a_folder_reached_through_a_symlink_never_duplicates_photos(fake_library, photos_dir, tmp_path):
    """/links/sub -> photos/sub is the same folder: adding it (before or after its parent) must not
    give its photos a second row; photos keep their id and tags."""
    a = save(gradient(seed=1), photos_dir / "sub" / "a.jpg")
    save(gradient(seed=2), photos_dir / "b.jpg")
    (tmp_path / "links").mkdir()
    link = tmp_path / "links" / "sub"
    link.symlink_to(photos_dir / "sub")
    fake_library.index([link])
    first = fake_library.photo(link / "a.jpg")
    fake_library.tags.accept("favourite", [link / "a.jpg"])
    fake_library.index([photos_dir])  # the parent, by its real path, absorbs the linked folder
    assert fake_library.status()["photos"] == 2 and fake_library.status()["folders"] == [str(photos_dir)]
    assert fake_library.photo(a).id == first.id and [t.label for t in fake_library.tags.of(a)] == ["favourite"]
    assert fake_library.add_folder(link).path == str(photos_dir)  # already in the library
    assert fake_library.index().indexed == 0 and fake_library.status()["photos"] == 2


def test_a_graph_saved_before_a_photo_was_re_embedded_is_repaired_at_open(library_dir, photos_dir, monkeypatch):
    """Killed after the catalog committed a changed photo's new embedding but before the graph was
    saved: the saved graph holds the same ids, with the old vector. Opening must not keep it."""
    monkeypatch.setattr("photosense.core.vectors.EXACT_LIMIT", 2)  # force the hnswlib file
    for n in range(6):
        save(color_image("red", seed=n), photos_dir / f"{n}.png")
    with Library.open(library_dir, model=FAKE_MODEL) as lib:
        lib.index([photos_dir])
        old = lib.vectors().vectors([lib.photo(photos_dir / "3.png").id])[0]
    save(color_image("blue", seed=3), photos_dir / "3.png")  # new content: a new embedding
    with monkeypatch.context() as m:
        m.setattr("photosense.core.vectors.VectorIndex.save", lambda self: None)  # the kill
        with Library.open(library_dir) as lib:
            assert lib.index().indexed == 1
    with Library.open(library_dir) as lib:
        photo = lib.photo(photos_dir / "3.png")
        stored = lib.catalog.embedding(photo.id, lib.catalog.model_id(lib.model_spec))
        held = lib.vectors().vectors([photo.id])[0]
        assert float(held @ old) < 0.9  # (the new content is far from the old: the check can fail)
        assert float(held @ (stored / np.linalg.norm(stored))) > 0.999
        assert [h.path for h in lib.search("blue")] == [str(photos_dir / "3.png")]


def test_an_indexed_photo_that_turns_unreadable_keeps_its_id_tags_and_albums(fake_library, photos_dir):
    """A photo caught half-written (or briefly corrupt) is a failure, but never loses its row: its id,
    tags and album memberships stay; it is not retried until the file changes, then re-embedded."""
    lib = fake_library
    photo = save(gradient(seed=7), photos_dir / "a.jpg")
    save(gradient(seed=8), photos_dir / "b.jpg")
    lib.index([photos_dir])
    photo_id = lib.photo(photo).id
    lib.tags.accept("favourite", [photo])
    lib.albums.create("Keep", manual=True)
    lib.albums.pin("Keep", [photo])

    photo.write_bytes(jpeg_bytes(gradient(seed=9, width=200, height=150))[:300])  # half-written
    summary = lib.index()
    assert summary.failed == 1
    assert lib.photo(photo).id == photo_id
    assert [t.label for t in lib.tags.of(photo)] == ["favourite"]
    assert lib.albums.of(photo) == ["Keep"] and [h.id for h in lib.albums.photos("Keep")] == [photo_id]
    assert [f.path for f in lib.failures()] == [str(photo)]
    s = lib.status()  # a kept-but-failed photo is a photo and a failure, neither indexed nor pending
    assert (s["photos"], s["indexed"], s["pending"], s["failed"]) == (2, 1, 0, 1)
    assert photo_id not in lib.vectors() and lib.check() == []

    again = lib.index()  # unchanged since it failed: not retried
    assert (again.failed, again.indexed) == (0, 0) and lib.failures() != []

    save(gradient(seed=9, width=200, height=150), photo)  # readable again
    done = lib.index()
    assert (done.indexed, done.failed) == (1, 0)
    assert lib.photo(photo).id == photo_id and photo_id in lib.vectors()
    assert [t.label for t in lib.tags.of(photo)] == ["favourite"] and lib.albums.of(photo) == ["Keep"]
    assert lib.failures() == []
    s = lib.status()
    assert (s["photos"], s["indexed"], s["pending"], s["failed"]) == (2, 2, 0, 0)
    assert lib.check() == []


def test_a_new_query_encodes_its_prompts_and_null_phrases_in_one_batch(fake_library, photos_dir):
    """They share prefixes in the text tower, and one pass costs less than two; the vectors are the same."""
    from photosense.core.calibration import Calibrator
    from photosense.core.embedder import ensemble
    from photosense.core.prompts import query_prompts

    save(color_image("red", seed=1), photos_dir / "a.jpg")
    save(color_image("blue", seed=2), photos_dir / "b.jpg")
    fake_library.index([photos_dir])
    embedder = fake_library.context.embedder
    batches = []
    encode = embedder.encode_texts

    def counted(texts):
        batches.append(len(texts))
        return encode(texts)

    embedder.encode_texts = counted
    try:
        fake_library.context.calibrator._contrast_vectors()  # the fixed background, made once per model
        batches.clear()
        fake_library.search("bright red -blue", limit=5)
        prompts = len(query_prompts("bright red")) + len(query_prompts("blue"))
        nulls = len(query_prompts("bright thing")) * 24 + len(query_prompts("thing")) * 24
        assert batches == [prompts + nulls]
        fake_library.search("bright red -blue", limit=5)
        assert batches == [prompts + nulls]  # all cached now
    finally:
        embedder.encode_texts = encode
    expected = ensemble(encode(query_prompts("bright red")))
    assert np.allclose(fake_library.context.text_vector("bright red"), expected)
    fresh = Calibrator(embedder).nulls(["bright red"])
    assert np.allclose(fake_library.context.calibrator.nulls(["bright red"]), fresh)
