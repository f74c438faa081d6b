"""Walk library folders safely and reconcile them with the catalog: new, changed, moved, removed."""
from __future__ import annotations

import hashlib
import logging
import os
import stat
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from photosense.core import paths
from photosense.core.catalog import Catalog, FileState, Folder
from photosense.core.filetypes import is_media_name

log = logging.getLogger(__name__)

HASH_HEAD = 1 << 20  # the partial hash reads the first 1 MiB ...
HASH_TAIL = 1 << 10  # ... and the last 1 KiB (rclip's scheme: ~0.5 ms a file, stable across renames)

# Folders that hold derived files, never photos (OS thumbnails, NAS indexes, macOS zip debris).
SKIPPED_DIRS = frozenset({"@eaDir", "#recycle", "__MACOSX", "$RECYCLE.BIN", "System Volume Information"})


def partial_hash(path: str | os.PathLike[str] | bytes, size: int | None = None) -> bytes:
    """Content fingerprint from the size, first MiB and last KiB of a file (raises OSError)."""
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        if size is None:
            size = os.fstat(fh.fileno()).st_size
        h.update(size.to_bytes(8, "little"))
        h.update(fh.read(HASH_HEAD))
        if size > HASH_HEAD + HASH_TAIL:
            fh.seek(size - HASH_TAIL)
            h.update(fh.read(HASH_TAIL))
    return h.digest()


@dataclass(frozen=True)
class FoundFile:
    """An image file on disk: catalog key, size and modification time."""

    key: bytes
    size: int
    mtime_ns: int


@dataclass
class WalkErrors:
    """Folders that could not be read during a walk, with the reason."""

    items: list[tuple[str, str]] = field(default_factory=list)


def walk_images(root: str | os.PathLike[str], errors: WalkErrors | None = None) -> Iterator[FoundFile]:
    """Every image file under *root* (recursively), each real file once.

    Symlinks are followed, but every directory is entered once (by device and inode), so symlink
    loops end; real entries are walked before symlinked ones, so a photo is found under its own
    name rather than through a link. Dangling links, sockets, directories named like images and
    hidden entries are skipped; unreadable directories go to *errors* and the walk goes on.
    """
    dirs = [paths.to_db(root)]
    linked_dirs: list[bytes] = []
    linked_files: list[tuple[bytes, os.stat_result]] = []
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[tuple[int, int]] = set()
    while dirs or linked_dirs:
        current = dirs.pop() if dirs else linked_dirs.pop()
        try:
            st = os.stat(current)
            if (st.st_dev, st.st_ino) in seen_dirs:
                continue
            seen_dirs.add((st.st_dev, st.st_ino))
            with os.scandir(current) as it:
                entries = list(it)
        except OSError as err:
            if errors is not None:
                errors.items.append((paths.from_db(current), err.strerror or str(err)))
            log.warning("cannot read folder %s: %s", paths.display(current), err)
            continue
        for entry in entries:
            name = entry.name
            if name.startswith(b".") or os.fsdecode(name) in SKIPPED_DIRS:
                continue
            try:
                st = entry.stat()  # follows symlinks; a dangling link raises here
                is_link = entry.is_symlink()
            except OSError:
                continue
            if stat.S_ISDIR(st.st_mode):
                (linked_dirs if is_link else dirs).append(entry.path)
            elif stat.S_ISREG(st.st_mode) and is_media_name(name):
                if is_link:
                    linked_files.append((entry.path, st))
                elif (st.st_dev, st.st_ino) not in seen_files:
                    seen_files.add((st.st_dev, st.st_ino))
                    yield FoundFile(entry.path, st.st_size, st.st_mtime_ns)
    for path, st in linked_files:
        if (st.st_dev, st.st_ino) not in seen_files:  # a link to a photo outside the tree
            seen_files.add((st.st_dev, st.st_ino))
            yield FoundFile(path, st.st_size, st.st_mtime_ns)


@dataclass
class ScanPlan:
    """What a scan found to do; ``apply`` writes it to the catalog."""

    new: dict[int, list[FoundFile]] = field(default_factory=lambda: defaultdict(list))  # folder id -> files
    changed: list[tuple[int, int, int]] = field(default_factory=list)  # (photo id, size, mtime_ns)
    moved: list[tuple[int, bytes, int, int]] = field(default_factory=list)  # (id, new key, folder id, mtime)
    removed: list[int] = field(default_factory=list)
    forgotten_failures: list[bytes] = field(default_factory=list)
    unchanged: int = 0
    still_failed: int = 0
    errors: WalkErrors = field(default_factory=WalkErrors)

    @property
    def new_count(self) -> int:
        return sum(len(v) for v in self.new.values())


