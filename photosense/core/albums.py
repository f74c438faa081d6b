"""Albums in the catalog: smart ones (a description + filters, filled above the relevance cut-off) and manual ones."""
from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from photosense.core.catalog import Catalog
from photosense.core.errors import UsageError
from photosense.core.query import Filters
from photosense.core.store import chunks, rows

SMART, MANUAL = "smart", "manual"
MATCH, PINNED, EXCLUDED = "match", "pinned", "excluded"


@dataclass(frozen=True)
class Album:
    """An album: smart (description, filters, optional expert threshold) or manual; *count* photos shown."""

    id: int
    name: str
    kind: str
    description: str | None
    filters: Filters
    threshold: float | None
    count: int = 0

    def to_json(self) -> dict:
        """The CLI's JSON form."""
        return {"name": self.name, "kind": self.kind, "description": self.description,
                "filters": self.filters.to_json(), "count": self.count}


def _album(row: tuple) -> Album:
    i, name, kind, description, filters, threshold, count = row
    return Album(i, name, kind, description, Filters.from_json(json.loads(filters or "{}")), threshold, count)


_COUNT = ("(SELECT COUNT(*) FROM album_photos ap WHERE ap.album_id = a.id AND ap.state != 'excluded')")


def all_albums(catalog: Catalog) -> list[Album]:
    """Every album, by name, with its photo count."""
    return [_album(r) for r in rows(catalog, f"SELECT a.id, a.name, a.kind, a.description, a.filters, "
                                             f"a.threshold, {_COUNT} FROM albums a ORDER BY a.name")]


def get(catalog: Catalog, name: str) -> Album:
    """One album by name (raises UsageError naming the existing ones)."""
    found = rows(catalog, f"SELECT a.id, a.name, a.kind, a.description, a.filters, a.threshold, {_COUNT} "
                          f"FROM albums a WHERE a.name = ?", (name,))
    if not found:
        names = [a.name for a in all_albums(catalog)]
        raise UsageError(f"There is no album named {name!r}" + (f"; albums: {', '.join(names)}." if names
                                                                  else "; create one with 'album create'."))
    return _album(found[0])


def create(catalog: Catalog, name: str, kind: str, description: str | None, filters: Filters,
           threshold: float | None = None) -> int:
    """Add an album; returns its id."""
    name = " ".join((name or "").split())
    if not name:
        raise UsageError("An album needs a name.")
    if kind == SMART and not (description and description.strip()) and not filters:
        raise UsageError(f"The smart album {name!r} needs a description (what its photos show) or filters.")
    if rows(catalog, "SELECT 1 FROM albums WHERE name = ?", (name,)):
        raise UsageError(f"An album named {name!r} already exists; pick another name or delete it first.")
    with catalog.transaction() as db:
        cur = db.execute("INSERT INTO albums(name, kind, description, filters, threshold, created_at) "
                         "VALUES(?, ?, ?, ?, ?, ?)", (name, kind, description, json.dumps(filters.to_json()),
                                                      threshold, time.time()))
        return int(cur.lastrowid)


def update(catalog: Catalog, album_id: int, *, name: str | None = None, description: str | None = None,
           filters: Filters | None = None) -> None:
    """Rename an album or change its description or filters (matches are recomputed by the caller)."""
    if name is not None:
        name = " ".join(name.split())  # as create() does
        if not name:
            raise UsageError("An album needs a name.")
    with catalog.transaction() as db:
        if name is not None:
            if db.execute("SELECT 1 FROM albums WHERE name = ? AND id != ?", (name, album_id)).fetchone():
                raise UsageError(f"An album named {name!r} already exists.")
            db.execute("UPDATE albums SET name = ? WHERE id = ?", (name, album_id))
        if description is not None:
            db.execute("UPDATE albums SET description = ? WHERE id = ?", (description, album_id))
        if filters is not None:
            db.execute("UPDATE albums SET filters = ? WHERE id = ?", (json.dumps(filters.to_json()), album_id))


def delete(catalog: Catalog, album_id: int) -> None:
    """Delete an album (its photos stay in the library)."""
    with catalog.transaction() as db:
        db.execute("DELETE FROM albums WHERE id = ?", (album_id,))


def set_state(catalog: Catalog, album_id: int, photo_ids: Sequence[int], state: str,
              scores: dict[int, float] | None = None) -> None:
    """Pin or exclude photos (a user's choice, kept across re-matching)."""
    now = time.time()
    scores = scores or {}
    with catalog.transaction() as db:
        db.executemany("INSERT INTO album_photos(album_id, photo_id, state, score, added_at) VALUES(?, ?, ?, ?, ?) "
                       "ON CONFLICT(album_id, photo_id) DO UPDATE SET state = excluded.state, "
                       "score = COALESCE(excluded.score, album_photos.score)",
                       [(album_id, int(p), state, scores.get(int(p)), now) for p in photo_ids])


def unset(catalog: Catalog, album_id: int, photo_ids: Sequence[int]) -> None:
    """Forget the user's pin or exclude of photos (a smart album's matching decides again)."""
    with catalog.transaction() as db:
        db.executemany("DELETE FROM album_photos WHERE album_id = ? AND photo_id = ? AND state != 'match'",
                       [(album_id, int(p)) for p in photo_ids])


def write_matches(catalog: Catalog, album_id: int, checked: np.ndarray, matched: dict[int, float]) -> None:
    """Photos *checked* against a smart album: those in *matched* (id -> score) are members, the rest
    not; pins and excludes stay as the user left them."""
    now = time.time()
    with catalog.transaction() as db:
        for part in chunks([int(i) for i in checked if int(i) not in matched]):
            db.execute(f"DELETE FROM album_photos WHERE album_id = ? AND state = 'match' AND photo_id IN "
                       f"({','.join('?' * len(part))})", (album_id, *part))
        db.executemany("INSERT INTO album_photos(album_id, photo_id, state, score, added_at) "
                       "VALUES(?, ?, 'match', ?, ?) ON CONFLICT(album_id, photo_id) DO UPDATE SET "
                       "score = excluded.score", [(album_id, i, s, now) for i, s in matched.items()])


def members(catalog: Catalog, album_id: int) -> list[tuple[int, str, float | None, str]]:
    """(photo id, path, score, state) of the photos shown in an album: pinned and matched, best first
    (pins without a score after the scored photos, by path), excluded ones left out."""
    from photosense.core import paths

    found = rows(catalog, "SELECT ap.photo_id, p.path, ap.score, ap.state FROM album_photos ap JOIN photos p "
                          "ON p.id = ap.photo_id WHERE ap.album_id = ? AND ap.state != 'excluded' "
                          "ORDER BY ap.score IS NULL, ap.score DESC, p.path", (album_id,))
    return [(i, paths.from_db(p), s, st) for i, p, s, st in found]


def states(catalog: Catalog, album_id: int, state: str) -> list[int]:
    """Photo ids in one state (e.g. the excluded photos, for an "excluded" view)."""
    return [r[0] for r in rows(catalog, "SELECT photo_id FROM album_photos WHERE album_id = ? AND state = ?",
                               (album_id, state))]
