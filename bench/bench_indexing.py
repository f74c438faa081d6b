#!/usr/bin/env python3
"""Indexing throughput: PhotoSense's pipeline against open_clip's README loop, in the same run.

    .venv/bin/python bench/bench_indexing.py [--images 240] [--model ViT-B-32:none] [--device cpu]

Both sides are whole processes (imports, model creation, decoding, encoding; PhotoSense also
writes its catalog and vector index) over the same camera-sized 4000x3000 JPEGs. Also printed:
the model-only ceiling (encoding ready tensors, batch 32) and decode+preprocess throughput with
1 and N threads, which shows that decoding is not serialized by the GIL.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import ROOT, camera_photos, machine, run, save_report


def decode_rate(files: list[Path], embedder, threads: int) -> float:
    from photosense.core.media import open_image

    def work(path: Path):
        return embedder.preprocess(open_image(path, min_side=embedder.image_size).image)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, files))
    return len(files) / (time.perf_counter() - t0)


def model_ceiling(embedder, batch: int = 32, rounds: int = 4) -> float:
    import torch

    x = torch.randn(batch, 3, embedder.image_size, embedder.image_size)
    embedder.encode_images(x)  # warm-up
    t0 = time.perf_counter()
    for _ in range(rounds):
        embedder.encode_images(x)
    return batch * rounds / (time.perf_counter() - t0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=240)
    ap.add_argument("--model", default="ViT-B-32:none")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    arch = args.model.split(":")[0]
    folder = camera_photos(args.images)
    files = sorted(folder.glob("*.jpg"))[: args.images]
    print(f"machine: {machine()}\n{len(files)} JPEGs of 4000x3000 in {folder}", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        subset = Path(tmp) / "photos"
        subset.mkdir()
        for f in files:
            (subset / f.name).symlink_to(f)
        baseline_s, _ = run([sys.executable, str(ROOT / "bench" / "naive_loop.py"), arch, str(subset),
                                   args.device])
        print(f"baseline (open_clip README loop): {baseline_s:.1f}s, {len(files) / baseline_s:.2f} img/s",
              flush=True)
        ours_s, result = run([sys.executable, "-m", "photosense", "--library", str(Path(tmp) / "lib"),
                              "index", str(subset), "--model", args.model, "--device", args.device, "--json",
                              "--no-text"])
        summary = json.loads(result.stdout)
        assert summary["indexed"] == len(files), summary
        print(f"photosense index --no-text: {ours_s:.1f}s, {len(files) / ours_s:.2f} img/s", flush=True)
        # the same with the text stage (the default): these photos have no text, so this is the gate's cost
        text_s, result = run([sys.executable, "-m", "photosense", "--library", str(Path(tmp) / "lib-text"),
                              "index", str(subset), "--model", args.model, "--device", args.device, "--json"])
        text_summary = json.loads(result.stdout).get("text") or {}
        print(f"photosense index (with the text stage): {text_s:.1f}s, {len(files) / text_s:.2f} img/s, "
              f"text read in {text_summary.get('seconds')}s", flush=True)

    from photosense.core import config
    from photosense.core.embedder import Embedder

    embedder = Embedder(args.model, config.model_cache_dir(), device=args.device)
    embedder.load()
    ceiling = model_ceiling(embedder)
    sample = files[: min(48, len(files))]
    decode_1 = decode_rate(sample, embedder, 1)
    threads = os.cpu_count() or 2
    decode_n = decode_rate(sample, embedder, threads)
    speedup = baseline_s / ours_s
    print()
    print(f"| {'measure':48} | {'value':>14} |")
    print(f"|{'-' * 50}|{'-' * 16}|")
    rows = [
        ("baseline: open_clip README loop (whole process)", f"{len(files) / baseline_s:.2f} img/s"),
        ("photosense index --no-text (whole process)", f"{len(files) / ours_s:.2f} img/s"),
        ("... with the text stage (goal: < 15 % slower)", f"{len(files) / text_s:.2f} img/s, "
                                                          f"+{100 * (text_s / ours_s - 1):.0f} %"),
        ("speed-up over the baseline (goal >= 4x)", f"{speedup:.1f}x"),
        ("model-only ceiling (ready tensors, batch 32)", f"{ceiling:.1f} img/s"),
        ("decode + preprocess, 1 thread", f"{decode_1:.1f} img/s"),
        (f"decode + preprocess, {threads} threads", f"{decode_n:.1f} img/s"),
    ]
    for name, value in rows:
        print(f"| {name:48} | {value:>14} |")
    path = save_report("indexing", {
        "images": len(files), "model": args.model, "device": args.device,
        "baseline_img_s": len(files) / baseline_s, "photosense_img_s": len(files) / ours_s,
        "with_text_stage_img_s": len(files) / text_s, "text_stage_s": text_summary.get("seconds"),
        "speedup": speedup, "model_ceiling_img_s": ceiling, "decode_1_thread_img_s": decode_1,
        "decode_threads": threads, "decode_n_threads_img_s": decode_n})
    print(f"\nwritten to {path}")
    return 0 if speedup >= 4 else 1  # the >= 4x goal is for the 2-core CPU machine


if __name__ == "__main__":
    sys.exit(main())
