"""``library.duplicates``: exact and near duplicates and bursts, the keeper, safe trashing and its undo.

Python API::

    groups = library.duplicates.groups()         # [DuplicateGroup(kind, photos)], keeper first
    library.duplicates.keep(path)                 # the user's keeper of that photo's group (remembered)
    plan = library.duplicates.trash(dry_run=True) # what would go: {"trashed": [...], "freed_bytes": n}
    done = library.duplicates.trash(confirm=True) # or confirm=callable(plan) -> bool; nothing without it
    library.duplicates.undo()                     # files back from the trash, rows back under their ids

Only the copies in exact and near groups are trashed, never a burst and never a group's keeper. Files
go to the desktop trash (``send2trash``; on Linux its freedesktop implementation, so the place each
file went is recorded), the library forgets them at once, and their tags and album memberships move
to the keeper. ``undo`` restores the last trash operation.
"""
from __future__ import annotations

import hashlib
import itertools
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import unquote

import numpy as np

from photosense.core import duplicates as dup
from photosense.core import paths
from photosense.core.catalog import FRAME_BASE, Photo
from photosense.core.errors import ImageError, UsageError
from photosense.core.events import Event
from photosense.core.scanner import HASH_HEAD
from photosense.services.context import LibraryContext

log = logging.getLogger(__name__)

TRASHED_KINDS = ("exact", "near")


@dataclass(frozen=True)
class GroupPhoto:
    """One member of a group, as the CLI and the app show it."""

    id: int
    path: str
    keep: bool
    width: int | None
    height: int | None
    size: int
    kind: str = "photo"

    def to_json(self) -> dict:
        return {"path": self.path, "keep": self.keep, "width": self.width, "height": self.height, "size": self.size}


@dataclass(frozen=True)
class DuplicateGroup:
    """An exact or near duplicate group, or a burst (a stack, never trashed); the keeper comes first."""

    kind: str
    photos: list[GroupPhoto]
    chosen: bool = False  # the keeper is the user's choice

    @property
    def keeper(self) -> GroupPhoto:
        return next(p for p in self.photos if p.keep)

    def to_json(self) -> dict:
        return {"kind": self.kind, "photos": [p.to_json() for p in self.photos]}


Confirm = Callable[[dict], bool]


def _epoch(taken_at: str | None) -> float | None:
    if not taken_at:
        return None
    try:
        return datetime.fromisoformat(taken_at).replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        return None


def _item(photo: Photo) -> dup.Item:
    return dup.Item(photo.id, photo.path, photo.width, photo.height, photo.size, _epoch(photo.taken_at),
                    photo.camera, photo.mtime_ns, photo.kind, photo.duration,
                    precise="." in (photo.taken_at or ""))


def _full_hash(path: str) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.digest()


