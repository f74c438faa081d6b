"""``LibraryContext``: what every service of one open library shares (catalog, model, vectors, locks, events).

Lock order (always take them in this order, never the reverse):

1. ``write_lock`` - one writing thread per open library (indexing, tagging, album matching);
2. ``writer`` - the per-library file lock (``flock``), one writing process at a time;
3. ``state_lock`` - guards the lazily created model, vector index and calibrator;
4. ``VectorIndex.locked()`` - ids and vectors read or changed as one consistent state;
5. the catalog's connection lock (taken inside every catalog call; nothing is taken under it).

Readers (search, listings) take only 3-5, so they never wait for a long indexing run.
"""
from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import numpy as np

from photosense.core import config, paths
from photosense.core.calibration import Calibrator
from photosense.core.catalog import Catalog, Photo
from photosense.core.embedder import ImageTextEmbedder, create_embedder, encode_ensembles
from photosense.core.errors import ModelMismatch, NotInLibrary
from photosense.core.events import Embedded, Event
from photosense.core.lock import WriterLock
from photosense.core.models import DEFAULT_MODEL, parse_spec
from photosense.core.search import TextVectors
from photosense.core.vectors import VectorIndex

log = logging.getLogger(__name__)

MODEL_SETTING = "model"


class LibraryContext:
    """The shared state of one open library. Services receive it; they never reach into each other."""

    def __init__(self, directory: Path, model: str | None = None, device: str | None = None,
                 precision: str | None = None, embedder: ImageTextEmbedder | None = None) -> None:
        self.directory = Path(directory)
        self.catalog = Catalog(self.directory)
        try:
            self.device = device
            self.precision = precision
            self.state_lock = threading.RLock()
            self.write_lock = threading.RLock()  # one writing thread at a time (WriterLock is per process)
            self.writer = WriterLock(self.directory)
            self.embedded: Event[Embedded] = Event("embedded")
            self._embedder = embedder
            self._pinned_embedder = embedder is not None  # given by the caller: never swapped for a spec
            self._vectors: VectorIndex | None = None
            self._text_vectors: TextVectors | None = None
            self._calibrator: Calibrator | None = None
            self.model_spec = self._choose_model(model, embedder.spec.text if embedder is not None else None)
            # the catalog's model as this process last saw it: only a later change (a finished switch
            # elsewhere) is followed, never a model this process was asked to use
            self._recorded = self.catalog.setting(MODEL_SETTING)
        except BaseException:
            self.catalog.close()  # a refused open (ModelMismatch, a bad spec) leaves no connection open
            raise

    def close(self) -> None:
        """Save the vector index if this process changed it, and close the catalog."""
        with self.state_lock:
            if self._vectors is not None and self._vectors.dirty and self.writer.held:
                self._vectors.save()
            self.catalog.close()

    # -- model ------------------------------------------------------------------------------

    def _choose_model(self, requested: str | None, given: str | None = None) -> str:
        """The spec this library uses: *given* (an embedder passed in), *requested*, or the recorded one."""
        recorded = self.catalog.setting(MODEL_SETTING)
        if requested is None and given is None:
            return recorded or DEFAULT_MODEL
        spec = given or parse_spec(requested).text
        if recorded and spec != recorded:
            recorded_id = self.catalog.model_id(recorded)
            if recorded_id is not None and len(self.catalog.embedding_ids(recorded_id)):
                raise ModelMismatch(
                    f"This library ({self.directory}) was indexed with the model '{recorded}', so it cannot "
                    f"be searched or extended with '{spec}': their embeddings are not comparable. Leave out "
                    f"--model (or pass '{recorded}'), move the library to the new model with 'photosense model "
                    f"switch {spec}' (search keeps working meanwhile), or use another library with --library DIR.")
        return spec

    @property
    def embedder(self) -> ImageTextEmbedder:
        """The library's model (created on first use, once; the weights load on first encode)."""
        with self.state_lock:
            if self._embedder is None:
                self._embedder = create_embedder(parse_spec(self.model_spec, verify=False), config.model_cache_dir(),
                                                 device=self.device, precision=self.precision)
            return self._embedder

    def model_id(self, create: bool = False) -> int | None:
        """The catalog id of the library's model (registered on first indexing when *create*)."""
        model_id = self.catalog.model_id(self.model_spec)
        if model_id is None and create:
            model_id = self.catalog.ensure_model(self.model_spec, self.embedder.dim)
            self.catalog.set_setting(MODEL_SETTING, self.model_spec)
            self._recorded = self.model_spec
        return model_id

    @property
    def calibrator(self) -> Calibrator:
        """Calibrated scores for the library's model (cached)."""
        with self.state_lock:
            if self._calibrator is None:
                self._calibrator = Calibrator(self.embedder)
            return self._calibrator

    def text_vector(self, text: str) -> np.ndarray:
        """A query text's prompt-ensembled unit vector (cached: search as you type repeats itself)."""
        return self._query_vectors()(text)

    def prepare_texts(self, texts: list[str]) -> None:
        """Encode what a search of these query *texts* will need and is not cached (their prompts and
        their null phrases) in one batch: they share prefixes, and one pass costs less than two."""
        vectors, calibrator = self._query_vectors(), self.calibrator
        groups = {**{("query", k): v for k, v in vectors.pending(texts).items()},
                  **{("null", k): v for k, v in calibrator.pending_nulls(texts).items()}}
        encoded = encode_ensembles(self.embedder, groups)
        vectors.put({k: v for (kind, k), v in encoded.items() if kind == "query"})
        calibrator.put_nulls({k: v for (kind, k), v in encoded.items() if kind == "null"})

    def _query_vectors(self) -> TextVectors:
        with self.state_lock:
            if self._text_vectors is None:
                self._text_vectors = TextVectors(self.embedder)
            return self._text_vectors

    # -- vectors ----------------------------------------------------------------------------

    @property
    def vectors_loaded(self) -> bool:
        """Whether the vector index is in memory already (:meth:`vectors` would not read it)."""
        return self._vectors is not None

    def vectors(self) -> VectorIndex | None:
        """The vector index of the library's model, in step with the catalog (None before any indexing)."""
        with self.state_lock:
            if self._vectors is not None:
                return self._vectors
            model_id = self.model_id()
            if model_id is None:
                return None
            self._vectors = self.load_vectors(model_id)
            return self._vectors

    def load_vectors(self, model_id: int) -> VectorIndex:
        """The saved vector index of any model of the library, repaired from the catalog (the truth)."""
        index = VectorIndex(self.directory / "vectors", f"model-{model_id}", self.catalog.model_dim(model_id))
        held = index.load()
        truth = self.catalog.vector_ids(model_id)  # photos, and video moments
        self.catalog.take_dropped_vectors(model_id)  # the comparison below covers them
        if held is None:
            for ids, matrix in self.catalog.iter_vectors(model_id, index.dim):
                index.add(ids, matrix)
            if not index.uses_hnsw:
                index.dirty = False
        else:
            extra = held - set(truth.tolist())
            missing = np.setdiff1d(truth, np.fromiter(held, dtype=np.int64, count=len(held)))
            if index.saved_at is not None:  # re-embedded after the graph was saved: its vector is old
                missing = np.union1d(missing, self.catalog.vectors_indexed_since(model_id, index.saved_at - 5.0))
            if extra:
                index.remove(extra)
            if len(missing):
                for ids, matrix in self.catalog.iter_vectors(model_id, index.dim, ids=missing):
                    index.add(ids, matrix)
            if extra or len(missing):
                log.info("vector index repaired from the catalog: %d added, %d removed",
                         len(missing), len(extra))
        return index

    def serve(self, spec: str, embedder: ImageTextEmbedder | None = None,
              vectors: VectorIndex | None = None) -> None:
        """Serve *spec* from now on (a finished model switch, here or in another process): searches
        that already hold the old model's objects finish with them; new ones use the new model."""
        with self.state_lock:
            self._recorded = spec
            if spec == self.model_spec:
                return
            self.model_spec = spec
            self._embedder, self._vectors = embedder, vectors
            self._calibrator = self._text_vectors = None
        log.info("the library now serves the model %s", spec)

    def follow_model(self) -> None:
        """Serve the model the catalog names, if another process finished a switch since (one cheap read)."""
        recorded = self.catalog.setting(MODEL_SETTING)
        if recorded == self._recorded:
            return
        self._recorded = recorded
        if recorded and recorded != self.model_spec and not self._pinned_embedder:
            self.serve(recorded)

    def drop_stale_moments(self) -> None:
        """Take video moments deleted from the catalog (changed, removed, moved over) out of the loaded
        search index. Call after any catalog write that can delete items."""
        model_id = self.model_id()
        if model_id is None:
            return
        dropped = self.catalog.take_dropped_vectors(model_id)
        with self.state_lock:
            vectors = self._vectors
        if vectors is not None and len(dropped):
            vectors.remove(dropped.tolist())

    def reload_vectors(self) -> VectorIndex | None:
        """Drop the in-memory index and load (and repair) the saved one again."""
        with self.state_lock:
            self._vectors = None
            return self.vectors()

    def saved_vectors(self, model_id: int, dim: int) -> VectorIndex:
        """A fresh, unloaded handle on the saved index files of *model_id* (for checks)."""
        return VectorIndex(self.directory / "vectors", f"model-{model_id}", dim)

    # -- photos -----------------------------------------------------------------------------

    def photo(self, path: str | os.PathLike[str]) -> Photo:
        """The catalog record of a library photo (raises :class:`NotInLibrary`)."""
        photo = self.catalog.photo_by_path(path)
        if photo is None:
            raise NotInLibrary(f"{paths.display(paths.normalize(path))} is not a photo of the library "
                               f"{self.directory}.")
        return photo
