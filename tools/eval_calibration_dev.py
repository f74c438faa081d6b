#!/usr/bin/env python3
"""Dev evaluation of the relevance cut-off (not held-out): album-style precision/recall and unknown-query hits.

    .venv/bin/python tools/eval_calibration_dev.py tiny-fashion-wide [local-dir:/tmp/new-model ...]

A 1,000-photo dev slice of the Fashion-MNIST test split (100 per class, seed 777, none of the held-out
library's photos) and dev queries written for tuning: the calibration and the second model's training
are chosen on these, never on tests/data (the held-out queries). Each known query's whole result above
the cut-off is judged against its class (precision, recall out of 100); each unknown query's hits are
counted. tools/make_negative_words.py keeps every word of these queries out of the training negatives.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]

import fashion_mnist as fm  # noqa: E402
import heldout_eval as he  # noqa: E402

SEED = 777
# known dev queries, by Fashion-MNIST label
DEV_KNOWN: dict[int, tuple[str, ...]] = {
    7: ("running shoes", "trainers", "sports shoes", "a pair of sneakers", "athletic shoes", "sneaker"),
    8: ("purses", "shoulder bags", "a handbag", "bags"),
    1: ("jeans", "slacks", "pants"),
    5: ("sandals", "flip-flops"),
    3: ("dresses", "a long dress"),
    9: ("boots", "chelsea boots"),
    4: ("jackets", "a raincoat"),
    2: ("sweaters", "a hoodie"),
    0: ("tees", "tank tops"),
    6: ("blouses", "a flannel shirt"),
}
DEV_UNKNOWN: tuple[str, ...] = (
    "a red sports car", "palm trees on a beach", "a guitar", "a sleeping dog", "a cup of tea",
    "city lights at night", "a tennis racket", "a pair of gloves", "a pair of glasses", "a bowl of soup",
    "a wooden table", "a snowy forest", "a yellow taxi", "children playing in a park", "a violin",
    "an old castle", "a plate of pasta", "a rainbow over hills", "zzxqv", "a computer keyboard",
    "a bunch of bananas", "a pair of earrings", "a horse in a field",
)


def dev_library(dest: Path) -> list[fm.GeneratedPhoto]:
    """Write the dev slice: 100 photos per class of the test split outside the held-out library."""
    split = fm.load("test")
    held = set(fm.stratified_indices(split.labels, he.LIBRARY_PER_CLASS, he.LIBRARY_SEED).tolist())
    rng = np.random.default_rng(SEED)
    picked: list[int] = []
    for label in range(len(fm.CLASS_NAMES)):
        pool = [i for i in np.flatnonzero(split.labels == label) if i not in held]
        picked += rng.choice(pool, 100, replace=False).tolist()
    order = np.array(picked)
    rng.shuffle(order)
    return fm.write_library(dest, split, order)


def measure(library, photos: list[fm.GeneratedPhoto]) -> tuple[dict[str, tuple[float, float]], dict[str, int]]:
    """(query -> (precision, recall)) for the known queries, (query -> hits) for the unknown ones."""
    truth = {str(p.path): p.label for p in photos}
    known = {}
    for label, queries in DEV_KNOWN.items():
        for query in queries:
            hits = library.search(query, limit=1000, stack=False)
            right = sum(truth.get(h.path) == label for h in hits)
            known[query] = (right / max(1, len(hits)), right / 100)
    return known, he.unknown_hits(library, DEV_UNKNOWN)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+", help="model specs (bundled names or local-dir:/path)")
    args = ap.parse_args()
    from photosense import Library

    with tempfile.TemporaryDirectory() as tmp:
        photos = dev_library(Path(tmp) / "photos")
        for n, model in enumerate(args.models):
            with Library.open(Path(tmp) / f"lib{n}", model=model) as library:
                library.index([Path(tmp) / "photos"])
                known, unknown = measure(library, photos)
            weak = {q: f"{p:.2f}/{r:.2f}" for q, (p, r) in known.items() if p < 0.8 or r < 0.8}
            print(f"{model}: mean precision {np.mean([p for p, _ in known.values()]):.3f}, mean recall "
                  f"{np.mean([r for _, r in known.values()]):.3f} over {len(known)} known dev queries")
            print(f"  under 0.8: {weak}")
            print(f"  unknown dev queries: {sum(unknown.values())} hits, over 5: "
                  f"{ {q: n for q, n in unknown.items() if n > he.MAX_UNKNOWN_HITS} }", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
