"""The ``Library`` facade: the Python API that the CLI and the desktop app are thin layers over."""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from photosense import config
from photosense.core import paths
from photosense.core.catalog import Catalog, Failure, Folder, Photo
from photosense.core.embedder import Embedder
from photosense.core.errors import ModelMismatch, NotInLibrary, UsageError
from photosense.core.indexer import Indexer, IndexStats, Progress, ProgressCallback
from photosense.core.lock import WriterLock
from photosense.core.media import open_image
from photosense.core.models import DEFAULT_MODEL, ModelSpec, parse_spec
from photosense.core.changes import ChangeBatch, Vanishing, apply_moves, plan_scopes
from photosense.core.scanner import ScanPlan, apply_plan, plan_scan
from photosense.core.search import Hit, TextVectors, nearest
from photosense.core.vectors import VectorIndex

log = logging.getLogger(__name__)

MODEL_SETTING = "model"


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


class Library:
    """A photo library: its folders, catalog, vectors and model. Thread-safe; open with :meth:`open`."""

    def __init__(self, directory: Path, model: str | None = None, device: str | None = None,
                 precision: str | None = None) -> None:
        self.directory = Path(directory)
        self.catalog = Catalog(self.directory)
        try:
            self._device = device
            self._precision = precision
            self._lock = threading.RLock()
            self._write_lock = threading.RLock()  # one writing thread at a time (WriterLock is per process)
            self._writer = WriterLock(self.directory)
            self._embedder: Embedder | None = None
            self._vectors: VectorIndex | None = None
            self._text_vectors: TextVectors | None = None
            self.model_spec = self._choose_model(model)
        except BaseException:
            self.catalog.close()  # a refused open (ModelMismatch, a bad spec) leaves no connection open
            raise

    @classmethod
    def open(cls, directory: str | os.PathLike[str] | None = None, *, model: str | None = None,
             device: str | None = None, precision: str | None = None) -> Library:
        """Open (creating if needed) the library in *directory*, by default ``$PHOTOSENSE_LIBRARY`` or
        the user data dir. *model* is checked against the model the library was indexed with."""
        return cls(config.library_dir(directory), model=model, device=device, precision=precision)

    def close(self) -> None:
        """Save what is pending and close the catalog."""
        with self._lock:
            if self._vectors is not None and self._vectors.dirty and self._writer.held:
                self._vectors.save()
            self.catalog.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- model ------------------------------------------------------------------------------

    def _choose_model(self, requested: str | None) -> str:
        recorded = self.catalog.setting(MODEL_SETTING)
        if requested is None:
            return recorded or DEFAULT_MODEL
        spec = parse_spec(requested).text
        if recorded and spec != recorded:
            recorded_id = self.catalog.model_id(recorded)
            if recorded_id is not None and len(self.catalog.embedding_ids(recorded_id)):
                raise ModelMismatch(
                    f"This library ({self.directory}) was indexed with the model '{recorded}', so it cannot "
                    f"be searched or extended with '{spec}': their embeddings are not comparable. Leave out "
                    f"--model (or pass '{recorded}'), or use another library with --library DIR.")
        return spec

    @property
    def embedder(self) -> Embedder:
        """The library's model (loaded on first use, once)."""
        with self._lock:
            if self._embedder is None:
                self._embedder = Embedder(parse_spec(self.model_spec), config.model_cache_dir(),
                                          device=self._device, precision=self._precision)
            return self._embedder

    def _model_id(self, create: bool) -> int | None:
        model_id = self.catalog.model_id(self.model_spec)
        if model_id is None and create:
            model_id = self.catalog.ensure_model(self.model_spec, self.embedder.dim)
            self.catalog.set_setting(MODEL_SETTING, self.model_spec)
        return model_id

    # -- vectors ----------------------------------------------------------------------------

    def vectors(self) -> VectorIndex | None:
        """The vector index of the library's model, in step with the catalog (None before any indexing)."""
        with self._lock:
            if self._vectors is not None:
                return self._vectors
            model_id = self._model_id(create=False)
            if model_id is None:
                return None
            index = VectorIndex(self.directory / "vectors", f"model-{model_id}", self.catalog.model_dim(model_id))
            held = index.load()
            truth = self.catalog.embedding_ids(model_id)
            if held is None:
                for ids, matrix in self.catalog.iter_embeddings(model_id, index.dim):
                    index.add(ids, matrix)
                if not index.uses_hnsw:
                    index.dirty = False
            else:
                extra = held - set(truth.tolist())
                missing = np.setdiff1d(truth, np.fromiter(held, dtype=np.int64, count=len(held)))
                if index.saved_at is not None:  # re-embedded after the graph was saved: its vector is old
                    missing = np.union1d(missing, self.catalog.indexed_since(model_id, index.saved_at - 5.0))
                if extra:
                    index.remove(extra)
                if len(missing):
                    for ids, matrix in self.catalog.iter_embeddings(model_id, index.dim, ids=missing):
                        index.add(ids, matrix)
                if extra or len(missing):
                    log.info("vector index repaired from the catalog: %d added, %d removed",
                             len(missing), len(extra))
            self._vectors = index
            return index

    # -- folders ----------------------------------------------------------------------------

    def folders(self) -> list[Folder]:
        """The library folders."""
        return self.catalog.folders()

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
        self._adopt_subfolders(added)
        return added

    def _adopt_subfolders(self, parent: Folder) -> None:
        """A new folder that contains existing ones absorbs them (photos keep their ids; one reached
        through a symlink is found again under its real path by the next scan, as a move)."""
        for child in self.catalog.folders():
            if child.id != parent.id and (paths.is_inside(child.path, parent.path)
                                          or _really_inside(child.path, parent.path)):
                with self.catalog.transaction() as db:
                    db.execute("UPDATE photos SET folder_id = ? WHERE folder_id = ?", (parent.id, child.id))
                    db.execute("UPDATE failures SET folder_id = ? WHERE folder_id = ?", (parent.id, child.id))
                    db.execute("DELETE FROM folders WHERE id = ?", (child.id,))

    def remove_folder(self, path: str | os.PathLike[str]) -> int:
        """Remove a library folder and forget its photos (files on disk are untouched)."""
        key = paths.normalize(path)
        folder = next((f for f in self.catalog.folders() if f.path == key), None)
        if folder is None:
            raise NotInLibrary(f"{paths.display(key)} is not a library folder.")
        with self._write_lock, self._writer:
            removed = self.catalog.remove_folder(folder.id)
            vectors = self.vectors()
            if vectors is not None:
                vectors.remove(removed)
                vectors.save()
        return len(removed)

    # -- indexing ---------------------------------------------------------------------------

    def index(self, paths_to_add: list[str | os.PathLike[str]] | None = None, *,
              progress: ProgressCallback | None = None, cancel: threading.Event | None = None,
              workers: int | None = None, batch_size: int | None = None) -> IndexSummary:
        """Add *paths_to_add* as folders (if any), then bring the library up to date with the disk.

        Unchanged files are skipped by size and mtime, moved files keep their identity, and files
        whose content is already known reuse its embedding. Unreadable files are recorded as
        failures (see :meth:`failures`) and never stop the run.
        """
        with self._write_lock, self._writer:
            targets = {self.add_folder(p).id for p in (paths_to_add or [])}
            # each folder once; a folder absorbed by a parent added after it is no longer one
            folders = [f for f in self.catalog.folders() if not targets or f.id in targets]
            if progress:
                progress(Progress(done=0, total=0, phase="scanning"))
            plan = plan_scan(self.catalog, folders)
            return self._index_plan(plan, progress=progress, cancel=cancel, workers=workers,
                                    batch_size=batch_size)

    def apply_changes(self, batch: ChangeBatch, *, progress: ProgressCallback | None = None,
                      cancel: threading.Event | None = None, vanishing: Vanishing | None = None,
                      workers: int | None = None) -> IndexSummary:
        """Bring the library up to date with one batch of file changes (from a ``FolderWatcher``).

        Reported moves update paths in place (same id, embedding, tags, albums; no model work),
        then only the folders the batch names are rescanned, and pending photos are indexed.
        An empty batch just indexes what is pending. With *vanishing*, photos whose file is gone
        are removed only after its grace period (see :class:`~photosense.core.changes.Vanishing`).
        """
        with self._write_lock, self._writer:
            folders = self.catalog.folders()
            moved, dropped = apply_moves(self.catalog, folders, batch.moves)
            if dropped and self.vectors() is not None:
                self.vectors().remove(dropped)
            plan = plan_scopes(self.catalog, folders, batch.coalesced_scopes(), batch.busy, vanishing)
            summary = self._index_plan(plan, progress=progress, cancel=cancel, workers=workers)
            summary.moved += moved
            summary.removed += len(dropped)
            return summary

    def _index_plan(self, plan: ScanPlan, *, progress: ProgressCallback | None,
                    cancel: threading.Event | None, workers: int | None = None,
                    batch_size: int | None = None) -> IndexSummary:
        """Write a scan plan to the catalog and vectors, then index every pending photo."""
        with self._write_lock, self._writer:
            for folder, reason in plan.errors.items:
                log.warning("skipped unreadable folder %s: %s", paths.display(folder), reason)
            apply_plan(self.catalog, plan)
            summary = IndexSummary(skipped=plan.unchanged + plan.still_failed, moved=len(plan.moved),
                                   removed=len(plan.removed))
            vectors = self.vectors()
            if vectors is not None and (plan.removed or plan.changed):
                vectors.remove(plan.removed + [c[0] for c in plan.changed])
            if self.catalog.pending(self.catalog.model_id(self.model_spec), limit=1):
                model_id = self._model_id(create=True)
                pending = self.catalog.pending(model_id)
                vectors = self.vectors()
                indexer = Indexer(self.catalog, vectors, self.embedder, model_id,
                                  workers=workers, batch_size=batch_size)
                stats = indexer.run(pending, progress=progress, cancel=cancel)
                for name in ("indexed", "reused", "failed", "vanished", "cancelled", "failures"):
                    setattr(summary, name, getattr(stats, name))
                summary.seconds = stats.seconds
            if vectors is not None:
                vectors.save()
                self.organizer.organize_pending()  # tags and smart albums take in new photos
            return summary

    # -- search -----------------------------------------------------------------------------

    def search(self, text: str, limit: int = 50, *, show_all: bool = False) -> list[Hit]:
        """Photos matching a query, best first: only those above the relevance cut-off unless
        *show_all*. The query language (weighted +/- terms, folder:/after:/before:/tag:/camera:
        filters) is described in ``photosense.core.query.HELP``."""
        return self.organizer.search(text, limit, show_all=show_all)

    def _text_vector(self, text: str) -> np.ndarray:
        """A query text's prompt-ensembled unit vector (cached)."""
        with self._lock:
            if self._text_vectors is None:
                self._text_vectors = TextVectors(self.embedder)
        return self._text_vectors(text)

    # -- organizing -------------------------------------------------------------------------

    @property
    def organizer(self):
        """Tagging, albums and calibrated search (photosense.organize.Organizer), created on first use."""
        with self._lock:
            if getattr(self, "_organizer", None) is None:
                from photosense.organize import Organizer

                self._organizer = Organizer(self)
            return self._organizer

    @property
    def tags(self):
        """Prompt sets and tags: apply, of, all, counts, accept, reject, export_xmp (photosense.organize.Tags)."""
        return self.organizer.tags

    @property
    def albums(self):
        """Smart and manual albums: create, photos, pin, exclude, edit, delete (photosense.organize.Albums)."""
        return self.organizer.albums

    def similar(self, path: str | os.PathLike[str], limit: int = 50) -> list[Hit]:
        """Photos most similar to *path*: a library photo (left out of its own results) or any image file."""
        vectors = self.vectors()
        if vectors is None or len(vectors) == 0:
            return []
        photo = self.catalog.photo_by_path(path)
        if photo is not None and photo.id in vectors:
            query = vectors.vectors([photo.id])[0]
            return nearest(self.catalog, vectors, query, limit, exclude=(photo.id,))
        return nearest(self.catalog, vectors, self.image_vector(path), limit,
                       exclude=(photo.id,) if photo is not None else ())

    def image_vector(self, path: str | os.PathLike[str]) -> np.ndarray:
        """Embed any image file with the library's model (raises UsageError if it is unusable)."""
        from photosense.core.errors import ImageError

        if not Path(path).is_file():
            raise NotInLibrary(f"{paths.display(path)} is neither a photo of this library nor an image file.")
        try:
            decoded = open_image(path, min_side=self.embedder.image_size)
        except ImageError as err:
            raise UsageError(f"Cannot use {paths.display(path)} as a query image: {err}.") from None
        return self.embedder.encode_images(self.embedder.preprocess(decoded.image)[None])[0]

    # -- state ------------------------------------------------------------------------------

    def status(self) -> dict:
        """Counts (photos, indexed, pending, failed), the model and the folders."""
        model_id = self.catalog.model_id(self.model_spec)
        counts = self.catalog.counts(model_id)
        return {**counts, "model": self.model_spec, "folders": [f.path for f in self.catalog.folders()],
                "library": str(self.directory)}

    def failures(self) -> list[Failure]:
        """Files that could not be indexed, with the reason."""
        return self.catalog.failures()

    def check(self, repair: bool = False) -> list[str]:
        """Problems found between the catalog and the vector index as saved (empty: they agree).

        With *repair*, unusable stored embeddings are dropped (the photos become pending again)
        and the vector index is brought in line with the catalog and saved; the problems found
        are still returned.
        """
        with self._write_lock:
            model_id = self.catalog.model_id(self.model_spec)
            dim = self.catalog.model_dim(model_id) if model_id is not None else None
            problems, bad = self.catalog.problems(model_id, dim)
            if model_id is None:
                return problems
            truth = set(self.catalog.embedding_ids(model_id).tolist()) - set(bad)
            saved = VectorIndex(self.directory / "vectors", f"model-{model_id}", dim)
            held = saved.load()
            if held is None and len(truth) > saved.exact_limit:
                problems.append(f"the search index file of {len(truth)} photos is missing or unreadable")
            elif held is not None:
                for ids, what in ((sorted(truth - held), "embedded in the catalog but missing from the "
                                   "search index"), (sorted(held - truth), "in the search index but not "
                                   "embedded in the catalog")):
                    if ids:
                        problems.append(f"{len(ids)} photos {what} (ids {', '.join(map(str, ids[:10]))}"
                                        f"{', …' if len(ids) > 10 else ''})")
            if repair and problems:
                with self._writer:
                    self.catalog.drop_embeddings(bad, model_id)  # and embeddings of no photo
                    with self._lock:
                        self._vectors = None
                    vectors = self.vectors()  # reloads the saved index and repairs it from the catalog
                    if vectors is not None:
                        vectors.save()
                log.info("check: repaired %d problems", len(problems))
            return problems

    def photos(self, folder: str | os.PathLike[str] | None = None) -> list[tuple[int, str]]:
        """(id, path) of every photo of the library, or of one library folder; newest first."""
        if folder is None:
            return self.catalog.photo_paths()
        key = paths.normalize(folder)
        match = next((f for f in self.catalog.folders() if f.path == key), None)
        return self.catalog.photo_paths(match.id) if match is not None else []

    def photo(self, path: str | os.PathLike[str]) -> Photo:
        """The catalog record of a library photo (raises :class:`NotInLibrary`)."""
        photo = self.catalog.photo_by_path(path)
        if photo is None:
            raise NotInLibrary(f"{paths.display(paths.normalize(path))} is not a photo of the library "
                               f"{self.directory}.")
        return photo
