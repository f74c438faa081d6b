"""Organizing: prompt-set tagging and smart-album matching, run on new photos when indexing announces them."""
from __future__ import annotations

import json
import logging
import threading

import numpy as np

from photosense.core import tagging
from photosense.core.calibration import RELEVANCE_CUTOFF
from photosense.core.catalog import SMART, Album
from photosense.core.events import Embedded
from photosense.core.promptsets import PromptSet
from photosense.core.query import parse
from photosense.services.context import LibraryContext
from photosense.services.search import SearchService

log = logging.getLogger(__name__)

CHUNK = 20000  # photos scored at once when tagging or matching the whole library
# settings key (+ "." + model id): which prompt-set prompts that model embeds like a generic word
GENERIC_PROMPTS_SETTING = "generic_prompts"


class Organizer:
    """Tags photos with every prompt set and matches them against smart albums (thread-safe).

    It listens to ``ctx.embedded``: after each indexing run the photos embedded since they were last
    organized (the catalog's ``organized`` table, so a killed run catches up) are tagged and matched.
    """

    def __init__(self, ctx: LibraryContext, search: SearchService) -> None:
        self.ctx = ctx
        self.catalog = ctx.catalog
        self.search = search
        self._lock = threading.RLock()
        self._set_models: dict[int, tuple[str, tagging.SetModel]] = {}
        self._unsubscribe = ctx.embedded.subscribe(self._on_embedded)

    def _on_embedded(self, _event: Embedded) -> None:
        self.organize_pending()

    # -- tagging -----------------------------------------------------------------------------

    def set_model(self, set_id: int, prompt_set: PromptSet) -> tagging.SetModel:
        """The embedded prompt set (cached per source text), with its few-shot probe refitted."""
        with self._lock:
            cached = self._set_models.get(set_id)
            if cached is None or cached[0] != prompt_set.source:
                cached = (prompt_set.source, self._build(set_id, prompt_set))
                self._set_models[set_id] = cached
            model = cached[1]
            vectors = self.ctx.vectors()
            tagging.refine(self.catalog.tag_examples(set_id), model, self.ctx.calibrator, self.search.vectors_of,
                           embedded=vectors if vectors is not None else ())
            return model

    def _build(self, set_id: int, prompt_set: PromptSet) -> tagging.SetModel:
        """Embed a prompt set. Which prompts the model embeds like a generic word is kept in the library
        per model (a setting): judging them costs seconds on a CPU, and every process would pay it."""
        calibrator, model_id = self.ctx.calibrator, self.ctx.model_id()
        key = f"{GENERIC_PROMPTS_SETTING}.{model_id}" if model_id is not None else None
        if key is not None:
            try:
                calibrator.know_generic(json.loads(self.catalog.setting(key) or "{}"))
            except (ValueError, TypeError, AttributeError):
                log.warning("ignored unreadable setting %s", key)
        before = calibrator.generic_verdicts()
        model = tagging.build(set_id, prompt_set, self.ctx.embedder, calibrator)
        after = calibrator.generic_verdicts()
        if key is not None and after != before:
            with self.ctx.write_lock, self.ctx.writer:
                self.catalog.set_settings({key: json.dumps(after, sort_keys=True)})
        return model

    def tag(self, model: tagging.SetModel, ids: np.ndarray | None = None) -> int:
        """Tag photos (all embedded ones by default) with one set; returns the number of tags written."""
        ids = self.search.embedded_ids() if ids is None else np.asarray(ids, np.int64)
        written = 0
        for start in range(0, len(ids), CHUNK):
            part = ids[start:start + CHUNK]
            rows, starts = self.search.item_vectors(part)
            # a video scores as its best moment
            scores = np.maximum.reduceat(model.scores(self.ctx.calibrator, rows), starts, axis=0)
            written += self.catalog.write_auto_tags(model.set_id, part, model.tags_from(part, scores))
        return written

    # -- smart albums ------------------------------------------------------------------------

    def match(self, album: Album, ids: np.ndarray | None = None) -> int:
        """Recompute a smart album's matches among *ids* (default: the whole library); returns the count."""
        if album.kind != SMART:
            return 0
        checked = self.search.embedded_ids() if ids is None else np.asarray(ids, np.int64)
        if ids is not None:  # photos not embedded yet are matched once they are (organize_pending)
            checked = np.asarray([i for i in checked.tolist() if self.search.is_embedded(i)], np.int64)
        query = parse(album.description or "")
        filters = album.filters.merged(query.filters)
        candidates = np.asarray(self.catalog.filter_photo_ids(filters, among=checked.tolist()), np.int64) \
            if filters else checked
        compiled = self.search.compile(query)
        threshold = album.threshold if album.threshold is not None else RELEVANCE_CUTOFF
        matched: dict[int, float] = {}
        for start in range(0, len(candidates), CHUNK):
            part = candidates[start:start + CHUNK]
            rows, starts = self.search.item_vectors(part)
            cos, keep = compiled.assess(self.ctx.calibrator, rows, threshold)
            # an item matches when one of its rows (a video: one of its moments) does, scored by the best
            best = np.maximum.reduceat(np.where(keep, cos, -np.inf), starts)
            matched.update({int(i): float(s) for i, s in zip(part, best) if np.isfinite(s)})
        self.catalog.write_album_matches(album.id, checked, matched)
        return len(matched)

    # -- new photos --------------------------------------------------------------------------

    def organize_pending(self) -> int:
        """Tag and match photos embedded since they were last organized; returns how many."""
        model_id = self.ctx.model_id()
        if model_id is None:
            return 0
        pending = [(i, t) for i, t in self.catalog.unorganized(model_id) if self.search.is_embedded(i)]
        if not pending:
            return 0
        ids = np.array([i for i, _ in pending], np.int64)
        sets = tagging.stored_sets(self.catalog.prompt_set_sources())
        smart = [a for a in self.catalog.albums() if a.kind == SMART]
        for set_id, prompt_set in sets:
            self.tag(self.set_model(set_id, prompt_set), ids)
        for album in smart:
            self.match(album, ids)
        self.catalog.mark_organized(pending)
        if sets or smart:
            log.info("organized %d new photos: %d prompt sets, %d smart albums", len(ids), len(sets), len(smart))
        return len(ids)
