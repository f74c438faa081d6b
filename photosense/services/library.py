"""The ``Library`` facade: the Python API that the CLI and the desktop app are thin layers over.

It opens one library's shared state (``LibraryContext``) and wires the services over it:
indexing, search, organizing (which listens to indexing), tags, albums, duplicates and stacks
(which listen to indexing and to duplicates' trash), and the text stage (words in photos).
"""
from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import numpy as np

from photosense.core import config, paths
from photosense.core.catalog import Failure, Folder, Photo
from photosense.core.changes import ChangeBatch, Vanishing
from photosense.core.embedder import ImageTextEmbedder
from photosense.core.indexer import ProgressCallback
from photosense.core.search import Hit
from photosense.core.vectors import VectorIndex
from photosense.services.albums import Albums
from photosense.services.context import LibraryContext
from photosense.services.duplicates import Duplicates
from photosense.services.indexing import IndexingService, IndexSummary
from photosense.services.models import ModelService, SwitchSummary
from photosense.services.organizer import Organizer
from photosense.services.search import Moment, SearchService
from photosense.services.stacks import Stack, Stacks
from photosense.services.tags import Tags
from photosense.services.text import TextService, TextSummary

log = logging.getLogger(__name__)

__all__ = ["Library", "IndexSummary", "Stack", "SwitchSummary", "TextSummary"]


