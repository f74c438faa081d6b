"""Catalog table group: duplicate signatures, the user's keepers, and the trash log (snapshots for undo)."""
from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass

from photosense.core import paths
from photosense.core.catalog.connection import CatalogConnection, chunks, marks
from photosense.core.catalog.photos import PHOTO_COLUMNS, photo_row
from photosense.core.catalog.records import Photo

# every column of a photo row, in the order a snapshot stores them
_ROW = ("id", "path", "folder_id", "size", "mtime_ns", "hash", "width", "height", "taken_at", "camera",
        "added_at", "indexed_at", "kind", "duration")
_BLOBS = {"path", "hash"}


@dataclass(frozen=True)
class Signature:
    """What the duplicate finder stored for a photo's current content (None: not computed yet)."""

    hashes: bytes | None
    sharpness: float | None
    full_hash: bytes | None


@dataclass(frozen=True)
class TrashedItem:
    """One photo of a trash operation: where it was, where the trash put it, and whether it came back."""

    photo_id: int
    path: str
    trash_path: str | None
    info_path: str | None
    keeper_id: int | None
    size: int
    restored: bool


def _hex(value: bytes | memoryview | None) -> str | None:
    return None if value is None else bytes(value).hex()


def _unhex(value: str | None) -> bytes | None:
    return None if value is None else bytes.fromhex(value)


