#!/usr/bin/env python3
"""OCR stage throughput on a mixed library: the gated reader against the engine on every photo, same run.

    .venv/bin/python bench/bench_ocr.py [--n 40] [--device cpu|cuda] [--threads N]

The library (made once, kept in bench/out): 30 % text images - half 1920x1080 screenshots (PNG), half
12 MP photos with a sign (JPEG) - and 70 % 12 MP photos without text (JPEG), from tests/text_images.py
with a seed of its own (neither the tuning nor the held-out split). Both sides read every file from
disk in one process with one reader (models loaded before the clock starts):

* baseline, ungated: ``TextReader.read_path(path, gate=False)``: decode at OCR size, detector and
  recognizer on every photo;
* PhotoSense, gated: ``TextReader.read_path(path)``: a small decode and the detector on a downscale
  first; the full-size detector and the recognizer only where that gate finds text.

Printed: photos per second of each (goal: gated >= 3x the baseline), the gate's recall on the text
images (goal: no text image lost), the words read by each side, and the gate's own cost on photos
without text. JSON in bench/out/ocr.json.

Hooks for after integration (the OCR stage in the indexer, FTS5 and fused search, built elsewhere):
"indexing photos without text slows < 15 %" and "search p95 < 50 ms at 100k photos with text" are
reported as null in the JSON until a run of the integrated pipeline fills them in.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from common import OUT, ROOT, machine, save_report

sys.path.insert(0, str(ROOT / "tests"))

import text_images as ti  # noqa: E402

SEED = 7
TEXT_SHARE = 0.3


def build_library(n: int) -> tuple[Path, dict[str, tuple[str, ...]]]:
    """*n* files (30 % with text), made once; returns the folder and each file's ground-truth words."""
    folder = OUT / f"ocr-library-{n}"
    truth_file = folder / "truth.tsv"
    if truth_file.exists():
        truth = {}
        for line in truth_file.read_text().splitlines():
            name, _, words = line.partition("\t")
            truth[name] = tuple(words.split(" ")) if words else ()
        return folder, truth
    folder.mkdir(parents=True, exist_ok=True)
    print(f"writing a {n}-photo mixed library to {folder} (once)…", flush=True)
    n_text = round(n * TEXT_SHARE)
    truth = {}
    for i in range(n):
        rng = np.random.default_rng([SEED, i])
        if i < n_text and i % 2 == 0:
            img, words = ti.screenshot(rng)
            name = f"Screenshot_{i:04d}.png"
            img.save(folder / name)
        elif i < n_text:
            img, words = ti.sign_photo(rng)
            name = f"IMG_{i:04d}.jpg"
            img.save(folder / name, quality=90)
        else:
            img, words = ti.photo_background(rng, 4000, 3000, noise=int(rng.integers(4, 20))), ()
            name = f"IMG_{i:04d}.jpg"
            img.save(folder / name, quality=90)
        truth[name] = tuple(words)
    truth_file.write_text("".join(f"{k}\t{' '.join(v)}\n" for k, v in truth.items()))
    return folder, truth


def run_side(reader, folder: Path, truth: dict, gate: bool) -> dict:
    per_file = {}
    t_all = time.perf_counter()
    for name in sorted(truth):
        t0 = time.perf_counter()
        result = reader.read_path(folder / name, gate=gate)
        per_file[name] = (time.perf_counter() - t0, result)
    wall = time.perf_counter() - t_all
    text_names = [k for k, v in truth.items() if v]
    plain_names = [k for k, v in truth.items() if not v]
    words = sum(len(truth[k]) for k in text_names)
    found = sum(ti.found_words(truth[k], per_file[k][1].text) for k in text_names)
    return {
        "seconds": wall,
        "photos_per_s": len(truth) / wall,
        "text_images_kept": sum(not per_file[k][1].gated for k in text_names),
        "text_images": len(text_names),
        "plain_gated": sum(per_file[k][1].gated for k in plain_names),
        "plain": len(plain_names),
        "words_found": found,
        "words": words,
        "ms_per_plain_photo": 1000 * float(np.mean([per_file[k][0] for k in plain_names])),
        "ms_per_text_image": 1000 * float(np.mean([per_file[k][0] for k in text_names])),
        "plain_lines_read": sum(len(per_file[k][1].lines) for k in plain_names),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=40, help="photos in the library (default 40)")
    ap.add_argument("--device", choices=("cpu", "cuda"), default=None, help="default: CUDA when available")
    ap.add_argument("--threads", type=int, default=None, help="CPU threads per model call (default: all)")
    args = ap.parse_args()

    from photosense.core import ocr

    folder, truth = build_library(args.n)
    reader = ocr.create_reader(device=args.device, threads=args.threads)
    reader.read_path(folder / sorted(truth)[0], gate=False)  # warm-up: first-call allocations
    print(f"machine: {machine()}\nengine: {reader.engine} on {reader.device}, gate {reader.gate_side} px, "
          f"OCR size {ocr.OCR_MAX_SIDE} px\nlibrary: {len(truth)} photos, "
          f"{sum(bool(v) for v in truth.values())} with text\n", flush=True)
    baseline = run_side(reader, folder, truth, gate=False)
    print(f"baseline (ungated): {baseline['seconds']:.1f}s", flush=True)
    gated = run_side(reader, folder, truth, gate=True)
    print(f"gated: {gated['seconds']:.1f}s\n", flush=True)
    speedup = gated["photos_per_s"] / baseline["photos_per_s"]

    rows = [
        ("photos/s, baseline: engine on every photo", f"{baseline['photos_per_s']:.2f}"),
        ("photos/s, gated (PhotoSense)", f"{gated['photos_per_s']:.2f}"),
        ("speed-up (goal >= 3x)", f"{speedup:.1f}x"),
        ("gate recall: text images kept (goal: all)", f"{gated['text_images_kept']}/{gated['text_images']}"),
        ("plain photos skipped by the gate", f"{gated['plain_gated']}/{gated['plain']}"),
        ("ms per plain photo, baseline", f"{baseline['ms_per_plain_photo']:.0f}"),
        ("ms per plain photo, gated", f"{gated['ms_per_plain_photo']:.0f}"),
        ("ms per text image, baseline", f"{baseline['ms_per_text_image']:.0f}"),
        ("ms per text image, gated (gate + read)", f"{gated['ms_per_text_image']:.0f}"),
        ("words read, baseline", f"{baseline['words_found']}/{baseline['words']}"),
        ("words read, gated", f"{gated['words_found']}/{gated['words']}"),
        ("lines 'read' on plain photos, baseline", f"{baseline['plain_lines_read']}"),
    ]
    print(f"| {'measure':44} | {'value':>12} |")
    print(f"|{'-' * 46}|{'-' * 14}|")
    for name, value in rows:
        print(f"| {name:44} | {value:>12} |")
    path = save_report("ocr", {
        "engine": reader.engine, "device": reader.device, "gate_side": reader.gate_side,
        "ocr_max_side": ocr.OCR_MAX_SIDE, "photos": len(truth), "baseline_ungated": baseline,
        "gated": gated, "speedup": speedup,
        # filled in once the OCR stage runs inside indexing and FTS5 search exists (see the docstring)
        "indexing_without_text_slowdown": None, "search_p95_ms_100k_with_text": None,
    })
    print(f"\nwritten to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
