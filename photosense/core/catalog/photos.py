"""Catalog table group: photos (path keys as bytes, stat, hash, metadata), pending and indexed."""
from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from photosense.core import paths
from photosense.core.catalog.connection import CatalogConnection, chunks
from photosense.core.catalog.records import FileState, Photo, PhotoMeta
from photosense.core.filetypes import PHOTO, kind_of

PHOTO_COLUMNS = ("id, path, folder_id, size, mtime_ns, hash, width, height, taken_at, camera, indexed_at, kind, "
                 "duration")
_PHOTO_COLUMNS = PHOTO_COLUMNS


def photo_row(row: sqlite3.Row | tuple) -> Photo:
    """A ``PHOTO_COLUMNS`` row as a :class:`Photo`."""
    return Photo(row[0], paths.from_db(row[1]), *row[2:])


_photo = photo_row


class PhotoTable(CatalogConnection):
    """The ``photos`` table: one row per file, its identity being the row id."""

    def photo(self, photo_id: int) -> Photo | None:
        """One photo by id."""
        rows = self._query(f"SELECT {_PHOTO_COLUMNS} FROM photos WHERE id = ?", (photo_id,))
        return _photo(rows[0]) if rows else None

    def photo_by_path(self, path: str | Path) -> Photo | None:
        """One photo by path."""
        rows = self._query(f"SELECT {_PHOTO_COLUMNS} FROM photos WHERE path = ?", (paths.to_db(path),))
        return _photo(rows[0]) if rows else None

    def photos_by_ids(self, ids: Sequence[int]) -> dict[int, Photo]:
        """Photos by id (missing ids are left out)."""
        out: dict[int, Photo] = {}
        for chunk in chunks(list(ids)):
            marks = ",".join("?" * len(chunk))
            for row in self._query(f"SELECT {_PHOTO_COLUMNS} FROM photos WHERE id IN ({marks})", chunk):
                out[row[0]] = _photo(row)
        return out

    def photo_paths(self, folder_id: int | None = None) -> list[tuple[int, str]]:
        """(id, path) of every photo, or of one folder's: newest taken first, then by path."""
        where, params = ("WHERE folder_id = ?", (folder_id,)) if folder_id is not None else ("", ())
        rows = self._query(f"SELECT id, path FROM photos {where} "
                           "ORDER BY taken_at IS NULL, taken_at DESC, path", params)
        return [(i, paths.from_db(p)) for i, p in rows]

    def file_states(self, folder_id: int) -> list[FileState]:
        """Every photo of a folder with what a scan compares (stat and hash)."""
        return [FileState(*r) for r in self._query(
            "SELECT id, path, size, mtime_ns, hash FROM photos WHERE folder_id = ?", (folder_id,))]

    def file_states_between(self, lo: bytes, hi: bytes) -> list[FileState]:
        """Photos whose path key lies in [lo, hi) (see ``paths.folder_range``), for scoped rescans."""
        return [FileState(*r) for r in self._query(
            "SELECT id, path, size, mtime_ns, hash FROM photos WHERE path >= ? AND path < ?", (lo, hi))]

    def move_tree(self, src: bytes, dest: bytes, folder_id: int) -> tuple[int, list[int]]:
        """A folder moved from *src* to *dest*: every photo under it keeps its id with the new path.

        Rows already under *dest* are stale (a rename never lands on a non-empty folder) and go;
        failure records under *src* are dropped, so the files are retried at their new place.
        Returns (photos moved, ids of the stale rows removed).
        """
        lo, hi = paths.folder_range(paths.from_db(src))
        dlo, dhi = paths.folder_range(paths.from_db(dest))
        cut = len(lo) - 1  # keep the separator
        with self.transaction() as db:
            rows = db.execute("SELECT id, path FROM photos WHERE path >= ? AND path < ?", (lo, hi)).fetchall()
            stale = [r[0] for r in db.execute("SELECT id FROM photos WHERE path >= ? AND path < ? AND NOT "
                                              "(path >= ? AND path < ?)", (dlo, dhi, lo, hi))]
            db.executemany("DELETE FROM photos WHERE id = ?", [(i,) for i in stale])
            db.executemany("UPDATE photos SET path = ?, folder_id = ? WHERE id = ?",
                           [(dlo[:-1] + bytes(p)[cut:], folder_id, i) for i, p in rows])
            db.execute("DELETE FROM failures WHERE path >= ? AND path < ?", (lo, hi))
        return len(rows), stale

    def add_pending(self, folder_id: int, files: Iterable[tuple[bytes, int, int]]) -> int:
        """Record new files (path key, size, mtime_ns) as photos waiting to be indexed."""
        now = time.time()
        rows = [(key, folder_id, size, mtime, now, kind_of(key) or PHOTO) for key, size, mtime in files]
        with self.transaction() as db:
            db.executemany("INSERT INTO photos(path, folder_id, size, mtime_ns, added_at, kind) "
                           "VALUES(?, ?, ?, ?, ?, ?) ON CONFLICT(path) DO NOTHING", rows)
            db.executemany("DELETE FROM failures WHERE path = ?", [(r[0],) for r in rows])
        return len(rows)

    def mark_changed(self, changes: Iterable[tuple[int, int, int]]) -> None:
        """Files (id, size, mtime_ns) whose content changed: their embeddings are dropped.

        ``indexed_at`` keeps the time of the last embedding (the photo was indexed once, so a failure
        to read its new content keeps its row; see :meth:`record_failures`), and a failure recorded
        for it goes: the new content is tried.
        """
        rows = list(changes)
        with self.transaction() as db:
            db.executemany("DELETE FROM failures WHERE path = (SELECT path FROM photos WHERE id = ?)",
                           [(i,) for i, _, _ in rows])
            db.executemany("UPDATE photos SET size = ?, mtime_ns = ?, hash = NULL WHERE id = ?",
                           [(s, m, i) for i, s, m in rows])
            db.executemany("DELETE FROM embeddings WHERE photo_id = ?", [(i,) for i, _, _ in rows])
            db.executemany("DELETE FROM frames WHERE photo_id = ?", [(i,) for i, _, _ in rows])

    def recent_arrivals(self, size: int, since: float) -> list[tuple[int, bytes, int, int, bytes | None]]:
        """Photos of *size* added after *since* (epoch s): (id, path key, folder id, mtime_ns, hash)."""
        return [(i, bytes(p), f, m, None if h is None else bytes(h)) for i, p, f, m, h in self._query(
            "SELECT id, path, folder_id, mtime_ns, hash FROM photos WHERE size = ? AND added_at > ?",
            (size, since))]

    def move_photo(self, photo_id: int, new_path: str | Path, folder_id: int, mtime_ns: int) -> None:
        """Give a photo a new path, keeping its id, embedding and everything attached to it."""
        key = paths.to_db(new_path)
        with self.transaction() as db:
            # a failure recorded at the old path goes: the photo is tried again at its new place
            db.execute("DELETE FROM failures WHERE path = (SELECT path FROM photos WHERE id = ?)", (photo_id,))
            db.execute("DELETE FROM photos WHERE path = ? AND id != ?", (key, photo_id))
            db.execute("UPDATE photos SET path = ?, folder_id = ?, mtime_ns = ? WHERE id = ?",
                       (key, folder_id, mtime_ns, photo_id))

    def delete_photos(self, ids: Sequence[int]) -> None:
        """Forget photos (their embeddings and any failure recorded for their files go with them)."""
        with self.transaction() as db:
            for chunk in chunks(list(ids)):
                db.execute(f"DELETE FROM failures WHERE path IN (SELECT path FROM photos WHERE id IN "
                           f"({','.join('?' * len(chunk))}))", chunk)
                db.execute(f"DELETE FROM photos WHERE id IN ({','.join('?' * len(chunk))})", chunk)

    def pending(self, model_id: int | None, limit: int | None = None) -> list[Photo]:
        """Photos still waiting for an embedding from *model_id* (all photos when it is None), oldest first.

        A photo kept after a failure (see :meth:`record_failures`) is not pending: it waits for its
        file to change.
        """
        sql = (f"SELECT {_PHOTO_COLUMNS} FROM photos p WHERE NOT EXISTS "
               "(SELECT 1 FROM embeddings e WHERE e.photo_id = p.id AND e.model_id = ?) "
               "AND NOT EXISTS (SELECT 1 FROM failures f WHERE f.path = p.path) ORDER BY id")
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [_photo(r) for r in self._query(sql, (model_id,))]

    def save_indexed(self, model_id: int,
                     items: Sequence[tuple[int, bytes, PhotoMeta, np.ndarray]]) -> None:
        """Store one batch of (photo id, hash, metadata, embedding) in a single transaction."""
        now = time.time()
        with self.transaction() as db:
            db.executemany(
                "UPDATE photos SET hash = ?, width = ?, height = ?, taken_at = ?, camera = ?, "
                "indexed_at = ? WHERE id = ?",
                [(h, m.width, m.height, m.taken_at, m.camera, now, pid) for pid, h, m, _ in items])
            db.executemany("DELETE FROM failures WHERE path = (SELECT path FROM photos WHERE id = ?)",
                           [(pid,) for pid, _, _, _ in items])
            db.executemany(
                "INSERT INTO embeddings(photo_id, model_id, vector) VALUES(?, ?, ?) "
                "ON CONFLICT(photo_id, model_id) DO UPDATE SET vector = excluded.vector",
                [(pid, model_id, np.asarray(v, dtype="<f2").tobytes()) for pid, _, _, v in items])

    def copy_indexed(self, model_id: int, items: Sequence[tuple[int, bytes, int]]) -> None:
        """Photos (id, hash, source id) that duplicate an indexed photo: reuse its metadata and embedding."""
        now = time.time()
        with self.transaction() as db:
            for pid, digest, source in items:
                db.execute("UPDATE photos SET (hash, width, height, taken_at, camera, indexed_at) = "
                           "(SELECT ?, width, height, taken_at, camera, ? FROM photos WHERE id = ?) "
                           "WHERE id = ?", (digest, now, source, pid))
                db.execute("INSERT INTO embeddings(photo_id, model_id, vector) "
                           "SELECT ?, model_id, vector FROM embeddings WHERE photo_id = ? AND model_id = ? "
                           "ON CONFLICT(photo_id, model_id) DO UPDATE SET vector = excluded.vector",
                           (pid, source, model_id))
                db.execute("DELETE FROM failures WHERE path = (SELECT path FROM photos WHERE id = ?)", (pid,))

