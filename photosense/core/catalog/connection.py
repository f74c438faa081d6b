"""The catalog's one SQLite connection: opening (WAL, SQL functions), migrations, transactions, errors."""
from __future__ import annotations

import os
import sqlite3
import threading
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from photosense.core import paths
from photosense.core.catalog.migrations import MIGRATIONS, SCHEMA_VERSION
from photosense.core.errors import PhotoSenseError, StorageError

CATALOG_NAME = "catalog.sqlite3"

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


def chunks(items: Sequence, size: int = 500) -> Iterator[Sequence]:
    """*items* in slices small enough for SQLite's parameter limit."""
    for i in range(0, len(items), size):
        yield items[i:i + size]


def marks(items: Sequence) -> str:
    """``?,?,?`` for an ``IN (...)`` list of *items*."""
    return ",".join("?" * len(items))


class CatalogConnection:
    """Thread-safe access to one library's SQLite catalog: one connection, WAL, one lock.

    The table groups (folders, photos, embeddings, failures, tags, albums) are mixins over this
    connection; together they make :class:`photosense.core.catalog.Catalog`.
    """

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

    def setting(self, key: str, default: str | None = None) -> str | None:
        """A library-wide setting."""
        value = self._scalar("SELECT value FROM settings WHERE key = ?", (key,))
        return default if value is None else value

    def set_settings(self, values: dict[str, str | None]) -> None:
        """Store (or, for None, delete) several settings in one transaction."""
        with self.transaction() as db:
            for key, value in values.items():
                if value is None:
                    db.execute("DELETE FROM settings WHERE key = ?", (key,))
                else:
                    db.execute("INSERT INTO settings(key, value) VALUES(?, ?) "
                               "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    def set_setting(self, key: str, value: str) -> None:
        """Store a library-wide setting."""
        with self.transaction() as db:
            db.execute("INSERT INTO settings(key, value) VALUES(?, ?) "
                       "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

