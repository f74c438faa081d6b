#!/usr/bin/env python3
"""Search latency: end-to-end text search through the Python API, beside numpy exact search and
hnswlib kNN at 1M vectors, all in the same run.

    .venv/bin/python bench/bench_search.py [--sizes 10000,100000] [--million/--no-million]

Libraries are synthesized (catalog rows and clustered 512-d embeddings, no images) and searched
with ViT-B-32's text tower (random weights: the same compute as the real model). A search is
timed from the query string to hits with paths: prompt-ensemble text encoding, kNN, catalog lookup.
Every query is different, so the text cache never helps.
"""
from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np

from common import OUT, clustered_vectors, machine, percentile, save_report

MODEL = "ViT-B-32:none"
ADJECTIVES = ["red", "old", "small", "happy", "wet", "bright", "foggy", "snowy", "busy", "quiet", "golden",
              "empty"]
NOUNS = ["dog", "beach", "car", "mountain", "kitchen", "street", "birthday cake", "bicycle", "forest",
         "city at night", "wedding", "cat on a sofa"]


def synthesize_library(n: int, dim: int = 512) -> Path:
    """A library of *n* photos with clustered embeddings (built once, kept in bench/out)."""
    from photosense.core.catalog import Catalog, PhotoMeta

    folder = OUT / f"search-library-{n}"
    if (folder / "ready").exists():
        return folder
    print(f"synthesizing a {n}-photo library in {folder} (once)…", flush=True)
    folder.mkdir(parents=True, exist_ok=True)
    catalog = Catalog(folder)
    root = catalog.add_folder("/photos")
    model_id = catalog.ensure_model(MODEL, dim)
    catalog.set_setting("model", MODEL)
    vectors = clustered_vectors(n, dim, seed=n)
    for start in range(0, n, 10_000):
        stop = min(n, start + 10_000)
        catalog.add_pending(root.id, [(f"/photos/{i // 1000:03d}/IMG_{i:07d}.jpg".encode(), 3_000_000 + i, i)
                                      for i in range(start, stop)])
        first = catalog.photo_by_path(f"/photos/{start // 1000:03d}/IMG_{start:07d}.jpg").id
        catalog.save_indexed(model_id, [(first + j, i.to_bytes(16, "little"), PhotoMeta(4000, 3000),
                                         vectors[i]) for j, i in enumerate(range(start, stop))])
    catalog.close()
    from photosense import Library

    with Library.open(folder) as lib:
        t0 = time.perf_counter()
        index = lib.vectors()
        print(f"  vector index built in {time.perf_counter() - t0:.1f}s "
              f"({'hnswlib' if index.uses_hnsw else 'exact'})", flush=True)
        index.save()
    (folder / "ready").touch()
    return folder


def end_to_end(folder: Path, queries: list[str]) -> dict:
    from photosense import Library

    lib = Library.open(folder)
    t0 = time.perf_counter()
    lib.search("warm-up query", limit=50, show_all=True)  # loads the model and the index: not a search's cost
    open_s = time.perf_counter() - t0
    total, encode, knn = [], [], []
    for q in queries:
        t0 = time.perf_counter()
        hits = lib.search(q, limit=50, show_all=True)  # no relevance cut-off: always 50 hits to fetch
        total.append(time.perf_counter() - t0)
        assert len(hits) == 50
    for q in queries:  # the parts, on fresh text (the cache would hide encoding)
        t0 = time.perf_counter()
        vec = lib.text_vector(q + " again")
        t1 = time.perf_counter()
        lib.vectors().search(vec, 50)
        t2 = time.perf_counter()
        encode.append(t1 - t0)
        knn.append(t2 - t1)
    lib.close()
    ms = 1000
    return {"p50_ms": percentile(total, 50) * ms, "p95_ms": percentile(total, 95) * ms,
            "encode_p50_ms": percentile(encode, 50) * ms, "knn_p50_ms": percentile(knn, 50) * ms,
            "first_search_s": open_s}


def numpy_exact(vectors: np.ndarray, queries: np.ndarray, k: int = 50) -> tuple[float, np.ndarray]:
    times, results = [], []
    for q in queries:
        t0 = time.perf_counter()
        scores = vectors @ q
        top = np.argpartition(-scores, k)[:k]
        top = top[np.argsort(-scores[top])]
        times.append(time.perf_counter() - t0)
        results.append(top)
    return percentile(times, 50) * 1000, np.array(results)


