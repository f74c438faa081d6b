#!/usr/bin/env python3
"""Duplicate grouping at scale: ``library.duplicates.groups()`` on a 100k-photo library, beside the all-pairs
baseline (exact cosine on the same vectors, measured on a 10k subset and extrapolated).

    .venv/bin/python bench/bench_duplicates.py [--n 100000] [--subset 10000]

The library is synthesized (built once in bench/out): catalog rows, clustered 512-d embeddings (as
bench_search.py) and the stored perceptual signatures that grouping reads (as if computed earlier), with
planted groups: 1 % of the photos have an exact copy, 2 % a near copy (a nearby vector, a hash a few bits
off, smaller), 1 % start a burst of three (seconds apart). Grouping is timed from a fresh open: reading
rows, vectors and signatures, candidates, confirmation, linkage and keepers.
"""
from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from common import OUT, clustered_vectors, machine, save_report

MODEL = "ViT-B-32:none"
DIM = 512


def _signatures(rng: np.random.Generator, n: int) -> np.ndarray:
    from photosense.core import duplicates as dup

    return rng.integers(0, 2**63, (n, dup.HASHES, dup.WORDS), dtype=np.int64).astype(np.uint64)


def _flip(rng: np.random.Generator, hashes: np.ndarray, bits: int) -> np.ndarray:
    """The same hashes with *bits* bits of every hash flipped."""
    out = hashes.copy()
    for b in rng.choice(255, bits, replace=False):
        out[:, b // 64] ^= np.uint64(1) << np.uint64(int(b % 64))
    return out


def _near(rng: np.random.Generator, v: np.ndarray, cos: float) -> np.ndarray:
    noise = rng.standard_normal(len(v)).astype(np.float32)
    noise -= (noise @ v) * v
    noise /= np.linalg.norm(noise)
    return (cos * v + np.sqrt(1 - cos * cos) * noise).astype(np.float32)


def synthesize(n: int) -> tuple[Path, dict]:
    """A library of *n* photos with planted exact, near and burst groups (built once)."""
    from photosense.core.catalog import Catalog, PhotoMeta

    folder = OUT / f"duplicates-library-{n}-255"
    planted_file = folder / "planted.npz"
    if (folder / "ready").exists():
        z = np.load(planted_file)
        return folder, {k: z[k] for k in z.files}
    print(f"synthesizing a {n}-photo library in {folder} (once)…", flush=True)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(n)
    base = clustered_vectors(n, DIM, seed=n)
    hashes = _signatures(rng, n)
    digests = [rng.bytes(16) for _ in range(n)]
    sizes = rng.integers(2_000_000, 4_000_000, n)
    width = np.full(n, 4000)
    start = datetime(2015, 1, 1)
    taken = [start + timedelta(seconds=int(s)) for s in rng.integers(0, 10 * 365 * 86400, n)]
    n_exact, n_near, n_burst = n // 100, n // 50, n // 100
    order = rng.permutation(n)
    exact, near, burst = order[:n_exact], order[n_exact:n_exact + n_near], order[n_exact + n_near:][:n_burst]
    exact_pairs, near_pairs, bursts = [], [], []
    extra_v, extra_h, extra_size, extra_width = [], [], [], []

    def add(vector: np.ndarray, hashed: np.ndarray, digest: bytes, size: int, w: int, when: datetime) -> int:
        extra_v.append(vector)
        extra_h.append(hashed)
        digests.append(digest)
        extra_size.append(size)
        extra_width.append(w)
        taken.append(when)
        return n + len(extra_v) - 1

    for i in exact.tolist():
        sizes[i] = 900_000  # below the partial hash's 1 MiB: it covers the whole file, no file to read
        exact_pairs.append((i, add(base[i], hashes[i], digests[i], 900_000, 4000, taken[i])))
    for i in near.tolist():
        near_pairs.append((i, add(_near(rng, base[i], 0.97), _flip(rng, hashes[i], int(rng.integers(0, 25))),
                                  rng.bytes(16), int(sizes[i]) // 3, 2000, taken[i])))
    for i in burst.tolist():
        bursts.append([i] + [add(_near(rng, base[i], 0.96), _flip(rng, hashes[i], 50), rng.bytes(16), int(sizes[i]),
                                 4000, taken[i] + timedelta(seconds=s)) for s in (1, 3)])
    base = np.vstack([base, np.asarray(extra_v, np.float32)])
    hashes = np.vstack([hashes, np.asarray(extra_h, np.uint64)])
    sizes = np.concatenate([sizes, extra_size])
    width = np.concatenate([width, extra_width])
    total = len(base)
    catalog = Catalog(folder)
    root = catalog.add_folder("/photos")
    model_id = catalog.ensure_model(MODEL, DIM)
    catalog.set_setting("model", MODEL)
    for lo in range(0, total, 10_000):
        hi = min(total, lo + 10_000)
        catalog.add_pending(root.id, [(f"/photos/{i // 1000:04d}/IMG_{i:07d}.jpg".encode(), int(sizes[i]), i)
                                      for i in range(lo, hi)])
        first = catalog.photo_by_path(f"/photos/{lo // 1000:04d}/IMG_{lo:07d}.jpg").id
        catalog.save_indexed(model_id, [(first + k, digests[i], PhotoMeta(int(width[i]), int(width[i]) * 3 // 4,
                                         taken[i].isoformat(), "Bench Cam"), base[i])
                                        for k, i in enumerate(range(lo, hi))])
        catalog.save_signatures([(first + k, digests[i], hashes[i].astype("<u8").tobytes(), 100.0)
                                 for k, i in enumerate(range(lo, hi))])
    catalog.close()
    planted = {"exact": np.asarray(exact_pairs), "near": np.asarray(near_pairs), "bursts": np.asarray(bursts)}
    np.savez(planted_file, **planted)
    (folder / "ready").touch()
    return folder, planted


def all_pairs(vectors: np.ndarray, gate: float, block: int = 2048) -> tuple[float, set[tuple[int, int]]]:
    """The baseline: every pair's exact cosine, blocked; returns (seconds, pairs above the gate)."""
    t0 = time.perf_counter()
    found: set[tuple[int, int]] = set()
    for lo in range(0, len(vectors), block):
        sims = vectors[lo:lo + block] @ vectors.T
        a, b = np.nonzero(sims >= gate)
        found.update((int(x) + lo, int(y)) for x, y in zip(a, b) if x + lo < y)
    return time.perf_counter() - t0, found


def per_photo_search(vectors: np.ndarray, sample: int = 2000) -> float:
    """What one kNN query a photo through the library's index would cost for all of them (seconds)."""
    import tempfile

    from photosense.core.vectors import VectorIndex

    with tempfile.TemporaryDirectory() as folder:
        index = VectorIndex(Path(folder), "bench", vectors.shape[1])
        print(f"building hnswlib over {len(vectors):,} vectors (minutes on 2 cores)…", flush=True)
        index.add(np.arange(len(vectors)), vectors)
        picks = np.random.default_rng(2).choice(len(vectors), sample, replace=False)
        t0 = time.perf_counter()
        for i in picks.tolist():
            index.search(vectors[i], 17)
        return (time.perf_counter() - t0) / sample * len(vectors)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000, help="distinct photos before the planted copies")
    ap.add_argument("--subset", type=int, default=10_000, help="photos in the all-pairs baseline")
    ap.add_argument("--hnsw", action="store_true",
                    help="also time one VectorIndex.search a photo (builds the hnswlib graph: minutes)")
    args = ap.parse_args()
    from photosense import Library
    from photosense.core import duplicates as dup

    folder, planted = synthesize(args.n)
    with Library.open(folder) as lib:
        total = lib.status()["photos"]
        first = min(i for i, _ in lib.photos())
        t0 = time.perf_counter()
        groups = lib.duplicates.groups()
        group_s = time.perf_counter() - t0
        ids = lib.catalog.embedding_ids(lib.context.model_id())
        vectors = np.concatenate([m for _, m in lib.catalog.iter_vectors(lib.context.model_id(), DIM)])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    t0 = time.perf_counter()
    a, b, _ = dup.neighbour_pairs(vectors)
    ivf_s = time.perf_counter() - t0
    # the baseline and the candidates' recall against it, on the same subset
    sub = np.random.default_rng(1).choice(len(vectors), min(args.subset, len(vectors)), replace=False)
    sub = np.union1d(sub, planted["near"].ravel()[: args.subset // 20])
    base_s, truth = all_pairs(vectors[sub], dup.CANDIDATE_COSINE)
    sa, sb, _ = dup.neighbour_pairs(vectors[sub])
    found = set(zip(sa.tolist(), sb.tolist()))
    candidate_recall = len(found & truth) / max(len(truth), 1)
    baseline_100k = base_s * (total / len(sub)) ** 2
    in_group = {}
    for g in groups:
        for p in g.photos:
            in_group[p.id] = (g.kind, id(g))

    def grouped(pairs: np.ndarray, kind: str) -> float:
        ok = [in_group.get(first + int(x), (None, 0)) == in_group.get(first + int(y), (None, 1))
              and in_group.get(first + int(x), (None,))[0] == kind for x, y in pairs]
        return float(np.mean(ok)) if ok else float("nan")

    burst_ok = float(np.mean([len({in_group.get(first + int(s), (None, -1 - k))
                                   for k, s in enumerate(shots)}) == 1 for shots in planted["bursts"]]))
    kinds = {k: sum(g.kind == k for g in groups) for k in ("exact", "near", "burst")}
    hnsw_s = per_photo_search(vectors) if args.hnsw else None
    report = {"photos": total, "groups": kinds, "group_s": group_s, "ivf_candidates_s": ivf_s,
              "ivf_pairs": int(len(a)), "baseline_subset": int(len(sub)), "baseline_subset_s": base_s,
              "baseline_extrapolated_s": baseline_100k, "candidate_recall_vs_all_pairs": candidate_recall,
              "all_pairs_above_gate_in_subset": len(truth), "planted_exact_grouped": grouped(planted["exact"], "exact"),
              "planted_near_grouped": grouped(planted["near"], "near"), "planted_bursts_stacked": burst_ok,
              "per_photo_vector_index_search_extrapolated_s": hnsw_s}
    rows = [(f"{total:,} photos: groups() from a fresh open (goal <= 60 s)", f"{group_s:.1f} s"),
            ("candidates alone (inverted file over the embeddings)", f"{ivf_s:.1f} s"),
            (f"baseline: all-pairs cosine on {len(sub):,}", f"{base_s:.1f} s"),
            (f"baseline extrapolated to {total:,} (x{(total / len(sub)) ** 2:.0f})", f"{baseline_100k:.0f} s"),
            ("candidate recall vs all pairs (subset, cos >= gate)", f"{candidate_recall:.4f} of {len(truth)}"),
            ("planted exact / near pairs grouped", f"{report['planted_exact_grouped']:.3f} / "
                                                   f"{report['planted_near_grouped']:.3f}"),
            ("planted bursts stacked whole", f"{burst_ok:.3f}"),
            ("groups found (exact, near, burst)", f"{kinds['exact']}, {kinds['near']}, {kinds['burst']}")]
    if hnsw_s is not None:
        rows.append(("one VectorIndex.search(v, 16) a photo, extrapolated", f"{hnsw_s:.0f} s"))
    print(f"\nmachine: {machine()}")
    print(f"| {'measure':58} | {'value':>22} |")
    print(f"|{'-' * 60}|{'-' * 24}|")
    for name, value in rows:
        print(f"| {name:58} | {value:>22} |")
    print(f"\nwritten to {save_report('duplicates', report)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
