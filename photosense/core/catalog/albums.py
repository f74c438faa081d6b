"""Catalog table group: albums (smart and manual) and their photos (matches, pins, excludes)."""
from __future__ import annotations

import json
import time
from collections.abc import Sequence

import numpy as np

from photosense.core import paths
from photosense.core.catalog.connection import CatalogConnection, chunks, marks
from photosense.core.catalog.records import SMART, Album
from photosense.core.errors import UsageError
from photosense.core.query import Filters

_COUNT = "(SELECT COUNT(*) FROM album_photos ap WHERE ap.album_id = a.id AND ap.state != 'excluded')"
_ALBUM = f"SELECT a.id, a.name, a.kind, a.description, a.filters, a.threshold, {_COUNT} FROM albums a"


def _album(row: tuple) -> Album:
    i, name, kind, description, filters, threshold, count = row
    return Album(i, name, kind, description, Filters.from_json(json.loads(filters or "{}")), threshold, count)


class AlbumTable(CatalogConnection):
    """The ``albums`` and ``album_photos`` tables."""

    def albums(self) -> list[Album]:
        """Every album, by name, with its photo count."""
        return [_album(r) for r in self._query(f"{_ALBUM} ORDER BY a.name")]

    def album(self, name: str) -> Album:
        """One album by name (raises UsageError naming the existing ones)."""
        found = self._query(f"{_ALBUM} WHERE a.name = ?", (name,))
        if not found:
            names = [a.name for a in self.albums()]
            raise UsageError(f"There is no album named {name!r}" + (f"; albums: {', '.join(names)}." if names
                                                                      else "; create one with 'album create'."))
        return _album(found[0])

    def create_album(self, name: str, kind: str, description: str | None, filters: Filters,
                     threshold: float | None = None) -> int:
        """Add an album; returns its id."""
        name = " ".join((name or "").split())
        if not name:
            raise UsageError("An album needs a name.")
        if kind == SMART and not (description and description.strip()) and not filters:
            raise UsageError(f"The smart album {name!r} needs a description (what its photos show) or filters.")
        if self._query("SELECT 1 FROM albums WHERE name = ?", (name,)):
            raise UsageError(f"An album named {name!r} already exists; pick another name or delete it first.")
        with self.transaction() as db:
            cur = db.execute("INSERT INTO albums(name, kind, description, filters, threshold, created_at) "
                             "VALUES(?, ?, ?, ?, ?, ?)", (name, kind, description, json.dumps(filters.to_json()),
                                                          threshold, time.time()))
            return int(cur.lastrowid)

    def update_album(self, album_id: int, *, name: str | None = None, description: str | None = None,
                     filters: Filters | None = None) -> None:
        """Rename an album or change its description or filters (matches are recomputed by the caller)."""
        if name is not None:
            name = " ".join(name.split())  # as create_album() does
            if not name:
                raise UsageError("An album needs a name.")
        with self.transaction() as db:
            if name is not None:
                if db.execute("SELECT 1 FROM albums WHERE name = ? AND id != ?", (name, album_id)).fetchone():
                    raise UsageError(f"An album named {name!r} already exists.")
                db.execute("UPDATE albums SET name = ? WHERE id = ?", (name, album_id))
            if description is not None:
                db.execute("UPDATE albums SET description = ? WHERE id = ?", (description, album_id))
            if filters is not None:
                db.execute("UPDATE albums SET filters = ? WHERE id = ?", (json.dumps(filters.to_json()), album_id))

    def delete_album(self, album_id: int) -> None:
        """Delete an album (its photos stay in the library)."""
        with self.transaction() as db:
            db.execute("DELETE FROM albums WHERE id = ?", (album_id,))

    def set_album_state(self, album_id: int, photo_ids: Sequence[int], state: str,
                        scores: dict[int, float] | None = None) -> None:
        """Pin or exclude photos (a user's choice, kept across re-matching)."""
        now = time.time()
        scores = scores or {}
        with self.transaction() as db:
            db.executemany("INSERT INTO album_photos(album_id, photo_id, state, score, added_at) "
                           "VALUES(?, ?, ?, ?, ?) ON CONFLICT(album_id, photo_id) DO UPDATE SET "
                           "state = excluded.state, score = COALESCE(excluded.score, album_photos.score)",
                           [(album_id, int(p), state, scores.get(int(p)), now) for p in photo_ids])

    def unset_album_state(self, album_id: int, photo_ids: Sequence[int]) -> None:
        """Forget the user's pin or exclude of photos (a smart album's matching decides again)."""
        with self.transaction() as db:
            db.executemany("DELETE FROM album_photos WHERE album_id = ? AND photo_id = ? AND state != 'match'",
                           [(album_id, int(p)) for p in photo_ids])

    def write_album_matches(self, album_id: int, checked: np.ndarray, matched: dict[int, float]) -> None:
        """Photos *checked* against a smart album: those in *matched* (id -> score) are members, the
        rest not; pins and excludes stay as the user left them."""
        now = time.time()
        with self.transaction() as db:
            for part in chunks([int(i) for i in checked if int(i) not in matched]):
                db.execute(f"DELETE FROM album_photos WHERE album_id = ? AND state = 'match' AND photo_id IN "
                           f"({marks(part)})", (album_id, *part))
            db.executemany("INSERT INTO album_photos(album_id, photo_id, state, score, added_at) "
                           "VALUES(?, ?, 'match', ?, ?) ON CONFLICT(album_id, photo_id) DO UPDATE SET "
                           "score = excluded.score", [(album_id, i, s, now) for i, s in matched.items()])

    def album_members(self, album_id: int) -> list[tuple[int, str, float | None, str]]:
        """(photo id, path, score, state) of the photos shown in an album: pinned and matched, best
        first (pins without a score after the scored photos, by path), excluded ones left out."""
        found = self._query("SELECT ap.photo_id, p.path, ap.score, ap.state FROM album_photos ap JOIN photos p "
                            "ON p.id = ap.photo_id WHERE ap.album_id = ? AND ap.state != 'excluded' "
                            "ORDER BY ap.score IS NULL, ap.score DESC, p.path", (album_id,))
        return [(i, paths.from_db(p), s, st) for i, p, s, st in found]

    def album_states(self, album_id: int, state: str) -> list[int]:
        """Photo ids in one state (e.g. the excluded photos, for an "excluded" view)."""
        return [r[0] for r in self._query("SELECT photo_id FROM album_photos WHERE album_id = ? AND state = ?",
                                          (album_id, state))]

    def albums_of(self, photo_id: int) -> list[str]:
        """Names of the albums a photo is shown in."""
        return [r[0] for r in self._query("SELECT a.name FROM albums a JOIN album_photos ap ON ap.album_id = a.id "
                                          "WHERE ap.photo_id = ? AND ap.state != 'excluded' ORDER BY a.name",
                                          (photo_id,))]
