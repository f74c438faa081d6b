"""The SQLite catalog: folders, photos, models, embeddings and failures; the library's source of truth."""
from __future__ import annotations

import os
import sqlite3
import threading
import time
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from photosense.core import paths
from photosense.core.errors import PhotoSenseError, StorageError
from photosense.core.migrations import MIGRATIONS, SCHEMA_VERSION

CATALOG_NAME = "catalog.sqlite3"


@dataclass(frozen=True)
class Folder:
    """A library folder: a root that is scanned and watched."""

    id: int
    path: str


@dataclass(frozen=True)
class Photo:
    """One photo of the library, as the catalog knows it."""

    id: int
    path: str
    folder_id: int
    size: int
    mtime_ns: int
    hash: bytes | None
    width: int | None
    height: int | None
    taken_at: str | None
    camera: str | None
    indexed_at: float | None


@dataclass(frozen=True)
class FileState:
    """What a scan compares against the disk: a known file's stat and hash."""

    id: int
    path: bytes
    size: int
    mtime_ns: int
    hash: bytes | None


@dataclass(frozen=True)
class Failure:
    """A file that could not be indexed, and why."""

    path: str
    reason: str
    failed_at: float


@dataclass(frozen=True)
class PhotoMeta:
    """What decoding learns about a photo besides its embedding."""

    width: int | None = None
    height: int | None = None
    taken_at: str | None = None
    camera: str | None = None


_PHOTO_COLUMNS = "id, path, folder_id, size, mtime_ns, hash, width, height, taken_at, camera, indexed_at"
_STORAGE_HINTS = ("disk is full", "readonly", "read-only", "unable to open", "disk i/o error", "locked")


def fold(value: str | bytes | None) -> str | None:
    """Text for case-insensitive matching: NFC, then Unicode case folding (SQLite's ``lower()``
    folds ASCII only). Registered on the connection as the SQL function ``ps_fold``."""
    if value is None:
        return None
    if isinstance(value, (bytes, memoryview)):  # a path key; undecodable bytes match nothing typed
        text = bytes(value).decode("utf-8", "replace")
    else:  # a typed name may hold surrogate escapes (a non-UTF-8 command-line argument)
        text = str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return unicodedata.normalize("NFC", text).casefold()


def _folders_of(path: bytes | None) -> str | None:
    """SQL ``ps_folders(path)``: a photo's folder part (up to its last separator) folded, with '/'."""
    if path is None:
        return None
    raw = bytes(path)
    return fold(raw[:raw.rfind(paths.SEP) + 1]).replace(os.sep, "/")


def _photo(row: sqlite3.Row | tuple) -> Photo:
    return Photo(row[0], paths.from_db(row[1]), *row[2:])


def _chunks(items: Sequence, size: int = 500) -> Iterator[Sequence]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


