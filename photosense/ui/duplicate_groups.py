"""The Duplicates view's data (Qt-free, loaded on a worker): each group's photos with the facts the view compares
(size, resolution, format, date), which of them differ within the group, and what a trash would take.

``load_groups(library)`` wraps ``library.duplicates.groups()`` and reads each member's catalog record (capture
time, file time) in one query; ``trash_plan`` is what the confirmation lists, made from the groups on screen, and
``agrees`` is the check handed to ``library.duplicates.trash(confirm=...)``: the library trashes only if what
it would remove now is exactly what the user confirmed.
"""
from __future__ import annotations

import inspect
import os
from dataclasses import dataclass, field, replace
from datetime import datetime

FIELDS = ("size", "resolution", "format", "date")  # compared within a group, highlighted where they differ
KIND_TITLES = {"exact": "Exact copies", "near": "Near duplicates", "burst": "Burst"}
TRASHED_KINDS = ("exact", "near")  # bursts are stacks: never trashed
FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".jpe": "JPEG", ".jfif": "JPEG", ".png": "PNG", ".webp": "WebP",
           ".gif": "GIF", ".tif": "TIFF", ".tiff": "TIFF", ".bmp": "BMP", ".heic": "HEIC", ".heif": "HEIF",
           ".hif": "HEIF", ".avif": "AVIF", ".mov": "QuickTime", ".mp4": "MP4", ".m4v": "MP4", ".mkv": "Matroska",
           ".webm": "WebM", ".avi": "AVI", ".3gp": "3GP"}


def human_size(n: int | float) -> str:
    """Bytes as people read them (decimal units, as the CLI prints them): 812 bytes, 45.3 kB, 1.2 MB."""
    for unit in ("bytes", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} bytes"


def format_of(path: str) -> str:
    """The file format, from its suffix ("JPEG", "PNG", …)."""
    suffix = os.path.splitext(path)[1].lower()
    return FORMATS.get(suffix, suffix[1:].upper() or "unknown")


@dataclass(frozen=True)
class Shot:
    """One member of a group as the view shows it."""

    id: int
    path: str
    keep: bool
    width: int | None
    height: int | None
    size: int
    kind: str = "photo"
    taken: str | None = None  # capture time, ISO ("2024-07-14T12:00:03"), None when the file has none
    modified: float | None = None  # the file's mtime, seconds

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    @property
    def folder(self) -> str:
        return os.path.dirname(self.path)

    def value(self, name: str) -> str:
        """The text of one compared fact: "size", "resolution", "format" or "date"."""
        if name == "size":
            return human_size(self.size)
        if name == "resolution":
            return f"{self.width} × {self.height}" if self.width and self.height else "unknown"
        if name == "format":
            return format_of(self.path)
        if name == "date":
            return self.taken.replace("T", " ") if self.taken else "no capture date"
        raise KeyError(name)

    def key(self, name: str) -> object:
        """What is compared for *name* (the exact bytes for the size: two sizes may print alike)."""
        return {"size": self.size, "resolution": (self.width, self.height), "format": format_of(self.path),
                "date": self.taken}[name]

    def detail(self, name: str) -> str:
        """A tooltip for one fact."""
        if name == "size":
            return f"{self.size:,} bytes"
        if name == "date":
            when = (datetime.fromtimestamp(self.modified).strftime("%Y-%m-%d %H:%M:%S")
                    if self.modified else "unknown")
            return (f"Taken {self.value('date')}" if self.taken else "The file holds no capture date") + \
                f"\nFile modified {when}"
        return self.value(name)


