"""Nearest-neighbour search over photo embeddings: exact numpy for small libraries, hnswlib above that.

Labels are photo ids. The hnswlib graph is an acceleration structure saved atomically beside the
catalog: a manifest names the current generation of the graph file and the ids it holds, and is
replaced by an atomic rename, so a crash leaves either the old or the new generation, never a mix.

With the graph, a float16 copy of the vectors is kept in memory (and saved beside the graph): a
search scores its candidates against the query's background, and hnswlib hands vectors out at about
20 us each (a Python list per vector), while a row of this copy costs well under one. float16 loses
nothing: the catalog stores the embeddings as float16.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from photosense.core.errors import StorageError

log = logging.getLogger(__name__)

EXACT_LIMIT = 5000  # below this, brute force is exact, fast (< 1 ms) and needs no file
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_MIN = 200  # recall@50 >= 0.98 on clustered data (tests/core/test_vectors.py)


def _normalize_rows(x: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.ndim == 1:
        x = x[None, :]
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


class VectorIndex:
    """Cosine-similarity kNN keyed by photo id, persisted under *folder* as ``<name>.*``."""

    def __init__(self, folder: Path, name: str, dim: int, exact_limit: int | None = None) -> None:
        self.folder = Path(folder)
        self.name = name
        self.dim = dim
        self.exact_limit = EXACT_LIMIT if exact_limit is None else exact_limit
        self._lock = threading.RLock()
        # exact mode: a growable matrix; hnsw mode: self._hnsw and the float16 copy self._copy
        self._ids = np.empty(0, dtype=np.int64)
        self._matrix = np.empty((0, dim), dtype=np.float32)
        self._hnsw = None
        self._copy = _Float16Rows(dim)
        self._live: set[int] = set()
        self._generation = 0
        self.saved_at: float | None = None  # (epoch s) when the loaded graph was saved, if known
        self.dirty = False

    # -- state ------------------------------------------------------------------------------

    @contextmanager
    def locked(self) -> Iterator[VectorIndex]:
        """Hold the index still: reads inside (a search, then the vectors of its hits) see one state,
        with no add or remove in between. Reentrant; take it after the library's locks (see
        ``services/context.py`` for the lock order)."""
        with self._lock:
            yield self

    def __len__(self) -> int:
        return len(self._live)

    def __contains__(self, photo_id: object) -> bool:
        return photo_id in self._live

    @property
    def uses_hnsw(self) -> bool:
        """True when the approximate graph is in use."""
        return self._hnsw is not None

    def ids(self) -> np.ndarray:
        """Sorted ids of every vector held."""
        with self._lock:
            return np.array(sorted(self._live), dtype=np.int64)

    @property
    def manifest_path(self) -> Path:
        return self.folder / f"{self.name}.json"

    # -- changes ----------------------------------------------------------------------------

    def add(self, ids: Iterable[int], vectors: np.ndarray) -> None:
        """Add or replace vectors (normalized here)."""
        ids = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, dtype=np.int64)
        if len(ids) == 0:
            return
        vectors = _normalize_rows(vectors)
        with self._lock:
            self.dirty = True
            if self._hnsw is None and len(self._live | set(ids.tolist())) > self.exact_limit:
                self._switch_to_hnsw()
            if self._hnsw is not None:
                self._hnsw_add(ids, vectors)
            else:
                self._exact_remove(set(ids.tolist()) & self._live)
                self._ids = np.concatenate([self._ids, ids])
                self._matrix = np.concatenate([self._matrix, vectors])
            self._live.update(ids.tolist())

    def remove(self, ids: Iterable[int]) -> None:
        """Drop vectors (unknown ids are ignored)."""
        with self._lock:
            gone = set(int(i) for i in ids) & self._live
            if not gone:
                return
            self.dirty = True
            if self._hnsw is not None:
                for label in gone:
                    self._hnsw.mark_deleted(label)
                self._copy.drop(gone)
            else:
                self._exact_remove(gone)
            self._live -= gone

    def clear(self) -> None:
        """Forget everything (the caller refills from the catalog)."""
        with self._lock:
            self._ids = np.empty(0, dtype=np.int64)
            self._matrix = np.empty((0, self.dim), dtype=np.float32)
            self._hnsw = None
            self._copy = _Float16Rows(self.dim)
            self._live = set()
            self.dirty = True

    def _exact_remove(self, gone: set[int]) -> None:
        if gone:
            keep = ~np.isin(self._ids, np.fromiter(gone, dtype=np.int64))
            self._ids, self._matrix = self._ids[keep], self._matrix[keep]

    def _new_hnsw(self, capacity: int):
        import hnswlib

        index = hnswlib.Index(space="ip", dim=self.dim)
        index.init_index(max_elements=max(capacity, 1024), M=HNSW_M, ef_construction=HNSW_EF_CONSTRUCTION,
                         allow_replace_deleted=True)
        index.set_ef(HNSW_EF_MIN)
        return index

    def _switch_to_hnsw(self) -> None:
        log.info("%s: %d vectors, switching to the hnswlib graph", self.name, len(self._ids))
        self._hnsw = self._new_hnsw(2 * max(len(self._ids), self.exact_limit))
        if len(self._ids):
            self._hnsw.add_items(self._matrix, self._ids)
            self._copy.put(self._ids, self._matrix)
        self._ids = np.empty(0, dtype=np.int64)
        self._matrix = np.empty((0, self.dim), dtype=np.float32)

    def _hnsw_add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        index = self._hnsw
        id_list = ids.tolist()
        # Labels marked deleted still own a slot; hnswlib only updates them in place once unmarked.
        # (Every slot is either live or marked, so equal counts mean nothing is marked.)
        marked = (set(index.get_ids_list()) - self._live
                  if index.get_current_count() > len(self._live) else set())
        known = [j for j, i in enumerate(id_list) if i in self._live or i in marked]
        fresh = [j for j, i in enumerate(id_list) if not (i in self._live or i in marked)]
        for j in known:
            if id_list[j] in marked:
                index.unmark_deleted(id_list[j])
        if known:
            index.add_items(vectors[known], ids[known])  # in-place update of existing labels
        if fresh:
            needed = index.get_current_count() + len(fresh)
            if needed > index.get_max_elements():
                index.resize_index(max(needed, 2 * index.get_max_elements()))
            # replace_deleted reuses freed slots, so deletions do not grow the graph forever
            index.add_items(vectors[fresh], ids[fresh], replace_deleted=True)
        self._copy.put(ids, vectors)

    # -- search -----------------------------------------------------------------------------

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None,
               exclude: Iterable[int] = ()) -> tuple[np.ndarray, np.ndarray]:
        """The *k* nearest ids (best first) and their cosine scores.

        ``allowed`` restricts the result to those ids, exactly: a filter never loses true matches
        to kNN truncation. ``exclude`` leaves ids out (e.g. the photo a "similar" search started from).
        """
        q = _normalize_rows(query)[0]
        exclude = set(int(i) for i in exclude)
        with self._lock:
            if allowed is not None:
                candidates = np.fromiter((i for i in np.asarray(allowed, dtype=np.int64).tolist()
                                          if i in self._live and i not in exclude), dtype=np.int64)
                return self._exact_over(candidates, q, k)
            if self._hnsw is None:
                return self._top(self._ids, self._matrix @ q, k, exclude)
            n = len(self._live)
            want = min(k + len(exclude), n)
            if want <= 0:
                return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
            self._hnsw.set_ef(max(HNSW_EF_MIN, 2 * want))
            labels, dist = self._hnsw.knn_query(q, k=want)
            labels, scores = labels[0].astype(np.int64), (1.0 - dist[0]).astype(np.float32)
        keep = np.array([i not in exclude for i in labels.tolist()], dtype=bool)
        return labels[keep][:k], scores[keep][:k]

    def _exact_over(self, candidates: np.ndarray, q: np.ndarray, k: int,
                    chunk: int = 20000) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-k over a subset, in chunks so memory stays bounded for big subsets."""
        best_ids = np.empty(0, dtype=np.int64)
        best_scores = np.empty(0, dtype=np.float32)
        for start in range(0, len(candidates), chunk):
            part = candidates[start:start + chunk]
            ids = np.concatenate([best_ids, part])
            scores = np.concatenate([best_scores, self._rows(part) @ q])
            best_ids, best_scores = self._top(ids, scores, k, set())
        return best_ids, best_scores

    def _rows(self, ids: np.ndarray) -> np.ndarray:
        missing = [i for i in ids.tolist() if i not in self._live]
        if missing:  # never another photo's vector (exact mode) nor hnswlib's RuntimeError
            raise KeyError(f"no vector for photo ids {missing[:10]}")
        if self._hnsw is not None:
            return self._copy.get(ids)
        order = np.argsort(self._ids)
        return self._matrix[order[np.searchsorted(self._ids, ids, sorter=order)]]

    @staticmethod
    def _top(ids: np.ndarray, scores: np.ndarray, k: int, exclude: set[int]) -> tuple[np.ndarray, np.ndarray]:
        if exclude and len(ids):
            keep = ~np.isin(ids, np.fromiter(exclude, dtype=np.int64))
            ids, scores = ids[keep], scores[keep]
        k = min(k, len(ids))
        if k <= 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        part = np.argpartition(-scores, k - 1)[:k]
        best = part[np.argsort(-scores[part], kind="stable")]
        return ids[best], scores[best].astype(np.float32)

    def vectors(self, ids: Iterable[int]) -> np.ndarray:
        """The stored (normalized) vectors of *ids*, in order (all must be present)."""
        with self._lock:
            return self._rows(np.asarray(list(ids), dtype=np.int64))

    # -- persistence ------------------------------------------------------------------------

    def save(self) -> None:
        """Write the graph and manifest atomically (exact mode needs no file: the catalog suffices)."""
        with self._lock:
            if not self.dirty:
                return
            self.folder.mkdir(parents=True, exist_ok=True)
            old = self._read_manifest()
            if self._hnsw is None:
                try:
                    self._write_manifest({"kind": "exact", "dim": self.dim, "generation": self._generation})
                except OSError as err:
                    raise StorageError(f"Could not save the search index in {self.folder}: "
                                       f"{err.strerror or err}. The previous index is intact.") from err
                self._remove_generation(old)
                self.dirty = False
                return
            generation = self._generation + 1
            graph = self.folder / f"{self.name}.{generation}.hnsw"
            ids_file = self.folder / f"{self.name}.{generation}.ids.npy"
            copy_file = self.folder / f"{self.name}.{generation}.f16.npy"
            saved_at = time.time()  # every vector held now was committed to the catalog before this
            try:
                ids = self.ids()
                self._atomic(graph, lambda tmp: self._hnsw.save_index(str(tmp)))
                self._atomic(ids_file, lambda tmp: np.save(tmp, ids, allow_pickle=False))
                self._atomic(copy_file, lambda tmp: self._copy.save(tmp, ids))
                self._write_manifest({"kind": "hnsw", "dim": self.dim, "generation": generation,
                                      "count": len(self._live), "saved_at": saved_at, "float16_copy": True})
            except OSError as err:
                for f in (graph, ids_file, copy_file):
                    f.unlink(missing_ok=True)
                raise StorageError(f"Could not save the search index in {self.folder}: {err.strerror or err}. "
                                   "The previous index is intact; it will be brought up to date from the "
                                   "catalog on the next start.") from err
            self._generation = generation
            self._remove_generation(old)
            self.dirty = False

    def load(self) -> set[int] | None:
        """Load the saved graph; returns the ids it holds, or None when there is none usable."""
        manifest = self._read_manifest()
        if not manifest or manifest.get("kind") != "hnsw" or manifest.get("dim") != self.dim:
            self._generation = int(manifest.get("generation", 0)) if manifest else 0
            return None
        generation = int(manifest["generation"])
        graph = self.folder / f"{self.name}.{generation}.hnsw"
        ids_file = self.folder / f"{self.name}.{generation}.ids.npy"
        try:
            import hnswlib

            ids = np.load(ids_file, allow_pickle=False).astype(np.int64)
            index = hnswlib.Index(space="ip", dim=self.dim)
            index.load_index(str(graph), max_elements=0, allow_replace_deleted=True)
            index.set_ef(HNSW_EF_MIN)
        except (OSError, RuntimeError, ValueError) as err:
            log.warning("search index %s unreadable (%s); it will be rebuilt", graph, err)
            self._generation = generation
            return None
        copy_file = self.folder / f"{self.name}.{generation}.f16.npy"
        try:
            if not manifest.get("float16_copy"):  # saved by a version without it (a file may be stale)
                raise ValueError("not in the manifest")
            rows = np.load(copy_file, allow_pickle=False)
            if rows.shape != (len(ids), self.dim) or rows.dtype != np.float16:
                raise ValueError(f"shape {rows.shape}, {rows.dtype}")
            copy = _Float16Rows.adopt(ids, rows)
            probe = ids[np.linspace(0, len(ids) - 1, min(8, len(ids))).astype(int)] if len(ids) else ids
            graph_rows = np.asarray(index.get_items(probe), np.float32).reshape(len(probe), self.dim)
            if not np.allclose(copy.get(probe), graph_rows, atol=2e-3):  # another graph's copy
                raise ValueError("it differs from the graph")
        except (OSError, ValueError) as err:  # saved by an older version, or damaged: ask the graph
            log.info("search index %s: no float16 copy (%s); reading the vectors from the graph", graph, err)
            copy = _Float16Rows(self.dim)
            for start in range(0, len(ids), 4096):
                part = ids[start:start + 4096]
                copy.put(part, np.asarray(index.get_items(part), np.float32).reshape(len(part), self.dim))
            stale = True
        else:
            stale = False
        with self._lock:
            self._hnsw = index
            self._copy = copy
            self._live = set(ids.tolist())
            self._generation = generation
            self.saved_at = float(manifest["saved_at"]) if "saved_at" in manifest else None
            self.dirty = stale  # the next save (by the process that writes) adds the copy
        return set(self._live)

    def delete_files(self) -> None:
        """Remove every saved file of this index (its manifest first, so a half-deleted index reads as
        missing and is rebuilt from the catalog, never as a broken one)."""
        self.manifest_path.unlink(missing_ok=True)
        for path in self.folder.glob(f"{self.name}.*"):
            if path.name.startswith(f"{self.name}.") and path.name[len(self.name) + 1:].split(".")[0].isdigit():
                path.unlink(missing_ok=True)

    def _read_manifest(self) -> dict | None:
        try:
            return json.loads(self.manifest_path.read_text())
        except (OSError, ValueError):
            return None

    def _write_manifest(self, data: dict) -> None:
        self._atomic(self.manifest_path, lambda tmp: tmp.write_text(json.dumps(data)))

    def _remove_generation(self, manifest: dict | None) -> None:
        if manifest and manifest.get("kind") == "hnsw" and int(manifest["generation"]) != self._generation:
            for suffix in ("hnsw", "ids.npy", "f16.npy"):
                (self.folder / f"{self.name}.{manifest['generation']}.{suffix}").unlink(missing_ok=True)

    @staticmethod
    def _atomic(target: Path, write) -> None:
        """Write via a temp file in the same folder, fsync, then rename over *target*."""
        tmp = target.with_name(target.name + ".tmp")
        try:
            write(tmp)
            if not tmp.exists() and tmp.with_suffix(tmp.suffix + ".npy").exists():
                tmp.with_suffix(tmp.suffix + ".npy").rename(tmp)  # np.save appends .npy
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


