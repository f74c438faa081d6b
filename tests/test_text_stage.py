"""The text stage live and under a kill -9: LiveSync reads the words of new photos after each batch, and
a process killed while reading loses nothing and reads nothing twice (fake embedder, fake text reader)."""
from __future__ import annotations

import pytest

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from fakes import NAME as FAKE_MODEL
from fakes import FakeReader, text_photo
from helpers import REPO
from helpers import wait_until as until

from photosense import Library
from photosense.services.sync import LiveSync, SyncReport

TESTS = Path(__file__).resolve().parent


def test_a_screenshot_dropped_into_a_watched_folder_is_found_by_its_words(tmp_path, photos_dir):
    lib = Library.open(tmp_path / "library", model=FAKE_MODEL)
    lib.text.reader_factory = FakeReader
    lib.add_folder(photos_dir)
    reports: list[SyncReport] = []
    sync = LiveSync(lib, debounce_s=0.2, settle_s=0.5, on_change=reports.append)
    try:
        sync.start()
        until(lambda: any(r.kind == "reconcile" for r in reports), 60, "the start-up reconcile")
        text_photo(photos_dir / "Screenshot 2026-11-30.png", "white", "Boarding pass\nGate B12 seat 14C")
        text_photo(photos_dir / "receipt.png", "gray", "Invoice 4471\nTotal 12.50", seed=2)
        until(lambda: sum(r.text.read for r in reports if r.text is not None) == 2, 30, "the text stage")
        assert [Path(h.path).name for h in lib.search("gate b12")][:1] == ["Screenshot 2026-11-30.png"]
        assert [Path(h.path).name for h in lib.search("invoice 4471")][:1] == ["receipt.png"]
        assert lib.status()["text_pending"] == 0
        assert next(r for r in reports if r.text is not None).to_json()["text"]["read"] >= 1
    finally:
        assert sync.stop(10)
        lib.close()


@pytest.mark.slow  # seconds of real waiting; the full suite runs it
def test_new_files_are_indexed_between_slices_of_a_long_text_backlog(tmp_path, photos_dir, monkeypatch):
    from fakes import color_image
    from helpers import save
    from photosense.services import sync as sync_module

    monkeypatch.setattr(sync_module, "TEXT_SLICE", 4)
    for n in range(60):
        text_photo(photos_dir / "backlog" / f"b{n:02d}.png", "gray", f"line{n}", seed=n)
    lib = Library.open(tmp_path / "library", model=FAKE_MODEL)
    lib.text.reader_factory = lambda: FakeReader(delay=0.05)  # 3 s of reading in all
    lib.add_folder(photos_dir)
    reports: list[SyncReport] = []
    sync = LiveSync(lib, debounce_s=0.2, settle_s=0.3, on_change=reports.append)
    try:
        sync.start()
        until(lambda: lib.status()["text_pending"] < 56, 60, "the text backlog to start")
        new = save(color_image("red", seed=99), photos_dir / "new.jpg")
        until(lambda: lib.catalog.photo_by_path(new) is not None and lib.catalog.photo_by_path(new).indexed_at,
              30, "the new photo to be indexed")
        assert lib.status()["text_pending"] > 0  # it did not wait for the whole backlog
        until(lambda: lib.status()["text_pending"] == 0, 60, "the backlog to be read")
        assert sum(r.text.read for r in reports if r.text is not None) == 61  # the backlog and the new photo
    finally:
        assert sync.stop(10)
        lib.close()


_READER_SCRIPT = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests!r})
    import conftest  # registers the fake embedder, isolates caches
    from fakes import NAME, FakeReader
    from photosense import Library
    with Library.open({library!r}, model=NAME) as lib:
        lib.text.reader_factory = lambda: FakeReader(delay=0.01)
        print("reading", flush=True)
        lib.text.run(batch_size=5)
""")


def _texts(library: Path) -> dict[int, float]:
    """photo id -> when its text was read, as another process sees it (a re-read changes the time)."""
    db = sqlite3.connect(library / "catalog.sqlite3", timeout=30)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return dict(db.execute("SELECT photo_id, read_at FROM photo_text"))
    finally:
        db.close()


@pytest.mark.slow  # seconds of real waiting; the full suite runs it
def test_sigkill_while_reading_loses_nothing_and_rereads_nothing(tmp_path, photos_dir):
    for n in range(120):
        text_photo(photos_dir / f"t{n:03d}.png", "gray", f"page{n} of the manual", seed=n)
    library = tmp_path / "library"
    with Library.open(library, model=FAKE_MODEL) as lib:
        lib.index([photos_dir])
    script = _READER_SCRIPT.format(tests=str(TESTS), library=str(library))
    previous: dict[int, float] = {}
    kills = 0
    for _ in range(4):
        proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(REPO)})
        assert proc.stdout.readline().strip() == b"reading", proc.stderr.read().decode()
        base = len(previous)
        until(lambda: len(_texts(library)) >= base + 10 or proc.poll() is not None, 60, "a few saved batches")
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(30)
        proc.stdout.close()
        proc.stderr.close()
        now = _texts(library)
        assert all(now[i] == t for i, t in previous.items()), "a photo read before was read again"
        previous = now
    assert kills >= 2
    with Library.open(library, model=FAKE_MODEL) as lib:
        lib.text.reader_factory = FakeReader
        left = lib.status()["text_pending"]
        assert left == 120 - len(previous)
        summary = lib.read_text()
        assert summary.read == left and lib.status()["text_pending"] == 0
        assert all(_texts(library)[i] == t for i, t in previous.items())
        for n in (0, 57, 119):
            assert [Path(h.path).name for h in lib.search(f"page{n}") if "text" in h.matched] == [f"t{n:03d}.png"]
        assert lib.check() == []


def test_a_reader_with_several_model_sets_reads_that_many_photos_at_once_and_keeps_each_result(tmp_path):
    import threading
    import time

    class ParallelReader(FakeReader):
        parallel = 3

        def __init__(self):
            super().__init__()
            self.lock, self.running, self.most = threading.Lock(), 0, 0

        def read_path(self, path):
            with self.lock:
                self.running += 1
                self.most = max(self.most, self.running)
            time.sleep(0.05)
            try:
                if Path(path).name == "p4.png":  # the engine fails on this one: recorded, the rest still read
                    raise RuntimeError("the detector failed")
                return super().read_path(path)
            finally:
                with self.lock:
                    self.running -= 1

    folder = tmp_path / "photos"
    for i in range(9):
        text_photo(folder / f"p{i}.png", "white", f"word{i}x", seed=i)
    reader = ParallelReader()
    lib = Library.open(tmp_path / "library", model=FAKE_MODEL)
    try:
        lib.text.reader_factory = lambda: reader
        lib.index([folder])
        summary = lib.read_text()
        assert (summary.read, summary.failed) == (8, 1) and reader.most == 3
        for i in (0, 1, 2, 3, 5, 6, 7, 8):
            assert lib.text_of(folder / f"p{i}.png") == f"word{i}x"
    finally:
        lib.close()
