"""Regenerate resources/samples/: the demo's sample photos, from the Fashion-MNIST test split (MIT)."""
from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

import fashion_mnist as fm

REPO = Path(__file__).resolve().parents[1]
PER_CLASS = 20
SIDE = 128


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO / "resources" / "samples")
    parser.add_argument("--per-class", type=int, default=PER_CLASS)
    args = parser.parse_args()
    split = fm.load("test")
    indices = fm.stratified_indices(split.labels, args.per_class, seed=7)
    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("*.jpg"):
        old.unlink()
    counts: dict[int, int] = {}
    for i in indices.tolist():
        label = int(split.labels[i])
        counts[label] = counts.get(label, 0) + 1
        name = fm.CLASS_NAMES[label].replace(" ", "-")
        image = Image.fromarray(split.images[i], "L").resize((SIDE, SIDE), Image.Resampling.BICUBIC)
        image.convert("RGB").save(args.out / f"{name}-{counts[label]:02d}.jpg", "JPEG", quality=82,
                                  optimize=True)
    total = sum(p.stat().st_size for p in args.out.glob("*.jpg"))
    print(f"{sum(counts.values())} samples, {total / 1024:.0f} KiB in {args.out}")


if __name__ == "__main__":
    main()
