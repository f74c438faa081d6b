#!/usr/bin/env python3
"""The indexer's text check (core/text_presence.py) against the text stage's reader, on files.

    .venv/bin/python tools/eval_text_check.py [--split tuning|held-out] [--per-kind 10] [--folder DIR ...]
        [--photo-size 8000x6000 --kinds sign,plain]

Each generated image (tests/text_images.py) is written as a user's file would be (JPEG photos, PNG
screenshots), decoded as the indexer decodes it (shorter side at least CHECK_MIN_SIDE, as for a model
of 375 px or less), and checked; the text stage's reader (gate, then
recognition) then reads the same file. A photo is *lost* when the check calls it text-free but the
reader finds text in it: the check must lose none. ``--folder`` adds real photos (any image files),
reported by name. Prints per kind: images, passed by the check, where the reader found text, lost, and
the check's milliseconds per image.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tools")]

import text_images as ti  # noqa: E402

from photosense.core import ocr, text_presence  # noqa: E402
from photosense.core.media import open_image  # noqa: E402

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp", ".gif"}


def check_file(path: Path, reader: ocr.TextReader | None) -> dict:
    """The check's verdict and cost on one file, and what the reader finds there."""
    image = open_image(path, min_side=text_presence.CHECK_MIN_SIDE).image
    t0 = time.perf_counter()
    passed = text_presence.might_have_text(image)
    ms = (time.perf_counter() - t0) * 1000
    score = text_presence.stroke_score(image)
    read = reader.read_path(path).text if reader is not None else None
    return {"passed": passed, "score": score, "ms": ms, "read": read}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=("tuning", "held-out", "none"), default="tuning")
    ap.add_argument("--per-kind", type=int, default=10)
    ap.add_argument("--folder", type=Path, action="append", default=[], help="real photos to check too")
    ap.add_argument("--no-reader", action="store_true", help="the check alone (no OCR)")
    ap.add_argument("--photo-size", default="4000x3000", help="size of the sign and plain photos (WxH)")
    ap.add_argument("--kinds", help="comma-separated kinds to generate (default: all)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    reader = None if args.no_reader else ocr.create_reader()
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.split != "none":
            seed = ti.TUNING_SEED if args.split == "tuning" else ti.HELD_OUT_SEED
            size = tuple(int(v) for v in args.photo_size.split("x"))
            kinds = tuple(args.kinds.split(",")) if args.kinds else ti.KINDS
            for item in ti.generate(seed, per_kind=args.per_kind, kinds=kinds, photo_size=size):
                path = Path(tmp) / f"{item.name}.{'png' if item.kind == 'screenshot' else 'jpg'}"
                item.image.save(path, **({} if path.suffix == ".png" else {"quality": 90}))
                rows.append({"name": item.name, "kind": item.kind, "words": item.words,
                             **check_file(path, reader)})
        for folder in args.folder:
            for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
                try:
                    rows.append({"name": path.name, "kind": "real", "words": (), **check_file(path, reader)})
                except Exception as err:  # noqa: BLE001 - a file this tool cannot open is only reported
                    print(f"  skipped {path.name}: {err}")
    kinds: dict[str, dict] = {}
    for r in rows:
        found = r["read"] is not None and bool(ti.word_tokens(r["read"]))
        k = kinds.setdefault(r["kind"], {"images": 0, "passed": 0, "reader_found_text": 0, "lost": [],
                                         "ms": 0.0, "scores": []})
        k["images"] += 1
        k["passed"] += r["passed"]
        k["reader_found_text"] += found
        k["ms"] += r["ms"]
        k["scores"].append(r["score"])
        if found and not r["passed"]:
            k["lost"].append(f"{r['name']}: {r['read']!r}")
        if r["kind"] == "real":
            print(f"  {r['name']:28s} score {r['score']:4d} {'passed' if r['passed'] else 'text-free'}"
                  + (f", reader: {r['read']!r}" if r["read"] else ""))
    for kind, k in kinds.items():
        print(f"{kind:14s} images {k['images']:3d}  passed {k['passed']:3d}  reader found text "
              f"{k['reader_found_text']:3d}  lost {len(k['lost'])}  scores {min(k['scores'])}-{max(k['scores'])}  "
              f"{k['ms'] / k['images']:.1f} ms")
        for lost in k["lost"]:
            print(f"    LOST {lost}")
        k["ms"] = round(k["ms"] / k["images"], 2)
    if args.json:
        args.json.write_text(json.dumps({"split": args.split, "kinds": kinds}, indent=2))
    return 1 if any(k["lost"] for k in kinds.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