def million(n: int = 1_000_000, dim: int = 512, queries: int = 100) -> dict:
    import hnswlib

    from photosense.core.vectors import HNSW_EF_CONSTRUCTION, HNSW_EF_MIN, HNSW_M

    vectors = clustered_vectors(n, dim, seed=7)
    rng = np.random.default_rng(1)
    q = vectors[rng.integers(0, n, queries)] + 0.3 * rng.standard_normal((queries, dim), dtype=np.float32) \
        / np.sqrt(dim)
    # float32 like the stored vectors (np.sqrt gives a float64 scalar, which would promote q and make
    # every exact search convert 1M vectors to float64: a slower baseline than numpy really is)
    q = (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)
    exact_ms, truth = numpy_exact(vectors, q)
    path = OUT / f"knn-{n}.hnsw"
    index = hnswlib.Index(space="ip", dim=dim)
    if path.exists():
        index.load_index(str(path))
        build_s = None
    else:
        print(f"building hnswlib over {n} vectors (once; several minutes on 2 cores)…", flush=True)
        index.init_index(max_elements=n, M=HNSW_M, ef_construction=HNSW_EF_CONSTRUCTION)
        t0 = time.perf_counter()
        index.add_items(vectors, np.arange(n))
        build_s = time.perf_counter() - t0
        index.save_index(str(path))
    index.set_ef(HNSW_EF_MIN)
    index.set_num_threads(1)
    times, recall = [], []
    for qi, t in zip(q, truth):
        t0 = time.perf_counter()
        labels, _ = index.knn_query(qi, k=50)
        times.append(time.perf_counter() - t0)
        recall.append(len(set(labels[0].tolist()) & set(t.tolist())) / 50)
    knn_ms = percentile(times, 50) * 1000
    return {"n": n, "numpy_exact_p50_ms": exact_ms, "hnsw_p50_ms": knn_ms, "speedup": exact_ms / knn_ms,
            "recall_at_50": float(np.mean(recall)), "build_s": build_s}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000", help="library sizes, comma-separated ('' for none)")
    ap.add_argument("--million", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--queries", type=int, default=60)
    args = ap.parse_args()
    import torch

    print(f"machine: {machine()}; torch threads {torch.get_num_threads()}", flush=True)
    queries = [f"{a} {n}" for a, n in itertools.islice(itertools.product(ADJECTIVES, NOUNS), args.queries)]
    report: dict = {"model": MODEL, "queries": len(queries), "sizes": {}}
    rows = []
    for n in (int(s) for s in args.sizes.split(",") if s):
        folder = synthesize_library(n)
        e2e = end_to_end(folder, queries)
        vectors = clustered_vectors(n, 512, seed=n)
        qv = vectors[:50] + 0.01
        qv /= np.linalg.norm(qv, axis=1, keepdims=True)
        exact_ms, _ = numpy_exact(vectors, qv)
        report["sizes"][n] = {**e2e, "numpy_exact_p50_ms": exact_ms}
        rows.append((f"{n:,} photos: search p50 / p95 (goal p95 <= 50 ms at 100k)",
                     f"{e2e['p50_ms']:.1f} / {e2e['p95_ms']:.1f} ms"))
        rows.append((f"{n:,} photos: text encoding p50 | kNN p50", f"{e2e['encode_p50_ms']:.1f} | "
                     f"{e2e['knn_p50_ms']:.2f} ms"))
        rows.append((f"{n:,} photos: numpy exact kNN p50 (baseline)", f"{exact_ms:.2f} ms"))
        print(rows[-3:], flush=True)
    if args.million:
        m = million()
        report["million"] = m
        rows.append(("1M vectors: numpy exact p50 (baseline)", f"{m['numpy_exact_p50_ms']:.1f} ms"))
        rows.append(("1M vectors: hnswlib p50, recall@50", f"{m['hnsw_p50_ms']:.2f} ms, {m['recall_at_50']:.3f}"))
        rows.append(("1M vectors: speed-up over exact (goal >= 10x)", f"{m['speedup']:.0f}x"))
    print()
    print(f"| {'measure':58} | {'value':>22} |")
    print(f"|{'-' * 60}|{'-' * 24}|")
    for name, value in rows:
        print(f"| {name:58} | {value:>22} |")
    print(f"\nwritten to {save_report('search', report)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