class Duplicates:
    """Duplicate groups and bursts of a library (``library.duplicates``)."""

    def __init__(self, ctx: LibraryContext) -> None:
        self._ctx = ctx
        self._catalog = ctx.catalog
        self.changed: Event[list[int]] = Event("duplicates changed")  # ids a keep, trash or undo touched

    # -- finding ----------------------------------------------------------------------------

    def groups(self) -> list[DuplicateGroup]:
        """Every exact and near duplicate group and every burst, biggest first, keeper first."""
        photos = {p.id: p for p in self._catalog.duplicate_items()}
        return [self._public(g, photos) for g in self._find(photos)]

    def find(self, ids: list[int] | None = None) -> list[dup.Group]:
        """The groups (ids, keeper first) among the indexed items *ids* (default: the whole library)."""
        if ids is None:
            return self._find({p.id: p for p in self._catalog.duplicate_items()})
        return self._find({i: p for i, p in self._catalog.photos_by_ids(ids).items()
                           if p.hash is not None and p.indexed_at is not None})

    def _find(self, photos: dict[int, Photo]) -> list[dup.Group]:
        items = {i: _item(p) for i, p in photos.items()}
        exact = self._exact_sets(photos)
        rep = {i: min(s) for s in exact for i in s}
        members = {min(s): s for s in exact}
        chosen = self._catalog.duplicate_keepers()
        units = [i for i, p in photos.items() if rep.get(i, i) == i and p.kind == "photo"]
        embedded = self._embeddings(units)
        pairs = self._candidates(embedded, items)
        self._fill_signatures(items, {i for pair in pairs for i in pair})
        near_edges = dup.near_edges(items, pairs)

        def linked(a: int, b: int) -> bool:
            return dup.near_pair(items[a], items[b], float(embedded[a] @ embedded[b]))

        clusters = dup.average_linkage(near_edges, linked)
        clusters += self._video_clusters(photos, rep)
        out: list[dup.Group] = []
        stack_of: dict[int, int] = {}  # unit -> the keeper that stands for it in a burst
        clustered = set()
        for cluster in clusters:
            ids = [m for u in cluster for m in members.get(u, [u])]
            group = dup.make_group("near", [items[i] for i in ids], chosen)
            out.append(group)
            clustered.update(cluster)
            stack_of.update({u: group.keeper for u in cluster})
        for r, ids in members.items():
            if r not in clustered:
                group = dup.make_group("exact", [items[i] for i in ids], chosen)
                out.append(group)
                stack_of[r] = group.keeper
        bursts = [(stack_of.get(a, a), stack_of.get(b, b)) for (a, b), cos in pairs.items()
                  if dup.burst_pair(items[a], items[b], cos)]
        for chain in dup.chains((a, b) for a, b in bursts if a != b):
            out.append(dup.make_group("burst", [items[i] for i in chain], chosen))
        order = {"exact": 0, "near": 1, "burst": 2}
        out.sort(key=lambda g: (order[g.kind], -len(g.ids), items[g.keeper].path))
        return out

    def _public(self, group: dup.Group, photos: dict[int, Photo]) -> DuplicateGroup:
        return DuplicateGroup(group.kind, [GroupPhoto(i, photos[i].path, i == group.keeper, photos[i].width,
                                                      photos[i].height, photos[i].size, photos[i].kind)
                                           for i in group.ids], group.chosen)

    def _exact_sets(self, photos: dict[int, Photo]) -> list[list[int]]:
        """Items with one content: the same partial hash, and the same whole-file hash where the partial
        hash does not cover the file."""
        out: list[list[int]] = []
        collisions = self._catalog.exact_collisions()
        need = [i for ids in collisions for i in ids if i in photos and photos[i].size > HASH_HEAD]
        known = self._catalog.signatures(need)
        fresh: list[tuple[int, bytes, bytes]] = []
        full: dict[int, bytes | None] = {}
        for i in need:
            if known.get(i) is not None and known[i].full_hash is not None:
                full[i] = known[i].full_hash
                continue
            try:
                full[i] = _full_hash(photos[i].path)
                fresh.append((i, photos[i].hash, full[i]))
            except OSError:
                full[i] = None
        if fresh:
            self._catalog.save_full_hashes(fresh)
        for ids in collisions:
            ids = [i for i in ids if i in photos]
            by_content: dict[bytes, list[int]] = {}
            for i in ids:
                key = full.get(i, b"partial") if photos[i].size > HASH_HEAD else b"partial"
                if key is not None:
                    by_content.setdefault(key, []).append(i)
            out += [sorted(s) for s in by_content.values() if len(s) > 1]
        return out

    def _embeddings(self, ids: list[int]) -> dup.Embedded:
        """The stored unit vectors of photos *ids* (photos without one left out)."""
        model_id = self._ctx.model_id()
        if model_id is None or not ids:
            return dup.Embedded(np.empty(0, np.int64), np.empty((0, 0), np.float32))
        return dup.Embedded(*self._catalog.vector_matrix(model_id, self._catalog.model_dim(model_id), ids))

    @staticmethod
    def _candidates(embedded: dup.Embedded, items: dict[int, dup.Item]) -> dict[tuple[int, int], float]:
        """(a, b) -> cosine for embedding neighbours above the gate, and for photos shot within a burst gap."""
        if not len(embedded):
            return {}
        ids = embedded.ids
        a, b, cos = dup.neighbour_pairs(embedded.matrix)
        pairs = {(int(x), int(y)): float(c) for x, y, c in zip(ids[a].tolist(), ids[b].tolist(), cos.tolist())}
        timed = sorted((items[i].taken, i) for i in embedded if items[i].taken is not None)
        for (ta, x), (tb, y) in zip(timed, timed[1:]):
            if tb - ta <= dup.BURST_GAP_S and (min(x, y), max(x, y)) not in pairs:
                pairs[(min(x, y), max(x, y))] = float(embedded[x] @ embedded[y])
        return pairs

    def _fill_signatures(self, items: dict[int, dup.Item], ids: set[int]) -> None:
        """Perceptual hashes and sharpness of *ids*: stored ones, the rest computed now and stored."""
        stored = self._catalog.signatures(sorted(ids))
        missing = []
        for i in ids:
            s = stored.get(i)
            if s is not None and s.hashes is not None and len(s.hashes) == 8 * dup.HASHES * dup.WORDS:
                items[i].signature = np.frombuffer(s.hashes, "<u8").astype(np.uint64).reshape(dup.HASHES, dup.WORDS)
                items[i].sharpness = s.sharpness
            elif items[i].kind == "photo":
                missing.append(i)
        if not missing:
            return

        def compute(i: int):
            try:
                return i, dup.signature_of_file(items[i].path)
            except (ImageError, OSError) as err:
                log.info("no perceptual hash for %s: %s", paths.display(items[i].path), err)
                return i, None

        hashes = {i: p.hash for i, p in self._catalog.photos_by_ids(missing).items()}
        rows = []
        with ThreadPoolExecutor(max(1, min(4, os.cpu_count() or 1))) as pool:
            for i, found in pool.map(compute, missing):
                if found is not None and hashes.get(i) is not None:
                    items[i].signature, items[i].sharpness = found
                    rows.append((i, hashes[i], found[0].astype("<u8").tobytes(), found[1]))
        for start in range(0, len(rows), 1000):
            self._catalog.save_signatures(rows[start:start + 1000])

    def _video_clusters(self, photos: dict[int, Photo], rep: dict[int, int]) -> list[list[int]]:
        """Videos that are copies: candidates from their moments' neighbours, confirmed by
        :func:`~photosense.core.duplicates.video_pair` (duration and several moments)."""
        model_id = self._ctx.model_id()
        videos = [i for i, p in photos.items() if p.kind == "video" and rep.get(i, i) == i]
        vectors = self._ctx.vectors() if len(videos) > 1 else None
        if vectors is None or model_id is None:
            return []
        frames = self._catalog.frame_ids_by_video(model_id, videos)
        owner = {f: v for v, fs in frames.items() for f in fs}
        moments: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for v, fs in frames.items():
            times = np.asarray([t for _, t in self._catalog.frames_of(v, model_id)], np.float32)
            moments[v] = (times, vectors.vectors([FRAME_BASE + f for f in fs]))
        edges = set()
        for v, (_, rows) in moments.items():
            for row in rows:
                ids, scores = vectors.search(row, dup.NEIGHBOURS)
                for vid, cos in zip(ids.tolist(), scores.tolist()):
                    w = owner.get(vid - FRAME_BASE) if vid >= FRAME_BASE else None
                    if w is not None and w != v and cos >= dup.CANDIDATE_COSINE:
                        edges.add((min(v, w), max(v, w)))
        confirmed = [(a, b) for a, b in edges
                     if dup.video_pair(*moments[a], photos[a].duration, *moments[b], photos[b].duration)]
        return dup.chains(confirmed)

    # -- the keeper -------------------------------------------------------------------------

    def keep(self, path: str | os.PathLike[str]) -> DuplicateGroup:
        """Make *path* the keeper of its group (remembered; the suggestion no longer applies)."""
        photo = self._ctx.photo(path)
        photos = {p.id: p for p in self._catalog.duplicate_items()}
        for group in self._find(photos):
            if photo.id in group.ids:
                self._catalog.set_duplicate_keeper(photo.id, group.ids)
                group.keeper, group.chosen = photo.id, True
                group.ids = [photo.id] + [i for i in group.ids if i != photo.id]
                self.changed.emit(group.ids)
                return self._public(group, photos)
        raise UsageError(f"{paths.display(photo.path)} is in no duplicate group or burst.")

    # -- trash and undo ---------------------------------------------------------------------

    def trash(self, confirm: bool | Confirm = False, *, dry_run: bool = False,
              only: Iterable[str | os.PathLike[str]] | None = None) -> dict:
        """Move every copy (the non-keepers of exact and near groups; never a burst) to the desktop
        trash, or just the copies among *only* (paths, e.g. one group's). *confirm* must be True, or a
        callable that is shown the plan and returns True; otherwise nothing is removed
        (``"cancelled": true``). With *dry_run* only the plan is returned.
        Returns ``{"trashed": [{"path", "trash_path"}], "freed_bytes"}`` (plus ``"skipped"``)."""
        wanted = None if only is None else {paths.normalize(p) for p in only}
        with self._ctx.write_lock:
            photos = {p.id: p for p in self._catalog.duplicate_items()}
            plan = [(i, g.keeper) for g in self._find(photos) if g.kind in TRASHED_KINDS
                    for i in g.ids if i != g.keeper and (wanted is None or photos[i].path in wanted)]
            preview = {"trashed": [{"path": photos[i].path, "trash_path": None, "keeper": photos[k].path}
                                   for i, k in plan], "freed_bytes": sum(photos[i].size for i, _ in plan)}
            if dry_run or not plan:
                return preview
            agreed = confirm(preview) if callable(confirm) else confirm is True
            if not agreed:
                return {**preview, "trashed": [], "freed_bytes": 0, "cancelled": True}
            with self._ctx.writer:
                done = self._trash(plan, photos)
                self.changed.emit(sorted({k for _, k in plan}))
                return done

    def _trash(self, plan: list[tuple[int, int]], photos: dict[int, Photo]) -> dict:
        done: list[tuple[int, int, str | None, str | None]] = []
        skipped: list[dict] = []
        for i, keeper in plan:
            reason = _unsafe(photos[i], photos[keeper])
            if reason is None:
                try:
                    trash_path, info_path = move_to_trash(photos[i].path)
                    done.append((i, keeper, trash_path, info_path))
                    continue
                except OSError as err:
                    reason = f"the trash refused it ({err})"
            skipped.append({"path": photos[i].path, "reason": reason})
            log.warning("not trashed: %s: %s", paths.display(photos[i].path), reason)
        if done:
            model_id = self._ctx.model_id()
            gone = self._catalog.vector_ids_of(model_id, [i for i, *_ in done]) if model_id is not None else []
            try:
                self._catalog.record_trash(done)
            except BaseException:
                for i, _, trash_path, info_path in done:  # the catalog refused: the files go back
                    _restore_file(photos[i].path, trash_path, info_path)
                raise
            vectors = self._ctx.vectors()
            if vectors is not None and len(gone):
                vectors.remove(np.asarray(gone).tolist())  # photos, and the moments of videos
            self._ctx.drop_stale_moments()  # consumes the record of the deleted moments (already removed)
            if vectors is not None:
                vectors.save()
        return {"trashed": [{"path": photos[i].path, "trash_path": t} for i, _, t, _ in done],
                "freed_bytes": sum(photos[i].size for i, *_ in done), "skipped": skipped}

    def last_trash(self) -> dict | None:
        """The removal ``undo`` would restore: ``{"photos": count, "paths": [...]}``, or None."""
        last = self._catalog.last_trash()
        if last is None:
            return None
        waiting = sorted(i.path for i in last[1] if not i.restored)
        return {"photos": len(waiting), "paths": waiting} if waiting else None

    def undo(self) -> dict:
        """Restore the last trash operation: its files come back from the trash to where they were, and
        their catalog rows come back under their ids (with tags, albums and vectors); what moved to the
        keeper goes back. Returns ``{"restored": [{"path", "trash_path"}], "failed": [{"path", "reason"}]}``."""
        with self._ctx.write_lock, self._ctx.writer:
            last = self._catalog.last_trash()
            if last is None:
                raise UsageError("There is no trash operation to undo.")
            op, items = last
            back, failed = [], []
            for item in items:
                if item.restored:
                    continue
                reason = _restore_file(item.path, item.trash_path, item.info_path)
                if reason is None:
                    back.append(item)
                else:
                    failed.append({"path": item.path, "reason": reason})
            rows = set(self._catalog.restore_trashed(op, [i.photo_id for i in back]))
            model_id = self._ctx.model_id()
            vectors = self._ctx.vectors()
            if rows and vectors is not None and model_id is not None:
                ids = self._catalog.vector_ids_of(model_id, sorted(rows))
                for found, matrix in self._catalog.iter_vectors(model_id, vectors.dim, ids=ids):
                    vectors.add(found, matrix)
                vectors.save()
            self.changed.emit(sorted(rows))
            return {"restored": [{"path": i.path, "trash_path": i.trash_path} for i in back],
                    "failed": failed + [{"path": i.path, "reason": "its folder left the library, or the path is "
                                         "taken in the catalog: the file is back, index it again"}
                                        for i in back if i.photo_id not in rows]}


