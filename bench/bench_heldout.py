"""Held-out quality of every bundled model (issue 13), with the calibration before the null phrases as the baseline.

    python bench/bench_heldout.py [--models tiny-fashion tiny-fashion-wide]

For each model: a 1,000-photo library of the Fashion-MNIST test split (100 per class, indexed
once), then with the current calibration and with the baseline (no null phrases in a query's
background, synonyms judged against the median word, every prompt of a label in its ensemble: the
calibration before issue 13) it prints
the mean precision@20 over the held-out phrasings of tests/data/heldout_queries.toml, the hits of
the unknown/absent queries (target: at most 5 each), smart-album precision/recall of the held-out
descriptions, and the top-tag accuracy of the user-style prompt set (tests/data/user_wardrobe.toml).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from common import machine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from photosense import Library  # noqa: E402
from photosense.core.calibration import Calibrator  # noqa: E402
import heldout_eval as he  # noqa: E402


def measure(lib, photos) -> dict:
    precision = he.phrasing_precision(lib, photos)
    unknown = he.unknown_hits(lib)
    return {"precision": precision, "unknown": unknown, "albums": he.album_quality(lib, photos),
            "tags": he.user_set_accuracy(lib, photos)}


def report(model: str, name: str, r: dict) -> None:
    over = {q: n for q, n in r["unknown"].items() if n > he.MAX_UNKNOWN_HITS}
    worst = sorted(r["precision"].items(), key=lambda kv: kv[1])[:5]
    print(f"  {name:9s} precision@20 {he.mean(r['precision'].values()):.3f} over {len(r['precision'])} phrasings "
          f"(worst: {', '.join(f'{q!r} {p:.2f}' for q, p in worst)})")
    print(f"  {name:9s} unknown queries over {he.MAX_UNKNOWN_HITS} hits: {len(over)} of {len(r['unknown'])} {over}; "
          f"total hits {sum(r['unknown'].values())}")
    print(f"  {name:9s} albums (precision, recall): "
          + ", ".join(f"{d!r} {p:.3f}/{rc:.3f}" for d, (p, rc) in r["albums"].items()))
    print(f"  {name:9s} user-style prompt set top-tag accuracy {r['tags']:.3f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=["tiny-fashion", "tiny-fashion-wide"])
    args = ap.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        photos = he.write_library(Path(tmp) / "photos")
        for model in args.models:
            print(f"{model}:")
            with Library.open(Path(tmp) / f"lib-{model}", model=model) as lib:
                lib.index([Path(tmp) / "photos"])
                current = measure(lib, photos)
            real_nulls = Calibrator.nulls
            Calibrator.nulls = lambda self, texts: None  # the baseline: no null phrases
            real_generic = Calibrator.generic_prompts  # ... and every prompt of a label in its ensemble
            Calibrator.generic_prompts = lambda self, prompts: [False] * len(prompts)
            try:
                with Library.open(Path(tmp) / f"lib-{model}", model=model) as lib:
                    baseline = measure(lib, photos)
            finally:
                Calibrator.nulls = real_nulls
                Calibrator.generic_prompts = real_generic
            report(model, "baseline", baseline)
            report(model, "current", current)
    return 0


if __name__ == "__main__":
    sys.exit(main())
