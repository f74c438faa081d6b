"""Catalog table group: models and their embeddings (little-endian float16 blobs per photo and model)."""
from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

import numpy as np

from photosense.core.catalog.connection import CatalogConnection, chunks
from photosense.core.errors import PhotoSenseError


class EmbeddingTable(CatalogConnection):
    """The ``models`` and ``embeddings`` tables, and the catalog's self-checks of them."""

    def ensure_model(self, spec: str, dim: int) -> int:
        """The id of model *spec* (registered on first use)."""
        with self.transaction() as db:
            db.execute("INSERT INTO models(spec, dim, added_at) VALUES(?, ?, ?) ON CONFLICT(spec) DO NOTHING",
                       (spec, dim, time.time()))
            return db.execute("SELECT id FROM models WHERE spec = ?", (spec,)).fetchone()[0]

    def model_id(self, spec: str) -> int | None:
        """The id of a registered model spec."""
        return self._scalar("SELECT id FROM models WHERE spec = ?", (spec,))

    def models(self) -> list[tuple[int, str, int, int]]:
        """(id, spec, dim, items embedded) of every registered model, oldest first."""
        return [(int(i), spec, int(dim), int(n)) for i, spec, dim, n in self._query(
            "SELECT m.id, m.spec, m.dim, (SELECT COUNT(*) FROM embeddings e WHERE e.model_id = m.id) "
            "FROM models m ORDER BY m.id")]

    def forget_model(self, model_id: int) -> None:
        """Delete a model with its embeddings and video moments (``model prune``)."""
        with self.transaction() as db:
            db.execute("DELETE FROM frames WHERE model_id = ?", (model_id,))
            db.execute("DELETE FROM frames_dropped WHERE model_id = ?", (model_id,))
            db.execute("DELETE FROM embeddings WHERE model_id = ?", (model_id,))
            db.execute("DELETE FROM models WHERE id = ?", (model_id,))

    def model_dim(self, model_id: int) -> int:
        """Embedding width of a registered model."""
        return int(self._scalar("SELECT dim FROM models WHERE id = ?", (model_id,)))

    def embedding(self, photo_id: int, model_id: int) -> np.ndarray | None:
        """One stored embedding as float32."""
        blob = self._scalar("SELECT vector FROM embeddings WHERE photo_id = ? AND model_id = ?",
                            (photo_id, model_id))
        return None if blob is None else np.frombuffer(blob, dtype="<f2").astype(np.float32)

    def embedding_ids(self, model_id: int) -> np.ndarray:
        """Ids of all photos with an embedding from *model_id*, ascending."""
        rows = self._query("SELECT photo_id FROM embeddings WHERE model_id = ? ORDER BY photo_id", (model_id,))
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def indexed_since(self, model_id: int, since: float) -> np.ndarray:
        """Ids of photos embedded by *model_id* at or after *since* (epoch s), ascending."""
        rows = self._query("SELECT p.id FROM photos p JOIN embeddings e ON e.photo_id = p.id AND e.model_id = ? "
                           "WHERE p.indexed_at >= ? ORDER BY p.id", (model_id, since))
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def iter_embeddings(self, model_id: int, dim: int, ids: Sequence[int] | None = None,
                        chunk: int = 20000) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(ids, float32 matrix) chunks of the stored embeddings, all or just *ids*."""
        if ids is not None:
            # int(): numpy integers would bind as BLOBs (buffer protocol) and match nothing
            for part in chunks([int(i) for i in ids], 500):
                marks = ",".join("?" * len(part))
                rows = self._query(f"SELECT photo_id, vector FROM embeddings WHERE model_id = ? "
                                   f"AND photo_id IN ({marks})", (model_id, *part))
                if rows:
                    yield self._decode_rows(rows, dim)
            return
        last = -1
        while True:
            rows = self._query("SELECT photo_id, vector FROM embeddings WHERE model_id = ? AND photo_id > ? "
                               "ORDER BY photo_id LIMIT ?", (model_id, last, chunk))
            if not rows:
                return
            last = rows[-1][0]
            yield self._decode_rows(rows, dim)

    @staticmethod
    def _decode_rows(rows: list[tuple], dim: int) -> tuple[np.ndarray, np.ndarray]:
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        damaged = [r[0] for r in rows if len(r[1]) != 2 * dim]
        if damaged:
            raise PhotoSenseError(f"{len(damaged)} stored embeddings of the library catalog are damaged (photo "
                                  f"ids {', '.join(map(str, damaged[:10]))}). Run 'photosense check --repair' "
                                  "(or Library.check(repair=True)): those photos are indexed again.")
        flat = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f2")
        return ids, flat.reshape(len(rows), dim).astype(np.float32)

    def embedded_by_hash(self, model_id: int) -> dict[bytes, int]:
        """Content hash -> a photo id holding an embedding for it (for reuse on copies and moves)."""
        rows = self._query("SELECT p.hash, p.id FROM photos p JOIN embeddings e ON e.photo_id = p.id "
                           "WHERE e.model_id = ? AND p.hash IS NOT NULL", (model_id,))
        return {bytes(h): i for h, i in rows}

    def problems(self, model_id: int | None, dim: int | None) -> tuple[list[str], list[int]]:
        """Catalog self-checks: (descriptions, photo ids whose stored embedding is unusable)."""
        found = [f"SQLite integrity: {r[0]}" for r in self._query("PRAGMA quick_check") if r[0] != "ok"]
        orphans = self._scalar("SELECT COUNT(*) FROM embeddings e WHERE NOT EXISTS "
                               "(SELECT 1 FROM photos p WHERE p.id = e.photo_id)")
        if orphans:
            found.append(f"{orphans} embeddings belong to no photo")
        bad: list[int] = []
        if model_id is not None and dim is not None:
            bad = [r[0] for r in self._query("SELECT photo_id FROM embeddings WHERE model_id = ? AND "
                                             "length(vector) != ?", (model_id, 2 * dim))]
            if bad:
                found.append(f"{len(bad)} stored embeddings have the wrong size (photo ids "
                             f"{', '.join(map(str, bad[:10]))}{', …' if len(bad) > 10 else ''})")
            videos = [r[0] for r in self._query("SELECT DISTINCT photo_id FROM frames WHERE model_id = ? AND "
                                                "length(vector) != ?", (model_id, 2 * dim))]
            if videos:
                found.append(f"{len(videos)} videos have stored frames of the wrong size (ids "
                             f"{', '.join(map(str, videos[:10]))}{', …' if len(videos) > 10 else ''})")
                bad = sorted(set(bad) | set(videos))
        return found, bad

    def drop_embeddings(self, ids: Sequence[int], model_id: int | None = None) -> None:
        """Delete stored embeddings (of one model, or all) so the photos are indexed again."""
        with self.transaction() as db:
            db.execute("DELETE FROM embeddings WHERE NOT EXISTS (SELECT 1 FROM photos p WHERE p.id = photo_id)")
            for chunk in chunks(list(ids)):
                marks = ",".join("?" * len(chunk))
                for table in ("embeddings", "frames"):  # a video's frames go with its embedding
                    if model_id is None:
                        db.execute(f"DELETE FROM {table} WHERE photo_id IN ({marks})", chunk)
                    else:
                        db.execute(f"DELETE FROM {table} WHERE model_id = ? AND photo_id IN ({marks})",
                                   (model_id, *chunk))