def _unsafe(photo: Photo, keeper: Photo) -> str | None:
    """Why a copy must not be trashed now (None: it may be)."""
    try:
        st = os.stat(photo.path)
    except OSError:
        return "it is no longer there"
    if st.st_size != photo.size or st.st_mtime_ns != photo.mtime_ns:
        return "it changed since it was indexed"
    if not os.path.isfile(keeper.path):
        return f"its keeper {paths.display(keeper.path)} is gone"
    if os.path.realpath(photo.path) == os.path.realpath(keeper.path) or os.path.samefile(photo.path, keeper.path):
        return "it is the keeper's own file under another name"
    return None


# -- the desktop trash ----------------------------------------------------------------------------

def _linux_trash():
    """send2trash's freedesktop implementation, following today's $XDG_DATA_HOME (it reads the variable
    once, at import; the trash spec means the current one)."""
    from send2trash import plat_other

    data_home = os.path.expanduser(os.environb.get(b"XDG_DATA_HOME", b"~/.local/share"))
    if plat_other.XDG_DATA_HOME != data_home:
        plat_other.XDG_DATA_HOME = data_home
        plat_other.HOMETRASH_B = os.path.join(data_home, b"Trash")
        plat_other.HOMETRASH = os.fsdecode(plat_other.HOMETRASH_B)
    return plat_other


