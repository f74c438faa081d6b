"""The Library API end to end with the bundled tiny model: index, incremental runs, search, similar."""
from __future__ import annotations

import os
import shutil
import threading

import numpy as np
import pytest

from helpers import TINY_MODEL, fashion_images, gradient, jpeg_bytes, save
from photosense import Library
from photosense.core.errors import ModelMismatch, ModelUnavailable, NotInLibrary, UsageError
from fashion_mnist import CLASS_NAMES


@pytest.fixture
def fashion_folder(photos_dir):
    """40 Fashion-MNIST photos (4 per class) as JPEG/PNG files; returns {path: label}."""
    labels = {}
    for n, (img, label) in enumerate(fashion_images(40, seed=3)):
        path = save(img, photos_dir / f"f{n:02d}.{'jpg' if n % 2 else 'png'}")
        labels[str(path)] = label
    return labels


def test_index_records_broken_files_and_indexes_the_rest(tiny_library, photos_dir):
    save(gradient(), photos_dir / "good.jpg")
    save(gradient(seed=2), photos_dir / "sub" / "good2.png")
    (photos_dir / "empty.jpg").touch()
    (photos_dir / "page.jpg").write_text("<html><body>not a photo</body></html>")
    summary = tiny_library.index([photos_dir])
    assert (summary.indexed, summary.failed) == (2, 2)
    status = tiny_library.status()
    assert {k: status[k] for k in ("photos", "indexed", "pending", "failed")} == \
        {"photos": 2, "indexed": 2, "pending": 0, "failed": 2}
    assert status["model"] == TINY_MODEL and status["folders"] == [str(photos_dir)]
    reasons = {os.path.basename(f.path): f.reason for f in tiny_library.failures()}
    assert reasons == {"empty.jpg": "empty file (0 bytes)", "page.jpg": "not an image: the file is an HTML page"}


def test_rerun_does_no_model_work(library_dir, photos_dir):
    save(gradient(), photos_dir / "a.jpg")
    with Library.open(library_dir, model=TINY_MODEL) as lib:
        lib.index([photos_dir])
    with Library.open(library_dir) as lib:  # the library remembers its model
        summary = lib.index([photos_dir])
        assert summary.indexed == 0 and summary.skipped == 1
        assert not lib.embedder.loaded


def test_copies_reuse_embeddings_and_moves_keep_identity(library_dir, photos_dir):
    original = save(gradient(seed=5), photos_dir / "a.jpg")
    with Library.open(library_dir, model=TINY_MODEL) as lib:
        lib.index([photos_dir])
        photo_id = lib.photo(original).id
        vector = lib.vectors().vectors([photo_id])[0]
    shutil.copy(original, photos_dir / "copy.jpg")
    (photos_dir / "sorted").mkdir()
    os.replace(original, photos_dir / "sorted" / "a.jpg")
    with Library.open(library_dir) as lib:
        summary = lib.index()
        assert (summary.moved, summary.reused, summary.indexed) == (1, 1, 0)
        assert not lib.embedder.loaded  # neither a move nor a copy needs the model
        assert lib.photo(photos_dir / "sorted" / "a.jpg").id == photo_id
        copy = lib.photo(photos_dir / "copy.jpg")
        assert copy.id != photo_id
        assert np.allclose(lib.vectors().vectors([copy.id])[0], vector)
        assert lib.status()["photos"] == 2


def test_deleted_and_changed_files(tiny_library, photos_dir):
    a = save(gradient(seed=1), photos_dir / "a.jpg")
    b = save(gradient(seed=2), photos_dir / "b.jpg")
    tiny_library.index([photos_dir])
    b_id = tiny_library.photo(b).id
    a.unlink()
    save(gradient(seed=3, width=90), b)
    summary = tiny_library.index()
    assert summary.removed == 1 and summary.indexed == 1
    assert tiny_library.photo(b).id == b_id  # same file, new content: same photo, new embedding
    assert set(tiny_library.vectors().ids().tolist()) == {b_id}
    with pytest.raises(NotInLibrary):
        tiny_library.photo(a)


def test_search_ranks_the_named_class_first(tiny_library, photos_dir, fashion_folder):
    tiny_library.index([photos_dir])
    hits = tiny_library.search("ankle boot", limit=4)
    assert len(hits) == 4
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert all(os.path.isabs(h.path) for h in hits)
    assert sum(fashion_folder[h.path] == CLASS_NAMES.index("ankle boot") for h in hits) >= 3


def test_similar_leaves_the_query_out_and_accepts_outside_images(tiny_library, photos_dir, fashion_folder,
                                                                  tmp_path):
    tiny_library.index([photos_dir])
    query = next(p for p, label in fashion_folder.items() if label == CLASS_NAMES.index("trousers"))
    hits = tiny_library.similar(query, limit=3)
    assert query not in [h.path for h in hits]
    assert sum(fashion_folder[h.path] == CLASS_NAMES.index("trousers") for h in hits) >= 2
    outside = tmp_path / "outside.jpg"
    shutil.copy(query, outside)
    outside_hits = tiny_library.similar(outside, limit=3)
    assert outside_hits[0].path == query and outside_hits[0].score > 0.99


