"""The one search service: text queries, images and filters, ranked from fused evidence under the cut-off.

A query goes down once and comes back: ``parse`` (core.query) -> ``compile`` (text vectors and
their calibration backgrounds) -> filters in the catalog -> every evidence source ranks its
candidates -> ``fuse`` -> keyword evidence fused in (``services.keywords``: the words typed, found
in the photos' text, names, folders, tags and camera) -> paths from the catalog. The visual source
is ``VisualEvidence`` (CLIP kNN with the calibrated relevance cut-off).
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from photosense.core import paths, video
from photosense.core import stacks as stacking
from photosense.core.calibration import RELEVANCE_CUTOFF, Calibrator
from photosense.core.catalog import FRAME_BASE, Catalog, Photo, is_frame_vector
from photosense.core.errors import ImageError, NotInLibrary, UsageError
from photosense.core.filetypes import is_video_name
from photosense.core.media import open_image
from photosense.core.query import Query, parse
from photosense.core.search import Hit
from photosense.services.context import LibraryContext
from photosense.services.keywords import KeywordEvidence

RRF_K = 60  # reciprocal rank fusion's damping constant (Cormack et al. 2009); only used with 2+ sources
BULK_STACKS = 2000  # folding more ids than this reads every stack at once instead of looking them up
STACK_SLACK = 4  # with stacking, ask for 1/4 more hits than shown: what folds away rarely needs a second search


@dataclass
class CompiledQuery:
    """A parsed query with its vectors: the weighted positive direction, its background, the negatives."""

    query: Query
    vector: np.ndarray | None
    background: np.ndarray | None
    negatives: list[tuple[np.ndarray, np.ndarray, float]]  # (vector, background, weight)

    def assess(self, calibrator: Calibrator, images: np.ndarray,
               threshold: float = RELEVANCE_CUTOFF) -> tuple[np.ndarray, np.ndarray]:
        """(cosine to the query, passes) for unit image vectors: passes = relevant and not excluded."""
        n = len(images)
        cos = images @ self.vector if self.vector is not None else np.ones(n, np.float32)
        keep = (calibrator.probabilities(images, self.vector[None], self.background)[:, 0] >= threshold
                if self.vector is not None else np.ones(n, bool))
        return cos, keep & ~self.excluded(calibrator, images)

    def excluded(self, calibrator: Calibrator, images: np.ndarray) -> np.ndarray:
        """Photos a negative term is relevant to (a weight w lowers its bar to cut-off / w)."""
        out = np.zeros(len(images), bool)
        for vector, background, weight in self.negatives:
            out |= calibrator.probabilities(images, vector[None], background)[:, 0] >= RELEVANCE_CUTOFF / weight
        return out


@dataclass(frozen=True)
class Moment:
    """A sampled moment of a video: its time, and how it answers a query (when one was given)."""

    t: float
    score: float | None = None  # cosine to the query
    relevant: bool = False  # passes the search's calibrated cut-off, judged as search() judges items


@dataclass
class Ranked:
    """One evidence source's answer: item ids best first, with the source's own scores and, for a
    video, the moment (seconds) that scored."""

    source: str
    ids: np.ndarray
    scores: np.ndarray
    moments: dict[int, float] = field(default_factory=dict)


class EvidenceSource(Protocol):
    """Something that can rank photos for a compiled query (CLIP vectors today; words, names later)."""

    name: str

    def rank(self, compiled: CompiledQuery, allowed: np.ndarray | None, limit: int, show_all: bool) -> Ranked:
        """Up to *limit* ids that pass this source's own cut-off (all candidates when *show_all*)."""


