"""Indexing: folders in, disk scanned, pending photos embedded; announces what it embedded."""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from photosense.core import paths
from photosense.core.catalog import Folder
from photosense.core.changes import ChangeBatch, Vanishing, apply_moves, plan_scopes
from photosense.core.errors import NotInLibrary, UsageError
from photosense.core.events import Embedded
from photosense.core.indexer import Indexer, IndexStats, Progress, ProgressCallback
from photosense.core.scanner import ScanPlan, apply_plan, plan_scan
from photosense.services.context import LibraryContext

log = logging.getLogger(__name__)


def _really_inside(path: str | os.PathLike[str], folder: str | os.PathLike[str]) -> bool:
    """*path* is *folder* or lies under it once symlinks are resolved (one folder, two names)."""
    return paths.is_inside(os.path.realpath(path), os.path.realpath(folder))


@dataclass
class IndexSummary(IndexStats):
    """An indexing run: the pipeline's figures plus what the scan found."""

    moved: int = 0
    removed: int = 0

    def to_json(self) -> dict:
        return {"indexed": self.indexed + self.reused, "reused": self.reused, "skipped": self.skipped,
                "failed": self.failed, "moved": self.moved, "removed": self.removed + self.vanished,
                "cancelled": self.cancelled, "seconds": round(self.seconds, 3)}


class IndexingService:
    """Library folders and the scan -> decode -> embed -> store pipeline over them."""

    def __init__(self, ctx: LibraryContext) -> None:
        self.ctx = ctx
        self.catalog = ctx.catalog

    # -- folders ----------------------------------------------------------------------------

    def add_folder(self, path: str | os.PathLike[str]) -> Folder:
        """Add a folder to the library (not yet indexed: see :meth:`index`)."""
        folder = Path(paths.normalize(path))
        if not folder.exists():
            raise UsageError(f"{paths.display(folder)} does not exist.")
        if not folder.is_dir():
            raise UsageError(f"{paths.display(folder)} is not a folder; add the folder that holds it.")
        covering = self.catalog.folder_of(folder) or next(
            (f for f in self.catalog.folders() if _really_inside(folder, f.path)), None)
        if covering is not None:
            return covering  # already inside a library folder (maybe through a symlink)
        added = self.catalog.add_folder(folder)
        # a new folder that contains existing ones absorbs them (photos keep their ids; one reached
        # through a symlink is found again under its real path by the next scan, as a move)
        for child in self.catalog.folders():
            if child.id != added.id and (paths.is_inside(child.path, added.path)
                                         or _really_inside(child.path, added.path)):
                self.catalog.absorb_folder(added.id, child.id)
        return added

    def remove_folder(self, path: str | os.PathLike[str]) -> int:
        """Remove a library folder and forget its photos (files on disk are untouched)."""
        key = paths.normalize(path)
        folder = next((f for f in self.catalog.folders() if f.path == key), None)
        if folder is None:
            raise NotInLibrary(f"{paths.display(key)} is not a library folder.")
        with self.ctx.write_lock, self.ctx.writer:
            removed = self.catalog.remove_folder(folder.id)
            vectors = self.ctx.vectors()
            if vectors is not None:
                vectors.remove(removed)
                self.ctx.drop_stale_moments()
                vectors.save()
        return len(removed)

    # -- indexing ---------------------------------------------------------------------------

    def index(self, paths_to_add: list[str | os.PathLike[str]] | None = None, *,
              progress: ProgressCallback | None = None, cancel: threading.Event | None = None,
              workers: int | None = None, batch_size: int | None = None,
              check_text: bool = True) -> IndexSummary:
        """Add *paths_to_add* as folders (if any), then bring the library up to date with the disk.
        *check_text*: record the photos that surely hold no text, so the text stage skips them."""
        with self.ctx.write_lock, self.ctx.writer:
            targets = {self.add_folder(p).id for p in (paths_to_add or [])}
            # each folder once; a folder absorbed by a parent added after it is no longer one
            folders = [f for f in self.catalog.folders() if not targets or f.id in targets]
            if progress:
                progress(Progress(done=0, total=0, phase="scanning"))
            plan = plan_scan(self.catalog, folders)
            return self._index_plan(plan, progress=progress, cancel=cancel, workers=workers,
                                    batch_size=batch_size, check_text=check_text)

    def apply_changes(self, batch: ChangeBatch, *, progress: ProgressCallback | None = None,
                      cancel: threading.Event | None = None, vanishing: Vanishing | None = None,
                      workers: int | None = None) -> IndexSummary:
        """Bring the library up to date with one batch of file changes (from a ``FolderWatcher``)."""
        with self.ctx.write_lock, self.ctx.writer:
            folders = self.catalog.folders()
            moved, dropped = apply_moves(self.catalog, folders, batch.moves)
            vectors = self.ctx.vectors()
            if dropped and vectors is not None:
                vectors.remove(dropped)
                self.ctx.drop_stale_moments()
            plan = plan_scopes(self.catalog, folders, batch.coalesced_scopes(), batch.busy, vanishing)
            summary = self._index_plan(plan, progress=progress, cancel=cancel, workers=workers)
            summary.moved += moved
            summary.removed += len(dropped)
            return summary

    def _index_plan(self, plan: ScanPlan, *, progress: ProgressCallback | None,
                    cancel: threading.Event | None, workers: int | None = None,
                    batch_size: int | None = None, check_text: bool = True) -> IndexSummary:
        """Write a scan plan to the catalog and vectors, index every pending photo, then announce it."""
        ctx = self.ctx
        with ctx.write_lock, ctx.writer:
            for folder, reason in plan.errors.items:
                log.warning("skipped unreadable folder %s: %s", paths.display(folder), reason)
            apply_plan(self.catalog, plan)
            summary = IndexSummary(skipped=plan.unchanged + plan.still_failed, moved=len(plan.moved),
                                   removed=len(plan.removed))
            vectors = ctx.vectors()
            if vectors is not None and (plan.removed or plan.changed):
                vectors.remove(plan.removed + [c[0] for c in plan.changed])
                ctx.drop_stale_moments()
            embedded = np.empty(0, np.int64)
            if self.catalog.pending(ctx.model_id(), limit=1):
                model_id = ctx.model_id(create=True)
                pending = self.catalog.pending(model_id)
                vectors = ctx.vectors()
                indexer = Indexer(self.catalog, vectors, ctx.embedder, model_id,
                                  workers=workers, batch_size=batch_size, check_text=check_text)
                stats = indexer.run(pending, progress=progress, cancel=cancel)
                for name in ("indexed", "reused", "failed", "vanished", "cancelled", "failures"):
                    setattr(summary, name, getattr(stats, name))
                summary.seconds = stats.seconds
                embedded = np.asarray(stats.embedded_ids, np.int64)
            if vectors is not None:
                ctx.drop_stale_moments()  # a re-sampled video's old moments
                vectors.save()
                ctx.embedded.emit(Embedded(ctx.model_id(), embedded))  # tags and smart albums listen
            return summary
