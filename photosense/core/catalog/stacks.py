"""Catalog table group: stacks (which duplicate group or burst each indexed item belongs to, for results)."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from photosense.core.catalog.connection import CatalogConnection, chunks, marks


@dataclass
class StackRows:
    """One stored stack: its id, its kind ("exact", "near" or "burst") and its member ids by rank
    (the keeper first)."""

    id: int
    kind: str
    members: list[int] = field(default_factory=list)

_UPSERT = ("INSERT INTO stacks(photo_id, stack_id, kind, rank, indexed_at) "
           "SELECT id, ?, ?, ?, indexed_at FROM photos WHERE id = ? AND indexed_at IS NOT NULL "
           "ON CONFLICT(photo_id) DO UPDATE SET stack_id = excluded.stack_id, kind = excluded.kind, "
           "rank = excluded.rank, indexed_at = excluded.indexed_at")


class StackTable(CatalogConnection):
    """The ``stacks`` table: one row per indexed item the stacker has grouped (stack_id NULL: alone)."""

    # -- what needs grouping ----------------------------------------------------------------

    def unstacked(self) -> list[int]:
        """Ids of indexed items not grouped since they were last embedded (new, changed, restored), ascending."""
        return [r[0] for r in self._query(
            "SELECT p.id FROM photos p LEFT JOIN stacks s ON s.photo_id = p.id WHERE p.indexed_at IS NOT NULL "
            "AND (s.photo_id IS NULL OR s.indexed_at != p.indexed_at) ORDER BY p.id")]

    def indexed_count(self) -> int:
        """How many items have been indexed (what a full regroup reads)."""
        return int(self._scalar("SELECT COUNT(*) FROM photos WHERE indexed_at IS NOT NULL"))

    def indexed_ids(self) -> list[int]:
        """Ids of every indexed item, ascending."""
        return [r[0] for r in self._query("SELECT id FROM photos WHERE indexed_at IS NOT NULL ORDER BY id")]

    def same_content(self, ids: Sequence[int]) -> set[int]:
        """Indexed items whose partial content hash equals that of one of *ids* (exact copy candidates)."""
        out: set[int] = set()
        for part in chunks([int(i) for i in ids]):
            out.update(r[0] for r in self._query(
                f"SELECT id FROM photos WHERE indexed_at IS NOT NULL AND hash IN (SELECT hash FROM photos "
                f"WHERE id IN ({marks(part)}) AND hash IS NOT NULL)", part))
        return out

    def taken_of(self, ids: Sequence[int]) -> dict[int, str]:
        """Item id -> capture time (ISO text) for those of *ids* that have one."""
        out: dict[int, str] = {}
        for part in chunks([int(i) for i in ids]):
            out.update(self._query(f"SELECT id, taken_at FROM photos WHERE id IN ({marks(part)}) "
                                   "AND taken_at IS NOT NULL", part))
        return out

    def taken_between(self, ranges: Iterable[tuple[str, str]]) -> set[int]:
        """Indexed items captured within any of the closed ranges (lo, hi) of ISO times."""
        out: set[int] = set()
        for lo, hi in ranges:
            out.update(r[0] for r in self._query(
                "SELECT id FROM photos WHERE taken_at BETWEEN ? AND ? AND indexed_at IS NOT NULL", (lo, hi)))
        return out

    # -- reading stacks ----------------------------------------------------------------------

    def stacks_touching(self, ids: Sequence[int]) -> dict[int, StackRows]:
        """Stack id -> (kind, member ids by rank) of every stack one of *ids* belongs to."""
        out: dict[int, StackRows] = {}
        for part in chunks(sorted({int(i) for i in ids})):
            for stack, kind, pid in self._query(
                    f"SELECT m.stack_id, m.kind, m.photo_id FROM stacks s JOIN stacks m ON m.stack_id = s.stack_id "
                    f"WHERE s.photo_id IN ({marks(part)}) AND s.stack_id IS NOT NULL ORDER BY m.stack_id, m.rank, "
                    f"m.photo_id", part):
                rows = out.setdefault(stack, StackRows(stack, kind, []))
                if pid not in rows.members:
                    rows.members.append(pid)
        return out

    def all_stacks(self) -> dict[int, StackRows]:
        """Every stack: stack id -> (kind, member ids by rank)."""
        out: dict[int, StackRows] = {}
        for stack, kind, pid in self._query("SELECT stack_id, kind, photo_id FROM stacks WHERE stack_id IS NOT NULL "
                                            "ORDER BY stack_id, rank, photo_id"):
            out.setdefault(stack, StackRows(stack, kind, [])).members.append(pid)
        return out

    def stack_count(self) -> int:
        """How many stacks hold two items or more."""
        return int(self._scalar("SELECT COUNT(*) FROM (SELECT stack_id FROM stacks WHERE stack_id IS NOT NULL "
                                "GROUP BY stack_id HAVING COUNT(*) > 1)"))

    # -- writing -----------------------------------------------------------------------------

    def save_stacks(self, checked: Sequence[int], stacks: Sequence[tuple[int, str, Sequence[int]]]) -> None:
        """In one transaction: every id of *checked* is marked grouped at its current embedding and alone,
        then each (stack id, kind, member ids by rank) of *stacks* is written over it. Items that are gone
        or not indexed are skipped."""
        rows = {int(i): (None, None, 0) for i in checked}
        for stack_id, kind, members in stacks:
            rows.update({int(pid): (int(stack_id), kind, rank) for rank, pid in enumerate(members)})
        with self.transaction() as db:
            db.executemany(_UPSERT, [(s, k, r, pid) for pid, (s, k, r) in rows.items()])

    def forget_stacks(self) -> None:
        """Drop every stack row (the next update regroups the whole library)."""
        with self.transaction() as db:
            db.execute("DELETE FROM stacks")
