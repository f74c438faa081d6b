#!/usr/bin/env python3
"""Stacks in results: what folding costs a query, and what keeping stacks current costs after indexing.

    .venv/bin/python bench/bench_stacks.py [--n 100000] [--queries 200] [--batches 10,100,1000] [--text]

The library is bench_duplicates.py's synthesized one (100k photos plus planted exact, near and burst groups,
with stored signatures), copied once to bench/out/stacks-library-N with its hnswlib index built. Measured:

- the first grouping (an upgraded library: every item ungrouped, so one full pass) and an update with
  nothing new (what every indexing run pays);
- an incremental update after a batch of new photos (a tenth exact copies, a tenth near copies, a twentieth
  new burst shots, the rest unrelated), beside a full regroup; the batch is removed afterwards;
- query latency with stacking on and off, interleaved: ``similar`` (hnswlib kNN, catalog, folding; half
  the queries start inside planted groups, so their copies are in the results), a filter-only listing,
  the grid's listing of the whole library, and with ``--text`` a text search (ViT-B-32's text tower,
  random weights, as bench_search.py).
"""
from __future__ import annotations

import argparse
import shutil
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from bench_duplicates import DIM, _flip, _near, synthesize
from common import OUT, machine, percentile, save_report


def library(n: int) -> tuple[Path, dict]:
    """bench_duplicates' library, copied once, with its vector index built and saved."""
    from photosense import Library

    source, planted = synthesize(n)
    folder = OUT / f"stacks-library-{n}"
    if not (folder / "ready").exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        shutil.copy2(source / "catalog.sqlite3", folder / "catalog.sqlite3")
        print(f"building the vector index of {folder} (once; minutes on 2 cores)…", flush=True)
        with Library.open(folder) as lib:
            lib.vectors().save()
        (folder / "ready").touch()
    return folder, planted


