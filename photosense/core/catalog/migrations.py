"""Catalog schema migrations: step N takes a catalog from schema version N to N + 1."""
from __future__ import annotations

import sqlite3
from collections.abc import Callable

from photosense.core.catalog import wordsql
from photosense.core.errors import PhotoSenseError


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

def _v2(db: sqlite3.Connection) -> None:
    """Prompt sets, tags, albums (smart and manual) with pins and excludes, and the organize marker.

    Every row that names a photo cascades on its deletion (the catalog turns ``foreign_keys`` on),
    and photos keep their id across moves, so tags and albums follow a photo wherever it goes.
    """
    for stmt in (
        # source: the TOML text the set was parsed from (NULL for the built-in "manual" set)
        """CREATE TABLE prompt_sets(
               id INTEGER PRIMARY KEY,
               name TEXT NOT NULL UNIQUE,
               source TEXT,
               updated_at REAL NOT NULL)""",
        # source 'auto': written by the tagger, rewritten freely; 'manual': the user's accept
        # (rejected = 0) or reject (rejected = 1), never touched by the tagger
        """CREATE TABLE tags(
               photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
               set_id INTEGER NOT NULL REFERENCES prompt_sets(id) ON DELETE CASCADE,
               label TEXT NOT NULL,
               score REAL,
               source TEXT NOT NULL CHECK(source IN ('auto', 'manual')),
               rejected INTEGER NOT NULL DEFAULT 0 CHECK(rejected IN (0, 1)),
               updated_at REAL NOT NULL,
               PRIMARY KEY(photo_id, set_id, label)) WITHOUT ROWID""",
        "CREATE INDEX tags_label ON tags(set_id, label, photo_id)",
        # kind 'smart': filled from description (+ filters, a JSON object) above a calibrated
        # cut-off; threshold is an optional expert override of that cut-off
        """CREATE TABLE albums(
               id INTEGER PRIMARY KEY,
               name TEXT NOT NULL UNIQUE,
               kind TEXT NOT NULL CHECK(kind IN ('smart', 'manual')),
               description TEXT,
               filters TEXT NOT NULL DEFAULT '{}',
               threshold REAL,
               created_at REAL NOT NULL)""",
        # state 'match': a smart album's computed member; 'pinned' / 'excluded': the user's choice
        """CREATE TABLE album_photos(
               album_id INTEGER NOT NULL REFERENCES albums(id) ON DELETE CASCADE,
               photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
               state TEXT NOT NULL CHECK(state IN ('match', 'pinned', 'excluded')),
               score REAL,
               added_at REAL NOT NULL,
               PRIMARY KEY(album_id, photo_id)) WITHOUT ROWID""",
        "CREATE INDEX album_photos_photo ON album_photos(photo_id)",
        # which embedding (by photos.indexed_at) tags and smart albums last saw for a photo:
        # anything indexed later, by any code path, is organized once
        """CREATE TABLE organized(
               photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
               indexed_at REAL NOT NULL)""",
    ):
        db.execute(stmt)


def _v3(db: sqlite3.Connection) -> None:
    """Videos: items have a kind ('photo' or 'video') and a duration; a video's sampled moments
    (frames) each have a time and an embedding per model. The video's own row in ``embeddings``
    holds the mean of its frames (it marks the video indexed, like a photo's embedding)."""
    for stmt in (
        "ALTER TABLE photos ADD COLUMN kind TEXT NOT NULL DEFAULT 'photo' CHECK(kind IN ('photo', 'video'))",
        "ALTER TABLE photos ADD COLUMN duration REAL",
        "CREATE INDEX photos_kind ON photos(kind)",  # "are there videos?" and kind: filters, without a scan
        # AUTOINCREMENT: a frame id is part of a vector id in the search index, never reused
        """CREATE TABLE frames(
               id INTEGER PRIMARY KEY AUTOINCREMENT,
               photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
               model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
               t REAL NOT NULL,
               vector BLOB NOT NULL,
               UNIQUE(photo_id, model_id, t))""",
        "CREATE INDEX frames_model ON frames(model_id, id)",
        # moments deleted by any path (a changed or removed video, a folder, a cascade) wait here
        # until the service that holds the search index takes their vector ids out of it
        """CREATE TABLE frames_dropped(
               id INTEGER PRIMARY KEY,
               model_id INTEGER NOT NULL)""",
        """CREATE TRIGGER frames_drop AFTER DELETE ON frames BEGIN
               INSERT OR IGNORE INTO frames_dropped(id, model_id) VALUES(old.id, old.model_id);
           END""",
    ):
        db.execute(stmt)
    # files indexed before videos existed are photos (the default); nothing else to backfill