def test_similar_of_unknown_path_and_empty_query_are_clear_errors(tiny_library, photos_dir):
    save(gradient(), photos_dir / "a.jpg")
    tiny_library.index([photos_dir])
    with pytest.raises(NotInLibrary, match="neither a photo of this library nor an image file"):
        tiny_library.similar(photos_dir / "nope.jpg")
    with pytest.raises(UsageError, match="empty"):
        tiny_library.search("   ")


def test_another_model_is_refused(library_dir, photos_dir):
    save(gradient(), photos_dir / "a.jpg")
    with Library.open(library_dir, model=TINY_MODEL) as lib:
        lib.index([photos_dir])
    with pytest.raises(ModelMismatch, match="was indexed with the model 'tiny-fashion'"):
        Library.open(library_dir, model="ViT-B-32:none")


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
    with Library.open(library_dir, model=TINY_MODEL) as lib:
        lib.index([photos_dir])
    assert open_catalog_files(library_dir) == []
    for _ in range(3):
        with pytest.raises(ModelMismatch):
            Library.open(library_dir, model="ViT-B-32:none")
    assert open_catalog_files(library_dir) == []


def test_cancel_stops_after_a_batch_and_resumes(library_dir, photos_dir):
    for n in range(12):
        save(gradient(seed=n), photos_dir / f"{n}.png")
    cancel = threading.Event()
    with Library.open(library_dir, model=TINY_MODEL) as lib:
        summary = lib.index([photos_dir], cancel=cancel, batch_size=4,
                            progress=lambda p: cancel.set() if p.done >= 4 else None)
        assert summary.cancelled and summary.indexed < 12
        assert lib.status()["pending"] == 12 - summary.indexed
    with Library.open(library_dir) as lib:
        assert lib.index().indexed == 12 - summary.indexed
        assert lib.status()["pending"] == 0


def test_vector_index_is_repaired_from_the_catalog(library_dir, photos_dir, monkeypatch):
    monkeypatch.setattr("photosense.core.vectors.EXACT_LIMIT", 2)  # force the hnswlib file
    for n in range(6):
        save(gradient(seed=n), photos_dir / f"{n}.png")
    with Library.open(library_dir, model=TINY_MODEL) as lib:
        lib.index([photos_dir])
        ids = set(lib.vectors().ids().tolist())
    vectors_dir = library_dir / "vectors"
    assert any(p.suffix == ".hnsw" for p in vectors_dir.iterdir())
    # lose the graph entirely: it is rebuilt from the embeddings in the catalog
    for p in vectors_dir.iterdir():
        p.unlink()
    with Library.open(library_dir) as lib:
        assert set(lib.vectors().ids().tolist()) == ids
        assert lib.search("a bag", limit=2)


def test_progress_reports_rate_and_eta(tiny_library, photos_dir):
    for n in range(10):
        save(gradient(seed=n), photos_dir / f"{n}.jpg")
    seen = []
    tiny_library.index([photos_dir], batch_size=4, progress=seen.append)
    assert seen[0].phase == "scanning"
    last = seen[-1]
    assert (last.done, last.total) == (10, 10) and last.rate > 0 and last.eta == 0


