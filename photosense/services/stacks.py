"""``library.stacks``: stack membership kept current after indexing, expansion of a stack, and the setting.

Search, albums and the grid show one item per stack (``core/stacks.py``: an exact or near duplicate
group, or a burst with its shots' copies). Grouping the whole library takes seconds (``Duplicates.find``,
about 10 s at 100k photos), far too long for a query, so membership is stored in the catalog (table
``stacks``) and results only read it. It is kept current here:

- **After indexing** (``ctx.embedded``) and after a keep, a trash or an undo (``duplicates.changed``), the
  items not grouped since they were last embedded (the catalog's ``unstacked()``: new, changed, restored,
  or missed by a killed run) are grouped *incrementally*: their candidates (the same content hash, vector
  index neighbours at or above the candidate gate, photos taken within a burst gap) and the whole stacks
  those are in are regrouped by ``Duplicates.find`` - the same confirmation (perceptual hash, aspect,
  capture time, linkage) as the full pass - and written in one transaction.
- **Many new items** (``FULL_AT`` or more, or ``FULL_SHARE`` of the library: a first index, an upgraded
  library) regroup the whole library in one pass instead, which is then cheaper than one vector
  search per item.
- **Removals** need no work: stack rows cascade with their photo, so a count drops at once and the best
  remaining member becomes the cover.

Stacks are maintained whether stacking is on or off, so the setting (catalog ``results.stack``) switches at
once. Python API::

    library.stacking                # True unless turned off
    library.set_stacking(False)     # remembered in the library
    library.stack(path_or_id)       # [Hit]: the members, keeper first (just the item when it is alone)
    library.stacks.of(path_or_id)   # Stack(id, kind, members) or None
    library.stacks.update()         # group what is not grouped yet (full=True: the whole library)
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from photosense.core import duplicates as dup
from photosense.core import stacks as stacking
from photosense.core.catalog import FRAME_BASE, is_frame_vector
from photosense.core.search import Hit
from photosense.services.context import LibraryContext
from photosense.services.duplicates import Duplicates
from photosense.services.search import SearchService

log = logging.getLogger(__name__)

FULL_AT = 2000  # at least this many items to group: regroup the whole library in one pass ...
FULL_SHARE = 0.05  # ... or at least this share of the library
NEIGHBOURS = 32  # vector index neighbours looked at per new item (doubled while all pass the gate)
MAX_NEIGHBOURS = 256

Item = int | str | os.PathLike | Hit


@dataclass(frozen=True)
class Stack:
    """A stack as results fold it: its id, kind ("exact", "near" or "burst") and members, keeper first."""

    id: int
    kind: str
    members: list[Hit]

    @property
    def cover(self) -> Hit:
        """The member a listing shows for the stack (its keeper)."""
        return self.members[0]

    def to_json(self) -> dict:
        return {"kind": self.kind, "photos": [{k: v for k, v in h.to_json().items() if k not in ("id", "score")}
                                              | {"keep": n == 0} for n, h in enumerate(self.members)]}


@dataclass(frozen=True)
class StackUpdate:
    """What one :meth:`Stacks.update` did: how (``"none"``, ``"incremental"``, ``"full"``), how many items
    it grouped (the new ones) and regrouped (with their neighbourhood), the stacks it wrote and its time."""

    mode: str
    grouped: int = 0
    regrouped: int = 0
    stacks: int = 0
    seconds: float = 0.0


class Stacks:
    """Stack membership of a library's items (``library.stacks``)."""

    def __init__(self, ctx: LibraryContext, search: SearchService, duplicates: Duplicates) -> None:
        self.ctx = ctx
        self.catalog = ctx.catalog
        self.search = search
        self.duplicates = duplicates
        self.last: StackUpdate | None = None
        self._unsubscribe = [ctx.embedded.subscribe(lambda _event: self._follow()),
                             duplicates.changed.subscribe(self._follow)]

    def _follow(self, around: Iterable[int] = ()) -> None:
        """Listener: stacks are a view of the catalog, so a failure here is logged, never the indexer's."""
        try:
            self.update(around=around)
        except Exception:  # noqa: BLE001 - what is left ungrouped is grouped by the next update
            log.warning("stacks not updated; the next indexing run tries again", exc_info=True)

    # -- the setting ------------------------------------------------------------------------

    @property
    def enabled(self) -> bool:
        """Whether results fold stacks (the library's setting; on unless turned off)."""
        return self.search.stacking

    def set_enabled(self, on: bool) -> None:
        """Turn stacking in results on or off for this library (remembered)."""
        self.catalog.set_setting(stacking.SETTING, "on" if on else "off")

    # -- reading ----------------------------------------------------------------------------

    def of(self, item: Item) -> Stack | None:
        """The stack *item* (a path, an id or a Hit) is in, with its members keeper first (None: alone)."""
        item_id = self._id(item)
        rows = next((s for s in self.catalog.stacks_touching([item_id]).values()), None)
        if rows is None:
            return None
        members = self.search.hits([(m, 1.0, ("stack",), None) for m in rows.members])
        return Stack(rows.id, rows.kind, members) if len(members) > 1 else None

    def members(self, item: Item) -> list[Hit]:
        """What a folded hit stands for: the members of *item*'s stack, keeper first, or *item* alone."""
        stack = self.of(item)
        if stack is not None:
            return stack.members
        return self.search.hits([(self._id(item), 1.0, ("stack",), None)])

    def count(self) -> int:
        """How many stacks of two items or more the library has."""
        return self.catalog.stack_count()

    def _id(self, item: Item) -> int:
        if isinstance(item, Hit):
            return item.id
        if isinstance(item, (int, np.integer)):
            return int(item)
        return self.ctx.photo(item).id

    # -- keeping them current ---------------------------------------------------------------

    def update(self, full: bool = False, around: Iterable[int] = ()) -> StackUpdate:
        """Group the items not grouped since they were last embedded, and regroup *around* (ids whose
        group may have changed), incrementally or, for many items or with *full*, the whole library."""
        t0 = time.perf_counter()
        with self.ctx.write_lock:
            pending = self.catalog.unstacked()
            seeds = sorted(set(pending) | {int(i) for i in around})
            if not seeds and not full:
                return StackUpdate("none")
            if full or len(pending) >= min(FULL_AT, FULL_SHARE * self.catalog.indexed_count()):
                checked = self.catalog.indexed_ids()
                groups = self.duplicates.find()
                mode = "full"
            else:
                checked = sorted(self._around(seeds))
                groups = self.duplicates.find(checked)
                mode = "incremental"
            stacks = stacking.merge_groups(groups)
            self.catalog.save_stacks(checked, stacks)
        self.last = StackUpdate(mode, len(pending), len(checked), len(stacks), time.perf_counter() - t0)
        log.info("stacks: %s update, %d new items, %d regrouped, %d stacks written in %.2fs", mode, len(pending),
                 len(checked), len(stacks), self.last.seconds)
        return self.last

    def _around(self, seeds: list[int]) -> set[int]:
        """*seeds* with everything that could group with them (same content, neighbours in the vector index,
        taken within a burst gap) and the whole stacks those are in."""
        found = set(seeds) | self.catalog.same_content(seeds) | self._neighbours(seeds) | self._taken_near(seeds)
        for rows in self.catalog.stacks_touching(sorted(found)).values():
            found.update(rows.members)
        return found

    def _neighbours(self, seeds: list[int]) -> set[int]:
        """Items with a vector (a photo's, a video's moment) at or above the candidate gate from a seed's."""
        vectors, model_id = self.ctx.vectors(), self.ctx.model_id()
        if vectors is None or model_id is None or not len(vectors):
            return set()
        own = [int(v) for v in self.catalog.vector_ids_of(model_id, seeds).tolist() if v in vectors]
        found: set[int] = set()
        for start in range(0, len(own), 1000):
            part = own[start:start + 1000]
            for query in vectors.vectors(part):
                k = NEIGHBOURS
                while True:
                    ids, scores = vectors.search(query, k)
                    close = ids[scores >= dup.CANDIDATE_COSINE]
                    if len(close) < len(ids) or len(ids) < k or k >= MAX_NEIGHBOURS:
                        break
                    k *= 2
                found.update(close.tolist())
        frames = [i - FRAME_BASE for i in found if is_frame_vector(i)]
        owners = self.catalog.frame_owners(frames) if frames else {}
        return {i for i in found if not is_frame_vector(i)} | {v for v, _ in owners.values()}

    def _taken_near(self, seeds: list[int]) -> set[int]:
        """Items captured within a burst gap of a seed."""
        gap = timedelta(seconds=dup.BURST_GAP_S)
        windows = []
        for text in self.catalog.taken_of(seeds).values():
            try:
                when = datetime.fromisoformat(text)
            except ValueError:
                continue
            windows.append((when - gap, when + gap))
        merged: list[list[datetime]] = []
        for lo, hi in sorted(windows):
            if merged and lo <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        return self.catalog.taken_between((lo.isoformat(timespec="seconds"), hi.isoformat(timespec="seconds"))
                                          for lo, hi in merged)