class _Float16Rows:
    """Vectors by id in a growable float16 matrix; freed rows are reused."""

    def __init__(self, dim: int) -> None:
        self._matrix = np.empty((0, dim), dtype=np.float16)
        self._row: dict[int, int] = {}
        self._free: list[int] = []

    @classmethod
    def adopt(cls, ids: np.ndarray, matrix: np.ndarray) -> _Float16Rows:
        """Rows as saved by :meth:`save` (no copy)."""
        rows = cls(matrix.shape[1])
        rows._matrix = matrix
        rows._row = {i: n for n, i in enumerate(ids.tolist())}
        return rows

    def save(self, path: Path, ids: np.ndarray, chunk: int = 8192) -> None:
        """Write the rows of *ids* in order as one .npy file, a chunk at a time (no second copy in memory)."""
        with open(path, "wb") as fh:  # plain writes: a memory map would count the whole file as resident
            np.lib.format.write_array_header_1_0(fh, {"descr": np.lib.format.dtype_to_descr(np.dtype("<f2")),
                                                      "fortran_order": False,
                                                      "shape": (len(ids), self._matrix.shape[1])})
            for start in range(0, len(ids), chunk):
                fh.write(np.ascontiguousarray(self.rows(ids[start:start + chunk]), dtype="<f2").tobytes())

    def put(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        rows = []
        for i in ids.tolist():
            row = self._row.get(i)
            if row is None:
                row = self._free.pop() if self._free else len(self._row) + len(self._free)
                self._row[i] = row
            rows.append(row)
        needed = max(rows, default=-1) + 1
        if needed > len(self._matrix):
            grown = np.empty((max(needed, 2 * len(self._matrix)), self._matrix.shape[1]), dtype=np.float16)
            grown[:len(self._matrix)] = self._matrix
            self._matrix = grown
        self._matrix[rows] = vectors

    def drop(self, ids: Iterable[int]) -> None:
        for i in ids:
            row = self._row.pop(int(i), None)
            if row is not None:
                self._free.append(row)

    def rows(self, ids: np.ndarray) -> np.ndarray:
        """The float16 rows of *ids* (all present), in order."""
        return self._matrix[[self._row[i] for i in ids.tolist()]]

    def get(self, ids: np.ndarray) -> np.ndarray:
        return self.rows(ids).astype(np.float32)
