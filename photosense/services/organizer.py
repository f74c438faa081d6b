"""Organizing: prompt-set tagging and smart-album matching, run on new photos when indexing announces them."""
from __future__ import annotations

import json
import logging
import sqlite3
import threading

import numpy as np

from photosense.core import tagging
from photosense.core.calibration import GENERIC_KEPT, GENERIC_RULE, RELEVANCE_CUTOFF
from photosense.core.catalog import SMART, Album
from photosense.core.errors import PhotoSenseError
from photosense.core.events import Embedded
from photosense.core.promptsets import PromptSet
from photosense.core.query import parse
from photosense.services.context import LibraryContext
from photosense.services.search import SearchService

log = logging.getLogger(__name__)

CHUNK = 20000  # photos scored at once when tagging or matching the whole library
# settings key (+ "." + model spec): which prompt-set prompts that model embeds like a generic word
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
        self._set_models: dict[int, tuple[str, str, tagging.SetModel]] = {}
        self._unsubscribe = ctx.embedded.subscribe(self._on_embedded)

    def _on_embedded(self, _event: Embedded) -> None:
        self.organize_pending()

    # -- tagging -----------------------------------------------------------------------------

    def set_model(self, set_id: int, prompt_set: PromptSet) -> tagging.SetModel:
        """The embedded prompt set (cached per source text), with its few-shot probe refitted."""
        with self._lock:
            cached = self._set_models.get(set_id)
            # per source text and model: after a switch in this process the labels are embedded again
            if cached is None or cached[:2] != (prompt_set.source, self.ctx.model_spec):
                cached = (prompt_set.source, self.ctx.model_spec, self._build(set_id, prompt_set))
                self._set_models[set_id] = cached
            model = cached[2]
            vectors = self.ctx.vectors()
            tagging.refine(self.catalog.tag_examples(set_id), model, self.ctx.calibrator, self.search.vectors_of,
                           embedded=vectors if vectors is not None else ())
            return model

    def _build(self, set_id: int, prompt_set: PromptSet) -> tagging.SetModel:
        """Embed a prompt set. Which of its prompts the model embeds like a generic word is kept in the
        library per model spec (a setting): judging them costs seconds on a CPU, and every process would
        pay it. The setting is a cache: failing to write it never fails the build."""
        spec, calibrator = self.ctx.model_spec, self.ctx.calibrator
        key = f"{GENERIC_PROMPTS_SETTING}.{spec}"
        stored = self._stored_verdicts(key)
        calibrator.know_generic(stored)
        model = tagging.build(set_id, prompt_set, self.ctx.embedder, calibrator)
        judged = tagging.judged_prompts([lab.prompts for lab in prompt_set.labels])
        mine = dict(zip(judged, calibrator.generic_prompts(judged)))  # known by now: nothing is encoded
        if any(stored.get(p) != v for p, v in mine.items()):
            merged = {**{p: v for p, v in stored.items() if p not in mine}, **mine}
            kept = dict(list(merged.items())[-GENERIC_KEPT:])
            try:
                self.catalog.set_settings({key: json.dumps({"rule": GENERIC_RULE, "verdicts": kept})})
            except (PhotoSenseError, sqlite3.Error) as err:
                log.debug("prompt verdicts not kept (%s); the next process judges them again", err)
        return model

    def _stored_verdicts(self, key: str) -> dict[str, bool]:
        """The kept verdicts (empty when missing, unreadable, or made under another rule)."""
        try:
            data = json.loads(self.catalog.setting(key) or "{}")
        except ValueError:
            return {}
        verdicts = data.get("verdicts") if isinstance(data, dict) and data.get("rule") == GENERIC_RULE else None
        if not isinstance(verdicts, dict):
            return {}
        return {p: v for p, v in verdicts.items() if isinstance(p, str) and isinstance(v, bool)}

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
