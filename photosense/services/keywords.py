"""Keyword evidence: the query's words looked up in the photos' text, names, folders, tags and camera
(the catalog's FTS5 index), and their fusion with the visual (CLIP) ranking.

The rule: photos whose keywords hold EVERY content word of the query come first (a literal match of
all the words typed - "invoice 4471", a folder "Lisbon", a file stem "IMG_2041" - is the strongest
evidence), ordered among themselves by reciprocal rank fusion of their keyword and visual ranks;
then the visual hits that passed the calibrated cut-off, which a partial keyword match may re-rank
(RRF) but never extend. A query whose words no photo holds ranks exactly as the visual search.
A ``-word`` also leaves out photos whose keywords hold it.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from photosense.core.catalog import Catalog
from photosense.core.catalog.words import phrase, tokens
from photosense.core.query import Query, Term

RRF_K = 60  # reciprocal rank fusion's damping constant (Cormack et al. 2009)
MIN_KEYWORD_HITS = 200  # the fewest full matches taken from the index (more when the limit asks more)
# words that carry no content of their own in a search ("a photo of the beach" looks up "beach")
STOP_WORDS = frozenset(
    "a an and are as at be by for from in into is it its of on or that the this to was were with "
    "photo photos picture pictures image images pic pics shot shots".split())

Fused = list[tuple[int, float, tuple[str, ...]]]  # (item id, score, what matched), best first
# item ids -> (visual cosine of each that has vectors, the ids a negative term excludes visually)
Judge = Callable[[Sequence[int]], tuple[dict[int, float], set[int]]]


@dataclass(frozen=True)
class KeywordQuery:
    """A query's keyword side: FTS5 phrases, one per content word (or quoted phrase), and negatives."""

    units: tuple[str, ...]
    negatives: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.units or self.negatives)


def _units(terms: Sequence[Term]) -> list[str]:
    out: list[str] = []
    for term in terms:
        if term.exact:  # "exact phrase": every word, in order, stop words included
            words = tokens(term.text)
            groups = [words] if words else []
        else:  # each word its own unit; a word the tokenizer splits (IMG_2041) stays one phrase
            groups = [w for w in (tokens(word) for word in term.text.split())
                      if w and not all(t in STOP_WORDS for t in w)]
        for group in groups:
            unit = phrase(group)
            if unit not in out:
                out.append(unit)
    return out


def keyword_query(query: Query) -> KeywordQuery:
    """The keyword side of a parsed query."""
    return KeywordQuery(tuple(_units(query.positive)), tuple(_units(query.negative)))


def tied_ranks(ranked: Sequence[tuple[int, float]]) -> dict[int, int]:
    """id -> rank of (id, bm25) rows, best first, where equal scores share a rank (the number of rows
    scoring better): photos whose words match alike are then ordered by what they show."""
    out: dict[int, int] = {}
    previous, rank = None, 0
    for n, (i, score) in enumerate(ranked):
        if previous is None or not np.isclose(score, previous, rtol=1e-9, atol=1e-12):
            previous, rank = score, n
        out[i] = rank
    return out


def _rrf(*ranks: int | None) -> float:
    return sum(1.0 / (RRF_K + r + 1) for r in ranks if r is not None)


class KeywordEvidence:
    """Ranks photos by FTS5 bm25 for the query's words and fuses them with the visual ranking."""

    name = "keywords"

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def fuse(self, query: Query, visual: Fused, limit: int, allowed: np.ndarray | None, judge: Judge) -> Fused:
        """The visual ranking (*visual*, already under the cut-off) with the keyword evidence fused in.
        *allowed*: the ids the query's filters allow (None: all); *judge* scores photos found only by
        their keywords (and says which a negative term excludes visually)."""
        kq = keyword_query(query)
        if not kq:
            return visual[:limit]
        ranked: list[tuple[int, float]] = []
        if kq.units:
            cap = max(MIN_KEYWORD_HITS, 4 * limit)
            ranked = self.catalog.keyword_ranked(" AND ".join(kq.units), cap)
            if allowed is not None:
                allow = set(allowed.tolist())
                ranked = [(i, s) for i, s in ranked if i in allow]
        full = [i for i, _ in ranked]
        visual_ids = [i for i, _, _ in visual]
        candidates = list(dict.fromkeys(full + visual_ids))
        dropped: set[int] = set()
        if kq.negatives and candidates:
            dropped = {i for i, _ in self.catalog.keyword_among(" OR ".join(kq.negatives), candidates)}
        seen = set(visual_ids)
        keyword_only = [i for i in full if i not in seen and i not in dropped]
        scores: dict[int, float] = {}
        if query.negative and keyword_only:  # a photo found by its words only may still show what -word names
            scores, excluded = judge(keyword_only)
            dropped |= excluded
        partial = (self.catalog.keyword_among(" OR ".join(kq.units), visual_ids)
                   if kq.units and visual_ids else [])
        visual_rank = {i: r for r, i in enumerate(visual_ids)}
        full_rank = {i: r for i, r in tied_ranks(ranked).items() if i not in dropped}
        partial_rank = tied_ranks(partial)
        first = sorted(full_rank, key=lambda i: (-_rrf(full_rank[i], visual_rank.get(i)), full_rank[i]))
        rest = sorted((i for i in visual_ids if i not in full_rank and i not in dropped),
                      key=lambda i: (-_rrf(visual_rank[i], partial_rank.get(i)), visual_rank[i]))
        order = (first + rest)[:limit]
        evidence = self.catalog.keyword_evidence(kq.units, [i for i in order if i in full_rank or i in partial_rank])
        found = {i: (s, m) for i, s, m in visual}
        unscored = [i for i in order if i not in found and i not in scores]
        if unscored:  # only the photos shown get their visual cosine
            scores.update(judge(unscored)[0])
        out: Fused = []
        for i in order:
            score, matched = found.get(i, (scores.get(i, 0.0), ()))
            out.append((i, score, tuple(matched) + tuple(evidence.get(i, ()))))
        return out
