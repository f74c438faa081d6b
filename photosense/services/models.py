"""Model switching: re-embed the library with another model beside the one serving, then move to it atomically."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import numpy as np

from photosense.core import config
from photosense.core.embedder import ImageTextEmbedder, create_embedder
from photosense.core.errors import UsageError
from photosense.core.events import Embedded
from photosense.core.indexer import Indexer, ProgressCallback
from photosense.core.models import parse_spec
from photosense.core.vectors import VectorIndex
from photosense.services.context import MODEL_SETTING, LibraryContext

log = logging.getLogger(__name__)

SWITCH_SETTING = "switching_to"  # the spec a switch in progress moves to (kept across a kill -9)
CHUNK = 256  # photos embedded per turn: the write locks are let go between turns, so live sync interleaves


@dataclass
class SwitchSummary:
    """What one ``switch`` call did."""

    spec: str
    embedded: int = 0
    reused: int = 0
    failed: int = 0
    done: bool = False  # the library now serves *spec*
    cancelled: bool = False

    def to_json(self) -> dict:
        return {"model": self.spec, "embedded": self.embedded, "reused": self.reused, "failed": self.failed,
                "done": self.done, "cancelled": self.cancelled}


class ModelService:
    """Switch, list and prune the models of one library. Search keeps serving the current model
    until the new one has every photo; then one catalog transaction moves the library to it."""

    def __init__(self, ctx: LibraryContext) -> None:
        self.ctx = ctx
        self.catalog = ctx.catalog
        self._target: tuple[str, ImageTextEmbedder, int, VectorIndex] | None = None

    # -- state ------------------------------------------------------------------------------

    @property
    def switching_to(self) -> str | None:
        """The spec of a switch in progress (started here or in another process), or None."""
        return self.catalog.setting(SWITCH_SETTING)

    def status(self) -> dict:
        """``switching_to`` (a spec or None), ``switch_done`` and ``switch_total`` (photos embedded by it)."""
        target = self.switching_to
        if target is None:
            return {"switching_to": None, "switch_done": 0, "switch_total": 0}
        model_id = self.catalog.model_id(target)
        counts = self.catalog.counts(model_id)
        done = counts["indexed"] if model_id is not None else 0
        return {"switching_to": target, "switch_done": done, "switch_total": done + counts["pending"]}

    def list(self) -> list[dict]:
        """Every model with embeddings in this library: spec, dim, items embedded, serving, switching."""
        serving, target = self.ctx.model_spec, self.switching_to
        return [{"model": spec, "dim": dim, "embedded": n, "serving": spec == serving, "switching_to": spec == target}
                for _, spec, dim, n in self.catalog.models() if n or spec in (serving, target)]

    # -- switching --------------------------------------------------------------------------

    def switch(self, spec: str, *, progress: ProgressCallback | None = None,
               cancel: threading.Event | None = None, workers: int | None = None,
               embedder: ImageTextEmbedder | None = None) -> SwitchSummary:
        """Embed every photo with *spec* into its own vector index, then serve it. Resumable: a run that
        is cancelled or killed keeps what it embedded, and ``switch`` again (or ``resume``) goes on."""
        ctx = self.ctx
        target = embedder.spec.text if embedder is not None else parse_spec(spec).text
        summary = SwitchSummary(target)
        if target == ctx.model_spec:
            with ctx.write_lock, ctx.writer:
                if self.switching_to is not None:  # switching back before the other model was done
                    self.catalog.set_settings({SWITCH_SETTING: None})
            summary.done = True
            return summary
        with ctx.write_lock, ctx.writer:
            self.catalog.set_setting(SWITCH_SETTING, target)
        name, model, model_id, vectors = self._target_state(target, embedder)
        while not (cancel is not None and cancel.is_set()):
            with ctx.write_lock, ctx.writer:
                if self.switching_to != target:
                    raise UsageError(f"Another switch (to {self.switching_to or 'the serving model'}) replaced "
                                     f"this one to {target}.")
                pending = self.catalog.pending(model_id, limit=CHUNK)
                if not pending:
                    self._finish(target, model, vectors)
                    summary.done = True
                    return summary
                stats = Indexer(self.catalog, vectors, model, model_id, workers=workers).run(
                    pending, progress=progress, cancel=cancel)
                self._drop_stale_moments(model_id, vectors)
                vectors.save()
            summary.embedded += stats.indexed
            summary.reused += stats.reused
            summary.failed += stats.failed
        summary.cancelled = True
        return summary

    def resume(self, **kwargs) -> SwitchSummary | None:
        """Go on with a switch that was stopped (None when there is none)."""
        target = self.switching_to
        return None if target is None else self.switch(target, **kwargs)

    def cancel_switch(self) -> None:
        """Give up a switch in progress (what it embedded stays until ``prune``)."""
        with self.ctx.write_lock, self.ctx.writer:
            self.catalog.set_settings({SWITCH_SETTING: None})

    def _target_state(self, target: str, embedder: ImageTextEmbedder | None
                      ) -> tuple[str, ImageTextEmbedder, int, VectorIndex]:
        if self._target is not None and self._target[0] == target:
            return self._target
        model = embedder or create_embedder(parse_spec(target, verify=False), config.model_cache_dir(),
                                            device=self.ctx.device, precision=self.ctx.precision)
        with self.ctx.write_lock, self.ctx.writer:
            model_id = self.catalog.ensure_model(target, model.dim)
        self._target = (target, model, model_id, self.ctx.load_vectors(model_id))
        return self._target

    def _drop_stale_moments(self, model_id: int, vectors: VectorIndex) -> None:
        dropped = self.catalog.take_dropped_vectors(model_id)
        if len(dropped):
            vectors.remove(dropped.tolist())

    def _finish(self, target: str, model: ImageTextEmbedder, vectors: VectorIndex) -> None:
        """The atomic step (under the write locks): the catalog names the new model, this process serves
        it, and tags and smart albums are recomputed with it (pins, excludes and manual tags stay)."""
        vectors.save()
        self.catalog.set_settings({MODEL_SETTING: target, SWITCH_SETTING: None})
        self.ctx.serve(target, model, vectors)
        self._target = None
        self.catalog.reset_organized()
        log.info("switched the library to %s", target)
        self.ctx.embedded.emit(Embedded(self.ctx.model_id(), np.empty(0, np.int64)))  # the organizer re-tags

    # -- pruning ----------------------------------------------------------------------------

    def prune(self) -> list[str]:
        """Delete the embeddings and vector files of every model but the serving one (and a switch's
        target); returns their specs. Switching back to a pruned model embeds everything again."""
        ctx = self.ctx
        keep = {ctx.model_spec, self.switching_to}
        removed = []
        with ctx.write_lock, ctx.writer:
            for model_id, spec, dim, _ in self.catalog.models():
                if spec in keep:
                    continue
                self.catalog.forget_model(model_id)
                VectorIndex(ctx.directory / "vectors", f"model-{model_id}", dim).delete_files()
                removed.append(spec)
        return removed
