"""A real model switch, killed with SIGKILL again and again while another process keeps searching the library."""
from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import TINY_MODEL
from helpers import fashion_images, save
from photosense import Library

pytestmark = [pytest.mark.slow, pytest.mark.model]

KILLS = 5
N = 1200  # photos: enough for a switch of several batches to be killed mid-way five times
READER = """
import json, sys, time
from pathlib import Path
from photosense import Library
library, stop, log = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
with Library.open(library) as lib, log.open("w") as out:
    while not stop.exists():
        hits = lib.search("coat", limit=10)
        out.write(json.dumps({"model": lib.model_spec, "hits": len(hits)}) + "\\n")
        out.flush()
        time.sleep(0.05)
"""


def embedded_by(library: Path, spec: str) -> int:
    db = sqlite3.connect(library / "catalog.sqlite3", timeout=30)
    try:
        row = db.execute("SELECT COUNT(*) FROM embeddings e JOIN models m ON m.id = e.model_id WHERE m.spec = ?",
                         (spec,)).fetchone()
        return row[0]
    finally:
        db.close()


def start_switch(library: Path, spec: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "photosense", "--library", str(library), "model", "switch", spec,
                             "--workers", "1", "--json"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_a_switch_killed_five_times_loses_nothing_while_search_keeps_serving(tmp_path: Path):
    photos, library = tmp_path / "photos", tmp_path / "library"
    for k, (image, _label) in enumerate(fashion_images(N, seed=3)):
        save(image, photos / f"{k // 100}" / f"f{k:04d}.jpg")
    other = "tiny-fashion-wide"  # the second bundled model: another architecture, its own vectors and index
    with Library.open(library, model=TINY_MODEL) as lib:
        assert lib.index([photos]).indexed == N
        coats = len(lib.search("coat", limit=10))
    assert coats > 0

    stop, log = tmp_path / "stop", tmp_path / "reader.jsonl"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(library), str(stop), str(log)],
                              stderr=subprocess.PIPE)
    rng = random.Random(5)
    try:
        before = 0
        for attempt in range(KILLS):
            proc = start_switch(library, other)
            deadline = time.monotonic() + 120
            while embedded_by(library, other) <= before and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 0.15))
            assert proc.poll() is None, f"the switch ended before kill {attempt}: {proc.stderr.read().decode()}"
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
            proc.stderr.close()
            now = embedded_by(library, other)
            assert now >= before, f"embeddings of the new model were lost after kill {attempt}"
            before = now
            with Library.open(library) as lib:
                status = lib.status()
                assert status["model"] == TINY_MODEL and status["switching_to"] == other
                assert 0 < status["switch_done"] < status["switch_total"] == N
                assert lib.check(repair=False) == []
            assert reader.poll() is None, reader.stderr.read().decode()
        final = start_switch(library, other)
        assert final.wait(300) == 0, final.stderr.read().decode()
        final.stderr.close()
        time.sleep(0.5)  # the reader's next searches follow the switch
    finally:
        stop.touch()
        reader.wait(60)
    assert reader.returncode == 0, reader.stderr.read().decode()
    reader.stderr.close()
    served = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(served) > 20 and all(r["hits"] > 0 for r in served), "a search came back empty during the switch"
    assert served[0]["model"] == TINY_MODEL and served[-1]["model"] == other
    with Library.open(library) as lib:
        status = lib.status()
        assert status["model"] == other and status["switching_to"] is None and status["indexed"] == N
        assert len(lib.search("coat", limit=10)) == coats and lib.check(repair=False) == []
        assert embedded_by(library, other) == N
