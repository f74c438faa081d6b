"""Catalog table group: a video's sampled moments (time + embedding per model) and the search index's ids."""
from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

import numpy as np

from photosense.core.catalog.connection import CatalogConnection, chunks, marks
from photosense.core.catalog.records import FRAME_BASE, PhotoMeta
from photosense.core.errors import PhotoSenseError


def _blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f2").tobytes()


class FrameTable(CatalogConnection):
    """The ``frames`` table, and the vector ids the search index holds (photos and video moments)."""

    def save_videos(self, model_id: int, items: Sequence[tuple[int, bytes, PhotoMeta, float,
                                                              Sequence[tuple[float, np.ndarray]]]]) -> list[list[int]]:
        """Store indexed videos (id, hash, metadata, duration, [(t, frame vector)]) in one transaction:
        their frames replace any earlier ones of *model_id*, and the video's own embedding is the
        normalized mean of its frames. Returns each video's new frame ids, in *items*' frame order."""
        now = time.time()
        out: list[list[int]] = []
        with self.transaction() as db:
            for vid, digest, meta, duration, frames in items:
                db.execute("UPDATE photos SET hash = ?, width = ?, height = ?, taken_at = ?, camera = ?, "
                           "indexed_at = ?, duration = ? WHERE id = ?",
                           (digest, meta.width, meta.height, meta.taken_at, meta.camera, now, duration, vid))
                db.execute("DELETE FROM failures WHERE path = (SELECT path FROM photos WHERE id = ?)", (vid,))
                db.execute("DELETE FROM frames WHERE photo_id = ? AND model_id = ?", (vid, model_id))
                ids = [int(db.execute("INSERT INTO frames(photo_id, model_id, t, vector) VALUES(?, ?, ?, ?)",
                                      (vid, model_id, float(t), _blob(v))).lastrowid) for t, v in frames]
                mean = np.mean([np.asarray(v, np.float32) for _, v in frames], axis=0)
                mean /= max(float(np.linalg.norm(mean)), 1e-12)
                db.execute("INSERT INTO embeddings(photo_id, model_id, vector) VALUES(?, ?, ?) "
                           "ON CONFLICT(photo_id, model_id) DO UPDATE SET vector = excluded.vector",
                           (vid, model_id, _blob(mean)))
                out.append(ids)
        return out

    def copy_frames(self, model_id: int, pairs: Sequence[tuple[int, int]]) -> None:
        """Videos (id, source id) that are copies of an indexed video get the source's frames."""
        with self.transaction() as db:
            for vid, source in pairs:
                db.execute("UPDATE photos SET duration = (SELECT duration FROM photos WHERE id = ?) WHERE id = ?",
                           (source, vid))
                db.execute("DELETE FROM frames WHERE photo_id = ? AND model_id = ?", (vid, model_id))
                db.execute("INSERT INTO frames(photo_id, model_id, t, vector) SELECT ?, model_id, t, vector "
                           "FROM frames WHERE photo_id = ? AND model_id = ? ORDER BY t", (vid, source, model_id))

    def frames_of(self, video_id: int, model_id: int) -> list[tuple[int, float]]:
        """(frame id, time in seconds) of a video's sampled moments, in time order."""
        return self._query("SELECT id, t FROM frames WHERE photo_id = ? AND model_id = ? ORDER BY t",
                           (video_id, model_id))

    def frame_owners(self, frame_ids: Sequence[int]) -> dict[int, tuple[int, float]]:
        """Frame id -> (video id, time) (frames no longer in the catalog are left out)."""
        out: dict[int, tuple[int, float]] = {}
        for part in chunks([int(i) for i in frame_ids]):
            out.update({f: (v, t) for f, v, t in self._query(
                f"SELECT id, photo_id, t FROM frames WHERE id IN ({marks(part)})", part)})
        return out

    def frame_ids_by_video(self, model_id: int, video_ids: Sequence[int]) -> dict[int, list[int]]:
        """Video id -> its frame ids of *model_id*, in time order (videos without frames are left out)."""
        out: dict[int, list[int]] = {}
        for part in chunks([int(i) for i in video_ids]):
            for vid, fid in self._query(f"SELECT photo_id, id FROM frames WHERE model_id = ? AND photo_id IN "
                                        f"({marks(part)}) ORDER BY photo_id, t", (model_id, *part)):
                out.setdefault(vid, []).append(fid)
        return out

    def videos_with_frames(self, model_id: int) -> list[int]:
        """Ids of the videos that have moments embedded by *model_id*, ascending."""
        return [r[0] for r in self._query("SELECT DISTINCT photo_id FROM frames WHERE model_id = ? ORDER BY photo_id",
                                          (model_id,))]

    # -- the search index's ids -------------------------------------------------------------

    def vector_ids(self, model_id: int) -> np.ndarray:
        """Every id the search index of *model_id* should hold, ascending: photos (their id) and video
        moments (``FRAME_BASE`` + frame id). A video's own mean embedding is not in the index."""
        photos = self._query("SELECT e.photo_id FROM embeddings e JOIN photos p ON p.id = e.photo_id "
                             "WHERE e.model_id = ? AND p.kind = 'photo' ORDER BY e.photo_id", (model_id,))
        frames = self._query("SELECT id FROM frames WHERE model_id = ? ORDER BY id", (model_id,))
        return np.fromiter([r[0] for r in photos] + [FRAME_BASE + r[0] for r in frames], dtype=np.int64,
                           count=len(photos) + len(frames))

    def has_videos(self) -> bool:
        """True when any item is a video (an indexed lookup: photo-only libraries skip the video paths)."""
        return self._scalar("SELECT 1 FROM photos WHERE kind = 'video' LIMIT 1") is not None

    def vector_ids_of(self, model_id: int, item_ids: Sequence[int]) -> np.ndarray:
        """The search-index ids of some items: a photo's own id, a video's moments."""
        items = [int(i) for i in item_ids]
        if not self.has_videos():
            return np.asarray(sorted(items), np.int64)
        out: list[int] = []
        for part in chunks(items):
            kinds = dict(self._query(f"SELECT id, kind FROM photos WHERE id IN ({marks(part)})", part))
            out += [i for i in part if kinds.get(i) == "photo"]
            videos = [i for i in part if kinds.get(i) == "video"]
            if videos:
                out += [FRAME_BASE + r[0] for r in self._query(
                    f"SELECT id FROM frames WHERE model_id = ? AND photo_id IN ({marks(videos)})",
                    (model_id, *videos))]
        return np.asarray(sorted(out), np.int64)

    def vectors_indexed_since(self, model_id: int, since: float) -> np.ndarray:
        """Search-index ids of items embedded by *model_id* at or after *since* (epoch s), ascending."""
        photos = self._query("SELECT p.id FROM photos p JOIN embeddings e ON e.photo_id = p.id AND e.model_id = ? "
                             "WHERE p.indexed_at >= ? AND p.kind = 'photo'", (model_id, since))
        frames = self._query("SELECT f.id FROM frames f JOIN photos p ON p.id = f.photo_id WHERE f.model_id = ? "
                             "AND p.indexed_at >= ?", (model_id, since))
        return np.asarray(sorted([r[0] for r in photos] + [FRAME_BASE + r[0] for r in frames]), np.int64)

    def iter_vectors(self, model_id: int, dim: int, ids: Sequence[int] | None = None,
                     chunk: int = 20000) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(search-index ids, float32 matrix) chunks of the stored vectors: all, or just *ids*."""
        if ids is None:  # everything, in chunks by id
            for table, sql in (("photos", "SELECT e.photo_id, e.vector FROM embeddings e JOIN photos p ON "
                                          "p.id = e.photo_id WHERE e.model_id = ? AND p.kind = 'photo' AND "
                                          "e.photo_id > ? ORDER BY e.photo_id LIMIT ?"),
                               ("frames", "SELECT id, vector FROM frames WHERE model_id = ? AND id > ? "
                                          "ORDER BY id LIMIT ?")):
                last = -1
                while rows := self._query(sql, (model_id, last, chunk)):
                    last = rows[-1][0]
                    yield self._decode_rows(rows, dim) if table == "photos" else self._frame_rows(rows, dim)
            return
        wanted = np.asarray(ids, np.int64)
        photo_ids = wanted[wanted < FRAME_BASE].tolist()
        if photo_ids:
            yield from self.iter_embeddings(model_id, dim, ids=photo_ids)
        for part in chunks((wanted[wanted >= FRAME_BASE] - FRAME_BASE).tolist()):
            rows = self._query(f"SELECT id, vector FROM frames WHERE model_id = ? AND id IN ({marks(part)})",
                               (model_id, *part))
            if rows:
                yield self._frame_rows(rows, dim)

    def vector_matrix(self, model_id: int, dim: int, ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """(ids found, float16 matrix of their unit vectors) for the stored vectors of *ids*, in one
        allocation (a whole library's is 100 MB per 100k vectors, as the catalog stores them; float32
        and a second copy would be 400); many are read in one pass over all."""
        wanted = np.unique(np.asarray(ids, np.int64))
        matrix = np.empty((len(wanted), dim), np.float16)
        found = np.empty(len(wanted), np.int64)
        n = 0
        # most of a library: one pass over every vector beats thousands of IN (...) look-ups
        for chunk_ids, chunk in self.iter_vectors(model_id, dim, ids=None if len(wanted) > 2000 else wanted):
            keep = np.isin(chunk_ids, wanted)
            m = int(keep.sum())
            chunk = chunk[keep]
            matrix[n:n + m] = chunk / np.maximum(np.linalg.norm(chunk, axis=1, keepdims=True), 1e-12)
            found[n:n + m] = chunk_ids[keep]
            n += m
        return found[:n], matrix[:n]

    @staticmethod
    def _frame_rows(rows: list[tuple], dim: int) -> tuple[np.ndarray, np.ndarray]:
        damaged = [r[0] for r in rows if len(r[1]) != 2 * dim]
        if damaged:
            raise PhotoSenseError(f"{len(damaged)} stored video frames of the library catalog are damaged (frame "
                                  f"ids {', '.join(map(str, damaged[:10]))}). Run 'photosense check --repair'.")
        ids = np.fromiter((FRAME_BASE + r[0] for r in rows), dtype=np.int64, count=len(rows))
        flat = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f2")
        return ids, flat.reshape(len(rows), dim).astype(np.float32)

    def take_dropped_vectors(self, model_id: int) -> np.ndarray:
        """Vector ids of *model_id*'s moments deleted since the last call (by any path: a trigger records
        them), which the search index must drop; the record is cleared (other models' indexes are
        repaired from the catalog when they are opened)."""
        with self.transaction() as db:
            rows = db.execute("SELECT id FROM frames_dropped WHERE model_id = ?", (model_id,)).fetchall()
            db.execute("DELETE FROM frames_dropped")
        return np.fromiter((FRAME_BASE + r[0] for r in rows), dtype=np.int64, count=len(rows))

    def video_count(self) -> int:
        """How many items are videos."""
        return int(self._scalar("SELECT COUNT(*) FROM photos WHERE kind = 'video'"))