def classify_found(found: FoundFile, key: bytes, folder_id: int, known: dict[bytes, FileState],
                   failed: dict[bytes, tuple[int, int]], plan: ScanPlan,
                   fresh: list[tuple[int, FoundFile]]) -> None:
    """Sort one file found on disk into *plan*: unchanged, changed, still failing, or new (*fresh*)."""
    state = known.get(key)
    if state is not None:
        if state.size == found.size and state.mtime_ns == found.mtime_ns:
            plan.unchanged += 1
        else:
            plan.changed.append((state.id, found.size, found.mtime_ns))
    elif failed.get(key) == (found.size, found.mtime_ns):
        plan.still_failed += 1  # unchanged since it failed: do not retry every run
    else:
        fresh.append((folder_id, found))


def plan_scan(catalog: Catalog, folders: Sequence[Folder]) -> ScanPlan:
    """Compare the files under *folders* with the catalog (stat only, plus hashes to pair up moves)."""
    plan = ScanPlan()
    missing: dict[bytes, FileState] = {}  # catalog rows whose file is gone
    fresh: list[tuple[int, FoundFile]] = []
    for folder in folders:
        if not os.path.isdir(folder.path):
            # unmounted or offline: keep its photos (and their tags and albums) until it is back
            plan.errors.items.append((folder.path, "the folder is missing (unmounted or offline?)"))
            continue
        known = {bytes(s.path): s for s in catalog.file_states(folder.id)}
        failed = catalog.failure_states(folder.id)
        on_disk: set[bytes] = set()
        errors_before = len(plan.errors.items)
        for found in walk_images(folder.path, plan.errors):
            key = bytes(found.key)
            if key in on_disk:
                continue
            on_disk.add(key)
            classify_found(found, key, folder.id, known, failed, plan, fresh)
        unreadable = [paths.to_db(p) + paths.SEP for p, _ in plan.errors.items[errors_before:]]
        for key, state in known.items():
            if key not in on_disk and not any(key.startswith(u) for u in unreadable):
                missing[key] = state  # (photos under a folder that could not be read are kept)
        plan.forgotten_failures += [k for k in failed if k not in on_disk]
    _pair_moves(plan, missing, fresh)
    return plan


def _pair_moves(plan: ScanPlan, missing: dict[bytes, FileState], fresh: list[tuple[int, FoundFile]]) -> None:
    """A vanished photo and a new file with the same size and partial hash are one photo that moved.

    When several new files match (the photo was moved and also copied), the one that kept the
    modification time and then the file name is the moved original; the others are copies.
    """
    sizes = {state.size for state in missing.values() if state.hash}
    by_digest: dict[bytes, list[tuple[int, FoundFile]]] = defaultdict(list)
    for folder_id, found in fresh:
        if found.size in sizes:
            try:
                by_digest[partial_hash(found.key, found.size)].append((folder_id, found))
            except OSError:
                pass  # vanished or unreadable: the indexer will say so
    claimed: set[bytes] = set()
    moved_ids: set[int] = set()
    for key, state in missing.items():
        candidates = [c for c in by_digest.get(bytes(state.hash or b""), ()) if c[1].key not in claimed]
        if not candidates:
            continue
        name = os.path.basename(key)
        folder_id, found = max(candidates, key=lambda c: (c[1].mtime_ns == state.mtime_ns,
                                                         os.path.basename(c[1].key) == name))
        claimed.add(found.key)
        moved_ids.add(state.id)
        plan.moved.append((state.id, found.key, folder_id, found.mtime_ns))
    for folder_id, found in fresh:
        if found.key not in claimed:
            plan.new[folder_id].append(found)
    plan.removed = [state.id for state in missing.values() if state.id not in moved_ids]


def apply_plan(catalog: Catalog, plan: ScanPlan) -> None:
    """Write a scan's findings: moves keep identity, changed files lose their embedding."""
    for photo_id, key, folder_id, mtime in plan.moved:
        catalog.move_photo(photo_id, paths.from_db(key), folder_id, mtime)
    if plan.changed:
        catalog.mark_changed(plan.changed)
    if plan.removed:
        catalog.delete_photos(plan.removed)
    if plan.forgotten_failures:
        catalog.forget_failures(plan.forgotten_failures)
    for folder_id, files in plan.new.items():
        catalog.add_pending(folder_id, ((f.key, f.size, f.mtime_ns) for f in files))