def move_to_trash(path: str) -> tuple[str | None, str | None]:
    """Send one file to the desktop trash; returns (where it went, its .trashinfo), None where the
    platform does not say (macOS, Windows: undo then cannot bring the file back)."""
    if not sys.platform.startswith("linux"):
        from send2trash import send2trash

        send2trash(path)
        return None, None
    plat = _linux_trash()
    roots = [(plat.HOMETRASH_B, plat.XDG_DATA_HOME)]  # (trash folder, what its relative Paths start from)
    try:
        top = plat.find_mount_point(os.fsencode(path))
        roots += [(os.path.join(top, plat.TOPDIR_TRASH, str(os.getuid()).encode()), top),
                  (os.path.join(top, plat.TOPDIR_FALLBACK), top)]
    except OSError:
        pass
    plat.send2trash(path)
    if os.path.lexists(path):
        raise OSError(f"{paths.display(path)} is still in place")
    return _find_in_trash(os.fsencode(os.path.abspath(path)), roots)


def _find_in_trash(path: bytes, roots: list[tuple[bytes, bytes]]) -> tuple[str | None, str | None]:
    """The newest trash entry whose .trashinfo names *path*. send2trash names an entry after the file,
    then "stem N.ext" with the first free N, so the entry just made is at or before the first gap."""
    name = os.path.basename(path)
    stem, ext = os.path.splitext(name)
    best: tuple[float, bytes, bytes] | None = None
    for root, top in roots:
        for n in itertools.count():
            entry = name if n == 0 else stem + b" " + str(n).encode() + ext
            info = os.path.join(root, b"info", entry + b".trashinfo")
            if not os.path.exists(info):
                if n == 0:
                    continue
                break
            try:
                text = Path(os.fsdecode(info)).read_text("utf-8", "surrogateescape")
                mtime = os.stat(info).st_mtime
            except OSError:
                continue
            named = next((unquote(line[5:].strip()) for line in text.splitlines() if line.startswith("Path=")), "")
            full = named if named.startswith("/") else os.path.join(os.fsdecode(top), named)
            if os.fsencode(os.path.normpath(full)) == os.path.normpath(path) and (best is None or mtime >= best[0]):
                best = (mtime, os.path.join(root, b"files", entry), info)
    if best is None:
        return None, None
    return os.fsdecode(best[1]), os.fsdecode(best[2])


def _restore_file(path: str, trash_path: str | None, info_path: str | None) -> str | None:
    """Move a trashed file back to *path*; returns why not (None: done)."""
    if trash_path is None:
        return "where the trash put it is not known on this platform; restore it from the desktop trash"
    if not os.path.lexists(trash_path):
        return "it is no longer in the trash"
    if os.path.lexists(path):
        return "another file is at its place now"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.rename(trash_path, path)
    except OSError as err:
        return f"it could not be moved back ({err.strerror or err})"
    if info_path:
        try:
            os.unlink(info_path)  # the trash's own record of the file, not a photo
        except OSError:
            pass
    return None

