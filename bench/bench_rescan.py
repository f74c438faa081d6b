#!/usr/bin/env python3
"""Rescan of an unchanged 100k-file library (stat only) beside a full rescan that reads every file,
and the memory of watching that tree live.

    .venv/bin/python bench/bench_rescan.py [--files 100000]

The tree (1,000 folders of 100 tiny JPEG-named files) and its catalog are synthesized once in
bench/out: catalog rows carry each file's real size and mtime and a stored embedding, so the
rescan finds nothing to do and no model is loaded. Timings are with a warm page cache (the tree
was just written or read); a cold cache adds the disk's seek time to both.

- unchanged rescan: ``Library.index()`` (walk + stat + compare with the catalog + vector index
  check), and ``plan_scan`` alone; goal <= 5 s.
- baseline: a full rescan that reads and hashes every file (what a tool without a stat pass does).
- memory: peak RSS of a process that watches the tree with ``LiveSync`` (after its start-up
  reconcile), at 10k and 100k files, with inotify and with polling.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from common import OUT, machine, save_report

GOAL_S = 5.0
MODEL = "bench-rescan:none"  # a name only: nothing is pending, so no model is ever loaded
DIM = 16
PER_FOLDER = 100


def synthesize(n: int) -> tuple[Path, Path]:
    """(photo tree, library) of *n* files, made once."""
    import numpy as np

    from photosense.core.catalog import Catalog, PhotoMeta

    base = OUT / f"rescan-{n}"
    photos, library = base / "photos", base / "library"
    if (base / "ready").exists():
        return photos, library
    print(f"synthesizing {n} files and their catalog in {base} (once)…", flush=True)
    t0 = time.perf_counter()
    rows = []
    for i in range(n):
        folder = photos / f"{i // PER_FOLDER:04d}"
        if i % PER_FOLDER == 0:
            folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"IMG_{i:07d}.jpg"
        data = b"\xff\xd8\xff\xe0" + i.to_bytes(8, "little") * (8 + i % 16)  # tiny, distinct, varied sizes
        path.write_bytes(data)
        st = os.stat(path)
        rows.append((os.fsencode(path), st.st_size, st.st_mtime_ns))
    print(f"  files written in {time.perf_counter() - t0:.1f}s", flush=True)
    catalog = Catalog(library)
    root = catalog.add_folder(photos)
    model_id = catalog.ensure_model(MODEL, DIM)
    catalog.set_setting("model", MODEL)
    rng = np.random.default_rng(0)
    for start in range(0, n, 10_000):
        chunk = rows[start:start + 10_000]
        catalog.add_pending(root.id, chunk)
        ids = [catalog.photo_by_path(os.fsdecode(k)).id for k, _, _ in chunk]
        vectors = rng.standard_normal((len(chunk), DIM)).astype(np.float32)
        catalog.save_indexed(model_id, [(pid, i.to_bytes(16, "little"), PhotoMeta(1, 1), v)
                                        for pid, i, v in zip(ids, range(start, start + len(chunk)), vectors)])
    catalog.close()
    from photosense import Library

    with Library.open(library) as lib:  # build and save the vector index once
        lib.vectors()
        with lib.context.writer:
            lib.vectors().save()
    (base / "ready").touch()
    return photos, library


def time_rescans(photos: Path, library: Path) -> dict:
    from photosense import Library
    from photosense.core.scanner import partial_hash, plan_scan, walk_images

    # warm the page cache for both contenders alike
    for _ in walk_images(photos):
        pass
    with Library.open(library) as lib:
        t0 = time.perf_counter()
        plan = plan_scan(lib.catalog, lib.catalog.folders())
        plan_s = time.perf_counter() - t0
        assert plan.unchanged == len(list(walk_images(photos))) and not plan.new_count and not plan.removed
        t0 = time.perf_counter()
        summary = lib.index()
        index_s = time.perf_counter() - t0
        assert summary.skipped == plan.unchanged and summary.indexed == 0, summary
    t0 = time.perf_counter()
    count = nbytes = 0
    for found in walk_images(photos):
        partial_hash(found.key, found.size)  # reads the whole of a small file
        count += 1
        nbytes += found.size
    full_s = time.perf_counter() - t0
    return {"files": count, "bytes": nbytes, "unchanged_rescan_s": round(index_s, 2),
            "plan_scan_s": round(plan_s, 2), "full_read_rescan_s": round(full_s, 2)}


def camera_read_rate() -> dict:
    """Reading real camera-sized JPEGs whole (what a rescan without a stat pass costs per photo)."""
    from common import camera_photos

    files = sorted(camera_photos(240).glob("*.jpg"))
    for f in files:  # warm the cache: the figure is then a lower bound for a real disk
        f.read_bytes()
    t0 = time.perf_counter()
    nbytes = sum(len(f.read_bytes()) for f in files)
    seconds = time.perf_counter() - t0
    return {"files": len(files), "mean_mb": round(nbytes / len(files) / 2**20, 2),
            "ms_per_photo": round(1000 * seconds / len(files), 3)}


def child_watch(library: str, polling: bool, watcher_only: bool) -> None:
    """Runs in a fresh process: watch the library live and print RSS figures as JSON."""
    import threading

    from photosense import Library
    from photosense.services.sync import LiveSync

    def rss_mb() -> float:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    lib = Library.open(library)
    opened = rss_mb()
    if watcher_only:  # the observer alone, with no start-up reconcile: what watching itself costs
        from photosense.core.watcher import FolderWatcher

        watcher = FolderWatcher([f.path for f in lib.folders()], lambda batch: None, polling=polling,
                                poll_interval_s=5.0)
        t0 = time.perf_counter()
        watcher.start()
        time.sleep(6.0 if polling else 1.0)
        watching = rss_mb()
        watcher.stop(30)
        print(json.dumps({"opened_mb": round(opened), "watching_mb": round(watching),
                          "start_s": round(time.perf_counter() - t0, 1)}))
        return
    done = threading.Event()
    sync = LiveSync(lib, polling=polling, poll_interval_s=5.0, on_change=lambda r: done.set())
    t0 = time.perf_counter()
    sync.start()
    done.wait(600)
    ready_s = time.perf_counter() - t0
    time.sleep(6.0 if polling else 1.0)  # polling: at least one full snapshot of the tree
    watching = rss_mb()
    folder = Path(lib.folders()[0].path) / "0000"
    probe = folder / "IMG_0000000.jpg"
    os.rename(probe, folder / "moved.jpg")  # one live change, to see the watcher at work
    os.rename(folder / "moved.jpg", probe)
    sync.wait_idle(30)
    time.sleep(6.0 if polling else 1.0)
    after = rss_mb()
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sync.stop(30)
    lib.close()
    print(json.dumps({"opened_mb": round(opened), "watching_mb": round(watching), "after_changes_mb": round(after),
                      "peak_mb": round(peak), "start_s": round(ready_s, 1)}))


def measure_watch(library: Path, polling: bool, watcher_only: bool = False) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child-watch", str(library)] + (["--poll"] if polling else [])
                         + (["--watcher-only"] if watcher_only else []), capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--child-watch", metavar="LIBRARY", help=argparse.SUPPRESS)
    parser.add_argument("--poll", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--watcher-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_watch:
        child_watch(args.child_watch, args.poll, args.watcher_only)
        return

    sizes = sorted({args.files // 10, args.files})
    report: dict = {"goal_s": GOAL_S, "rescan": {}, "watch_rss": {}}
    for n in sizes:
        photos, library = synthesize(n)
        report["rescan"][n] = time_rescans(photos, library)
        report["watch_rss"][n] = {"inotify": measure_watch(library, False),
                                  "polling": measure_watch(library, True),
                                  "observer only, inotify": measure_watch(library, False, True),
                                  "observer only, polling": measure_watch(library, True, True)}
    report["camera_read"] = camera_read_rate()
    path = save_report("rescan", report)

    print(f"\nRescan of an unchanged library (warm cache) — {machine()}")
    print(f"{'files':>8}  {'unchanged rescan':>17}  {'(plan_scan)':>11}  {'full read (baseline)':>21}  {'speed-up':>8}")
    for n, r in report["rescan"].items():
        print(f"{r['files']:>8}  {r['unchanged_rescan_s']:>16.2f}s  {r['plan_scan_s']:>10.2f}s  "
              f"{r['full_read_rescan_s']:>20.2f}s  {r['full_read_rescan_s'] / max(r['unchanged_rescan_s'], 1e-9):>7.1f}×")
    big = report["rescan"][args.files]
    cam = report["camera_read"]
    print(f"(the synthetic files are tiny, so reading them costs about what a stat does; reading real "
          f"{cam['mean_mb']} MB camera JPEGs whole takes {cam['ms_per_photo']} ms a photo from the page cache, "
          f"so a full-read rescan of {args.files} such photos would take at least "
          f"{cam['ms_per_photo'] * args.files / 1000:.0f}s, more from disk)")
    print(f"goal: unchanged rescan of {args.files} files <= {GOAL_S:g}s: "
          f"{'met' if big['unchanged_rescan_s'] <= GOAL_S else 'MISSED'} ({big['unchanged_rescan_s']:.2f}s)")
    print("\nRSS while watching (MB): after opening the library → watching (after the start-up reconcile) "
          "→ after live changes; peak")
    for n, modes in report["watch_rss"].items():
        for mode, r in modes.items():
            if "after_changes_mb" in r:
                print(f"{n:>8} files, {mode:22}: {r['opened_mb']:>5} → {r['watching_mb']:>5} → "
                      f"{r['after_changes_mb']:>5}; peak {r['peak_mb']}")
            else:
                print(f"{n:>8} files, {mode:22}: {r['opened_mb']:>5} → {r['watching_mb']:>5}")
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
