"""The one search service: text queries, images and filters, ranked from fused evidence under the cut-off.

A query goes down once and comes back: ``parse`` (core.query) -> ``compile`` (text vectors and
their calibration backgrounds) -> filters in the catalog -> every evidence source ranks its
candidates -> ``fuse`` -> paths from the catalog. Today the one source is ``VisualEvidence`` (CLIP
kNN with the calibrated relevance cut-off); words in photos, file names and video moments are
meant to be further sources, fused into the same ranking.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from photosense.core import paths
from photosense.core.calibration import RELEVANCE_CUTOFF, Calibrator
from photosense.core.errors import ImageError, NotInLibrary, UsageError
from photosense.core.media import open_image
from photosense.core.query import Query, parse
from photosense.core.search import Hit
from photosense.services.context import LibraryContext

RRF_K = 60  # reciprocal rank fusion's damping constant (Cormack et al. 2009); only used with 2+ sources


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


@dataclass
class Ranked:
    """One evidence source's answer: candidate ids best first, with the source's own scores."""

    source: str
    ids: np.ndarray
    scores: np.ndarray


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
        empty = Ranked(self.name, np.empty(0, np.int64), np.empty(0, np.float32))
        if compiled.vector is None or vectors is None or len(vectors) == 0:
            return empty
        calibrator = self.ctx.calibrator
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
            # the cut-off is per photo (its own background), so a few passing photos can sit below
            # failing ones: look further while the tail still yields some, up to 16x the limit
            if keep.sum() >= limit or k >= total or k >= 16 * limit or not keep[len(keep) // 2:].any():
                break
            k *= 2
        return Ranked(self.name, ids[keep][:limit], scores[keep][:limit])


class SearchService:
    """Text, image and filter search over one library; also the query compiler that tags and albums use."""

    def __init__(self, ctx: LibraryContext) -> None:
        self.ctx = ctx
        self.catalog = ctx.catalog
        self.sources: list[EvidenceSource] = [VisualEvidence(ctx)]

    # -- queries ----------------------------------------------------------------------------

    def compile(self, query: Query) -> CompiledQuery:
        """Embed a parsed query's terms."""
        calibrator = self.ctx.calibrator if (query.positive or query.negative) else None
        vector = background = None
        if query.positive:
            terms = np.stack([self.ctx.text_vector(t.text) for t in query.positive])
            weights = np.array([t.weight for t in query.positive], np.float32)
            mixed = (weights[:, None] * terms).sum(axis=0)
            vector = (mixed / max(float(np.linalg.norm(mixed)), 1e-12)).astype(np.float32)
            background = calibrator.background(np.concatenate([terms, vector[None]]))
        negatives = []
        for term in query.negative:
            v = self.ctx.text_vector(term.text)
            negatives.append((v, calibrator.background(v[None]), term.weight))
        return CompiledQuery(query, vector, background, negatives)

    def search(self, text: str, limit: int = 50, show_all: bool = False) -> list[Hit]:
        """Photos matching a query (see core.query.HELP), best first, above the relevance cut-off
        unless *show_all*. Filters restrict an exact search, so they never lose true matches."""
        query = parse(text or "")
        if not (query.positive or query.negative or query.filters):
            raise UsageError("The search query is empty.")
        vectors = self.ctx.vectors()
        if vectors is None or len(vectors) == 0:
            return []
        allowed = np.asarray(self.catalog.filter_photo_ids(query.filters), np.int64) if query.filters else None
        compiled = self.compile(query)
        if compiled.vector is None:  # filters (and maybe negatives) only: newest first
            return self._listing(compiled, allowed, limit)
        ranked = fuse([source.rank(compiled, allowed, limit, show_all) for source in self.sources], limit)
        found = self.paths_of([i for i, _, _ in ranked])
        return [Hit(i, found[i], s, matched) for i, s, matched in ranked if i in found]

    def _listing(self, compiled: CompiledQuery, allowed: np.ndarray | None, limit: int) -> list[Hit]:
        vectors = self.ctx.vectors()
        with vectors.locked():  # ids and their vectors from one state (live sync removes photos)
            embedded = np.sort(vectors.ids())
            ids = embedded if allowed is None else np.intersect1d(allowed, embedded)
            found = vectors.vectors(ids) if compiled.negatives and len(ids) else None
        if found is not None:
            ids = ids[~compiled.excluded(self.ctx.calibrator, found)]
        photos = self.catalog.photos_by_ids(ids.tolist())
        ordered = sorted(photos.values(), key=lambda p: p.path)
        ordered.sort(key=lambda p: p.taken_at or "", reverse=True)  # newest first, undated last, stable
        return [Hit(p.id, p.path, 1.0, ("filter",)) for p in ordered[:limit]]

    # -- images -----------------------------------------------------------------------------

    def similar(self, path: str | os.PathLike[str], limit: int = 50) -> list[Hit]:
        """Photos most similar to *path*: a library photo (left out of its own results) or any image file."""
        vectors = self.ctx.vectors()
        if vectors is None or len(vectors) == 0:
            return []
        photo = self.catalog.photo_by_path(path)
        if photo is not None and photo.id in vectors:
            return self.nearest(vectors.vectors([photo.id])[0], limit, exclude=(photo.id,))
        return self.nearest(self.image_vector(path), limit, exclude=(photo.id,) if photo is not None else ())

    def nearest(self, query: np.ndarray, limit: int, exclude: tuple[int, ...] = (),
                allowed: np.ndarray | None = None) -> list[Hit]:
        """kNN around a unit vector, then paths from the catalog (ids deleted meanwhile are dropped)."""
        vectors = self.ctx.vectors()
        if vectors is None or len(vectors) == 0:
            return []
        ids, scores = vectors.search(query, limit, allowed=allowed, exclude=exclude)
        found = self.paths_of(ids.tolist())
        return [Hit(int(i), found[int(i)], float(s), ("visual",)) for i, s in zip(ids, scores) if int(i) in found]

    def image_vector(self, path: str | os.PathLike[str]) -> np.ndarray:
        """Embed any image file with the library's model (raises UsageError if it is unusable)."""
        if not Path(path).is_file():
            raise NotInLibrary(f"{paths.display(path)} is neither a photo of this library nor an image file.")
        embedder = self.ctx.embedder
        try:
            decoded = open_image(path, min_side=embedder.image_size)
        except ImageError as err:
            raise UsageError(f"Cannot use {paths.display(path)} as a query image: {err}.") from None
        return embedder.encode_images(embedder.collate([embedder.preprocess(decoded.image)]))[0]

    # -- vectors for tags and albums --------------------------------------------------------

    def embedded_ids(self) -> np.ndarray:
        """Ids of every photo with an embedding of the library's model, ascending."""
        vectors = self.ctx.vectors()
        return np.sort(vectors.ids()) if vectors is not None else np.empty(0, np.int64)

    def vectors_of(self, ids: Sequence[int]) -> np.ndarray:
        """Unit vectors of photos (all must be embedded)."""
        return self.ctx.vectors().vectors([int(i) for i in ids])

    def is_embedded(self, photo_id: int) -> bool:
        """True when the photo has a vector of the library's model."""
        vectors = self.ctx.vectors()
        return vectors is not None and photo_id in vectors

    def paths_of(self, ids: Sequence[int]) -> dict[int, str]:
        """Photo id -> path (ids no longer in the library are left out)."""
        return {i: p.path for i, p in self.catalog.photos_by_ids(list(ids)).items()}