def test_model_loads_once_under_a_lock(tmp_path, monkeypatch):
    from photosense.core import embedder as embedder_module

    calls = []
    real_build = embedder_module.build

    def counting_build(*args, **kwargs):
        calls.append(1)
        return real_build(*args, **kwargs)

    monkeypatch.setattr(embedder_module, "build", counting_build)
    emb = embedder_module.Embedder(TINY_MODEL, tmp_path)
    assert not emb.loaded
    threads = [threading.Thread(target=emb.load) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and emb.loaded


def test_bf16_on_cpu_keeps_embeddings_close_to_fp32(tmp_path):
    from photosense.core.embedder import Embedder

    images = [img for img, _ in fashion_images(20, seed=7)] + [gradient(seed=s) for s in range(4)]
    out = {}
    for precision in ("fp32", "bf16"):
        emb = Embedder(TINY_MODEL, tmp_path, device="cpu", precision=precision)
        import torch

        out[precision] = emb.encode_images(torch.stack([emb.preprocess(i) for i in images]))
    cosines = (out["fp32"] * out["bf16"]).sum(axis=1)
    assert cosines.min() >= 0.99


def test_trimmed_text_encoding_matches_the_full_context(tmp_path):
    import torch

    from photosense.core.embedder import Embedder

    emb = Embedder(TINY_MODEL, tmp_path, device="cpu", precision="fp32")  # exact comparison: no bf16
    loaded = emb.load()
    assert emb._encode_text is not loaded.model.encode_text  # the fast path is in use
    texts = ["a photo of a sneaker.", "bag", "a grayscale picture of the ankle boot on a plain background."]
    with torch.inference_mode():
        full = loaded.model.encode_text(loaded.tokenizer(texts)).float()
    full = (full / full.norm(dim=-1, keepdim=True)).numpy()
    assert np.allclose(emb.encode_texts(texts), full, atol=1e-5)


def test_index_a_folder_then_its_parent_in_one_call(tiny_library, photos_dir):
    """The parent absorbs the subfolder added just before it: each photo is indexed once, no crash."""
    save(gradient(seed=1), photos_dir / "2020" / "a.jpg")
    save(gradient(seed=2), photos_dir / "b.jpg")
    summary = tiny_library.index([photos_dir / "2020", photos_dir])
    assert (summary.indexed, summary.failed) == (2, 0)
    assert tiny_library.status()["folders"] == [str(photos_dir)]
    again = tiny_library.index([photos_dir, photos_dir / "2020"])
    assert (again.indexed, again.skipped) == (0, 2)  # the same folder named twice is scanned once


def test_a_model_that_fails_to_load_stops_the_run_and_costs_no_photo(library_dir, photos_dir, monkeypatch):
    """Moving the model to the device can fail (CUDA out of memory) after the library knows the model:
    that is fatal for the run, and the pending photos must not be recorded as broken files (a failed
    photo leaves the photos table, and its tags and albums with it)."""
    a = save(gradient(seed=1), photos_dir / "a.jpg")
    with Library.open(library_dir, model=TINY_MODEL) as lib:
        lib.index([photos_dir])
        lib.tags.accept("favourite", [a])
        lib.albums.create("best", manual=True)
        lib.albums.pin("best", [a])
    save(gradient(seed=7, width=80), a)  # edited: pending again
    save(gradient(seed=2), photos_dir / "b.jpg")

    def out_of_memory(_loaded):
        raise RuntimeError("CUDA error: out of memory")

    monkeypatch.setattr("photosense.core.embedder._verified_trimmed_text_encoder", out_of_memory)
    with Library.open(library_dir) as lib:
        with pytest.raises(ModelUnavailable, match="out of memory.*--device cpu"):
            lib.index()
        assert lib.failures() == [] and lib.status()["pending"] == 2
    monkeypatch.undo()
    with Library.open(library_dir) as lib:
        assert lib.index().indexed == 2
        assert [t.label for t in lib.tags.of(a)] == ["favourite"] and lib.albums.of(a) == ["best"]


def test_a_folder_reached_through_a_symlink_never_duplicates_photos(tiny_library, photos_dir, tmp_path):
    """/links/sub -> photos/sub is the same folder: adding it (before or after its parent) must not
    give its photos a second row; photos keep their id and tags."""
    a = save(gradient(seed=1), photos_dir / "sub" / "a.jpg")
    save(gradient(seed=2), photos_dir / "b.jpg")
    (tmp_path / "links").mkdir()
    link = tmp_path / "links" / "sub"
    link.symlink_to(photos_dir / "sub")
    tiny_library.index([link])
    first = tiny_library.photo(link / "a.jpg")
    tiny_library.tags.accept("favourite", [link / "a.jpg"])
    tiny_library.index([photos_dir])  # the parent, by its real path, absorbs the linked folder
    assert tiny_library.status()["photos"] == 2 and tiny_library.status()["folders"] == [str(photos_dir)]
    assert tiny_library.photo(a).id == first.id and [t.label for t in tiny_library.tags.of(a)] == ["favourite"]
    assert tiny_library.add_folder(link).path == str(photos_dir)  # already in the library
    assert tiny_library.index().indexed == 0 and tiny_library.status()["photos"] == 2


def test_a_graph_saved_before_a_photo_was_re_embedded_is_repaired_at_open(library_dir, photos_dir, monkeypatch):
    """Killed after the catalog committed a changed photo's new embedding but before the graph was
    saved: the saved graph holds the same ids, with the old vector. Opening must not keep it."""
    monkeypatch.setattr("photosense.core.vectors.EXACT_LIMIT", 2)  # force the hnswlib file
    for n in range(6):
        save(gradient(seed=n), photos_dir / f"{n}.png")
    with Library.open(library_dir, model=TINY_MODEL) as lib:
        lib.index([photos_dir])
    fashion = fashion_images(1, seed=4)[0][0]
    save(fashion, photos_dir / "3.png")  # new content: a new embedding
    with monkeypatch.context() as m:
        m.setattr("photosense.core.vectors.VectorIndex.save", lambda self: None)  # the kill
        with Library.open(library_dir) as lib:
            assert lib.index().indexed == 1
    with Library.open(library_dir) as lib:
        photo = lib.photo(photos_dir / "3.png")
        stored = lib.catalog.embedding(photo.id, lib.catalog.model_id(lib.model_spec))
        held = lib.vectors().vectors([photo.id])[0]
        assert float(held @ (stored / np.linalg.norm(stored))) > 0.999


def test_an_indexed_photo_that_turns_unreadable_keeps_its_id_tags_and_albums(tiny_library, photos_dir):
    """A photo caught half-written (or briefly corrupt) is a failure, but never loses its row: its id,
    tags and album memberships stay; it is not retried until the file changes, then re-embedded."""
    lib = tiny_library
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
