"""The held-out quality measures of issue 13 (tests/data/heldout_queries.toml, user_wardrobe.toml) on a library.

Used by tests/test_quality_heldout.py (the targets) and bench/bench_heldout.py (the figures of every
bundled model). The library is a 1,000-photo slice of the Fashion-MNIST test split (100 per class).
"""
from __future__ import annotations

import tomllib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

import fashion_mnist as fm

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
LIBRARY_PER_CLASS = 100
LIBRARY_SEED = 13  # which test photos: fixed, unrelated to any seed used in training
MAX_UNKNOWN_HITS = 5


def heldout() -> dict:
    """The held-out queries: {"phrasings": {class: [query]}, "albums": {class: description}, "unknown": {...}}."""
    return tomllib.loads((DATA / "heldout_queries.toml").read_text())


def user_set_source() -> str:
    """The user-style prompt set (TOML text)."""
    return (DATA / "user_wardrobe.toml").read_text()


def write_library(dest: Path) -> list[fm.GeneratedPhoto]:
    """The 1,000 test-split photos (100 per class) as files under *dest*."""
    split = fm.load("test")
    return fm.write_library(dest, split, fm.stratified_indices(split.labels, LIBRARY_PER_CLASS, LIBRARY_SEED))


def phrasing_precision(library, photos, k: int = 20) -> dict[str, float]:
    """Precision@k of every held-out phrasing (fewer than k hits count as misses)."""
    truth = {str(p.path): p.label for p in photos}
    out = {}
    for name, queries in heldout()["phrasings"].items():
        label = fm.CLASS_NAMES.index(name)
        for query in queries:
            hits = library.search(query, limit=k, stack=False)
            out[query] = sum(truth.get(h.path) == label for h in hits) / k
    return out


def album_quality(library, photos) -> dict[str, tuple[float, float]]:
    """(precision, recall) of a smart album per held-out description."""
    truth = {str(p.path): p.label for p in photos}
    out = {}
    for name, description in heldout()["albums"].items():
        label = fm.CLASS_NAMES.index(name)
        album = f"heldout {name}"
        library.albums.create(album, description)
        shown = [h.path for h in library.albums.photos(album, stack=False)]
        library.albums.delete(album)
        right = sum(truth.get(p) == label for p in shown)
        out[description] = (right / max(len(shown), 1), right / sum(v == label for v in truth.values()))
    return out


def unknown_hits(library, queries: Sequence[str] | None = None) -> dict[str, int]:
    """How many photos each unknown/absent query (default: the held-out ones) returns above the cut-off."""
    queries = heldout()["unknown"]["queries"] if queries is None else queries
    return {q: len(library.search(q, limit=1000, stack=False)) for q in queries}


def user_set_accuracy(library, photos) -> float:
    """Top-tag accuracy of the user-style prompt set (untagged = wrong)."""
    from photosense.core.promptsets import parse

    library.tags.apply(parse(user_set_source(), "user_wardrobe.toml"))
    accuracy = fm.top_tag_accuracy(library, photos, "wardrobe")
    library.tags.remove("wardrobe")
    return accuracy


def mean(values) -> float:
    return float(np.mean(list(values)))
