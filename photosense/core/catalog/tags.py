"""Catalog table group: prompt sets and tags (automatic and the user's accepts and rejects)."""
from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from photosense.core.catalog.connection import CatalogConnection, chunks, marks
from photosense.core.catalog.records import MANUAL_SET, Tag


class TagTable(CatalogConnection):
    """The ``prompt_sets`` and ``tags`` tables."""

    # -- prompt sets ------------------------------------------------------------------------

    def save_prompt_set(self, name: str, source: str, labels: Sequence[str]) -> int:
        """Add or replace a prompt set (by name); returns its id. Automatic tags of labels it no
        longer has go; manual ones stay."""
        with self.transaction() as db:
            db.execute("INSERT INTO prompt_sets(name, source, updated_at) VALUES(?, ?, ?) ON CONFLICT(name) "
                       "DO UPDATE SET source = excluded.source, updated_at = excluded.updated_at",
                       (name, source, time.time()))
            set_id = db.execute("SELECT id FROM prompt_sets WHERE name = ?", (name,)).fetchone()[0]
            db.execute(f"DELETE FROM tags WHERE set_id = ? AND source = 'auto' AND label NOT IN "
                       f"({marks(labels)})", (set_id, *labels))
        return set_id

    def manual_set_id(self) -> int:
        """The id of the built-in set for labels no prompt set defines (created on first use)."""
        with self.transaction() as db:
            db.execute("INSERT INTO prompt_sets(name, source, updated_at) VALUES(?, NULL, ?) "
                       "ON CONFLICT(name) DO NOTHING", (MANUAL_SET, time.time()))
            return db.execute("SELECT id FROM prompt_sets WHERE name = ?", (MANUAL_SET,)).fetchone()[0]

    def prompt_set_sources(self) -> list[tuple[int, str, str]]:
        """(id, name, TOML source) of every set that tags automatically (the manual set has none), by name."""
        return self._query("SELECT id, name, source FROM prompt_sets WHERE source IS NOT NULL ORDER BY name")

    def prompt_sets(self) -> list[tuple[int, str, str | None]]:
        """(id, name, source or None) of every set, the manual one included, by name."""
        return self._query("SELECT id, name, source FROM prompt_sets ORDER BY name")

    def prompt_set_source(self, name: str) -> str | None:
        """The TOML source of a stored prompt set (None: no such set, or the manual one)."""
        return self._scalar("SELECT source FROM prompt_sets WHERE name = ? AND source IS NOT NULL", (name,))

    def prompt_set_id(self, name: str) -> int | None:
        """The id of a prompt set by name."""
        return self._scalar("SELECT id FROM prompt_sets WHERE name = ?", (name,))

    def remove_prompt_set(self, set_id: int) -> int:
        """Remove a prompt set and all its tags (manual ones included); returns the tags removed."""
        with self.transaction() as db:
            count = db.execute("SELECT COUNT(*) FROM tags WHERE set_id = ?", (set_id,)).fetchone()[0]
            db.execute("DELETE FROM prompt_sets WHERE id = ?", (set_id,))
        return count

    def set_labels(self, set_id: int) -> list[str]:
        """The labels a set's tags carry (for the manual set, which has no source), sorted."""
        return sorted(r[0] for r in self._query("SELECT DISTINCT label FROM tags WHERE set_id = ?", (set_id,)))

    # -- tags -------------------------------------------------------------------------------

    def tag_totals(self) -> dict[int, int]:
        """Set id -> photos tagged by it (rejections left out)."""
        return dict(self._query("SELECT set_id, COUNT(*) FROM tags WHERE rejected = 0 GROUP BY set_id"))

    def tag_counts(self) -> list[tuple[str, str, int]]:
        """(set name, label, photos) of every tag in use, by set and label (rejections left out)."""
        return self._query("SELECT s.name, t.label, COUNT(*) FROM tags t JOIN prompt_sets s ON s.id = t.set_id "
                           "WHERE t.rejected = 0 GROUP BY s.name, t.label ORDER BY s.name, t.label")

    def tagged_photo_ids(self) -> list[int]:
        """Ids of the photos that have at least one tag (rejections left out)."""
        return [r[0] for r in self._query("SELECT DISTINCT photo_id FROM tags WHERE rejected = 0")]

    def tag_examples(self, set_id: int) -> list[tuple[int, str, bool]]:
        """(photo id, label, rejected) of a set's manual accepts and rejects (few-shot examples)."""
        return [(p, lab, bool(r)) for p, lab, r in self._query(
            "SELECT photo_id, label, rejected FROM tags WHERE set_id = ? AND source = 'manual'", (set_id,))]

    def write_auto_tags(self, set_id: int, ids: np.ndarray, items: Sequence[tuple[int, str, float]]) -> int:
        """Replace a set's automatic tags of photos *ids* by *items* (photo id, label, score); manual
        accepts and rejects are never touched. Returns the number of tags written."""
        now = time.time()
        with self.transaction() as db:
            for part in chunks([int(i) for i in ids]):
                db.execute(f"DELETE FROM tags WHERE set_id = ? AND source = 'auto' AND photo_id IN "
                           f"({marks(part)})", (set_id, *part))
            db.executemany("INSERT INTO tags(photo_id, set_id, label, score, source, rejected, updated_at) "
                           "VALUES(?, ?, ?, ?, 'auto', 0, ?) ON CONFLICT(photo_id, set_id, label) DO NOTHING",
                           [(int(p), set_id, label, float(s), now) for p, label, s in items])
        return len(items)

    def tags_of(self, photo_ids: Sequence[int], include_rejected: bool = False) -> dict[int, list[Tag]]:
        """Tags per photo id, best score first (rejected ones only when asked)."""
        out: dict[int, list[Tag]] = {int(i): [] for i in photo_ids}
        for part in chunks(list(out)):
            for pid, name, label, score, source, rejected in self._query(
                    f"SELECT t.photo_id, s.name, t.label, t.score, t.source, t.rejected FROM tags t "
                    f"JOIN prompt_sets s ON s.id = t.set_id WHERE t.photo_id IN ({marks(part)})", part):
                if rejected and not include_rejected:
                    continue
                out[pid].append(Tag(name, label, score, source, bool(rejected)))
        for tags in out.values():
            tags.sort(key=lambda t: (t.rejected, -(t.score if t.score is not None else 2.0), t.set, t.label))
        return out

    def set_manual_tags(self, set_id: int, label: str, photo_ids: Sequence[int], accepted: bool,
                        scores: dict[int, float] | None = None) -> None:
        """Record the user's accept (or reject) of *label* on photos; it overrides any automatic tag."""
        now = time.time()
        scores = scores or {}
        with self.transaction() as db:
            for pid in photo_ids:
                old = db.execute("SELECT score FROM tags WHERE photo_id = ? AND set_id = ? AND label = ?",
                                 (pid, set_id, label)).fetchone()
                score = scores.get(pid, old[0] if old else None)
                db.execute("INSERT INTO tags(photo_id, set_id, label, score, source, rejected, updated_at) "
                           "VALUES(?, ?, ?, ?, 'manual', ?, ?) ON CONFLICT(photo_id, set_id, label) DO UPDATE SET "
                           "source = 'manual', rejected = excluded.rejected, score = excluded.score, "
                           "updated_at = excluded.updated_at", (pid, set_id, label, score, int(not accepted), now))

    # -- organizing new photos --------------------------------------------------------------

    def unorganized(self, model_id: int) -> list[tuple[int, float]]:
        """(photo id, indexed_at) of photos embedded by *model_id* since tags and smart albums last
        took them in (the ``organized`` table remembers when each photo was)."""
        return self._query("SELECT p.id, p.indexed_at FROM photos p JOIN embeddings e ON e.photo_id = p.id "
                           "AND e.model_id = ? LEFT JOIN organized o ON o.photo_id = p.id WHERE p.indexed_at "
                           "IS NOT NULL AND (o.photo_id IS NULL OR o.indexed_at != p.indexed_at) ORDER BY p.id",
                           (model_id,))

    def reset_organized(self) -> None:
        """Forget what tags and smart albums saw: every photo is organized again (after a model switch)."""
        with self.transaction() as db:
            db.execute("DELETE FROM organized")

    def mark_organized(self, items: Sequence[tuple[int, float]]) -> None:
        """Remember that photos (id, indexed_at) were tagged and matched against smart albums."""
        with self.transaction() as db:
            db.executemany("INSERT INTO organized(photo_id, indexed_at) VALUES(?, ?) ON CONFLICT(photo_id) "
                           "DO UPDATE SET indexed_at = excluded.indexed_at", items)