def _v4(db: sqlite3.Connection) -> None:
    """Duplicates: perceptual signatures (per content hash), the user's keepers, and a log of trash
    operations with a snapshot of every removed photo's rows, so an undo can bring them back."""
    for stmt in (
        # content: photos.hash when computed (a changed file has another, so a stale row is ignored);
        # hashes: little-endian uint64 perceptual hashes (the frame, then crop windows); full_hash: the
        # blake2b of the whole file, computed only where partial hashes collide
        """CREATE TABLE duplicate_signatures(
               photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
               content BLOB NOT NULL,
               hashes BLOB,
               sharpness REAL,
               full_hash BLOB)""",
        # the photo the user chose to keep in its duplicate group (or burst)
        """CREATE TABLE duplicate_keepers(
               photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
               chosen_at REAL NOT NULL)""",
        """CREATE TABLE trash_ops(
               id INTEGER PRIMARY KEY AUTOINCREMENT,
               created_at REAL NOT NULL,
               undone_at REAL)""",
        # photo_id names a deleted row (no foreign key); snapshot: JSON of its rows and of what moved
        # to the keeper; trash_path/info_path: where the file and its .trashinfo went (NULL: unknown)
        """CREATE TABLE trash_items(
               op_id INTEGER NOT NULL REFERENCES trash_ops(id) ON DELETE CASCADE,
               photo_id INTEGER NOT NULL,
               path BLOB NOT NULL,
               trash_path BLOB,
               info_path BLOB,
               keeper_id INTEGER,
               size INTEGER NOT NULL,
               snapshot TEXT NOT NULL,
               restored INTEGER NOT NULL DEFAULT 0,
               PRIMARY KEY(op_id, photo_id)) WITHOUT ROWID""",
    ):
        db.execute(stmt)


def _v5(db: sqlite3.Connection) -> None:
    """Stacks in results: which duplicate group or burst each indexed item belongs to, kept up to date
    after indexing (``services/stacks.py``), so search, albums and the grid fold a stack into one hit."""
    for stmt in (
        # one row per item the stacker has seen: stack_id NULL when it is in no stack; indexed_at is the
        # photos.indexed_at it was grouped at (a re-embedded item is grouped again); rank 0 is the
        # stack's keeper (its cover in listings), then the rest in keeper preference; kind: the stack's
        """CREATE TABLE stacks(
               photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
               stack_id INTEGER,
               kind TEXT CHECK(kind IN ('exact', 'near', 'burst')),
               rank INTEGER NOT NULL DEFAULT 0,
               indexed_at REAL NOT NULL)""",
        "CREATE INDEX stacks_stack ON stacks(stack_id, rank) WHERE stack_id IS NOT NULL",
    ):
        db.execute(stmt)


def _v6(db: sqlite3.Connection) -> None:
    """Words: each photo's recognized text (per content hash) and the FTS5 keyword index over text,
    file name, folder names, tags and camera, kept in step by triggers (``wordsql``)."""
    if not db.execute("SELECT sqlite_compileoption_used('ENABLE_FTS5')").fetchone()[0]:
        raise PhotoSenseError(f"This Python's SQLite ({sqlite3.sqlite_version}) was built without FTS5, which "
                              "the catalog's keyword index needs; nothing was changed. Use a Python whose "
                              "sqlite3 module has FTS5 (the python.org and Debian builds do).")
    for stmt in wordsql.schema():
        db.execute(stmt)


# Append-only: never edit a released step, add the next one.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1, _v2, _v3, _v4, _v5, _v6]
SCHEMA_VERSION = len(MIGRATIONS)