class DuplicateTable(CatalogConnection):
    """The ``duplicate_signatures``, ``duplicate_keepers``, ``trash_ops`` and ``trash_items`` tables."""

    # -- what the finder reads ------------------------------------------------------------

    def duplicate_items(self) -> list[Photo]:
        """Every indexed item (photo or video) with a content hash, by id."""
        return [photo_row(r) for r in self._query(
            f"SELECT {PHOTO_COLUMNS} FROM photos WHERE hash IS NOT NULL AND indexed_at IS NOT NULL ORDER BY id")]

    def exact_collisions(self) -> list[list[int]]:
        """Ids of items that share a partial content hash (size + first MiB + last KiB), per hash."""
        groups: dict[bytes, list[int]] = {}
        for digest, pid in self._query("SELECT hash, id FROM photos WHERE hash IN (SELECT hash FROM photos WHERE "
                                       "hash IS NOT NULL GROUP BY hash HAVING COUNT(*) > 1) ORDER BY hash, id"):
            groups.setdefault(bytes(digest), []).append(pid)
        return list(groups.values())

    def signatures(self, ids: Sequence[int]) -> dict[int, Signature]:
        """Stored signatures of the current content of photos *ids* (stale and missing ones left out)."""
        out: dict[int, Signature] = {}
        for part in chunks([int(i) for i in ids]):
            for pid, hashes, sharpness, full in self._query(
                    f"SELECT s.photo_id, s.hashes, s.sharpness, s.full_hash FROM duplicate_signatures s JOIN photos p "
                    f"ON p.id = s.photo_id AND p.hash = s.content WHERE s.photo_id IN ({marks(part)})", part):
                out[pid] = Signature(None if hashes is None else bytes(hashes), sharpness,
                                     None if full is None else bytes(full))
        return out

    def save_signatures(self, items: Sequence[tuple[int, bytes, bytes, float]]) -> None:
        """Store (photo id, content hash, perceptual hashes, sharpness); a changed content resets the row."""
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO duplicate_signatures(photo_id, content, hashes, sharpness) VALUES(?, ?, ?, ?) "
                "ON CONFLICT(photo_id) DO UPDATE SET hashes = excluded.hashes, sharpness = excluded.sharpness, "
                "full_hash = CASE WHEN content = excluded.content THEN full_hash END, content = excluded.content",
                [(int(i), c, h, float(s)) for i, c, h, s in items])

    def save_full_hashes(self, items: Sequence[tuple[int, bytes, bytes]]) -> None:
        """Store (photo id, content hash, whole-file hash); a changed content resets the row."""
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO duplicate_signatures(photo_id, content, full_hash) VALUES(?, ?, ?) "
                "ON CONFLICT(photo_id) DO UPDATE SET full_hash = excluded.full_hash, "
                "hashes = CASE WHEN content = excluded.content THEN hashes END, "
                "sharpness = CASE WHEN content = excluded.content THEN sharpness END, content = excluded.content",
                [(int(i), c, f) for i, c, f in items])

    # -- keepers ----------------------------------------------------------------------------

    def duplicate_keepers(self) -> dict[int, float]:
        """Photo id -> when the user chose it as the one to keep."""
        return dict(self._query("SELECT photo_id, chosen_at FROM duplicate_keepers"))

    def set_duplicate_keeper(self, photo_id: int, others: Sequence[int] = ()) -> None:
        """Remember the user's keeper of a group; the choices of its other members are forgotten."""
        with self.transaction() as db:
            for part in chunks([int(i) for i in others if int(i) != photo_id]):
                db.execute(f"DELETE FROM duplicate_keepers WHERE photo_id IN ({marks(part)})", part)
            db.execute("INSERT INTO duplicate_keepers(photo_id, chosen_at) VALUES(?, ?) ON CONFLICT(photo_id) "
                       "DO UPDATE SET chosen_at = excluded.chosen_at", (photo_id, time.time()))

    # -- trash ------------------------------------------------------------------------------

    def record_trash(self, items: Sequence[tuple[int, int, str | None, str | None]]) -> int:
        """Forget photos whose files went to the trash, in one transaction: each (photo id, keeper id,
        trash path, info path) is logged with a snapshot of its rows, its tags and album memberships
        move to the keeper, then its row is deleted (embeddings, frames and the rest cascade).
        Returns the operation's id."""
        with self.transaction() as db:
            op = int(db.execute("INSERT INTO trash_ops(created_at) VALUES(?)", (time.time(),)).lastrowid)
            for pid, keeper, trash_path, info_path in items:
                snapshot = _snapshot(db, pid)
                if snapshot is None:
                    continue
                snapshot["moved"] = _move_to_keeper(db, pid, keeper)
                db.execute("INSERT INTO trash_items(op_id, photo_id, path, trash_path, info_path, keeper_id, size, "
                           "snapshot) VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
                           (op, pid, _unhex(snapshot["row"]["path"]),
                            None if trash_path is None else paths.to_db(trash_path),
                            None if info_path is None else paths.to_db(info_path), keeper,
                            snapshot["row"]["size"], json.dumps(snapshot)))
                db.execute("DELETE FROM failures WHERE path = (SELECT path FROM photos WHERE id = ?)", (pid,))
                db.execute("DELETE FROM photos WHERE id = ?", (pid,))
        return op

    def last_trash(self) -> tuple[int, list[TrashedItem]] | None:
        """The latest trash operation not undone yet, with its items (None when there is none)."""
        op = self._scalar("SELECT id FROM trash_ops WHERE undone_at IS NULL ORDER BY id DESC LIMIT 1")
        if op is None:
            return None
        rows = self._query("SELECT photo_id, path, trash_path, info_path, keeper_id, size, restored FROM trash_items "
                           "WHERE op_id = ? ORDER BY photo_id", (op,))
        return op, [TrashedItem(pid, paths.from_db(p), None if t is None else paths.from_db(t),
                                None if i is None else paths.from_db(i), k, s, bool(r))
                    for pid, p, t, i, k, s, r in rows]

    def restore_trashed(self, op: int, photo_ids: Sequence[int]) -> list[int]:
        """Bring back the rows of photos *photo_ids* of operation *op* (their files are back): the photo
        under its own id, its embeddings, frames, tags and album memberships, and what moved to the
        keeper goes back. The operation is then marked undone. Returns the ids whose rows came back
        (a photo whose folder left the library, or whose path is taken, is left out)."""
        wanted = {int(i) for i in photo_ids}
        back: list[int] = []
        with self.transaction() as db:
            rows = db.execute("SELECT photo_id, snapshot FROM trash_items WHERE op_id = ? AND restored = 0",
                              (op,)).fetchall()
            # newest move first: a later copy's "before" is what an earlier copy moved to the same keeper
            for pid, text in sorted(rows, key=lambda r: -r[0]):
                snapshot = json.loads(text)
                if pid in wanted:
                    _unmove(db, snapshot["moved"])
            for pid, text in sorted(rows):
                if pid in wanted and _restore(db, json.loads(text)):
                    back.append(pid)
                    db.execute("UPDATE trash_items SET restored = 1 WHERE op_id = ? AND photo_id = ?", (op, pid))
            db.execute("UPDATE trash_ops SET undone_at = ? WHERE id = ?", (time.time(), op))
        return back


