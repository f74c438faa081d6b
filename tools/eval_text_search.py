#!/usr/bin/env python3
"""End-to-end word search on generated text images (real OCR, the bundled tiny model): how often a
distinctive word of an image finds it first, and every miss with what was read, on a seed of your choice.

    .venv/bin/python tools/eval_text_search.py [--seed 7] [--per-kind 6] [--plain 120]

tests/test_text_search_quality.py runs the same measure on its own fresh seed; work on other seeds here
(e.g. the OCR tuning seed 11 or any new one) so that the test stays held out.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from helpers import TINY_MODEL, fashion_images, save  # noqa: E402
from test_text_search_quality import distinctive  # noqa: E402
from text_images import TEXT_KINDS, generate  # noqa: E402

from photosense import Library  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--per-kind", type=int, default=6)
    ap.add_argument("--plain", type=int, default=120, help="Fashion-MNIST photos without text")
    args = ap.parse_args()
    images = [i for i in generate(args.seed, per_kind=args.per_kind, photo_size=(2000, 1500))
              if i.kind in TEXT_KINDS or i.kind in ("plain", "fashion-plain")]
    with tempfile.TemporaryDirectory() as tmp:
        photos = Path(tmp) / "photos"
        paths = {}
        for img in images:
            fmt = "png" if img.kind == "screenshot" else "jpg"
            paths[img.name] = save(img.image, photos / img.kind / f"{img.name}.{fmt}")
        for k, (image, _) in enumerate(fashion_images(args.plain, seed=5, size=224)):
            save(image, photos / "wardrobe" / f"f{k:04d}.jpg")
        with Library.open(Path(tmp) / "library", model=TINY_MODEL) as lib:
            lib.index([photos])
            lib.read_text()
            queries = distinctive(images)
            kinds = {img.name: img.kind for img in images}
            per_kind: dict[str, list[int]] = {}
            for name, words in queries.items():
                for word in words:
                    hits = lib.search(word, limit=5)
                    ok = bool(hits) and hits[0].path == str(paths[name]) and "text" in hits[0].matched
                    per_kind.setdefault(kinds[name], [0, 0])[0] += ok
                    per_kind[kinds[name]][1] += 1
                    if not ok:
                        first = Path(hits[0].path).name if hits else None
                        read = lib.text_of(paths[name]).replace("\n", " | ")
                        print(f"miss [{kinds[name]}] {word!r} in {name} (first: {first}): read {read[:150]!r}")
    found = sum(f for f, _ in per_kind.values())
    total = sum(t for _, t in per_kind.values())
    for kind, (f, t) in sorted(per_kind.items()):
        print(f"  {kind:14} {f}/{t}")
    print(f"seed {args.seed}: distinctive word first {found}/{total} = {found / total:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