def add_batch(lib, size: int, rng: np.random.Generator) -> tuple[int, dict]:
    """*size* new indexed photos in a folder of their own (planted copies and shots among them)."""
    from photosense.core.catalog import PhotoMeta

    from photosense.core import duplicates as dup

    catalog, model_id = lib.catalog, lib.context.model_id()
    base_path = f"/bench-new-{size}-{time.time_ns()}"
    root = catalog.add_folder(base_path)
    ids = catalog.embedding_ids(model_id)
    n_exact, n_near, n_burst = size // 10, size // 10, size // 20
    small = [i for i in ids.tolist()[:20000] if i]  # exact copies of files the partial hash covers whole
    small = [p.id for p in catalog.photos_by_ids(small).values() if p.size <= 1_000_000][:max(n_exact, 1) * 4]
    picks = rng.choice(small, n_exact, replace=False).tolist() + rng.choice(ids, size - n_exact, replace=False).tolist()
    originals = catalog.photos_by_ids(picks)
    sources = [originals[i] for i in picks]
    vectors = lib.vectors()
    base = vectors.vectors([p.id for p in sources])
    signatures = lib.catalog.signatures([p.id for p in sources])
    rows, kinds = [], {}
    new_vectors = []
    for k, p in enumerate(sources):
        sig = np.frombuffer(signatures[p.id].hashes, "<u8").reshape(dup.HASHES, dup.WORDS).astype(np.uint64)
        taken = datetime.fromisoformat(p.taken_at)
        if k < n_exact:
            kind, v, digest, h, when, width = "exact", base[k], p.hash, sig, taken, p.width
        elif k < n_exact + n_near:
            kind, v, digest, h, when, width = "near", _near(rng, base[k], 0.97), rng.bytes(16), \
                _flip(rng, sig, 10), taken, p.width // 2
        elif k < n_exact + n_near + n_burst:
            kind, v, digest, h, when, width = "burst", _near(rng, base[k], 0.96), rng.bytes(16), \
                _flip(rng, sig, 50), taken + timedelta(seconds=2), p.width
        else:
            kind, v = "new", rng.standard_normal(DIM).astype(np.float32)
            v /= np.linalg.norm(v)
            digest, h, width = rng.bytes(16), rng.integers(0, 2**63, sig.shape, dtype=np.int64).astype(np.uint64), 4000
            when = datetime(2030, 1, 1) + timedelta(hours=k)
        kinds[k] = (kind, p.id)
        rows.append((digest, width, when, v, h, p.size if kind == "exact" else 3_000_000))
        new_vectors.append(v)
    catalog.add_pending(root.id, [(f"{base_path}/{k:06d}.jpg".encode(), r[5], k) for k, r in enumerate(rows)])
    first = catalog.photo_by_path(f"{base_path}/000000.jpg").id
    catalog.save_indexed(model_id, [(first + k, d, PhotoMeta(w, w * 3 // 4, t.isoformat(), "Bench Cam"), v)
                                    for k, (d, w, t, v, _, _) in enumerate(rows)])
    catalog.save_signatures([(first + k, d, h.astype("<u8").tobytes(), 100.0)
                             for k, (d, _, _, _, h, _) in enumerate(rows)])
    vectors.add(np.arange(first, first + size), np.asarray(new_vectors, np.float32))
    return root.id, {first + k: v for k, v in kinds.items()}


def remove_batch(lib, folder_id: int) -> None:
    removed = lib.catalog.remove_folder(folder_id)
    lib.vectors().remove(removed)


def joined(lib, kinds: dict) -> dict[str, float]:
    """Share of each planted kind that is in one stack with the photo it was made from."""
    rows = lib.catalog.stacks_touching(list(kinds))
    stack_of = {m: s for s, r in rows.items() for m in r.members}
    out = {}
    for kind in ("exact", "near", "burst", "new"):
        picked = [(i, src) for i, (k, src) in kinds.items() if k == kind]
        if picked:
            out[kind] = float(np.mean([i in stack_of and stack_of.get(src) == stack_of[i] for i, src in picked]))
    return out


def timed(fn, reps: int = 1) -> float:
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t0) / reps


def latencies(calls: list, on_off=(True, False)) -> dict:
    """Interleaved on/off timings of each call(stack) -> p50/p95 in ms."""
    times = {on: [] for on in on_off}
    for call in calls:
        for on in on_off:
            t0 = time.perf_counter()
            call(on)
            times[on].append(time.perf_counter() - t0)
    return {("on" if on else "off"): {"p50_ms": percentile(t, 50) * 1000, "p95_ms": percentile(t, 95) * 1000}
            for on, t in times.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--batches", default="10,100,1000")
    ap.add_argument("--text", action="store_true", help="also time text search (loads ViT-B-32's text tower)")
    args = ap.parse_args()
    from photosense import Library

    folder, planted = library(args.n)
    rng = np.random.default_rng(3)
    report: dict = {"batches": {}}
    rows = []
    with Library.open(folder) as lib:
        lib.vectors()
        total = lib.catalog.indexed_count()
        lib.catalog.forget_stacks()  # as an upgraded library: nothing grouped yet
        first = lib.stacks.update()
        idle_s = timed(lambda: lib.stacks.update(), 5)
        report.update(photos=total, first_update=first.__dict__, idle_update_s=idle_s, stacks=lib.stacks.count())
        rows += [(f"{total:,} photos: first grouping ({first.mode}, {first.stacks:,} stacks)", f"{first.seconds:.1f} s"),
                 ("update with nothing new (every indexing run)", f"{idle_s * 1000:.0f} ms")]
        for size in (int(s) for s in args.batches.split(",") if s):
            folder_id, kinds = add_batch(lib, size, rng)
            done = lib.stacks.update()
            share = joined(lib, kinds)
            full = lib.stacks.update(full=True)
            remove_batch(lib, folder_id)
            report["batches"][size] = {"update": done.__dict__, "joined": share, "full_s": full.seconds}
            rows.append((f"+{size:,} new photos: {done.mode} update ({done.regrouped:,} regrouped)",
                         f"{done.seconds:.2f} s"))
            rows.append((f"  planted copies/shots joined (exact, near, burst); new alone",
                         f"{share['exact']:.2f}, {share['near']:.2f}, {share.get('burst', float('nan')):.2f}; "
                         f"{1 - share['new']:.2f}"))
            rows.append((f"  full regroup instead", f"{full.seconds:.1f} s"))
            print(rows[-3:], flush=True)
        ids = lib.catalog.embedding_ids(lib.context.model_id())
        grouped = np.asarray(sorted(set(planted["near"].ravel().tolist()) | set(planted["bursts"].ravel().tolist())))
        start = min(i for i, _ in lib.photos(stack=False))
        picks = np.concatenate([rng.choice(ids, args.queries // 2, replace=False),
                                start + rng.choice(grouped, args.queries - args.queries // 2, replace=False)])
        paths = lib.search_service.paths_of(picks.tolist())
        calls = [(lambda on, p=paths[i]: lib.similar(p, 50, stack=on)) for i in picks.tolist() if i in paths]
        lat = {"similar": latencies(calls)}
        months = [f"after:{y}-{m:02d}-01 before:{y}-{m:02d}-15" for y in range(2015, 2025) for m in (1, 4, 7, 10)]
        lat["filter_listing"] = latencies([(lambda on, q=q: lib.search(q, 10**7, stack=on)) for q in months])
        lat["grid_listing"] = latencies([lambda on: lib.photos(stack=on)] * 5)
        if args.text:
            from bench_search import ADJECTIVES, NOUNS

            lib.search("warm-up query", 50, show_all=True)
            queries = [f"{a} {n}" for a in ADJECTIVES for n in NOUNS][:60]
            lat["text_search"] = latencies([(lambda on, q=q: lib.search(q + (" x" if on else " y"), 50, show_all=True,
                                                                          stack=on)) for q in queries])
        report["latency"] = lat
        sample = [h.id for h in lib.similar(paths[int(picks[-1])], 50, stack=False)]
        fold_ms = timed(lambda: lib.search_service.fold(sample), 200) * 1000
        report["fold_50_ms"] = fold_ms
        for name, value in lat.items():
            rows.append((f"{name}: p50 / p95 stacking on", f"{value['on']['p50_ms']:.1f} / {value['on']['p95_ms']:.1f} ms"))
            rows.append((f"{name}: p50 / p95 stacking off", f"{value['off']['p50_ms']:.1f} / "
                                                            f"{value['off']['p95_ms']:.1f} ms"))
        rows.append(("folding 50 hits alone (catalog look-up + fold)", f"{fold_ms:.2f} ms"))
    print(f"\nmachine: {machine()}")
    print(f"| {'measure':62} | {'value':>24} |")
    print(f"|{'-' * 64}|{'-' * 26}|")
    for name, value in rows:
        print(f"| {name:62} | {value:>24} |")
    print(f"\nwritten to {save_report('stacks', report)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
