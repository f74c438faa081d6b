"""Apply one batch of file-system changes to the catalog: reported moves by path, then scoped rescans."""
from __future__ import annotations

import logging
import os
import stat
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from photosense.core import paths
from photosense.core.catalog import Catalog, FileState, Folder
from photosense.core.filetypes import is_media_name
from photosense.core.scanner import (SKIPPED_DIRS, FoundFile, ScanPlan, _pair_moves, classify_found, partial_hash,
                                     walk_images)

log = logging.getLogger(__name__)

ARRIVAL_WINDOW_S = 30.0  # a copy that arrived this recently before its original vanished was a move
VANISH_GRACE_S = 2.0  # live sync keeps a vanished photo's row this long, waiting for its arrival


@dataclass
class ChangeBatch:
    """What changed in one burst of file events: folders to rescan and moves that were reported.

    ``scopes`` maps a folder key (file-system bytes) to True when its whole subtree must be
    rescanned, False when only its direct entries changed. ``moves`` are (source, destination,
    is_directory) keys in the order they happened. ``busy`` holds files still being written: a
    rescan leaves them alone, and they come back in a later batch once complete.
    """

    scopes: dict[bytes, bool] = field(default_factory=dict)
    moves: list[tuple[bytes, bytes, bool]] = field(default_factory=list)
    busy: frozenset[bytes] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.scopes or self.moves)

    def add_scope(self, key: bytes, recursive: bool) -> None:
        """Mark a folder (recursively or just its direct entries) for rescanning."""
        self.scopes[key] = self.scopes.get(key, False) or recursive

    def merge(self, older: ChangeBatch) -> None:
        """Fold in an older batch that could not be applied (its moves go first)."""
        for key, recursive in older.scopes.items():
            self.add_scope(key, recursive)
        self.moves = older.moves + self.moves

    def coalesced_scopes(self) -> list[tuple[bytes, bool]]:
        """Scopes with everything inside a recursive scope dropped: a folder tree is one change."""
        out: list[tuple[bytes, bool]] = []
        covering: bytes | None = None
        for key in sorted(self.scopes):  # byte order puts a folder right before everything inside it
            if covering is not None and (key == covering or key.startswith(covering + paths.SEP)):
                continue
            out.append((key, self.scopes[key]))
            if self.scopes[key]:
                covering = key
        return out


def _folder_of(folders: Sequence[Folder], key: bytes) -> Folder | None:
    """The innermost library folder holding *key*."""
    best: Folder | None = None
    for folder in folders:
        root = paths.to_db(folder.path)
        if (key == root or key.startswith(root + paths.SEP)) and (best is None or len(folder.path) > len(best.path)):
            best = folder
    return best


def apply_moves(catalog: Catalog, folders: Sequence[Folder],
                moves: Iterable[tuple[bytes, bytes, bool]]) -> tuple[int, list[int]]:
    """Give moved photos (and every photo of a moved folder) their new path.

    Returns the number of photos moved and the ids of stale rows dropped at the destinations.

    Only moves that stay inside the library are applied here; the rescans of the same batch
    handle the rest (a photo moved out is removed, one moved in is new).
    """
    count, dropped = 0, []
    for src, dest, is_dir in moves:
        target = _folder_of(folders, dest)
        if target is None:
            continue
        if is_dir:
            moved, stale = catalog.move_tree(src, dest, target.id)
            count += moved
            dropped += stale
            continue
        photo = catalog.photo_by_path(src)
        if photo is None or not is_media_name(os.path.basename(dest)):
            continue
        try:
            size = os.stat(dest).st_size
        except OSError:
            continue  # moved on again or deleted: a later scope settles it
        if size == photo.size:
            stale = catalog.photo_by_path(dest)  # taken for a new file by an earlier batch
            if stale is not None and stale.id != photo.id:
                dropped.append(stale.id)
            # the old mtime stays: if the content changed after the move, the rescan sees it
            catalog.move_photo(photo.id, paths.from_db(dest), target.id, photo.mtime_ns)
            count += 1
    return count, dropped


def _list_dir(folder: bytes) -> list[FoundFile]:
    """The image files directly in *folder* (the same rules as the recursive walk); raises OSError."""
    found = []
    with os.scandir(folder) as it:
        for entry in it:
            if entry.name.startswith(b".") or os.fsdecode(entry.name) in SKIPPED_DIRS:
                continue
            try:
                st = entry.stat()
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode) and is_media_name(entry.name):
                found.append(FoundFile(entry.path, st.st_size, st.st_mtime_ns))
    return found


