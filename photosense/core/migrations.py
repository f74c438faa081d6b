"""Catalog schema migrations: step N takes a catalog from schema version N to N + 1."""
from __future__ import annotations

import sqlite3
from collections.abc import Callable


def _v1(db: sqlite3.Connection) -> None:
    """Folders, photos, models, embeddings, failures and settings."""
    for stmt in (
        """CREATE TABLE settings(
               key TEXT PRIMARY KEY,
               value TEXT NOT NULL)""",
        """CREATE TABLE folders(
               id INTEGER PRIMARY KEY,
               path BLOB NOT NULL UNIQUE,
               added_at REAL NOT NULL)""",
        # AUTOINCREMENT: a photo id is an identity and is never handed to another photo
        """CREATE TABLE photos(
               id INTEGER PRIMARY KEY AUTOINCREMENT,
               path BLOB NOT NULL UNIQUE,
               folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
               size INTEGER NOT NULL,
               mtime_ns INTEGER NOT NULL,
               hash BLOB,
               width INTEGER,
               height INTEGER,
               taken_at TEXT,
               camera TEXT,
               added_at REAL NOT NULL,
               indexed_at REAL)""",
        "CREATE INDEX photos_folder ON photos(folder_id)",
        "CREATE INDEX photos_hash ON photos(hash)",
        "CREATE INDEX photos_taken_at ON photos(taken_at)",
        """CREATE TABLE models(
               id INTEGER PRIMARY KEY,
               spec TEXT NOT NULL UNIQUE,
               dim INTEGER NOT NULL,
               added_at REAL NOT NULL)""",
        """CREATE TABLE embeddings(
               photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
               model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
               vector BLOB NOT NULL,
               PRIMARY KEY(photo_id, model_id)) WITHOUT ROWID""",
        "CREATE INDEX embeddings_model ON embeddings(model_id, photo_id)",
        """CREATE TABLE failures(
               path BLOB PRIMARY KEY,
               folder_id INTEGER REFERENCES folders(id) ON DELETE CASCADE,
               size INTEGER,
               mtime_ns INTEGER,
               reason TEXT NOT NULL,
               failed_at REAL NOT NULL)""",
    ):
        db.execute(stmt)


# Append-only: never edit a released step, add the next one.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1]
SCHEMA_VERSION = len(MIGRATIONS)
