#!/usr/bin/env python3
"""Compare OCR engines on the generated text images: word recall per kind and seconds per image.

    .venv/bin/python tools/eval_ocr.py [--split tuning|held-out] [--per-kind 4] \
        [--engines rapidocr,tesseract-11,tesseract-3,photosense]
    .venv/bin/python tools/eval_ocr.py --gate 480,640,960      # the gate alone at several sizes

Engines: ``rapidocr`` (rapidocr_onnxruntime's own pipeline, PP-OCRv4), ``tesseract-11`` and
``tesseract-3`` (the Debian ``tesseract`` command with that --psm; not a PhotoSense dependency) and
``photosense`` (photosense.core.ocr: the chosen engine behind the gate, as the app runs it). Every engine gets the same upright RGB pixels, downscaled to
photosense.core.ocr.OCR_MAX_SIDE (what the app would hand it). Recall counts a word as read when all
its alphanumeric tokens appear in the engine's output (how the keyword index will match it).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tools")]

import text_images as ti  # noqa: E402

from photosense.core import ocr  # noqa: E402


def _fit(img: Image.Image) -> Image.Image:
    if max(img.size) <= ocr.OCR_MAX_SIDE:
        return img
    scale = ocr.OCR_MAX_SIDE / max(img.size)
    return img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.BILINEAR)


def rapidocr_engine():
    from rapidocr_onnxruntime import RapidOCR

    engine = RapidOCR()

    def read(img: Image.Image) -> str:
        result, _ = engine(np.ascontiguousarray(np.asarray(_fit(img))[:, :, ::-1]))
        return "\n".join(r[1] for r in result or [])
    return read


def tesseract_engine(psm: int):
    def read(img: Image.Image) -> str:
        with tempfile.NamedTemporaryFile(suffix=".png") as fh:
            _fit(img).save(fh.name)
            out = subprocess.run(["tesseract", fh.name, "stdout", "--psm", str(psm), "-l", "eng"],
                                 capture_output=True, text=True, check=True)
        return out.stdout
    return read


def photosense_engine():
    reader = ocr.create_reader()

    def read(img: Image.Image) -> str:
        return reader.read_image(img).text
    return read


def evaluate(read, images: list[ti.TextImage]) -> dict:
    per_kind: dict[str, dict] = {}
    for item in images:
        t0 = time.perf_counter()
        text = read(item.image)
        elapsed = time.perf_counter() - t0
        k = per_kind.setdefault(item.kind, {"words": 0, "found": 0, "seconds": 0.0, "images": 0,
                                            "with_text": 0})
        k["words"] += len(item.words)
        k["found"] += ti.found_words(item.words, text)
        k["seconds"] += elapsed
        k["images"] += 1
        k["with_text"] += bool(ti.word_tokens(text))
    words = sum(k["words"] for k in per_kind.values())
    found = sum(k["found"] for k in per_kind.values())
    return {"recall": found / max(words, 1), "words": words,
            "seconds_per_image": sum(k["seconds"] for k in per_kind.values()) / len(images),
            "per_kind": {kind: {"recall": k["found"] / k["words"] if k["words"] else None,
                                "seconds_per_image": k["seconds"] / k["images"],
                                "images_with_any_text_read": f"{k['with_text']}/{k['images']}"}
                         for kind, k in per_kind.items()}}


def evaluate_gate(sides: list[int], images: list[ti.TextImage]) -> dict:
    """Per gate side: how many text images it keeps (recall), how many plain photos it lets through,
    and what the gate costs per image (downscale + detector, pixels already in memory)."""
    out = {}
    for side in sides:
        reader = ocr.create_reader(gate_side=side)
        kept = {k: [0, 0] for k in ti.KINDS}
        seconds = []
        missed = []
        for item in images:
            t0 = time.perf_counter()
            fires = reader.gate_fires(item.image)
            seconds.append(time.perf_counter() - t0)
            kept[item.kind][0] += fires
            kept[item.kind][1] += 1
            if item.words and not fires:
                missed.append(item.name)
        text = [kept[k] for k in ti.TEXT_KINDS if kept[k][1]]
        plain = [kept[k] for k in ("plain", "fashion-plain") if kept[k][1]]
        out[side] = {"recall": sum(a for a, _ in text) / max(1, sum(b for _, b in text)),
                     "plain_passed": sum(a for a, _ in plain) / max(1, sum(b for _, b in plain)),
                     "seconds_per_image": float(np.mean(seconds)), "missed": missed,
                     "per_kind": {k: f"{a}/{b}" for k, (a, b) in kept.items() if b}}
        r = out[side]
        print(f"gate {side:5d}: keeps {r['recall']:.3f} of text images, passes {r['plain_passed']:.3f} of "
              f"plain, {r['seconds_per_image'] * 1000:.0f} ms/image  {r['per_kind']}  missed {missed}",
              flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=("tuning", "held-out"), default="tuning")
    ap.add_argument("--per-kind", type=int, default=4)
    ap.add_argument("--engines", default="rapidocr,tesseract-11,tesseract-3")
    ap.add_argument("--gate", help="comma-separated gate sides to compare instead of engines")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    seed = ti.TUNING_SEED if args.split == "tuning" else ti.HELD_OUT_SEED
    images = ti.generate(seed, per_kind=args.per_kind)
    report = {"split": args.split, "seed": seed, "images": len(images), "engines": {}}
    if args.gate:
        report["gate"] = evaluate_gate([int(x) for x in args.gate.split(",")], images)
        args.engines = ""
    makers = {"rapidocr": rapidocr_engine, "tesseract-11": lambda: tesseract_engine(11),
              "tesseract-3": lambda: tesseract_engine(3), "photosense": photosense_engine}
    for name in filter(None, args.engines.split(",")):
        res = evaluate(makers[name](), images)
        report["engines"][name] = res
        print(f"{name:14s} recall {res['recall']:.3f} of {res['words']} words, "
              f"{res['seconds_per_image']:.2f} s/image", flush=True)
        for kind, k in res["per_kind"].items():
            rec = "   -  " if k["recall"] is None else f"{k['recall']:.3f}"
            print(f"    {kind:14s} recall {rec}  {k['seconds_per_image']:.2f} s/image  "
                  f"text read on {k['images_with_any_text_read']}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
