#!/usr/bin/env python3
"""Peak memory: ViT-B-32 and a 100k-photo library, searching, finding similar and indexing.

    .venv/bin/python bench/bench_memory.py [--photos 100000] [--model ViT-B-32:none]

Each stage runs in a fresh process and reports its own peak RSS (``VmHWM``), so the table shows
what each part costs: the interpreter with torch and open_clip imported (the baseline every
PyTorch app pays), the model alone, and then the whole library at work: 100k embeddings in the
vector index, text searches, find-similar, and indexing 64 new camera-sized photos.
Goal: the full run peaks at <= 1.5 GB.

The synthesized library has never been grouped into stacks, as a library is once, when a version
with stacks first indexes it: that first grouping of every photo runs as a stage of its own (its
figure is reported beside the goal's), so the library stage measures a library kept up to date.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from common import OUT, ROOT, camera_photos, machine, save_report

GOAL_MB = 1536
NEW_PHOTOS = 64


def stage(name: str, library: str, model: str, photos: str) -> dict:
    """Run one stage in this process and return its figures (called in a child)."""
    import time

    from photosense.core import torch_compat

    torch_compat.ensure_torchvision_importable()
    import open_clip  # noqa: F401  (the baseline: torch + open_clip imported)

    out: dict = {}
    if name == "model":
        from photosense.core import config
        from photosense.core.embedder import Embedder

        emb = Embedder(model, config.model_cache_dir(), device="cpu")
        emb.load()
        emb.encode_texts(["a photo of a dog."])
    elif name == "stack":
        from photosense import Library

        with Library.open(library, device="cpu") as lib:
            out["stacks"] = lib.stacks.update(full=True).stacks
    elif name == "library":
        from photosense import Library

        with Library.open(library, device="cpu") as lib:
            t0 = time.perf_counter()
            # random weights: a query may find nothing above the cut-off; the work is done all the same
            out["hits"] = [len(lib.search(q, limit=50)) for q in
                           ("a dog on the beach", "red car", "birthday cake", "snowy mountain", "city at night")]
            first = lib.catalog.photo(1)
            assert first is not None
            vec = lib.catalog.embedding(first.id, lib.context.model_id())
            assert lib.vectors().search(vec, 50)
            out["searches_s"] = time.perf_counter() - t0
            summary = lib.index([photos])
            out["indexed"] = summary.indexed
            out["photos"] = lib.status()["photos"]
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM). ``ru_maxrss`` is not used: on Linux a child starts with its
    parent's figure (fork copies it, exec keeps it), so a stage would report at least its parent's size."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, default=100_000)
    ap.add_argument("--model", default="ViT-B-32:none")
    ap.add_argument("--stage", help=argparse.SUPPRESS)
    ap.add_argument("--library", help=argparse.SUPPRESS)
    ap.add_argument("--new-photos", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.stage:
        print(json.dumps(stage(args.stage, args.library, args.model, args.new_photos)))
        return 0

    from bench_search import synthesize_library

    print(f"machine: {machine()}", flush=True)
    built = synthesize_library(args.photos)
    camera = OUT / "memory-new-photos"  # exactly 64: the shared camera folder grows with other benchmarks
    if not camera.exists():
        camera.mkdir()
        for source in sorted(camera_photos(NEW_PHOTOS).glob("IMG_*.jpg"))[:NEW_PHOTOS]:
            try:
                os.link(source, camera / source.name)
            except OSError:
                shutil.copy2(source, camera / source.name)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        # a private copy: indexing adds photos, and the search benchmark's library must stay as built
        library = Path(tmp) / "library"
        subprocess.run(["cp", "-a", str(built), str(library)], check=True)
        for name in ("baseline", "model", "stack", "library"):
            child = subprocess.run(
                [sys.executable, __file__, "--stage", name, "--model", args.model, "--library", str(library),
                 "--new-photos", str(camera)],
                capture_output=True, text=True, cwd=ROOT)
            if child.returncode != 0:
                raise SystemExit(f"stage {name} failed:\n{child.stderr[-3000:]}")
            results[name] = json.loads(child.stdout.strip().splitlines()[-1])
            print(name, results[name], flush=True)
    lib = results["library"]
    rows = [
        ("baseline: python + torch + open_clip imported", f"{results['baseline']['peak_rss_mb']:.0f} MB"),
        (f"{args.model} loaded, one text encoded", f"{results['model']['peak_rss_mb']:.0f} MB"),
        (f"first grouping of {lib['photos'] - lib['indexed']:,} photos into stacks (once)",
         f"{results['stack']['peak_rss_mb']:.0f} MB"),
        (f"{lib['photos'] - lib['indexed']:,} photos: 5 searches, similar, index {lib['indexed']} new",
         f"{lib['peak_rss_mb']:.0f} MB"),
        ("goal for the full run", f"<= {GOAL_MB} MB"),
    ]
    print()
    print(f"| {'peak RSS, each stage a fresh process':60} | {'value':>10} |")
    print(f"|{'-' * 62}|{'-' * 12}|")
    for name, value in rows:
        print(f"| {name:60} | {value:>10} |")
    path = save_report("memory", {"model": args.model, "photos": args.photos, "goal_mb": GOAL_MB, **results})
    print(f"\nwritten to {path}")
    return 0 if lib["peak_rss_mb"] <= GOAL_MB else 1


if __name__ == "__main__":
    sys.exit(main())