class Catalog:
    """Thread-safe access to one library's SQLite catalog (one connection, WAL, batched commits)."""

    def __init__(self, library_dir: Path) -> None:
        self.path = Path(library_dir) / CATALOG_NAME
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                       timeout=30)
        except (OSError, sqlite3.Error) as err:
            raise StorageError(f"Cannot open the library catalog at {self.path}: {err}.") from err
        try:
            self._db.create_function("ps_fold", 1, fold, deterministic=True)
            self._db.create_function("ps_folders", 1, _folders_of, deterministic=True)
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.execute("PRAGMA busy_timeout = 30000")
            try:
                self._db.execute("PRAGMA journal_mode = WAL")
                self._db.execute("PRAGMA synchronous = NORMAL")
            except sqlite3.OperationalError:
                pass  # a read-only library still opens; writes report the problem later
            self._migrate()
        except sqlite3.DatabaseError as err:
            self._db.close()
            if isinstance(err, sqlite3.OperationalError):
                raise self._storage_error(err) from err
            raise PhotoSenseError(f"The library catalog {self.path} is damaged or is not a PhotoSense catalog "
                                  f"({err}). Move it away (or put back a backup copy) and index again.") from err
        except BaseException:
            self._db.close()
            raise

    # -- plumbing ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            try:
                self._db.close()
            except sqlite3.Error:
                pass

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; storage failures become :class:`StorageError`, nothing half-written."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as err:
                raise self._storage_error(err) from err
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException as err:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                if isinstance(err, sqlite3.Error):
                    raise self._storage_error(err) from err
                raise

    def _storage_error(self, err: sqlite3.Error) -> PhotoSenseError:
        text = str(err)
        if any(hint in text.lower() for hint in _STORAGE_HINTS):
            return StorageError(f"Could not write the library catalog {self.path}: {text}. "
                                "Nothing was lost; free some disk space or fix the folder's "
                                "permissions and run the command again.")
        if isinstance(err, sqlite3.IntegrityError):
            return PhotoSenseError(f"The library catalog {self.path} refused a change ({text}); nothing was "
                                   "written. Run 'photosense check --repair', and report it if it happens again.")
        return PhotoSenseError(f"The library catalog {self.path} reported an error: {text}. Nothing was "
                               "written; run 'photosense check' if it happens again.")

    def _query(self, sql: str, params: Sequence | dict = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def _scalar(self, sql: str, params: Sequence | dict = ()):
        rows = self._query(sql, params)
        return rows[0][0] if rows else None

    def _migrate(self) -> None:
        version = self._scalar("PRAGMA user_version")
        if version > SCHEMA_VERSION:
            raise PhotoSenseError(
                f"The library at {self.path.parent} was written by a newer PhotoSense "
                f"(catalog schema {version}, this version reads up to {SCHEMA_VERSION}). "
                "Upgrade PhotoSense to open it.")
        if version == SCHEMA_VERSION:
            return
        if version > 0:
            self._backup(version)
        for step in range(version, SCHEMA_VERSION):
            with self.transaction() as db:
                MIGRATIONS[step](db)
                db.execute(f"PRAGMA user_version = {step + 1}")

    def _backup(self, version: int) -> None:
        """Copy the catalog aside before migrating it (Vorta does the same)."""
        target = self.path.with_name(f"{self.path.name}.v{version}.bak")
        with sqlite3.connect(target) as copy:
            self._db.backup(copy)
        copy.close()

    @property
    def schema_version(self) -> int:
        """The catalog's schema version (``PRAGMA user_version``)."""
        return int(self._scalar("PRAGMA user_version"))

    # -- settings ---------------------------------------------------------------------------

    def setting(self, key: str, default: str | None = None) -> str | None:
        """A library-wide setting."""
        value = self._scalar("SELECT value FROM settings WHERE key = ?", (key,))
        return default if value is None else value

    def set_setting(self, key: str, value: str) -> None:
        """Store a library-wide setting."""
        with self.transaction() as db:
            db.execute("INSERT INTO settings(key, value) VALUES(?, ?) "
                       "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    # -- folders ----------------------------------------------------------------------------

    def add_folder(self, path: str | Path) -> Folder:
        """Add a library folder (idempotent)."""
        key = paths.to_db(path)
        with self.transaction() as db:
            db.execute("INSERT INTO folders(path, added_at) VALUES(?, ?) ON CONFLICT(path) DO NOTHING",
                       (key, time.time()))
            row = db.execute("SELECT id, path FROM folders WHERE path = ?", (key,)).fetchone()
        return Folder(row[0], paths.from_db(row[1]))

    def remove_folder(self, folder_id: int) -> list[int]:
        """Forget a folder and everything under it; returns the removed photo ids."""
        with self.transaction() as db:
            ids = [r[0] for r in db.execute("SELECT id FROM photos WHERE folder_id = ?", (folder_id,))]
            db.execute("DELETE FROM folders WHERE id = ?", (folder_id,))
        return ids

    def folders(self) -> list[Folder]:
        """All library folders, by path."""
        return [Folder(r[0], paths.from_db(r[1]))
                for r in self._query("SELECT id, path FROM folders ORDER BY path")]

    def folder_of(self, path: str | Path) -> Folder | None:
        """The library folder *path* lies in (the innermost one), if any."""
        inside = [f for f in self.folders() if paths.is_inside(path, f.path)]
        return max(inside, key=lambda f: len(f.path)) if inside else None

    # -- photos -----------------------------------------------------------------------------

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
        for chunk in _chunks(list(ids)):
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

    def failure_states_between(self, lo: bytes, hi: bytes) -> dict[bytes, tuple[int, int]]:
        """Failed files whose path key lies in [lo, hi) -> (size, mtime_ns) when they failed."""
        return {bytes(p): (s, m) for p, s, m in self._query(
            "SELECT path, size, mtime_ns FROM failures WHERE path >= ? AND path < ?", (lo, hi))}

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
        return found, bad

    def drop_embeddings(self, ids: Sequence[int], model_id: int | None = None) -> None:
        """Delete stored embeddings (of one model, or all) so the photos are indexed again."""
        with self.transaction() as db:
            db.execute("DELETE FROM embeddings WHERE NOT EXISTS (SELECT 1 FROM photos p WHERE p.id = photo_id)")
            for chunk in _chunks(list(ids)):
                marks = ",".join("?" * len(chunk))
                if model_id is None:
                    db.execute(f"DELETE FROM embeddings WHERE photo_id IN ({marks})", chunk)
                else:
                    db.execute(f"DELETE FROM embeddings WHERE model_id = ? AND photo_id IN ({marks})",
                               (model_id, *chunk))

    def add_pending(self, folder_id: int, files: Iterable[tuple[bytes, int, int]]) -> int:
        """Record new files (path key, size, mtime_ns) as photos waiting to be indexed."""
        now = time.time()
        rows = [(key, folder_id, size, mtime, now) for key, size, mtime in files]
        with self.transaction() as db:
            db.executemany("INSERT INTO photos(path, folder_id, size, mtime_ns, added_at) "
                           "VALUES(?, ?, ?, ?, ?) ON CONFLICT(path) DO NOTHING", rows)
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
            for chunk in _chunks(list(ids)):
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

    def embedded_by_hash(self, model_id: int) -> dict[bytes, int]:
        """Content hash -> a photo id holding an embedding for it (for reuse on copies and moves)."""
        rows = self._query("SELECT p.hash, p.id FROM photos p JOIN embeddings e ON e.photo_id = p.id "
                           "WHERE e.model_id = ? AND p.hash IS NOT NULL", (model_id,))
        return {bytes(h): i for h, i in rows}

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

    # -- models and embeddings --------------------------------------------------------------

    def ensure_model(self, spec: str, dim: int) -> int:
        """The id of model *spec* (registered on first use)."""
        with self.transaction() as db:
            db.execute("INSERT INTO models(spec, dim, added_at) VALUES(?, ?, ?) ON CONFLICT(spec) DO NOTHING",
                       (spec, dim, time.time()))
            return db.execute("SELECT id FROM models WHERE spec = ?", (spec,)).fetchone()[0]

    def model_id(self, spec: str) -> int | None:
        """The id of a registered model spec."""
        return self._scalar("SELECT id FROM models WHERE spec = ?", (spec,))

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
            for part in _chunks([int(i) for i in ids], 500):
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

    # -- failures ---------------------------------------------------------------------------

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

    def forget_failures(self, keys: Sequence[bytes]) -> None:
        """Drop failure records (the file is gone or is being retried)."""
        with self.transaction() as db:
            db.executemany("DELETE FROM failures WHERE path = ?", [(k,) for k in keys])

    def failures(self) -> list[Failure]:
        """Every recorded failure, by path."""
        return [Failure(paths.from_db(p), r, t)
                for p, r, t in self._query("SELECT path, reason, failed_at FROM failures ORDER BY path")]

    # -- counts -----------------------------------------------------------------------------

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
