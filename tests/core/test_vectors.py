"""The vector index: exact and hnswlib modes, recall, updates, filters, atomic persistence."""
from __future__ import annotations

import json

import numpy as np
import pytest

from photosense.core.vectors import VectorIndex


def clustered(n: int, dim: int = 64, clusters: int = 100, spread: float = 0.35, seed: int = 0) -> np.ndarray:
    """Unit vectors around random centres: like photo embeddings, unlike uniform noise."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    x = centres[rng.integers(0, clusters, n)] + spread * rng.normal(size=(n, dim)) / np.sqrt(dim)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def exact_top(matrix: np.ndarray, ids: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    return ids[np.argsort(-(matrix @ q), kind="stable")[:k]]


def test_exact_mode_returns_best_first_with_cosine_scores(tmp_path):
    x = clustered(500)
    ids = np.arange(1000, 1500)
    index = VectorIndex(tmp_path, "v", 64)
    index.add(ids, x)
    got, scores = index.search(x[7], 10)
    assert not index.uses_hnsw
    assert got[0] == 1007 and scores[0] == pytest.approx(1.0, abs=1e-5)
    assert np.all(np.diff(scores) <= 1e-7)
    assert list(got) == list(exact_top(x, ids, x[7], 10))


def test_switches_to_hnsw_above_the_limit_while_growing_batch_by_batch(tmp_path):
    n = 3000
    x = clustered(n, seed=3)
    ids = np.arange(1, n + 1)
    index = VectorIndex(tmp_path, "v", 64, exact_limit=1000)
    for start in range(0, n, 500):  # grows (and resizes past its first capacity) like indexing does
        index.add(ids[start:start + 500], x[start:start + 500])
        assert index.uses_hnsw == (start + 500 > 1000)
    assert len(index) == n and set(index.ids().tolist()) == set(ids.tolist())
    for row in (0, 1234, n - 1):
        got, scores = index.search(x[row], 10)
        assert got[0] == ids[row] and scores[0] == pytest.approx(1.0, abs=1e-5)
        assert len(set(got.tolist()) & set(exact_top(x, ids, x[row], 10).tolist())) >= 9


@pytest.mark.slow  # a benchmark of the graph's parameters (HNSW_EF_MIN): building 20000 vectors takes seconds
def test_hnsw_recall_at_50_is_high_on_20000_clustered_vectors(tmp_path):
    n = 20000
    x = clustered(n, clusters=200, seed=1)
    ids = np.arange(1, n + 1)
    index = VectorIndex(tmp_path, "v", 64, exact_limit=2000)
    for start in range(0, n, 2500):  # grows (and resizes) batch by batch, like indexing does
        index.add(ids[start:start + 2500], x[start:start + 2500])
    assert index.uses_hnsw and len(index) == n
    queries = clustered(200, clusters=200, seed=1)[:200] + 0.01
    recalls = []
    for q in queries:
        q = q / np.linalg.norm(q)
        got, _ = index.search(q, 50)
        truth = exact_top(x, ids, q, 50)
        recalls.append(len(set(got.tolist()) & set(truth.tolist())) / 50)
    assert np.mean(recalls) >= 0.98


def test_update_remove_and_reuse_ids(tmp_path):
    x = clustered(3000, seed=2)
    for limit in (10_000, 100):  # exact mode, then hnsw mode
        index = VectorIndex(tmp_path / str(limit), "v", 64, exact_limit=limit)
        index.add(np.arange(3000), x)
        index.remove([5, 6, 7, 99999])
        assert len(index) == 2997 and 5 not in index
        got, _ = index.search(x[5], 5)
        assert 5 not in got.tolist()
        # a removed id comes back with a new vector; an existing id is replaced in place
        index.add([5, 8], np.stack([x[100], x[200]]))
        assert len(index) == 2998
        got, _ = index.search(x[100], 2)
        assert set(got.tolist()) == {5, 100}
        got, _ = index.search(x[200], 2)
        assert set(got.tolist()) == {8, 200}
        # the graph's vectors are served from a float16 copy (the catalog's own precision)
        assert np.allclose(index.vectors([8])[0], x[200], atol=1e-6 if limit > 3000 else 1e-3)
        assert np.allclose(index.vectors([5, 100])[0], index.vectors([100])[0], atol=1e-3)


def test_filter_is_exact_and_exclude_leaves_ids_out(tmp_path):
    x = clustered(8000, seed=3)
    ids = np.arange(8000)
    index = VectorIndex(tmp_path, "v", 64, exact_limit=1000)
    index.add(ids, x)
    allowed = ids[ids % 97 == 0]
    got, _ = index.search(x[0], 20, allowed=allowed)
    assert list(got) == list(exact_top(x[allowed], allowed, x[0], 20))
    got, _ = index.search(x[0], 5, exclude=[0])
    assert 0 not in got.tolist() and len(got) == 5


def test_save_and_load_round_trip_atomically(tmp_path):
    x = clustered(3000, seed=4)
    index = VectorIndex(tmp_path, "m", 64, exact_limit=1000)
    index.add(np.arange(3000), x)
    index.save()
    first = json.loads((tmp_path / "m.json").read_text())
    index.remove([1, 2])
    index.save()
    second = json.loads((tmp_path / "m.json").read_text())
    assert second["generation"] == first["generation"] + 1
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["m.2.f16.npy", "m.2.hnsw", "m.2.ids.npy", "m.json"]  # the old generation is gone, no temp files

    again = VectorIndex(tmp_path, "m", 64, exact_limit=1000)
    held = again.load()
    assert held == set(range(3000)) - {1, 2}
    got, _ = again.search(x[10], 1)
    assert got[0] == 10
    some = np.array([0, 10, 2999, 1500])
    assert np.allclose(again.vectors(some), x[some] / np.linalg.norm(x[some], axis=1, keepdims=True), atol=1e-3)
    assert not again.dirty
    again.add([7000], x[:1])  # a new vector after the load: a fresh row of the copy
    assert np.allclose(again.vectors([7000, 10]), again.vectors([0, 10]))


def test_a_graph_saved_without_its_float16_copy_reads_the_vectors_from_the_graph_until_saved(tmp_path):
    x = clustered(2000, seed=5)
    index = VectorIndex(tmp_path, "m", 64, exact_limit=100)
    index.add(np.arange(2000), x)
    index.save()
    assert json.loads((tmp_path / "m.json").read_text())["float16_copy"]
    expected = index.vectors(np.arange(0, 2000, 7))

    def loaded(**changes) -> VectorIndex:
        """A fresh load; *asked* counts the vectors it asked hnswlib for."""
        again = VectorIndex(tmp_path, "m", 64, exact_limit=100)
        assert again.load() == set(range(2000))
        assert np.allclose(again.vectors(np.arange(0, 2000, 7)), expected, atol=1e-3)
        return again

    manifest = json.loads((tmp_path / "m.json").read_text())
    (tmp_path / "m.json").write_text(json.dumps({k: v for k, v in manifest.items() if k != "float16_copy"}))
    again = loaded()  # as an older version saved it (its file, if any, is not trusted)
    assert again.dirty  # so that the next save adds the copy
    again.save()
    assert json.loads((tmp_path / "m.json").read_text())["float16_copy"] and (tmp_path / "m.2.f16.npy").exists()
    assert not loaded().dirty
    # another graph's copy of the same shape (a crash between versions): caught by a spot check
    np.save(tmp_path / "m.2.f16.npy", np.load(tmp_path / "m.2.f16.npy")[::-1].copy())
    assert loaded().dirty
    (tmp_path / "m.2.f16.npy").write_bytes(b"damaged")
    assert loaded().dirty


def test_missing_or_corrupt_graph_loads_as_none(tmp_path):
    index = VectorIndex(tmp_path, "m", 64, exact_limit=10)
    index.add(np.arange(50), clustered(50))
    index.save()
    (tmp_path / "m.1.hnsw").write_bytes(b"garbage")
    assert VectorIndex(tmp_path, "m", 64).load() is None
    (tmp_path / "m.json").write_text("{not json")
    assert VectorIndex(tmp_path, "m", 64).load() is None


def test_failed_save_keeps_the_previous_generation(tmp_path, monkeypatch):
    index = VectorIndex(tmp_path, "m", 64, exact_limit=10)
    index.add(np.arange(100), clustered(100))
    index.save()
    index.add([500], clustered(1, seed=9))

    def disk_full(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "save", disk_full)
    from photosense.core.errors import StorageError

    with pytest.raises(StorageError, match="previous index is intact"):
        index.save()
    monkeypatch.undo()
    reloaded = VectorIndex(tmp_path, "m", 64)
    assert reloaded.load() == set(range(100))
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())


@pytest.mark.parametrize("exact_limit", [None, 1])
def test_vectors_of_unknown_ids_raise_instead_of_returning_another_photos_vector(tmp_path, exact_limit):
    index = VectorIndex(tmp_path, "t", 4, exact_limit=exact_limit)
    index.add([1, 3, 5], np.eye(4, dtype=np.float32)[:3])
    assert np.allclose(index.vectors([3]), np.eye(4)[1:2])
    index.remove([5])
    for missing in ([2], [9], [5]):
        with pytest.raises(KeyError):
            index.vectors(missing)