@dataclass(frozen=True)
class Group:
    """An exact or near duplicate group (the keeper first), or a burst (its shots in time order)."""

    kind: str
    photos: tuple[Shot, ...]
    chosen: bool = False  # the keeper is the user's choice, not the suggestion
    differing: frozenset[str] = field(default=frozenset())

    @classmethod
    def of(cls, kind: str, photos, chosen: bool = False) -> Group:
        if kind == "burst":  # shots in the order they were taken
            photos = tuple(sorted(photos, key=lambda p: (p.taken or "", p.path)))
        else:  # the keeper first
            photos = tuple(sorted(photos, key=lambda p: not p.keep))
        differing = frozenset(f for f in FIELDS if len({p.key(f) for p in photos}) > 1)
        return cls(kind, photos, chosen, differing)

    @property
    def keeper(self) -> Shot:
        return next((p for p in self.photos if p.keep), self.photos[0])

    @property
    def trashable(self) -> bool:
        return self.kind in TRASHED_KINDS

    @property
    def copies(self) -> tuple[Shot, ...]:
        """What a trash takes from this group (nothing from a burst)."""
        return tuple(p for p in self.photos if not p.keep) if self.trashable else ()

    @property
    def freed(self) -> int:
        return sum(p.size for p in self.copies)

    @property
    def ids(self) -> frozenset[int]:
        return frozenset(p.id for p in self.photos)

    def title(self) -> str:
        if self.kind == "burst":
            return f"Burst: {len(self.photos)} shots"
        return f"{KIND_TITLES.get(self.kind, self.kind)} · {len(self.photos)} photos"

    def with_keeper(self, path: str) -> Group:
        """The group with *path* as the user's keeper."""
        return Group.of(self.kind, [replace(p, keep=p.path == path) for p in self.photos], chosen=True)

    def without(self, paths: set[str]) -> Group | None:
        """The group once *paths* are gone (None when fewer than two photos are left)."""
        left = [p for p in self.photos if p.path not in paths]
        return Group.of(self.kind, left, self.chosen) if len(left) > 1 else None


@dataclass(frozen=True)
class Found:
    """An answer of ``load_groups``: the groups, and how many copies the last trash (not undone) can restore."""

    groups: list[Group]
    undo: int = 0


@dataclass(frozen=True)
class TrashItem:
    path: str
    keeper: str
    size: int


@dataclass(frozen=True)
class TrashPlan:
    """What a trash takes: every group's copies, or one group's (*group*)."""

    items: tuple[TrashItem, ...]
    group: Group | None = None

    @property
    def freed(self) -> int:
        return sum(i.size for i in self.items)

    @property
    def count(self) -> int:
        return len(self.items)

    def pairs(self) -> set[tuple[str, str]]:
        return {(i.path, i.keeper) for i in self.items}


def trash_plan(groups: list[Group], group: Group | None = None) -> TrashPlan:
    """The copies of every exact and near group (or of *group*), each with the keeper that stays."""
    chosen = [group] if group is not None else groups
    return TrashPlan(tuple(TrashItem(p.path, g.keeper.path, p.size) for g in chosen for p in g.copies), group)


def agrees(plan: TrashPlan):
    """The ``confirm`` callable for ``library.duplicates.trash``: True only when the library's plan now is the
    confirmed one (the same copies, each with the same keeper)."""
    def confirm(preview: dict) -> bool:
        return {(t["path"], t.get("keeper")) for t in preview["trashed"]} == plan.pairs()
    return confirm


def trashes_one_group(library) -> bool:
    """Whether ``library.duplicates.trash`` can be limited to some copies (an ``only`` argument: the paths
    of the copies to trash). Without it "Trash the others" of one group cannot be offered."""
    try:
        return "only" in inspect.signature(library.duplicates.trash).parameters
    except (TypeError, ValueError):
        return False


def load_groups(library) -> Found:  # worker thread
    """The library's groups with every member's capture and file times, and what the last trash can restore."""
    groups = library.duplicates.groups()
    records = library.catalog.photos_by_ids([p.id for g in groups for p in g.photos])
    out = []
    for g in groups:
        shots = []
        for p in g.photos:
            record = records.get(p.id)
            shots.append(Shot(p.id, p.path, p.keep, p.width, p.height, p.size, p.kind,
                              record.taken_at if record is not None else None,
                              record.mtime_ns / 1e9 if record is not None else None))
        out.append(Group.of(g.kind, shots, g.chosen))
    last = library.duplicates.last_trash()
    return Found(out, 0 if last is None else last["photos"])


def summary(groups: list[Group]) -> str:
    """One line over all groups: "2 groups of duplicates (5 photos) · 1 burst · 3 copies, 1.2 MB"."""
    dupes = [g for g in groups if g.trashable]
    bursts = len(groups) - len(dupes)
    parts = []
    if dupes:
        photos = sum(len(g.photos) for g in dupes)
        parts.append(f"{len(dupes):,} group{'s' * (len(dupes) != 1)} of duplicates ({photos:,} photos)")
    if bursts:
        parts.append(f"{bursts:,} burst{'s' * (bursts != 1)}")
    plan = trash_plan(groups)
    if plan.count:
        parts.append(f"{plan.count:,} cop{'ies' if plan.count != 1 else 'y'} to remove, "
                     f"{human_size(plan.freed)}")
    return " · ".join(parts)
