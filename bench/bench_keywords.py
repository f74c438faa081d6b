#!/usr/bin/env python3
"""Search latency with words: end-to-end text search at 100k photos, 30 % of them with recognized text,
with the keyword fusion (FTS5 over text, names, folders, tags) against the same search without it
(the visual ranking alone: the baseline), in the same run.

    .venv/bin/python bench/bench_keywords.py [--size 100000] [--queries 60]

The library is bench_search.py's synthesized one (catalog rows, clustered 512-d embeddings, ViT-B-32's
text tower with random weights: the real model's compute) plus text rows written straight into the
catalog: 3-8 words per text photo from a vocabulary with a few very common words ("total", "date"),
so some queries match thousands of photos. Queries: visual phrases that no photo holds as words,
words and numbers of photos' text (rare and common), file stems and folder names. The text-vector
cache is cleared before every timed search, in both modes, and the modes alternate query by query.
The keyword fusion's own time (FTS5 lookups, evidence, RRF) is reported too: on a busy machine it is
the figure that end-to-end timings (dominated by text encoding) blur.
"""
from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np

from bench_search import ADJECTIVES, NOUNS, synthesize_library
from common import machine, percentile, save_report

COMMON = ["total", "date", "invoice", "receipt", "gate", "password", "page", "store", "price", "open"]
SYLLABLES = ["ka", "lo", "mi", "ren", "tu", "zor", "vel", "qui", "bra", "san", "dox", "pel", "ni", "gra"]


def add_text(folder: Path, share: float = 0.3, seed: int = 3) -> dict[int, str]:
    """Give *share* of the photos recognized text (once; kept in the library). Returns id -> text."""
    from photosense.core.catalog import Catalog, TextRead

    catalog = Catalog(folder)
    try:
        rows = catalog._query("SELECT photo_id, text FROM photo_text")
        if rows:
            return dict(rows)
        rng = np.random.default_rng(seed)
        ids = [i for i, _, _ in catalog.text_pending(catalog.model_id(catalog.setting("model")))]
        chosen = [i for i in ids if rng.random() < share]
        hashes = dict(catalog._query("SELECT id, hash FROM photos"))
        texts: dict[int, str] = {}
        print(f"writing text for {len(chosen)} photos (once)…", flush=True)
        t0 = time.perf_counter()
        for start in range(0, len(chosen), 5000):
            reads = []
            for i in chosen[start:start + 5000]:
                words = ["".join(rng.choice(SYLLABLES, rng.integers(2, 4))) for _ in range(rng.integers(2, 6))]
                words += list(rng.choice(COMMON, rng.integers(1, 3)))
                words.append(str(rng.integers(1000, 100000)))
                texts[i] = " ".join(words)
                reads.append(TextRead(i, bytes(hashes[i]), texts[i], ((texts[i], ((0, 0),), 0.9),), "bench"))
            catalog.save_texts(reads)
        print(f"  {len(chosen)} texts indexed in {time.perf_counter() - t0:.1f}s", flush=True)
        return texts
    finally:
        catalog.close()


def timed(lib, queries: list[str]) -> tuple[list[float], list[float], list[float]]:
    """(end-to-end fused, end-to-end visual only, the keyword fusion alone) seconds per query; the two
    modes alternate query by query, so a busy machine weighs on both alike."""
    keywords = lib.search_service.keywords
    fuse = keywords.fuse
    fusion: list[float] = []

    def timed_fuse(*args):
        t0 = time.perf_counter()
        out = fuse(*args)
        fusion.append(time.perf_counter() - t0)
        return out

    fused, base = [], []
    for n, q in enumerate(queries):
        for mode in ((True, False) if n % 2 else (False, True)):
            keywords.fuse = timed_fuse if mode else (lambda q, visual, limit, allowed, judge: visual[:limit])
            lib.context._text_vectors._cache.clear()  # every search encodes its text, in both modes
            t0 = time.perf_counter()
            lib.search(q, limit=50)
            (fused if mode else base).append(time.perf_counter() - t0)
    keywords.fuse = fuse
    return fused, base, fusion


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=40, help="queries of each kind")
    args = ap.parse_args()
    import torch

    from photosense import Library

    print(f"machine: {machine()}; torch threads {torch.get_num_threads()}", flush=True)
    folder = synthesize_library(args.size)
    texts = add_text(folder)
    rng = np.random.default_rng(8)
    picks = rng.choice(sorted(texts), args.queries, replace=False)
    kinds = {
        "visual": [f"{a} {n}" for a, n in itertools.islice(itertools.product(ADJECTIVES, NOUNS), args.queries)],
        "text words": [" ".join(rng.choice(texts[int(i)].split(), 2, replace=False)) for i in picks],
        "common word": [str(rng.choice(COMMON)) + f" {w}" for w in rng.choice(NOUNS, args.queries)],
        "file stem / folder": [f"IMG_{int(i):07d}" if n % 2 else f"{int(i) // 1000:03d}"
                               for n, i in enumerate(rng.integers(0, args.size, args.queries))],
    }
    lib = Library.open(folder)
    lib.search("warm-up query", limit=50)  # loads the model and the index: not a search's cost
    report: dict = {"size": args.size, "texts": len(texts), "kinds": {}}
    rows = []
    every_fused, every_base = [], []
    for kind, queries in kinds.items():
        fused, base, fusion = timed(lib, queries)
        every_fused += fused
        every_base += base
        ms = 1000
        figures = {"fused_p50_ms": percentile(fused, 50) * ms, "fused_p95_ms": percentile(fused, 95) * ms,
                   "baseline_p50_ms": percentile(base, 50) * ms, "baseline_p95_ms": percentile(base, 95) * ms,
                   "fusion_p50_ms": percentile(fusion, 50) * ms, "fusion_p95_ms": percentile(fusion, 95) * ms}
        report["kinds"][kind] = figures
        rows.append((f"{kind}: fused p50 / p95", f"{figures['fused_p50_ms']:.1f} / {figures['fused_p95_ms']:.1f} ms"))
        rows.append((f"{kind}: visual only p50 / p95 (baseline)",
                     f"{figures['baseline_p50_ms']:.1f} / {figures['baseline_p95_ms']:.1f} ms"))
        rows.append((f"{kind}: keyword fusion alone p50 / p95",
                     f"{figures['fusion_p50_ms']:.1f} / {figures['fusion_p95_ms']:.1f} ms"))
        print(rows[-3:], flush=True)
    lib.close()
    report["all"] = {"fused_p95_ms": percentile(every_fused, 95) * 1000,
                     "baseline_p95_ms": percentile(every_base, 95) * 1000}
    rows.append((f"all {len(every_fused)} queries: p95 fused (goal <= 50 ms) | baseline",
                 f"{report['all']['fused_p95_ms']:.1f} | {report['all']['baseline_p95_ms']:.1f} ms"))
    print()
    print(f"| {'measure':58} | {'value':>22} |")
    print(f"|{'-' * 60}|{'-' * 24}|")
    for name, value in rows:
        print(f"| {name:58} | {value:>22} |")
    print(f"\nwritten to {save_report('keywords', report)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
