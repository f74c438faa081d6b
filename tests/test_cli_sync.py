"""The sync commands of the CLI: watch, info and check, in-process on the fake embedder and real files.

``watch`` runs until a signal: the in-process tests send the real SIGTERM/SIGINT to this process once
the command has installed its handlers; one real-process run with the real model stays (slow)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from fakes import NAME as FAKE_MODEL
from helpers import TINY_MODEL, CliResult, count_polling_snapshots, gradient, run_cli, save, wait_until
from photosense import Library
from photosense.core.vectors import VectorIndex


@pytest.fixture
def indexed(tmp_path: Path, photos_dir: Path) -> Path:
    """A library of 4 photos indexed with the fake embedder."""
    for i in range(4):
        save(gradient(seed=i), photos_dir / f"p{i}.jpg")
    library = tmp_path / "library"
    with Library.open(library, model=FAKE_MODEL) as lib:
        lib.index([photos_dir])
    return library


def status(library: Path) -> dict:
    """The library's counts, read by another connection (as another process would)."""
    with Library.open(library) as lib:
        return lib.status()


def photo_id(library: Path, path: Path) -> int | None:
    with Library.open(library) as lib:
        found = lib.catalog.photo_by_path(path)
        return None if found is None else found.id


def run_watch(cli, monkeypatch, library: Path, *args: str, drive: Callable[[], None],
              stop_with: signal.Signals = signal.SIGTERM) -> tuple[CliResult, float]:
    """Run ``photosense watch ARGS`` in-process; once it has installed its signal handlers, *drive*
    runs on another thread, then *stop_with* is sent to this process. Returns the command's result
    and the seconds it took to stop after the signal; *drive*'s failures are raised here."""
    from photosense.cli import sync_commands

    armed, finished, lock = threading.Event(), threading.Event(), threading.Lock()
    signalled: list[float] = []
    errors: list[BaseException] = []
    real_graceful_stop = sync_commands.graceful_stop

    @contextmanager
    def observed_graceful_stop(cancel):
        with real_graceful_stop(cancel):
            with lock:
                armed.set()  # the handlers are in place: a signal now stops the command, not pytest
            try:
                yield
            finally:
                with lock:  # (before the real handlers are put back)
                    armed.clear()

    def driver() -> None:
        while not armed.wait(0.02):
            if finished.is_set():
                return  # the command ended before watching (a usage error)
        try:
            drive()
        except BaseException as err:
            errors.append(err)
        finally:
            with lock:
                if armed.is_set():  # never signal pytest itself: only while the handlers are the command's
                    signalled.append(time.monotonic())
                    os.kill(os.getpid(), stop_with)

    monkeypatch.setattr(sync_commands, "graceful_stop", observed_graceful_stop)
    thread = threading.Thread(target=driver, name="watch-driver", daemon=True)
    thread.start()
    try:
        result = cli("watch", *args, library=library)
    finally:
        finished.set()
        thread.join(60)
    if errors:
        raise errors[0]
    assert signalled, f"watch ended before it was stopped: {result}"
    return result, time.monotonic() - signalled[0]


def test_watch_follows_the_folder_and_stops_cleanly_on_sigterm(indexed, photos_dir, cli, monkeypatch,
                                                               short_graces):
    (photos_dir / "p3.jpg").unlink()  # changed while not watching: found at start
    moved_id = photo_id(indexed, photos_dir / "p0.jpg")

    def drive() -> None:
        wait_until(lambda: status(indexed)["photos"] == 3, 30, "the start-up reconcile")
        shutil.copy(photos_dir / "p1.jpg", photos_dir / "copy.jpg")
        (photos_dir / "sorted").mkdir()
        os.rename(photos_dir / "p0.jpg", photos_dir / "sorted" / "renamed.jpg")
        save(gradient(seed=42), photos_dir / "new.jpg")
        (photos_dir / "p2.jpg").unlink()
        wait_until(lambda: (s := status(indexed))["photos"] == 4 and s["pending"] == 0
                   and photo_id(indexed, photos_dir / "p2.jpg") is None
                   and photo_id(indexed, photos_dir / "sorted" / "renamed.jpg") is not None, 30, "the changes")

    result, stopping = run_watch(cli, monkeypatch, indexed, "--debounce", "0.2", drive=drive)
    assert result.returncode == 0, result.stderr
    assert stopping < 10
    assert "reconciled" in result.stderr and "synced" in result.stderr and "Stopping" in result.stderr
    s = status(indexed)
    assert (s["photos"], s["indexed"], s["failed"]) == (4, 4, 0)
    assert photo_id(indexed, photos_dir / "sorted" / "renamed.jpg") == moved_id
    check = cli("check", "--json", library=indexed)
    assert check.returncode == 0 and json.loads(check.stdout)["ok"] is True