@dataclass
class Vanishing:
    """Photos whose file is gone but whose row is kept a moment (LiveSync keeps one across batches).

    The halves of a move can be applied in either order: the departure may be seen by one batch
    and the arrival only by the next. A vanished photo therefore keeps its row (its id, tags and
    albums) for *grace_s*; if its content arrives meanwhile, it moves there, otherwise a recheck
    of ``recheck`` (the scopes that found it gone) removes it.
    """

    grace_s: float = field(default_factory=lambda: VANISH_GRACE_S)  # read when made (tests shorten it)
    since: dict[int, float] = field(default_factory=dict)  # photo id -> when first found gone
    recheck: dict[bytes, bool] = field(default_factory=dict)  # scopes to rescan after grace_s


def plan_scopes(catalog: Catalog, folders: Sequence[Folder], scopes: Iterable[tuple[bytes, bool]],
                busy: frozenset[bytes] = frozenset(), vanishing: Vanishing | None = None) -> ScanPlan:
    """Like :func:`scanner.plan_scan`, but only inside *scopes* ((folder key, recursive) pairs).

    A scope whose library folder is missing (unmounted, offline) is skipped, never swept: its
    photos, tags and albums wait for it to come back. Files in *busy* are still being written and
    are left as they are. Photos gone from a scope are removed at once or, with *vanishing*,
    once they have been gone for its grace period.
    """
    plan = ScanPlan()
    missing: dict[bytes, FileState] = {}
    found_in: dict[int, tuple[bytes, bool]] = {}  # missing photo id -> the scope that found it gone
    fresh: list[tuple[int, FoundFile]] = []
    for key, recursive in scopes:
        folder = _folder_of(folders, key)
        if folder is None or not os.path.isdir(folder.path):
            continue
        lo, hi = paths.folder_range(paths.from_db(key))
        known = {bytes(s.path): s for s in catalog.file_states_between(lo, hi)}
        failed = catalog.failure_states_between(lo, hi)
        if not recursive:
            known = {k: s for k, s in known.items() if os.path.dirname(k) == key}
            failed = {k: v for k, v in failed.items() if os.path.dirname(k) == key}
        on_disk: set[bytes] = set()
        if os.path.isdir(key):
            try:
                files = list(walk_images(key, plan.errors)) if recursive else _list_dir(key)
            except OSError as err:
                plan.errors.items.append((paths.from_db(key), err.strerror or str(err)))
                continue  # unreadable: keep everything it held
        else:
            files = []  # the folder is gone: everything it held is missing
        for found in files:
            fkey = bytes(found.key)
            if fkey in busy or fkey in on_disk:
                on_disk.add(fkey)
                continue
            on_disk.add(fkey)
            classify_found(found, fkey, folder.id, known, failed, plan, fresh)
        unreadable = [paths.to_db(p) + paths.SEP for p, _ in plan.errors.items]
        for fkey, state in known.items():
            if fkey not in on_disk and not any(fkey.startswith(u) for u in unreadable):
                missing[fkey] = state
                found_in[state.id] = (key, recursive)
        plan.forgotten_failures += [k for k in failed if k not in on_disk]
    _pair_moves(plan, missing, fresh)
    arrivals = _adopt_arrivals(catalog, plan, missing)
    if vanishing is not None:
        now = time.monotonic()
        for pid in [p for p in plan.removed if p in found_in and p not in arrivals]:
            if now - vanishing.since.setdefault(pid, now) < vanishing.grace_s:
                plan.removed.remove(pid)  # kept for now: its arrival may still come
                scope, recursive = found_in[pid]
                vanishing.recheck[scope] = vanishing.recheck.get(scope, False) or recursive
            else:
                del vanishing.since[pid]
        for pid in [p for p, t in vanishing.since.items() if now - t > 10 * vanishing.grace_s]:
            del vanishing.since[pid]  # came back or moved away meanwhile
    return plan


def _adopt_arrivals(catalog: Catalog, plan: ScanPlan, missing: dict[bytes, FileState]) -> set[int]:
    """A photo that vanished while a file with its content arrived moments earlier moved.

    Events of a move between two watched trees come apart (the arrival first, the departure
    up to half a second later) and may land in separate batches; the arrival was then taken
    for a copy. Here the original row takes the arrival's path and keeps its id, and the
    arrival's young row goes.
    """
    gone = {s.id: s for s in missing.values() if s.id in set(plan.removed) and s.hash}
    since = time.time() - ARRIVAL_WINDOW_S
    taken: set[int] = set()
    for state in gone.values():
        for new_id, key, folder_id, mtime, digest in catalog.recent_arrivals(state.size, since):
            if new_id in taken or new_id in gone:
                continue
            if digest is None:
                try:
                    digest = partial_hash(key, state.size)
                except OSError:
                    continue
            if digest == bytes(state.hash):
                taken.add(new_id)
                plan.removed.remove(state.id)
                plan.removed.append(new_id)  # (move_photo drops its row; this drops its vector)
                plan.moved.append((state.id, key, folder_id, mtime))
                break
    return taken
