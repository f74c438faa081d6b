"""The sync commands of the real CLI: watch, info and check, run as subprocesses on real files."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import TINY_MODEL, gradient, run_cli, save

from photosense import Library
from photosense.core.vectors import VectorIndex


def status(library: Path) -> dict:
    result = run_cli("status", "--json", library=library)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def until_status(library: Path, check, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = status(library)
        if check(s):
            return s
        time.sleep(0.2)
    raise AssertionError(f"status never matched; last {s}")


@pytest.fixture
def indexed(tmp_path: Path, photos_dir: Path) -> Path:
    """A library of 4 photos indexed with the tiny model."""
    for i in range(4):
        save(gradient(seed=i), photos_dir / f"p{i}.jpg")
    library = tmp_path / "library"
    with Library.open(library, model=TINY_MODEL) as lib:
        lib.index([photos_dir])
    return library


def test_watch_follows_the_folder_and_stops_cleanly_on_sigterm(indexed: Path, photos_dir: Path):
    (photos_dir / "p3.jpg").unlink()  # changed while not watching: found at start
    proc = subprocess.Popen([sys.executable, "-m", "photosense", "--library", str(indexed), "watch",
                             "--debounce", "0.3"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        until_status(indexed, lambda s: s["photos"] == 3)
        moved_id = json.loads(run_cli("info", str(photos_dir / "p0.jpg"), "--json", library=indexed).stdout)["id"]
        shutil.copy(photos_dir / "p1.jpg", photos_dir / "copy.jpg")
        (photos_dir / "sorted").mkdir()
        os.rename(photos_dir / "p0.jpg", photos_dir / "sorted" / "renamed.jpg")
        save(gradient(seed=42), photos_dir / "new.jpg")
        (photos_dir / "p2.jpg").unlink()
        s = until_status(indexed, lambda s: s["photos"] == 4 and s["pending"] == 0
                         and run_cli("info", str(photos_dir / "p2.jpg"), library=indexed).returncode != 0)
        assert (s["indexed"], s["failed"]) == (4, 0)
        info = run_cli("info", str(photos_dir / "sorted" / "renamed.jpg"), "--json", library=indexed)
        assert json.loads(info.stdout)["id"] == moved_id
    finally:
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert time.monotonic() - started < 10
    assert "reconciled" in err and "synced" in err
    check = run_cli("check", "--json", library=indexed)
    assert check.returncode == 0 and json.loads(check.stdout)["ok"] is True


def test_watch_polling_mode_and_json_lines(indexed: Path, photos_dir: Path):
    proc = subprocess.Popen([sys.executable, "-m", "photosense", "--library", str(indexed), "watch", "--poll", "--remember",
                             "--poll-interval", "0.3", "--debounce", "0.2", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        until_status(indexed, lambda s: s["photos"] == 4)
        time.sleep(1.0)  # the polling observer takes its first snapshot after start-up
        save(gradient(seed=77), photos_dir / "polled.jpg")
        until_status(indexed, lambda s: s["indexed"] == 5)
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    reports = [json.loads(line) for line in out.splitlines()]
    assert reports[0]["kind"] == "reconcile"
    assert any(r["kind"] == "changes" and r["indexed"] == 1 for r in reports)
    with Library.open(indexed) as lib:  # remembered: later runs and the app poll too
        from photosense.services.sync import LiveSync

        assert LiveSync(lib).polling is True and LiveSync(lib, polling=False).polling is False


def test_watch_without_folders_says_what_to_do(tmp_path: Path):
    result = run_cli("watch", library=tmp_path / "empty", timeout=60)
    assert result.returncode == 2
    assert "no folders to watch" in result.stderr and "folders add" in result.stderr


def test_info_reports_a_photo_and_refuses_a_stranger(indexed: Path, photos_dir: Path, tmp_path: Path):
    result = run_cli("info", str(photos_dir / "p1.jpg"), "--json", library=indexed)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["path"] == str(photos_dir / "p1.jpg") and info["indexed"] is True and info["tags"] == []
    assert isinstance(info["id"], int)

    stranger = save(gradient(seed=5), tmp_path / "elsewhere" / "x.jpg")
    result = run_cli("info", str(stranger), "--json", library=indexed)
    assert result.returncode == 2 and result.stdout == ""
    assert "is not a photo of the library" in result.stderr


def test_check_finds_and_repairs_disagreement(indexed: Path):
    assert run_cli("check", library=indexed).returncode == 0
    with Library.open(indexed) as lib:
        model_id = lib.catalog.model_id(lib.model_spec)
        ids = lib.catalog.embedding_ids(model_id)
        # a saved graph that lost one photo and holds one the catalog never had
        graph = VectorIndex(indexed / "vectors", f"model-{model_id}", lib.catalog.model_dim(model_id),
                            exact_limit=0)
        rows = np.random.default_rng(0).normal(size=(len(ids), graph.dim)).astype(np.float32)
        graph.add(list(ids[1:]) + [9999], rows)
        graph.save()
        with lib.catalog.transaction() as db:  # and one stored embedding of the wrong size
            db.execute("UPDATE embeddings SET vector = ? WHERE photo_id = ?", (b"\0" * 6, int(ids[2])))

    result = run_cli("check", "--json", library=indexed)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    text = " ".join(report["problems"])
    assert not report["ok"] and "wrong size" in text
    assert "missing from the search index" in text and "not embedded in the catalog" in text

    repaired = run_cli("check", "--repair", library=indexed)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "Repaired" in repaired.stderr
    assert run_cli("check", library=indexed).returncode == 0
    assert run_cli("index", "-q", str(indexed.parent / "photos"), library=indexed).returncode == 0
    s = status(indexed)
    assert (s["photos"], s["indexed"], s["pending"]) == (4, 4, 0)


def test_a_damaged_stored_embedding_points_to_check_repair_instead_of_a_traceback(indexed: Path):
    with Library.open(indexed) as lib:
        model_id = lib.catalog.model_id(lib.model_spec)
        photo_id = int(lib.catalog.embedding_ids(model_id)[1])
        with lib.catalog.transaction() as db:
            db.execute("UPDATE embeddings SET vector = ? WHERE photo_id = ?", (b"\0" * 6, photo_id))
    result = run_cli("search", "bag", "--json", library=indexed)
    assert result.returncode == 1 and result.stdout == "", result.stdout
    assert "photosense check --repair" in result.stderr and "Traceback" not in result.stderr
    assert run_cli("check", "--repair", library=indexed).returncode == 0
    assert run_cli("search", "bag", "--all", "--json", library=indexed).returncode == 0


def test_watch_refuses_intervals_that_would_spin(tmp_path: Path):
    for option in (("--poll-interval", "0"), ("--poll-interval", "-2"), ("--debounce", "-1")):
        result = run_cli("watch", *option, library=tmp_path / "lib")
        assert result.returncode == 2 and option[0] in result.stderr and "Traceback" not in result.stderr
