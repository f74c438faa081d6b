"""Few-shot refinement on Fashion-MNIST: top-tag accuracy of a 10-class prompt set, zero-shot vs. after
accepting 10 photos per class (the CLIP paper's linear probe, blended with the zero-shot prior).

    python bench/bench_fewshot.py [--shots 10] [--seeds 3]

Builds a temporary library of the 10k test split with the bundled tiny model (about a minute).
Accuracy counts an untagged photo as wrong and leaves the labelled photos out.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

from common import machine, save_report

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from photosense import Library  # noqa: E402
from photosense import fashion_mnist as fm  # noqa: E402
from photosense.core.promptsets import parse  # noqa: E402

SET_TOML = "name = \"fashion\"\n" + "".join(f'[labels."{n}"]\n' for n in fm.CLASS_NAMES)


def top_tag_accuracy(lib: Library, truth: dict[str, int], skip: set[str]) -> float:
    tags = dict(lib.tags.all())
    scored = [p for p in truth if p not in skip]
    return float(np.mean([bool(tags.get(p)) and tags[p][0].label == fm.CLASS_NAMES[truth[p]] for p in scored]))


def fewshot_gain(lib: Library, photos: list, shots: int, seed: int) -> tuple[float, float]:
    """(zero-shot, few-shot) top-tag accuracy on the photos not labelled."""
    truth = {str(p.path): p.label for p in photos}
    lib.tags.remove("fashion") if any(s["name"] == "fashion" for s in lib.tags.sets()) else None
    lib.tags.apply(parse(SET_TOML, "fashion set"))
    labels = np.array([p.label for p in photos])
    picks = fm.stratified_indices(labels, shots, seed=seed)
    chosen = {str(photos[i].path) for i in picks}
    zero = top_tag_accuracy(lib, truth, chosen)
    for c, name in enumerate(fm.CLASS_NAMES):
        paths = [str(photos[i].path) for i in picks if labels[i] == c]
        lib.tags.accept(f"fashion/{name}", paths, retag=c == len(fm.CLASS_NAMES) - 1)
    return zero, top_tag_accuracy(lib, truth, chosen)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shots", type=int, default=10)
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    split = fm.load("test")
    with tempfile.TemporaryDirectory() as tmp, Library.open(Path(tmp) / "lib", model="tiny-fashion") as lib:
        photos = fm.write_library(Path(tmp) / "photos", split, np.arange(len(split.labels)))
        lib.index([Path(tmp) / "photos"])
        rows = [fewshot_gain(lib, photos, args.shots, seed) for seed in range(args.seeds)]
    zero, few = np.mean(rows, axis=0)
    lines = [f"machine: {machine()}",
             f"Fashion-MNIST test split, {len(photos)} photos, tiny-fashion model, {args.shots} accepted "
             f"photos per class, {args.seeds} seeds",
             f"baseline zero-shot top-tag accuracy: {zero:.3f}",
             f"few-shot (probe + zero-shot prior):  {few:.3f}  ({100 * (few - zero):+.1f} points)"]
    for seed, (z, f) in enumerate(rows):
        lines.append(f"  seed {seed}: {z:.3f} -> {f:.3f}")
    print("\n".join(lines))
    save_report("fewshot", {"photos": len(photos), "shots": args.shots, "seeds": args.seeds,
                            "zero_shot": round(float(zero), 4), "few_shot": round(float(few), 4),
                            "per_seed": [[round(z, 4), round(f, 4)] for z, f in rows]})


if __name__ == "__main__":
    main()