def _snapshot(db: sqlite3.Connection, pid: int) -> dict | None:
    row = db.execute(f"SELECT {', '.join(_ROW)} FROM photos WHERE id = ?", (pid,)).fetchone()
    if row is None:
        return None
    return {
        "row": {k: (_hex(v) if k in _BLOBS else v) for k, v in zip(_ROW, row)},
        "embeddings": [[m, _hex(v)] for m, v in db.execute(
            "SELECT model_id, vector FROM embeddings WHERE photo_id = ?", (pid,))],
        "frames": [[i, m, t, _hex(v)] for i, m, t, v in db.execute(
            "SELECT id, model_id, t, vector FROM frames WHERE photo_id = ? ORDER BY id", (pid,))],
        "tags": [list(r) for r in db.execute("SELECT set_id, label, score, source, rejected, updated_at FROM tags "
                                             "WHERE photo_id = ?", (pid,))],
        "albums": [list(r) for r in db.execute("SELECT album_id, state, score, added_at FROM album_photos "
                                               "WHERE photo_id = ?", (pid,))],
        "organized": [r[0] for r in db.execute("SELECT indexed_at FROM organized WHERE photo_id = ?", (pid,))],
        "signature": [[c and _hex(c), h and _hex(h), s, f and _hex(f)] for c, h, s, f in db.execute(
            "SELECT content, hashes, sharpness, full_hash FROM duplicate_signatures WHERE photo_id = ?", (pid,))],
    }


def _move_to_keeper(db: sqlite3.Connection, pid: int, keeper: int | None) -> list[list]:
    """Give the keeper the copy's tags (a manual one overrides an automatic one) and album memberships
    (a pin overrides a match; the keeper's own exclusions stay). Returns [table, key, row before]."""
    moved: list[list] = []
    if keeper is None or db.execute("SELECT 1 FROM photos WHERE id = ?", (keeper,)).fetchone() is None:
        return moved
    for set_id, label, score, source, rejected, updated in db.execute(
            "SELECT set_id, label, score, source, rejected, updated_at FROM tags WHERE photo_id = ?", (pid,)).fetchall():
        before = db.execute("SELECT score, source, rejected, updated_at FROM tags WHERE photo_id = ? AND set_id = ? "
                            "AND label = ?", (keeper, set_id, label)).fetchone()
        if before is None or (source == "manual" and before[1] == "auto"):
            db.execute("INSERT INTO tags(photo_id, set_id, label, score, source, rejected, updated_at) "
                       "VALUES(?, ?, ?, ?, ?, ?, ?) ON CONFLICT(photo_id, set_id, label) DO UPDATE SET "
                       "score = excluded.score, source = excluded.source, rejected = excluded.rejected, "
                       "updated_at = excluded.updated_at", (keeper, set_id, label, score, source, rejected, updated))
            moved.append(["tags", [set_id, label], None if before is None else list(before)])
    for album, state, score, added in db.execute(
            "SELECT album_id, state, score, added_at FROM album_photos WHERE photo_id = ? AND state != 'excluded'",
            (pid,)).fetchall():
        before = db.execute("SELECT state, score, added_at FROM album_photos WHERE album_id = ? AND photo_id = ?",
                            (album, keeper)).fetchone()
        if before is None or (state == "pinned" and before[0] == "match"):
            db.execute("INSERT INTO album_photos(album_id, photo_id, state, score, added_at) VALUES(?, ?, ?, ?, ?) "
                       "ON CONFLICT(album_id, photo_id) DO UPDATE SET state = excluded.state, "
                       "score = COALESCE(album_photos.score, excluded.score)", (album, keeper, state, score, added))
            moved.append(["albums", [album], None if before is None else list(before)])
    return [[*m, keeper] for m in moved]


