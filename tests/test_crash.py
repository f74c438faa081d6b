"""Crash safety: SIGKILL a real indexing process at random moments; nothing is lost, duplicated or redone."""
from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import TINY_MODEL
from PIL import Image

from photosense import Library

KILLS = 22


def unique_photo(path: Path, seed: int) -> Path:
    """A small JPEG whose content no other seed repeats (so no embedding is reused by hash)."""
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8), "RGB").save(path, quality=80)
    return path


def snapshot(library: Path) -> dict[int, tuple[bytes, float | None]]:
    """id -> (path, indexed_at) of every photo, read the way another process would."""
    db = sqlite3.connect(library / "catalog.sqlite3")
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return {i: (bytes(p), t) for i, p, t in db.execute("SELECT id, path, indexed_at FROM photos")}
    finally:
        db.close()


def embedded(library: Path) -> int:
    """Photos with an embedding so far (0 before the catalog exists)."""
    if not (library / "catalog.sqlite3").exists():
        return 0
    db = sqlite3.connect(library / "catalog.sqlite3", timeout=30)
    try:
        return db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # the schema is being created
    finally:
        db.close()


def start_index(library: Path, photos: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "photosense", "--library", str(library), "index", str(photos),
                             "--model", TINY_MODEL, "--batch-size", "8", "--workers", "1", "-q"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.mark.slow
@pytest.mark.model
def test_sigkill_at_random_moments_loses_duplicates_and_redoes_nothing(tmp_path: Path):
    rng = random.Random(1234)
    photos, library = tmp_path / "photos", tmp_path / "library"
    seed = 0
    for seed in range(1500):
        unique_photo(photos / f"{seed // 100:02d}" / f"p{seed:04d}.jpg", seed)
    renamed: dict[bytes, bytes] = {}  # old path -> new path, for photos moved between runs
    previous: dict[int, tuple[bytes, float | None]] = {}
    kills_while_indexing = 0

    for attempt in range(KILLS):
        proc = start_index(library, photos)
        if attempt % 2:
            time.sleep(rng.uniform(0.2, 4.0))  # during start-up, the scan or the first batches
        else:  # while batches are being embedded and saved
            base = embedded(library)
            deadline = time.monotonic() + 60
            while embedded(library) == base and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 1.5))
        finished = proc.poll() is not None
        if not finished:
            proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        if finished:
            assert proc.returncode == 0, proc.stderr.read().decode()
        proc.stderr.close()

        now = snapshot(library)
        # no duplicates: one row per path (and every path is a file that exists or just moved)
        paths = [p for p, _ in now.values()]
        assert len(paths) == len(set(paths))
        # nothing lost, nothing redone: a photo indexed before keeps its id and its embedding
        for pid, (path, indexed_at) in previous.items():
            if indexed_at is None:
                continue
            assert pid in now, f"photo {pid} ({path!r}) was lost after kill {attempt}"
            new_path, new_indexed_at = now[pid]
            assert new_path in (path, renamed.get(path)), f"photo {pid} has a wrong path after kill {attempt}"
            assert new_indexed_at == indexed_at, f"photo {pid} was indexed again after kill {attempt}"
        if sum(t is not None for _, t in now.values()) > sum(t is not None for _, t in previous.values()):
            kills_while_indexing += 0 if finished else 1
        # the catalog and the vector index agree once the library is opened (repaired at open)
        with Library.open(library) as lib:
            model_id = lib.catalog.model_id(lib.model_spec)
            if model_id is not None:
                truth = lib.catalog.embedding_ids(model_id).tolist()
                assert lib.vectors().ids().tolist() == truth
                assert lib.check(repair=False) == []
        previous = now

        # the folder keeps changing between runs: new photos arrive, indexed ones are renamed
        for _ in range(8):
            seed += 1
            unique_photo(photos / "new" / f"n{seed:04d}.jpg", seed)
        indexed_now = [(p, pid) for pid, (p, t) in now.items()
                       if t is not None and p not in renamed and p not in renamed.values()]
        for old, _pid in rng.sample(indexed_now, min(2, len(indexed_now))):
            new = old.replace(b".jpg", b"-renamed.jpg")
            os.rename(old, new)
            renamed[old] = new

    assert kills_while_indexing >= KILLS // 3, "too few kills landed while photos were being indexed"
    # a last run without interruption finishes the work: every file exactly once, all indexed
    final = start_index(library, photos)
    assert final.wait(300) == 0, final.stderr.read().decode()
    final.stderr.close()
    now = snapshot(library)
    on_disk = sorted(os.fsencode(p) for p in photos.rglob("*.jpg"))
    assert sorted(p for p, _ in now.values()) == on_disk
    assert all(t is not None for _, t in now.values())
    for pid, (path, indexed_at) in previous.items():
        if indexed_at is not None:
            assert now[pid] == (renamed.get(path, path), indexed_at)
    with Library.open(library) as lib:
        assert lib.failures() == []
        assert lib.check() == []
        s = lib.status()
        assert (s["photos"], s["indexed"], s["pending"]) == (len(on_disk), len(on_disk), 0)