def test_watch_polling_mode_json_lines_and_sigint(indexed, photos_dir, cli, monkeypatch):
    snapshots = count_polling_snapshots(monkeypatch)

    def drive() -> None:
        wait_until(lambda: snapshots, 30, "the polling observer's first snapshot")
        save(gradient(seed=77), photos_dir / "polled.jpg")
        wait_until(lambda: status(indexed)["indexed"] == 5, 30, "the polled photo indexed")

    result, _ = run_watch(cli, monkeypatch, indexed, "--poll", "--remember", "--poll-interval", "0.2",
                          "--debounce", "0.2", "--json", drive=drive, stop_with=signal.SIGINT)
    assert result.returncode == 0, result.stderr
    reports = [json.loads(line) for line in result.stdout.splitlines()]  # only JSON Lines on stdout
    assert reports[0]["kind"] == "reconcile"
    assert any(r["kind"] == "changes" and r["indexed"] == 1 for r in reports)
    assert snapshots == [str(photos_dir)]
    with Library.open(indexed) as lib:  # remembered: later runs and the app poll too
        from photosense.services.sync import LiveSync

        assert LiveSync(lib).polling is True and LiveSync(lib, polling=False).polling is False


def test_watch_without_folders_says_what_to_do(tmp_path, cli):
    result = cli("watch", library=tmp_path / "empty")
    assert result.returncode == 2
    assert "no folders to watch" in result.stderr and "folders add" in result.stderr


def test_info_reports_a_photo_and_refuses_a_stranger(indexed, photos_dir, tmp_path, cli):
    result = cli("info", photos_dir / "p1.jpg", "--json", library=indexed)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["path"] == str(photos_dir / "p1.jpg") and info["indexed"] is True and info["tags"] == []
    assert isinstance(info["id"], int) and (info["width"], info["height"]) == (64, 48)

    stranger = save(gradient(seed=5), tmp_path / "elsewhere" / "x.jpg")
    result = cli("info", stranger, "--json", library=indexed)
    assert result.returncode == 2 and result.stdout == ""
    assert "is not a photo of the library" in result.stderr


def test_check_finds_and_repairs_disagreement(indexed, cli):
    assert cli("check", library=indexed).returncode == 0
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

    result = cli("check", "--json", library=indexed)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    text = " ".join(report["problems"])
    assert not report["ok"] and "wrong size" in text
    assert "missing from the search index" in text and "not embedded in the catalog" in text

    repaired = cli("check", "--repair", library=indexed)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "Repaired" in repaired.stderr
    assert cli("check", library=indexed).returncode == 0
    assert cli("index", "-q", indexed.parent / "photos", library=indexed).returncode == 0
    s = status(indexed)
    assert (s["photos"], s["indexed"], s["pending"]) == (4, 4, 0)


def test_a_damaged_stored_embedding_points_to_check_repair_instead_of_a_traceback(indexed, cli):
    with Library.open(indexed) as lib:
        model_id = lib.catalog.model_id(lib.model_spec)
        damaged = int(lib.catalog.embedding_ids(model_id)[1])
        with lib.catalog.transaction() as db:
            db.execute("UPDATE embeddings SET vector = ? WHERE photo_id = ?", (b"\0" * 6, damaged))
    result = cli("search", "red", "--json", library=indexed)
    assert result.returncode == 1 and result.stdout == "", result.stdout
    assert "photosense check --repair" in result.stderr and "Traceback" not in result.stderr
    assert cli("check", "--repair", library=indexed).returncode == 0
    assert cli("search", "red", "--all", "--json", library=indexed).returncode == 0


def test_watch_refuses_intervals_that_would_spin(tmp_path, cli):
    for option in (("--poll-interval", "0"), ("--poll-interval", "-2"), ("--debounce", "-1")):
        result = cli("watch", *option, library=tmp_path / "lib")
        assert result.returncode == 2 and option[0] in result.stderr and "Traceback" not in result.stderr


# -- a real process -----------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.model
def test_watch_in_a_real_process_follows_the_folder_and_stops_cleanly_on_sigterm(tmp_path, photos_dir):
    """The entry point end to end: `python -m photosense watch` with the real model, real signals."""
    for i in range(4):
        save(gradient(seed=i), photos_dir / f"p{i}.jpg")
    library = tmp_path / "library"
    with Library.open(library, model=TINY_MODEL) as lib:
        lib.index([photos_dir])

    def cli_status() -> dict:
        result = run_cli("status", "--json", library=library)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    (photos_dir / "p3.jpg").unlink()  # changed while not watching: found at start
    proc = subprocess.Popen([sys.executable, "-m", "photosense", "--library", str(library), "watch",
                             "--debounce", "0.3"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: cli_status()["photos"] == 3, 60, "the start-up reconcile")
        moved_id = json.loads(run_cli("info", str(photos_dir / "p0.jpg"), "--json", library=library).stdout)["id"]
        shutil.copy(photos_dir / "p1.jpg", photos_dir / "copy.jpg")
        (photos_dir / "sorted").mkdir()
        os.rename(photos_dir / "p0.jpg", photos_dir / "sorted" / "renamed.jpg")
        save(gradient(seed=42), photos_dir / "new.jpg")
        (photos_dir / "p2.jpg").unlink()
        s = wait_until(lambda: (s := cli_status())["photos"] == 4 and s["pending"] == 0
                       and run_cli("info", str(photos_dir / "p2.jpg"), library=library).returncode != 0 and s,
                       60, "the changes")
        assert (s["indexed"], s["failed"]) == (4, 0)
        info = run_cli("info", str(photos_dir / "sorted" / "renamed.jpg"), "--json", library=library)
        assert json.loads(info.stdout)["id"] == moved_id
    finally:
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert time.monotonic() - started < 10
    assert "reconciled" in err and "synced" in err
    check = run_cli("check", "--json", library=library)
    assert check.returncode == 0 and json.loads(check.stdout)["ok"] is True
