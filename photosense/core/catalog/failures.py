"""Catalog table group: files that could not be indexed, and the library's counts."""
from __future__ import annotations

import time
from collections.abc import Sequence

from photosense.core import paths
from photosense.core.catalog.connection import CatalogConnection
from photosense.core.catalog.records import Failure


class FailureTable(CatalogConnection):
    """The ``failures`` table (one row per unreadable file, with its reason and stat) and counts."""

    def record_failures(self, items: Sequence[tuple[int | None, bytes, int | None, int | None, str]]) -> None:
        """Record files (photo id or None, path key, size, mtime_ns, reason) that could not be indexed.

        A file never indexed (and holding no tag or album membership) leaves the photos table, so it
        is neither counted nor searched. A photo indexed before (its file changed and cannot be read
        now: caught half-written, briefly corrupt) keeps its row, id, tags and albums, with the stat
        it failed with; it is not pending (:meth:`pending`) and is tried again once the file changes.
        The failure row keeps its stat so that an unchanged file is not retried on every run.
        """
        now = time.time()
        with self.transaction() as db:
            for photo_id, key, size, mtime, reason in items:
                folder = db.execute("SELECT folder_id FROM photos WHERE path = ?", (key,)).fetchone()
                keep = photo_id is not None and db.execute(
                    "SELECT indexed_at IS NOT NULL OR EXISTS (SELECT 1 FROM tags WHERE photo_id = :id) "
                    "OR EXISTS (SELECT 1 FROM album_photos WHERE photo_id = :id) FROM photos WHERE id = :id",
                    {"id": photo_id}).fetchone()
                db.execute("INSERT INTO failures(path, folder_id, size, mtime_ns, reason, failed_at) "
                           "VALUES(?, ?, ?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET size = excluded.size, "
                           "mtime_ns = excluded.mtime_ns, reason = excluded.reason, failed_at = excluded.failed_at",
                           (key, folder[0] if folder else None, size, mtime, reason, now))
                if keep and keep[0]:
                    db.execute("UPDATE photos SET size = COALESCE(?, size), mtime_ns = COALESCE(?, mtime_ns), "
                               "hash = NULL WHERE id = ?", (size, mtime, photo_id))
                elif photo_id is not None:
                    db.execute("DELETE FROM photos WHERE id = ?", (photo_id,))

    def failure_states(self, folder_id: int) -> dict[bytes, tuple[int, int]]:
        """Failed files of a folder -> (size, mtime_ns) when they failed."""
        return {bytes(p): (s, m) for p, s, m in self._query(
            "SELECT path, size, mtime_ns FROM failures WHERE folder_id = ?", (folder_id,))}

    def failure_states_between(self, lo: bytes, hi: bytes) -> dict[bytes, tuple[int, int]]:
        """Failed files whose path key lies in [lo, hi) -> (size, mtime_ns) when they failed."""
        return {bytes(p): (s, m) for p, s, m in self._query(
            "SELECT path, size, mtime_ns FROM failures WHERE path >= ? AND path < ?", (lo, hi))}

    def forget_failures(self, keys: Sequence[bytes]) -> None:
        """Drop failure records (the file is gone or is being retried)."""
        with self.transaction() as db:
            db.executemany("DELETE FROM failures WHERE path = ?", [(k,) for k in keys])

    def failures(self) -> list[Failure]:
        """Every recorded failure, by path."""
        return [Failure(paths.from_db(p), r, t)
                for p, r, t in self._query("SELECT path, reason, failed_at FROM failures ORDER BY path")]

    def counts(self, model_id: int | None) -> dict[str, int]:
        """photos, indexed, pending and failed, from one consistent read.

        failed counts every failure; a photo kept after a failure (see :meth:`record_failures`) is
        also one of the photos, but neither indexed nor pending: photos = indexed + pending + the
        kept failures.
        """
        with self._lock:
            self._db.execute("BEGIN")
            try:
                photos = self._scalar("SELECT COUNT(*) FROM photos")
                indexed = self._scalar("SELECT COUNT(*) FROM embeddings WHERE model_id = ?",
                                       (model_id,)) if model_id is not None else 0
                failed = self._scalar("SELECT COUNT(*) FROM failures")
                kept = self._scalar("SELECT COUNT(*) FROM photos p JOIN failures f ON f.path = p.path WHERE "
                                    "NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.photo_id = p.id AND "
                                    "e.model_id = ?)", (model_id,))
            finally:
                self._db.execute("COMMIT")
        return {"photos": photos, "indexed": indexed, "pending": photos - indexed - kept, "failed": failed}

