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
from photosense.core.catalog.words import folded_tokens, phrase, tokens
from photosense.core.query import Query, Term

RRF_K = 60  # reciprocal rank fusion's damping constant (Cormack et al. 2009)
MIN_KEYWORD_HITS = 200  # the fewest full matches taken from the index (more when the limit asks more)
# words that carry no content of their own in a search ("a photo of the beach" looks up "beach")
STOP_WORDS = frozenset(
    "a an and are as at be by for from in into is it its of on or that the this to was were with "
    "photo photos picture pictures image images pic pics shot shots".split())

# what each kind of evidence is made of, as columns of the index (text, name, folders, tags, camera)
EVIDENCE_COLUMNS = {"text": (0,), "name": (1, 2), "tag": (3, 4)}

Fused = list[tuple[int, float, tuple[str, ...]]]  # (item id, score, what matched), best first
# item ids -> (visual cosine of each that has vectors, the ids a negative term excludes visually)
Judge = Callable[[Sequence[int]], tuple[dict[int, float], set[int]]]


@dataclass(frozen=True)
class KeywordQuery:
    """A query's keyword side: FTS5 phrases, one per content word (or quoted phrase), and negatives,
    with the folded tokens of each (to match rows already fetched)."""

    units: tuple[str, ...]
    negatives: tuple[str, ...]
    unit_tokens: tuple[tuple[str, ...], ...] = ()
    negative_tokens: tuple[tuple[str, ...], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.units or self.negatives)


def _units(terms: Sequence[Term]) -> list[list[str]]:
    """The token groups of *terms*: one per content word, or one per quoted phrase (no repeats)."""
    out: list[list[str]] = []
    for term in terms:
        if term.exact:  # "exact phrase": every word, in order, stop words included
            words = tokens(term.text)
            groups = [words] if words else []
        else:  # each word its own unit; a word the tokenizer splits (IMG_2041) stays one phrase
            groups = [w for w in (tokens(word) for word in term.text.split())
                      if w and not all(t in STOP_WORDS for t in w)]
        out += [g for n, g in enumerate(groups) if g not in out and g not in groups[:n]]
    return out


def keyword_query(query: Query) -> KeywordQuery:
    """The keyword side of a parsed query."""
    units, negatives = _units(query.positive), _units(query.negative)

    def folded(groups: list[list[str]]) -> tuple[tuple[str, ...], ...]:
        return tuple(tuple(folded_tokens(" ".join(g))) for g in groups)

    return KeywordQuery(tuple(phrase(g) for g in units), tuple(phrase(g) for g in negatives),
                        folded(units), folded(negatives))


def _holds(words: Sequence[str], unit: tuple[str, ...]) -> bool:
    """True when *unit* (a phrase of tokens) appears in *words*, in order and contiguous."""
    n = len(unit)
    return any(tuple(words[k:k + n]) == unit for k in range(len(words) - n + 1)) if n else False


def matches(row: tuple[str, ...], units: Sequence[tuple[str, ...]]) -> tuple[int, tuple[str, ...]]:
    """(how many of *units* an indexed row holds, the kinds of evidence they were found in)."""
    columns = [folded_tokens(value or "") for value in row]
    found = [{kind for kind, cols in EVIDENCE_COLUMNS.items() if any(_holds(columns[c], u) for c in cols)}
             for u in units]
    kinds = set().union(*found) if found else set()
    return sum(bool(f) for f in found), tuple(k for k in EVIDENCE_COLUMNS if k in kinds)


def tied_ranks(ranked: Sequence[tuple[int, float]]) -> dict[int, int]:
    """id -> rank of (id, bm25) rows, best first, where equal scores share a rank (the number of rows
    scoring better): photos whose words match alike are then ordered by what they show."""
    out: dict[int, int] = {}
    previous, rank = None, 0
    for n, (i, score) in enumerate(ranked):
        if previous is None or abs(score - previous) > 1e-12 + 1e-9 * abs(previous):  # np.isclose's rule
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
        rows = self.catalog.keyword_rows(candidates if kq.negatives else visual_ids)
        dropped = {i for i in candidates if kq.negatives and i in rows
                   and matches(rows[i], kq.negative_tokens)[0]}
        seen = set(visual_ids)
        keyword_only = [i for i in full if i not in seen and i not in dropped]
        scores: dict[int, float] = {}
        if query.negative and keyword_only:  # a photo found by its words only may still show what -word names
            scores, excluded = judge(keyword_only)
            dropped |= excluded
        held = {i: matches(rows[i], kq.unit_tokens) for i in visual_ids if i in rows}
        # more of the query's words held, the better (a rank shared by equals)
        partial = sorted(((i, -float(n)) for i, (n, _) in held.items() if n), key=lambda r: (r[1], r[0]))
        visual_rank = {i: r for r, i in enumerate(visual_ids)}
        full_rank = {i: r for i, r in tied_ranks(ranked).items() if i not in dropped}
        partial_rank = tied_ranks(partial)
        first = sorted(full_rank, key=lambda i: (-_rrf(full_rank[i], visual_rank.get(i)), full_rank[i]))
        rest = sorted((i for i in visual_ids if i not in full_rank and i not in dropped),
                      key=lambda i: (-_rrf(visual_rank[i], partial_rank.get(i)), visual_rank[i]))
        order = (first + rest)[:limit]
        wanted = [i for i in order if i in full_rank or i in partial_rank]
        rows.update(self.catalog.keyword_rows([i for i in wanted if i not in rows]))
        evidence = {i: matches(rows[i], kq.unit_tokens)[1] for i in wanted if i in rows}
        unsure = [i for i in wanted if not evidence.get(i)]  # folded differently from the index: ask it
        if unsure:
            evidence.update(self.catalog.keyword_evidence(kq.units, unsure))
        found = {i: (s, m) for i, s, m in visual}
        unscored = [i for i in order if i not in found and i not in scores]
        if unscored:  # only the photos shown get their visual cosine
            scores.update(judge(unscored)[0])
        out: Fused = []
        for i in order:
            score, matched = found.get(i, (scores.get(i, 0.0), ()))
            out.append((i, score, tuple(matched) + tuple(evidence.get(i, ()))))
        return out