class Library:
    """A photo library: its folders, catalog, vectors and model. Thread-safe; open with :meth:`open`."""

    def __init__(self, directory: Path, model: str | None = None, device: str | None = None,
                 precision: str | None = None, embedder: ImageTextEmbedder | None = None) -> None:
        self.context = LibraryContext(directory, model=model, device=device, precision=precision,
                                      embedder=embedder)
        self.directory = self.context.directory
        self.catalog = self.context.catalog
        self.indexing = IndexingService(self.context)
        self.search_service = SearchService(self.context)
        self.organizer = Organizer(self.context, self.search_service)
        self.tags = Tags(self.context, self.organizer, self.search_service)
        self.albums = Albums(self.context, self.organizer, self.search_service)
        self.duplicates = Duplicates(self.context)
        self.stacks = Stacks(self.context, self.search_service, self.duplicates)  # follows indexing and trash
        self.model_service = ModelService(self.context)
        self.text = TextService(self.context)  # runs after indexing: read_text()

    @classmethod
    def open(cls, directory: str | os.PathLike[str] | None = None, *, model: str | None = None,
             device: str | None = None, precision: str | None = None,
             embedder: ImageTextEmbedder | None = None) -> Library:
        """Open (creating if needed) the library in *directory*, by default ``$PHOTOSENSE_LIBRARY`` or
        the user data dir. *model* is checked against the model the library was indexed with.
        *embedder*: an object following ``core.embedder.ImageTextEmbedder`` to use instead of a
        model spec (tests use a deterministic fake)."""
        return cls(config.library_dir(directory), model=model, device=device, precision=precision,
                   embedder=embedder)

    def close(self) -> None:
        """Save what is pending and close the catalog."""
        self.context.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- model and vectors ------------------------------------------------------------------

    @property
    def model_spec(self) -> str:
        """The spec of the library's model (what it was indexed with, or will be)."""
        return self.context.model_spec

    @property
    def embedder(self) -> ImageTextEmbedder:
        """The library's model (loaded on first use, once)."""
        return self.context.embedder

    def vectors(self) -> VectorIndex | None:
        """The vector index of the library's model, in step with the catalog (None before any indexing)."""
        return self.context.vectors()

    # -- folders and indexing ---------------------------------------------------------------

    def folders(self) -> list[Folder]:
        """The library folders."""
        return self.catalog.folders()

    def add_folder(self, path: str | os.PathLike[str]) -> Folder:
        """Add a folder to the library (not yet indexed: see :meth:`index`)."""
        return self.indexing.add_folder(path)

    def remove_folder(self, path: str | os.PathLike[str]) -> int:
        """Remove a library folder and forget its photos (files on disk are untouched)."""
        return self.indexing.remove_folder(path)

    def index(self, paths_to_add: list[str | os.PathLike[str]] | None = None, *,
              progress: ProgressCallback | None = None, cancel: threading.Event | None = None,
              workers: int | None = None, batch_size: int | None = None,
              check_text: bool = True) -> IndexSummary:
        """Add *paths_to_add* as folders (if any), then bring the library up to date with the disk.

        Unchanged files are skipped by size and mtime, moved files keep their identity, and files
        whose content is already known reuse its embedding. Unreadable files are recorded as
        failures (see :meth:`failures`) and never stop the run. New photos are then tagged and
        matched against smart albums. With *check_text* (the default), each decoded photo is also
        checked for anything text-like, and one that surely has none is recorded as read, so
        :meth:`read_text` skips it (``check_text=False``: every photo waits for it).
        """
        return self.indexing.index(paths_to_add, progress=progress, cancel=cancel, workers=workers,
                                   batch_size=batch_size, check_text=check_text)

    def apply_changes(self, batch: ChangeBatch, *, progress: ProgressCallback | None = None,
                      cancel: threading.Event | None = None, vanishing: Vanishing | None = None,
                      workers: int | None = None) -> IndexSummary:
        """Bring the library up to date with one batch of file changes (from a ``FolderWatcher``).

        Reported moves update paths in place (same id, embedding, tags, albums; no model work),
        then only the folders the batch names are rescanned, and pending photos are indexed.
        An empty batch just indexes what is pending. With *vanishing*, photos whose file is gone
        are removed only after its grace period (see :class:`~photosense.core.changes.Vanishing`).
        """
        return self.indexing.apply_changes(batch, progress=progress, cancel=cancel, vanishing=vanishing,
                                           workers=workers)

    def read_text(self, *, progress: ProgressCallback | None = None, cancel: threading.Event | None = None,
                  limit: int | None = None) -> TextSummary:
        """The text stage: read the words in photos embedded since (OCR), in batches saved one at a time;
        resumes where a cancelled or killed run stopped. Without an engine, photos stay pending and one
        message is logged; search still finds names, folders and tags."""
        return self.text.run(progress=progress, cancel=cancel, limit=limit)

    def text_of(self, path: str | os.PathLike[str]) -> str:
        """The text recognized in a library photo ("" when none, or not read yet)."""
        row = self.catalog.text_of(self.context.photo(path).id)
        return row.text if row is not None else ""

    # -- search -----------------------------------------------------------------------------

    def search(self, text: str, limit: int = 50, *, show_all: bool = False, stack: bool | None = None) -> list[Hit]:
        """Photos matching a query, best first: only those above the relevance cut-off unless
        *show_all*. The query language (weighted +/- terms, folder:/after:/before:/tag:/camera:/text:
        filters) is described in ``photosense.core.query.HELP``. Words typed are also looked up in
        the photos' text, names, folders, tags and cameras (``Hit.matched`` says what matched). With *stack* (default:
        :attr:`stacking`) a stack of duplicates or a burst shows once, as its best hit, with
        ``Hit.stack`` members (:meth:`stack` lists them)."""
        self.context.follow_model()
        return self.search_service.search(text, limit, show_all=show_all, stack=stack)

    def similar(self, path: str | os.PathLike[str], limit: int = 50, *, at: float | None = None,
                stack: bool | None = None) -> list[Hit]:
        """Items most similar to *path*: a library photo or video (left out of its own results) or any
        image or video file; *at* (seconds) picks a video's moment; *stack* as in :meth:`search`."""
        self.context.follow_model()
        return self.search_service.similar(path, limit, at=at, stack=stack)

    # -- models -----------------------------------------------------------------------------

    def switch_model(self, spec: str, *, progress: ProgressCallback | None = None,
                     cancel: threading.Event | None = None, workers: int | None = None,
                     embedder: ImageTextEmbedder | None = None) -> SwitchSummary:
        """Re-embed every photo with *spec* into a second vector index while search keeps serving the
        current model, then move the library to *spec* in one step (tags and smart albums are then
        recomputed; pins, excludes and manual tags stay). Cancelled or killed, it resumes where it
        stopped. The old model's embeddings stay until :meth:`prune_models`, so switching back is
        instant. *embedder*: an ``ImageTextEmbedder`` to use instead of creating *spec*'s."""
        return self.model_service.switch(spec, progress=progress, cancel=cancel, workers=workers,
                                         embedder=embedder)

    def resume_switch(self, **kwargs) -> SwitchSummary | None:
        """Go on with a model switch that was stopped (None when none is in progress)."""
        return self.model_service.resume(**kwargs)

    def cancel_switch(self) -> None:
        """Give up a model switch in progress (what it embedded stays until :meth:`prune_models`)."""
        self.model_service.cancel_switch()

    def models(self) -> list[dict]:
        """The models with embeddings in this library: model, dim, embedded, serving, switching_to."""
        return self.model_service.list()

    def prune_models(self) -> list[str]:
        """Delete the embeddings of every model but the serving one (and a switch's target)."""
        return self.model_service.prune()

    # -- stacks -----------------------------------------------------------------------------

    @property
    def stacking(self) -> bool:
        """Whether search, albums and :meth:`photos` fold stacks (duplicates, bursts): the library's
        setting, on unless turned off."""
        return self.stacks.enabled

    def set_stacking(self, on: bool) -> None:
        """Turn stacking in results on or off for this library (remembered in its catalog)."""
        self.stacks.set_enabled(on)

    def stack(self, item: int | str | os.PathLike[str] | Hit) -> list[Hit]:
        """Expand a stack: the members of the stack of *item* (a path, an id or a Hit), keeper first;
        just the item when it is in no stack."""
        return self.stacks.members(item)

    def moments(self, path: str | os.PathLike[str], query: str | None = None) -> list[Moment]:
        """A library video's sampled moments in time order; with *query*, each scored and judged against
        the search's relevance cut-off (for a filmstrip that marks the matching moments)."""
        return self.search_service.moments(path, query)

    def image_vector(self, path: str | os.PathLike[str]) -> np.ndarray:
        """Embed any image file with the library's model (raises UsageError if it is unusable)."""
        return self.search_service.image_vector(path)

    def text_vector(self, text: str) -> np.ndarray:
        """A query text's prompt-ensembled unit vector (cached)."""
        return self.context.text_vector(text)

    # -- state ------------------------------------------------------------------------------

    def status(self) -> dict:
        """Counts (photos: every item, videos among them, indexed, pending, failed, text_pending: photos
        waiting for the text stage), the model, a model switch's progress and the folders."""
        self.context.follow_model()
        counts = {**self.catalog.counts(self.context.model_id()), **self.model_service.status()}
        return {**counts, "videos": self.catalog.video_count(), "text_pending": self.text.pending_count(),
                "model": self.model_spec, "folders": [f.path for f in self.catalog.folders()],
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
        ctx = self.context
        with ctx.write_lock:
            model_id = ctx.model_id()
            dim = self.catalog.model_dim(model_id) if model_id is not None else None
            problems, bad = self.catalog.problems(model_id, dim)
            words = self.catalog.word_problems()  # the keyword index is derived: rebuilt from the catalog
            problems += words
            if repair and words:
                with ctx.writer:
                    self.catalog.rebuild_words()
            if model_id is None:
                return problems
            bad_vectors = set(self.catalog.vector_ids_of(model_id, bad).tolist()) if bad else set()
            truth = set(self.catalog.vector_ids(model_id).tolist()) - bad_vectors
            saved = ctx.saved_vectors(model_id, dim)
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
                with ctx.writer:
                    self.catalog.drop_embeddings(bad, model_id)  # and embeddings of no photo
                    vectors = ctx.reload_vectors()  # reloads the saved index and repairs it from the catalog
                    if vectors is not None:
                        vectors.save()
                log.info("check: repaired %d problems", len(problems))
            return problems

    def photos(self, folder: str | os.PathLike[str] | None = None, *, stack: bool | None = None,
               counts: bool = False) -> list[tuple]:
        """(id, path) of every photo of the library, or of one library folder; newest first. With *stack*
        (default: :attr:`stacking`) a stack shows once, as its keeper; with *counts* each row is
        (id, path, how many items it stands for)."""
        if folder is None:
            rows = self.catalog.photo_paths()
        else:
            key = paths.normalize(folder)
            match = next((f for f in self.catalog.folders() if f.path == key), None)
            rows = self.catalog.photo_paths(match.id) if match is not None else []
        if not (self.stacking if stack is None else stack):
            return [(i, p, 1) for i, p in rows] if counts else rows
        dropped, stands = self.search_service.fold_listing([i for i, _ in rows])
        if counts:
            return [(i, p, stands.get(i, 1)) for i, p in rows if i not in dropped]
        return [row for row in rows if row[0] not in dropped]

    def photo(self, path: str | os.PathLike[str]) -> Photo:
        """The catalog record of a library photo (raises :class:`NotInLibrary`)."""
        return self.context.photo(path)