def _unmove(db: sqlite3.Connection, moved: list[list]) -> None:
    """Put back what :func:`_move_to_keeper` changed on the keeper, last change first."""
    for table, key, before, keeper in reversed(moved):
        if table == "tags":
            db.execute("DELETE FROM tags WHERE photo_id = ? AND set_id = ? AND label = ?", (keeper, *key))
            if before is not None:
                db.execute("INSERT INTO tags(photo_id, set_id, label, score, source, rejected, updated_at) "
                           "SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM photos WHERE id = ?)",
                           (keeper, *key, *before, keeper))
        else:
            db.execute("DELETE FROM album_photos WHERE album_id = ? AND photo_id = ?", (key[0], keeper))
            if before is not None:
                db.execute("INSERT INTO album_photos(album_id, photo_id, state, score, added_at) "
                           "SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM photos WHERE id = ?)",
                           (key[0], keeper, *before, keeper))


def _restore(db: sqlite3.Connection, snapshot: dict) -> bool:
    row = snapshot["row"]
    pid = row["id"]
    path = _unhex(row["path"])
    if (db.execute("SELECT 1 FROM folders WHERE id = ?", (row["folder_id"],)).fetchone() is None
            or db.execute("SELECT 1 FROM photos WHERE id = ? OR path = ?", (pid, path)).fetchone() is not None):
        return False
    db.execute(f"INSERT INTO photos({', '.join(_ROW)}) VALUES({marks(_ROW)})",
               [(_unhex(row[k]) if k in _BLOBS else row[k]) for k in _ROW])
    db.execute("DELETE FROM failures WHERE path = ?", (path,))
    for model, vector in snapshot["embeddings"]:
        db.execute("INSERT INTO embeddings(photo_id, model_id, vector) SELECT ?, ?, ? WHERE EXISTS "
                   "(SELECT 1 FROM models WHERE id = ?)", (pid, model, _unhex(vector), model))
    for frame, model, t, vector in snapshot["frames"]:
        db.execute("INSERT INTO frames(id, photo_id, model_id, t, vector) SELECT ?, ?, ?, ?, ? WHERE EXISTS "
                   "(SELECT 1 FROM models WHERE id = ?)", (frame, pid, model, t, _unhex(vector), model))
    for set_id, label, score, source, rejected, updated in snapshot["tags"]:
        db.execute("INSERT INTO tags(photo_id, set_id, label, score, source, rejected, updated_at) SELECT ?, ?, ?, ?, "
                   "?, ?, ? WHERE EXISTS (SELECT 1 FROM prompt_sets WHERE id = ?)",
                   (pid, set_id, label, score, source, rejected, updated, set_id))
    for album, state, score, added in snapshot["albums"]:
        db.execute("INSERT INTO album_photos(album_id, photo_id, state, score, added_at) SELECT ?, ?, ?, ?, ? WHERE "
                   "EXISTS (SELECT 1 FROM albums WHERE id = ?)", (album, pid, state, score, added, album))
    for indexed_at in snapshot["organized"]:
        db.execute("INSERT INTO organized(photo_id, indexed_at) VALUES(?, ?)", (pid, indexed_at))
    for content, hashes, sharpness, full in snapshot["signature"]:
        db.execute("INSERT INTO duplicate_signatures(photo_id, content, hashes, sharpness, full_hash) "
                   "VALUES(?, ?, ?, ?, ?)", (pid, _unhex(content), _unhex(hashes), sharpness, _unhex(full)))
    return True