def fuse(rankings: Sequence[Ranked], limit: int) -> list[tuple[int, float, tuple[str, ...]]]:
    """(id, score, sources that found it), best first. One source keeps its order and scores; several
    are merged by reciprocal rank fusion, scored by the best source score an id has."""
    rankings = [r for r in rankings if len(r.ids)]
    if len(rankings) == 1:
        r = rankings[0]
        return [(int(i), float(s), (r.source,)) for i, s in zip(r.ids[:limit], r.scores[:limit])]
    fused: dict[int, float] = {}
    best: dict[int, float] = {}
    found: dict[int, list[str]] = {}
    for r in rankings:
        for rank, (i, s) in enumerate(zip(r.ids.tolist(), r.scores.tolist())):
            fused[i] = fused.get(i, 0.0) + 1.0 / (RRF_K + rank + 1)
            best[i] = max(best.get(i, -1.0), s)
            found.setdefault(i, []).append(r.source)
    order = sorted(fused, key=lambda i: (-fused[i], -best[i], i))[:limit]
    return [(i, best[i], tuple(found[i])) for i in order]


class VisualEvidence:
    """CLIP: kNN over the vector index, kept where the calibrated relevance beats the photo's background."""

    name = "visual"

    def __init__(self, ctx: LibraryContext) -> None:
        self.ctx = ctx

    def rank(self, compiled: CompiledQuery, allowed: np.ndarray | None, limit: int, show_all: bool) -> Ranked:
        vectors = self.ctx.vectors()
        if compiled.vector is None or vectors is None or len(vectors) == 0:
            return Ranked(self.name, np.empty(0, np.int64), np.empty(0, np.float32))
        calibrator = self.ctx.calibrator
        if allowed is not None:  # items -> the vectors that stand for them (a video: its moments)
            allowed = self.ctx.catalog.vector_ids_of(self.ctx.model_id(), allowed)
        k = limit if show_all and not compiled.negatives else 2 * limit
        total = len(vectors) if allowed is None else len(allowed)
        while True:
            with vectors.locked():  # hits and their vectors from one state (live sync removes photos)
                ids, scores = vectors.search(compiled.vector, k, allowed=allowed)
                found = vectors.vectors(ids) if len(ids) else None
            if found is None:
                keep = np.zeros(0, bool)
            elif show_all:
                keep = ~compiled.excluded(calibrator, found)
            else:
                keep = compiled.assess(calibrator, found)[1]
            items = to_items(self.ctx.catalog, ids[keep], scores[keep])
            # the cut-off is per photo (its own background), so a few passing photos can sit below
            # failing ones: look further while the tail still yields some, up to 16x the limit. The next
            # round is sized by this one's yield (one kNN of k costs about as much as all smaller ones)
            if len(items.ids) >= limit or k >= total or k >= 16 * limit or not keep[len(keep) // 2:].any():
                break
            k = max(2 * k, int(1.5 * k * limit / max(len(items.ids), 1)))
            k = 16 * limit if k > 12 * limit else k  # not a last round for the few left to 16x
        return Ranked(self.name, items.ids[:limit], items.scores[:limit], items.moments)


def to_items(catalog: Catalog, vector_ids: np.ndarray, scores: np.ndarray) -> Ranked:
    """Search-index hits (best first) -> items: a photo as itself, a video once, at its best moment."""
    frames = [int(i) for i in vector_ids if is_frame_vector(int(i))]
    owners = catalog.frame_owners([i - FRAME_BASE for i in frames]) if frames else {}
    ids: list[int] = []
    kept: list[float] = []
    moments: dict[int, float] = {}
    seen: set[int] = set()
    for vid, score in zip(vector_ids.tolist(), scores.tolist()):
        if is_frame_vector(vid):
            owner = owners.get(vid - FRAME_BASE)
            if owner is None:
                continue  # removed meanwhile
            vid, moment = owner
            if vid in seen:
                continue
            moments[vid] = moment
        elif vid in seen:
            continue
        seen.add(vid)
        ids.append(vid)
        kept.append(score)
    return Ranked("", np.asarray(ids, np.int64), np.asarray(kept, np.float32), moments)


class SearchService:
    """Text, image and filter search over one library; also the query compiler that tags and albums use."""

    def __init__(self, ctx: LibraryContext) -> None:
        self.ctx = ctx
        self.catalog = ctx.catalog
        self.sources: list[EvidenceSource] = [VisualEvidence(ctx)]
        self.keywords = KeywordEvidence(ctx.catalog)

    # -- queries ----------------------------------------------------------------------------

    def compile(self, query: Query) -> CompiledQuery:
        """Embed a parsed query's terms."""
        calibrator = self.ctx.calibrator if (query.positive or query.negative) else None
        if calibrator is not None:  # every term's prompts and null phrases in one batch
            self.ctx.prepare_texts([t.text for t in (*query.positive, *query.negative)])
        vector = background = None
        if query.positive:
            terms = np.stack([self.ctx.text_vector(t.text) for t in query.positive])
            weights = np.array([t.weight for t in query.positive], np.float32)
            mixed = (weights[:, None] * terms).sum(axis=0)
            vector = (mixed / max(float(np.linalg.norm(mixed)), 1e-12)).astype(np.float32)
            texts = [t.text for t in query.positive]
            background = calibrator.background(np.concatenate([terms, vector[None]]),
                                               nulls=calibrator.nulls(texts), texts=texts)
        negatives = []
        for term in query.negative:
            v = self.ctx.text_vector(term.text)
            negatives.append((v, calibrator.background(v[None], nulls=calibrator.nulls([term.text]), texts=[term.text]),
                              term.weight))
        return CompiledQuery(query, vector, background, negatives)

    def search(self, text: str, limit: int = 50, show_all: bool = False, stack: bool | None = None) -> list[Hit]:
        """Photos matching a query (see core.query.HELP), best first, above the relevance cut-off
        unless *show_all*. Filters restrict an exact search, so they never lose true matches. With
        *stack* (default: the library's setting) a stack shows once, as its best hit (``Hit.stack``)."""
        query = parse(text or "")
        if not (query.positive or query.negative or query.filters):
            raise UsageError("The search query is empty.")
        if self.ctx.model_id() is None or (not self.ctx.vectors_loaded and not self.catalog.indexed_count()):
            return []  # nothing indexed yet: no model to load
        # the model before the vector index: loading a model briefly holds a float32 copy of it (600 MB
        # for ViT-B-32), which then never sits on top of the index (300 MB per 100k photos)
        compiled = self.compile(query)
        vectors = self.ctx.vectors()
        if vectors is None or len(vectors) == 0:
            return []
        allowed = np.asarray(self.catalog.filter_photo_ids(query.filters), np.int64) if query.filters else None
        stack = self.stacking if stack is None else stack
        if compiled.vector is None:  # filters (and maybe negatives) only: newest first
            return self._listing(compiled, allowed, limit, stack)
        want = limit + (limit // STACK_SLACK if stack else 0)
        while True:  # folded stacks leave fewer hits: look further, as the sources do for their cut-off
            rankings = [source.rank(compiled, allowed, want, show_all) for source in self.sources]
            ranked = self.keywords.fuse(query, fuse(rankings, want), want, allowed, self._judge(compiled))
            folded = (self.fold([i for i, _, _ in ranked], allowed=allowed, scores=[s for _, s, _ in ranked])
                      if stack else [(i, 1) for i, _, _ in ranked])
            if len(folded) >= limit or len(ranked) < want or want >= 16 * limit:
                break
            want *= 2
        moments = {i: t for r in rankings for i, t in r.moments.items()}
        found = {i: (s, matched) for i, s, matched in ranked}
        return self.hits([(i, *found[i], moments.get(i)) for i, _ in folded[:limit]], dict(folded))

    def _judge(self, compiled: CompiledQuery):
        """For keyword fusion: (cosine to the query, ids a negative term excludes) of items found by their
        words only (a video by its best moment; items without vectors are left unscored)."""
        def judge(ids):
            vectors, model_id = self.ctx.vectors(), self.ctx.model_id()
            videos = self.catalog.frame_ids_by_video(model_id, [int(i) for i in ids]) if model_id else {}
            with vectors.locked():
                ids = [int(i) for i in ids if int(i) in vectors or int(i) in videos]
                if not ids:
                    return {}, set()
                rows, starts = self.item_vectors(ids)
            cos = np.maximum.reduceat(rows @ compiled.vector, starts)
            out = (np.logical_and.reduceat(compiled.excluded(self.ctx.calibrator, rows), starts)
                   if compiled.negatives else np.zeros(len(ids), bool))
            return dict(zip(ids, cos.tolist())), {i for i, o in zip(ids, out) if o}
        return judge

    def hits(self, ranked: Sequence[tuple[int, float, tuple[str, ...], float | None]],
             stacks: dict[int, int] | None = None) -> list[Hit]:
        """(item id, score, matched, moment) -> Hits with paths, kinds and durations from the catalog
        (items removed meanwhile are left out); *stacks*: item id -> how many items it stands for."""
        photos = self.catalog.photos_by_ids([i for i, _, _, _ in ranked])
        stacks = stacks or {}
        return [self.hit(photos[i], s, matched, at, stacks.get(i, 1)) for i, s, matched, at in ranked if i in photos]

    @staticmethod
    def hit(photo: Photo, score: float, matched: tuple[str, ...] = ("visual",), at: float | None = None,
            stack: int = 1) -> Hit:
        """One result for a catalog item (*stack*: how many items it stands for)."""
        if not photo.is_video:
            return Hit(photo.id, photo.path, float(score), matched, stack=stack)
        return Hit(photo.id, photo.path, float(score), matched, "video", at, photo.duration, stack)

    # -- stacks -----------------------------------------------------------------------------

    @property
    def stacking(self) -> bool:
        """The library's setting: results fold stacks (duplicates, bursts) unless it is off."""
        return stacking.parse_setting(self.catalog.setting(stacking.SETTING))

    def fold(self, ids: Sequence[int], *, cover: str = "best", allowed: np.ndarray | None = None,
             exclude: Sequence[int] = (), scores: Sequence[float] | None = None) -> list[tuple[int, int]]:
        """(item id, how many items it stands for) of the items of *ids* left after folding their stacks
        (``core.stacks.fold``): *allowed* and *exclude* say which members a query could show; *scores*
        settle ties between members."""
        ids = ids.tolist() if isinstance(ids, np.ndarray) else list(ids)
        stacks = self._stacks_of(ids)
        if not stacks:
            return [(i, 1) for i in ids]
        ok = None
        if allowed is not None or exclude:
            shown = None if allowed is None else set(np.asarray(allowed).tolist())
            left_out = {int(i) for i in exclude}
            ok = lambda m: m not in left_out and (shown is None or m in shown)  # noqa: E731
        return stacking.fold(ids, stacks, cover=cover, allowed=ok, scores=scores)

    def fold_listing(self, ids: Sequence[int]) -> tuple[set[int], dict[int, int]]:
        """How a complete listing of *ids* folds to keepers: (ids that go, cover id -> its count)."""
        return stacking.keeper_plan(set(ids), self._stacks_of(ids))

    def _stacks_of(self, ids: Sequence[int]) -> dict:
        return self.catalog.all_stacks() if len(ids) > BULK_STACKS else self.catalog.stacks_touching(ids)

    def _listing(self, compiled: CompiledQuery, allowed: np.ndarray | None, limit: int,
                 stack: bool = False) -> list[Hit]:
        """A query of filters (and maybe negative terms) only: what they select, newest first."""
        vectors = self.ctx.vectors()
        with vectors.locked():  # ids and their vectors from one state (live sync removes photos)
            embedded = self.embedded_ids()
            ids = embedded if allowed is None else np.intersect1d(allowed, embedded)
            if compiled.negatives and len(ids):
                # moments are judged one by one, as search() does: a video stays while one moment is not excluded
                rows, starts = self.item_vectors(ids)
                out = np.logical_and.reduceat(compiled.excluded(self.ctx.calibrator, rows), starts)
                ids = ids[~out]
        photos = self.catalog.photos_by_ids(ids.tolist())
        ordered = sorted(photos.values(), key=lambda p: p.path)
        ordered.sort(key=lambda p: p.taken_at or "", reverse=True)  # newest first, undated last, stable
        if not stack:
            return [self.hit(p, 1.0, ("filter",)) for p in ordered[:limit]]
        return [self.hit(photos[i], 1.0, ("filter",), stack=n)
                for i, n in self.fold([p.id for p in ordered], cover="keeper")[:limit]]

    # -- images -----------------------------------------------------------------------------

    def similar(self, path: str | os.PathLike[str], limit: int = 50, at: float | None = None,
                stack: bool | None = None) -> list[Hit]:
        """Items most similar to *path*: a library photo or video (left out of its own results) or any
        image or video file. *at* (seconds) picks a video's moment; without it a video stands for all of
        its moments (their mean). *stack*: as in :meth:`search`."""
        vectors = self.ctx.vectors()
        if vectors is None or len(vectors) == 0:
            return []
        photo = self.catalog.photo_by_path(path)
        if at is not None and not (photo.is_video if photo is not None else is_video_name(path)):
            raise UsageError(f"--at picks a moment of a video; {paths.display(path)} is not a video.")
        own = (photo.id,) if photo is not None else ()
        stack = self.stacking if stack is None else stack
        if photo is not None and photo.is_video:
            query = self._video_vector(photo.id, at)
            if query is not None:
                return self.nearest(query, limit, exclude=own, stack=stack)
        elif photo is not None and photo.id in vectors:
            return self.nearest(vectors.vectors([photo.id])[0], limit, exclude=own, stack=stack)
        return self.nearest(self.image_vector(path, at=at), limit, exclude=own, stack=stack)

    def _video_vector(self, video_id: int, at: float | None) -> np.ndarray | None:
        """A library video's query vector: its moment nearest *at*, or its mean (None: not embedded)."""
        model_id = self.ctx.model_id()
        if model_id is None:
            return None
        if at is None:
            return self.catalog.embedding(video_id, model_id)
        frames = self.catalog.frames_of(video_id, model_id)
        if not frames:
            return None
        frame_id = min(frames, key=lambda f: abs(f[1] - at))[0]
        return self.ctx.vectors().vectors([FRAME_BASE + frame_id])[0]

    def nearest(self, query: np.ndarray, limit: int, exclude: tuple[int, ...] = (),
                allowed: np.ndarray | None = None, stack: bool = False) -> list[Hit]:
        """kNN around a unit vector, then paths from the catalog (ids deleted meanwhile are dropped);
        with *stack*, a stack shows once, as its nearest member."""
        vectors = self.ctx.vectors()
        if vectors is None or len(vectors) == 0:
            return []
        allowed_vectors = self.catalog.vector_ids_of(self.ctx.model_id(), allowed) if allowed is not None else None
        exclude_vectors = tuple(self.catalog.vector_ids_of(self.ctx.model_id(), exclude).tolist()) if exclude else ()
        k = limit + (limit // STACK_SLACK if stack else 0)
        while True:  # a video's moments, or folded stacks, can fill the first k: look further until *limit* items
            ids, scores = vectors.search(query, k, allowed=allowed_vectors, exclude=exclude_vectors)
            items = to_items(self.catalog, ids, scores)
            kept = (self.fold(items.ids, allowed=allowed, exclude=exclude, scores=items.scores.tolist()) if stack
                    else [(i, 1) for i in items.ids.tolist()])
            if len(kept) >= limit or len(ids) < k or k >= 16 * limit:
                break
            k *= 2
        score = dict(zip(items.ids.tolist(), items.scores.tolist()))
        return self.hits([(i, score[i], ("visual",), items.moments.get(i)) for i, _ in kept[:limit]], dict(kept))

    def image_vector(self, path: str | os.PathLike[str], at: float | None = None) -> np.ndarray:
        """Embed any image file, or a video file's frame at *at* seconds (default: its first), with the
        library's model (raises UsageError if the file is unusable)."""
        if not Path(path).is_file():
            raise NotInLibrary(f"{paths.display(path)} is neither a photo of this library nor an image file.")
        embedder = self.ctx.embedder
        try:
            if is_video_name(path):
                image = video.frame_at(path, at or 0.0, min_side=embedder.image_size).image
            else:
                image = open_image(path, min_side=embedder.image_size).image
        except ImageError as err:
            raise UsageError(f"Cannot use {paths.display(path)} as a query: {err}.") from None
        return embedder.encode_images(embedder.collate([embedder.preprocess(image)]))[0]

    def moments(self, path: str | os.PathLike[str], query: str | None = None) -> list[Moment]:
        """The sampled moments of a library video, in time order; with a text *query*, each scored and
        judged against the relevance cut-off exactly as :meth:`search` judges items (negatives
        included). A query of filters only, or one the model cannot embed, scores nothing."""
        photo = self.catalog.photo_by_path(path)
        model_id = self.ctx.model_id()
        if photo is None or not photo.is_video or model_id is None:
            return []
        frames = self.catalog.frames_of(photo.id, model_id)
        if not frames or not query:
            return [Moment(t) for _, t in frames]
        compiled = self.compile(parse(query))
        vectors = self.ctx.vectors()
        if compiled.vector is None or vectors is None:
            return [Moment(t) for _, t in frames]
        with vectors.locked():
            wanted = [FRAME_BASE + f for f, _ in frames]
            if not all(i in vectors for i in wanted):  # re-indexed or removed meanwhile
                return [Moment(t) for _, t in frames]
            found = vectors.vectors(wanted)
        cos, keep = compiled.assess(self.ctx.calibrator, found)
        return [Moment(t, float(c), bool(k)) for (_, t), c, k in zip(frames, cos, keep)]

    # -- vectors for tags and albums --------------------------------------------------------

    def embedded_ids(self) -> np.ndarray:
        """Ids of every item (photo or video) with vectors of the library's model, ascending."""
        vectors = self.ctx.vectors()
        if vectors is None:
            return np.empty(0, np.int64)
        ids = vectors.ids()
        photos = ids[ids < FRAME_BASE]
        if len(photos) == len(ids):
            return np.sort(photos)
        videos = np.asarray(self.catalog.videos_with_frames(self.ctx.model_id()), np.int64)
        return np.union1d(photos, videos)

    def vectors_of(self, ids: Sequence[int]) -> np.ndarray:
        """One unit vector per item (all must be embedded): a photo's own, a video's mean of its moments."""
        ids = [int(i) for i in ids]
        kinds = {i: p.is_video for i, p in self.catalog.photos_by_ids(ids).items()}
        if not any(kinds.values()):
            return self.ctx.vectors().vectors(ids)
        model_id = self.ctx.model_id()
        photos = [i for i in ids if not kinds.get(i)]
        found = dict(zip(photos, self.ctx.vectors().vectors(photos))) if photos else {}
        for i in ids:
            if kinds.get(i):
                found[i] = self.catalog.embedding(i, model_id)
        return np.stack([found[i] for i in ids]).astype(np.float32)

    def item_vectors(self, ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """(rows, starts): the vectors that stand for each item, in order - one row for a photo, one per
        moment for a video - and each item's first row (for ``np.maximum.reduceat``). A video matches a
        query, a tag or an album when one of its moments does."""
        ids = [int(i) for i in ids]
        vectors = self.ctx.vectors()
        videos = [i for i, p in self.catalog.photos_by_ids(ids).items() if p.is_video]
        if not videos:
            return vectors.vectors(ids), np.arange(len(ids))
        frames = self.catalog.frame_ids_by_video(self.ctx.model_id(), videos)
        rows: list[int] = []
        starts: list[int] = []
        for i in ids:
            starts.append(len(rows))
            rows += [FRAME_BASE + f for f in frames[i]] if i in frames else [i]
        return vectors.vectors(rows), np.asarray(starts, np.int64)

    def is_embedded(self, item_id: int) -> bool:
        """True when the item has vectors of the library's model in the search index."""
        vectors = self.ctx.vectors()
        if vectors is None:
            return False
        if item_id in vectors:
            return True
        model_id = self.ctx.model_id()
        return bool(self.catalog.frame_ids_by_video(model_id, [item_id])) if model_id is not None else False

    def paths_of(self, ids: Sequence[int]) -> dict[int, str]:
        """Photo id -> path (ids no longer in the library are left out)."""
        return {i: p.path for i, p in self.catalog.photos_by_ids(list(ids)).items()}
