"""Live sync with a real watchdog observer on real files (the fake embedder: no torch): new, changed,
deleted, moved, folders, polling."""
from __future__ import annotations

import os
import shutil
import sqlite3
import time
from pathlib import Path

import pytest
from fakes import NAME as FAKE_MODEL
from helpers import count_polling_snapshots, gradient, jpeg_bytes, save
from helpers import wait_until as until

from photosense import Library
from photosense.core.changes import ChangeBatch
from photosense.services.sync import LiveSync, SyncReport


def photo_ids(lib: Library) -> dict[str, int]:
    return {path: pid for pid, path in ((p.id, p.path) for p in _photos(lib))}


def _photos(lib: Library):
    return [lib.catalog.photo(i) for i, in lib.catalog._query("SELECT id FROM photos")]


def embedding(lib: Library, photo_id: int) -> bytes | None:
    vec = lib.catalog.embedding(photo_id, lib.catalog.model_id(lib.model_spec))
    return None if vec is None else vec.tobytes()


def consistent(lib: Library) -> bool:
    """Catalog and the live vector index hold the same photos."""
    truth = set(lib.catalog.embedding_ids(lib.catalog.model_id(lib.model_spec)).tolist())
    return set(lib.vectors().ids().tolist()) == truth


class Watched:
    """A library with folders, a running LiveSync and the reports it sent."""

    def __init__(self, lib: Library, sync: LiveSync, reports: list[SyncReport]) -> None:
        self.lib, self.sync, self.reports = lib, sync, reports

    def status(self) -> dict:
        return self.lib.status()

    def settle(self) -> None:
        assert self.sync.wait_idle(20), "LiveSync did not become idle"


DEBOUNCE_S = 0.2


@pytest.fixture
def make_watched(tmp_path: Path, monkeypatch):
    started: list[Watched] = []
    snapshots = count_polling_snapshots(monkeypatch)

    def make(folders: list[Path], polling: bool = False, **kw) -> Watched:
        lib = Library.open(tmp_path / "library", model=FAKE_MODEL)
        for folder in folders:
            lib.add_folder(folder)
        reports: list[SyncReport] = []
        sync = LiveSync(lib, polling=polling, debounce_s=DEBOUNCE_S, settle_s=kw.pop("settle_s", 1.0),
                        poll_interval_s=0.3, on_change=reports.append, **kw)
        watched = Watched(lib, sync, reports)
        started.append(watched)
        sync.start()
        until(lambda: any(r.kind == "reconcile" for r in reports), 60, "the start-up reconcile")
        if polling:  # a file written before the first snapshot is part of it, never reported as new
            until(lambda: set(map(str, folders)) <= set(snapshots), 30, "the first polling snapshots")
        return watched

    yield make
    for w in started:
        assert w.sync.stop(10)
        w.lib.close()


def write_photos(folder: Path, n: int, prefix: str = "p", seed: int = 0) -> list[Path]:
    return [save(gradient(seed=seed + i), folder / f"{prefix}{i:03d}.jpg") for i in range(n)]


def test_new_changed_and_deleted_files_follow_the_disk(photos_dir, make_watched, short_graces):
    write_photos(photos_dir, 3)
    w = make_watched([photos_dir])
    assert w.status()["indexed"] == 3

    new = save(gradient(seed=50), photos_dir / "new.jpg")
    until(lambda: w.status()["indexed"] == 4, what="the new photo indexed")

    before = w.lib.photo(new)
    old_vector = embedding(w.lib, before.id)
    save(gradient(width=80, height=80, seed=99).rotate(90), new)  # different content, same name
    until(lambda: embedding(w.lib, before.id) not in (None, old_vector), what="the changed photo re-indexed")
    assert w.lib.photo(new).id == before.id

    (photos_dir / "p000.jpg").unlink()
    until(lambda: w.status()["photos"] == 3, what="the deleted photo forgotten")
    w.settle()
    assert w.lib.catalog.photo_by_path(photos_dir / "p000.jpg") is None
    assert consistent(w.lib)
    s = w.status()
    assert (s["photos"], s["indexed"], s["pending"], s["failed"]) == (3, 3, 0, 0)


def test_rename_and_move_across_folders_keep_identity_without_model_work(tmp_path, make_watched):
    """(With the real graces: they are what turns inotify's creation + deletion into a move.)"""
    a, b = tmp_path / "a", tmp_path / "b"
    write_photos(a, 2)
    b.mkdir()
    w = make_watched([a, b])
    first = w.lib.photo(a / "p000.jpg")
    vector = embedding(w.lib, first.id)

    os.rename(a / "p000.jpg", a / "renamed.jpg")
    until(lambda: w.lib.catalog.photo_by_path(a / "renamed.jpg") is not None, what="the rename")
    os.rename(a / "renamed.jpg", b / "moved.jpg")  # across library folders
    # (inotify reports a move between two watched trees as a creation and, 0.5 s later, a deletion)
    until(lambda: w.lib.catalog.photo_by_path(b / "moved.jpg") is not None
          and w.lib.catalog.photo_by_path(a / "renamed.jpg") is None, what="the move")
    w.settle()

    moved = w.lib.photo(b / "moved.jpg")
    assert moved.id == first.id and moved.indexed_at == first.indexed_at, "; ".join(str(r.to_json()) for r in w.reports)
    assert embedding(w.lib, moved.id) == vector
    assert sum(r.summary.indexed for r in w.reports if r.kind == "changes") == 0  # no model work
    assert w.status()["photos"] == 2 and consistent(w.lib)


@pytest.mark.slow  # a few seconds of real waiting; the full suite runs it
def test_tags_and_album_memberships_follow_moves_and_leave_with_deletions(photos_dir, make_watched, short_graces):
    write_photos(photos_dir, 2)
    w = make_watched([photos_dir])
    pid = w.lib.photo(photos_dir / "p000.jpg").id
    now = time.time()
    with w.lib.catalog.transaction() as db:
        db.execute("INSERT INTO prompt_sets(id, name, updated_at) VALUES(1, 'manual', ?)", (now,))
        db.execute("INSERT INTO tags(photo_id, set_id, label, source, updated_at) VALUES(?, 1, 'cat', 'manual', ?)",
                   (pid, now))
        db.execute("INSERT INTO albums(id, name, kind, created_at) VALUES(1, 'trip', 'manual', ?)", (now,))
        db.execute("INSERT INTO album_photos(album_id, photo_id, state, added_at) VALUES(1, ?, 'pinned', ?)",
                   (pid, now))

    (photos_dir / "2024").mkdir()
    os.rename(photos_dir / "p000.jpg", photos_dir / "2024" / "cat.jpg")
    until(lambda: w.lib.catalog.photo_by_path(photos_dir / "2024" / "cat.jpg") is not None
          and w.lib.catalog.photo_by_path(photos_dir / "p000.jpg") is None, what="the move")
    assert w.lib.photo(photos_dir / "2024" / "cat.jpg").id == pid
    assert w.lib.catalog._query("SELECT label FROM tags WHERE photo_id = ?", (pid,)) == [("cat",)]
    assert w.lib.catalog._query("SELECT album_id FROM album_photos WHERE photo_id = ?", (pid,)) == [(1,)]

    (photos_dir / "2024" / "cat.jpg").unlink()
    until(lambda: w.lib.catalog.photo(pid) is None, what="the deletion")
    assert w.lib.catalog._query("SELECT COUNT(*) FROM tags") == [(0,)]
    assert w.lib.catalog._query("SELECT COUNT(*) FROM album_photos") == [(0,)]
    w.settle()
    assert consistent(w.lib)


@pytest.mark.slow  # a few seconds of real waiting; the full suite runs it
def test_a_whole_folder_moved_or_deleted_is_one_change(photos_dir, make_watched, short_graces):
    sub = photos_dir / "trip"
    write_photos(sub, 40)
    save(gradient(width=90, height=30), photos_dir / "keep.jpg")  # (content unlike the others)
    w = make_watched([photos_dir])
    ids = {p.name: w.lib.photo(p).id for p in sub.iterdir()}
    w.reports.clear()

    os.rename(sub, photos_dir / "trip-2024")
    until(lambda: w.lib.catalog.photo_by_path(photos_dir / "trip-2024" / "p039.jpg") is not None, what="the move")
    w.settle()
    assert {name: w.lib.photo(photos_dir / "trip-2024" / name).id for name in ids} == ids
    changes = [r for r in w.reports if r.kind == "changes" and r.changed]
    assert len(changes) == 1 and changes[0].summary.moved == 40 and changes[0].summary.indexed == 0

    w.reports.clear()
    shutil.rmtree(photos_dir / "trip-2024")
    until(lambda: w.status()["photos"] == 1, what="the folder's photos forgotten")
    w.settle()
    changes = [r for r in w.reports if r.kind == "changes" and r.changed]
    assert len(changes) == 1 and changes[0].summary.removed == 40, "; ".join(str(r.to_json()) for r in w.reports)
    assert consistent(w.lib)


@pytest.mark.slow  # a few seconds of real waiting; the full suite runs it
def test_a_file_still_being_written_is_indexed_once_complete(photos_dir, make_watched):
    write_photos(photos_dir, 1)
    w = make_watched([photos_dir], settle_s=1.5)
    data = jpeg_bytes(gradient(width=256, height=256, seed=7), quality=95)
    target = photos_dir / "slow.jpg"
    with open(target, "wb") as fh:
        step = -(-len(data) // 4)  # four writes, each after a pause longer than the debounce
        for i in range(0, len(data), step):
            fh.write(data[i:i + step])
            fh.flush()
            time.sleep(0.25)  # slower than the debounce: a naive watcher would index a truncated JPEG
            assert w.lib.catalog.photo_by_path(target) is None
            assert not w.lib.failures()
    until(lambda: w.status()["indexed"] == 2, what="the completed file indexed")
    assert not w.lib.failures()


@pytest.mark.slow  # a few seconds of real waiting; the full suite runs it
def test_polling_mode_follows_new_moved_and_deleted_files(photos_dir, make_watched, short_graces):
    write_photos(photos_dir, 2)
    w = make_watched([photos_dir], polling=True)
    save(gradient(seed=70), photos_dir / "new.jpg")
    until(lambda: w.status()["indexed"] == 3, what="the new photo (polling)")
    pid = w.lib.photo(photos_dir / "p001.jpg").id
    (photos_dir / "sub").mkdir()
    os.rename(photos_dir / "p001.jpg", photos_dir / "sub" / "moved.jpg")
    until(lambda: w.lib.catalog.photo_by_path(photos_dir / "sub" / "moved.jpg") is not None
          and w.lib.catalog.photo_by_path(photos_dir / "p001.jpg") is None, what="the move")
    assert w.lib.photo(photos_dir / "sub" / "moved.jpg").id == pid
    (photos_dir / "new.jpg").unlink()
    until(lambda: w.status()["photos"] == 2, what="the deletion (polling)")
    w.settle()
    assert consistent(w.lib)


def test_changes_made_while_not_running_are_reconciled_at_start(tmp_path, photos_dir, make_watched):
    write_photos(photos_dir, 4)
    with Library.open(tmp_path / "library", model=FAKE_MODEL) as lib:
        lib.index([photos_dir])
        ids = {p.name: lib.photo(p).id for p in photos_dir.iterdir()}
    (photos_dir / "old").mkdir()
    os.rename(photos_dir / "p000.jpg", photos_dir / "old" / "first.jpg")
    (photos_dir / "p001.jpg").unlink()
    save(gradient(seed=40), photos_dir / "added.jpg")

    w = make_watched([photos_dir])
    reconcile = next(r for r in w.reports if r.kind == "reconcile")
    assert (reconcile.summary.moved, reconcile.summary.removed, reconcile.summary.indexed) == (1, 1, 1)
    assert w.lib.photo(photos_dir / "old" / "first.jpg").id == ids["p000.jpg"]
    assert w.lib.photo(photos_dir / "p002.jpg").id == ids["p002.jpg"]
    assert w.status()["photos"] == 4 and consistent(w.lib)


@pytest.mark.slow  # a few seconds of real waiting; the full suite runs it
def test_a_watched_folder_that_disappears_is_neither_a_crash_nor_a_loss(tmp_path, make_watched):
    a, b = tmp_path / "a", tmp_path / "b"
    write_photos(a, 2)
    write_photos(b, 2, seed=10)
    w = make_watched([a, b])
    aside = tmp_path / "unmounted"
    os.rename(a, aside)  # the whole library folder vanishes (as when a drive is unmounted)
    save(gradient(seed=80), b / "still-watched.jpg")
    until(lambda: w.status()["indexed"] == 5, what="the other folder still followed")
    w.settle()
    assert w.status()["photos"] == 5  # the vanished folder's photos wait for it to come back

    w.sync.refresh_folders()  # (the CLI's watch does this every few seconds)
    assert str(a) not in w.sync.watched and str(b) in w.sync.watched

    os.rename(aside, a)  # mounted again: watched and rescanned, nothing lost or duplicated
    w.sync.refresh_folders()
    assert str(a) in w.sync.watched
    save(gradient(seed=81), a / "after-remount.jpg")
    until(lambda: w.status()["indexed"] == 6, what="the returning folder watched again")
    w.settle()
    assert w.status()["photos"] == 6 and consistent(w.lib)


@pytest.mark.slow  # a few seconds of real waiting; the full suite runs it
def test_pause_collects_changes_and_resume_applies_them(photos_dir, make_watched):
    write_photos(photos_dir, 1)
    w = make_watched([photos_dir])
    w.sync.pause()
    save(gradient(seed=90), photos_dir / "while-paused.jpg")
    # proving a negative needs a wait: unpaused, the photo would be indexed one debounce after its event
    time.sleep(3 * DEBOUNCE_S)
    assert w.status()["photos"] == 1
    w.sync.resume()
    until(lambda: w.status()["indexed"] == 2, what="changes applied on resume")


def test_status_counts_stay_exact_while_watching(photos_dir, make_watched):
    write_photos(photos_dir, 2)
    w = make_watched([photos_dir])
    write_photos(photos_dir / "burst", 30, prefix="b", seed=100)
    seen: list[tuple[int, int]] = []
    reader = sqlite3.connect(w.lib.catalog.path)  # another process's view, through WAL
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with reader:  # one read transaction: the counts come from one snapshot
            reader.execute("BEGIN")
            photos, = reader.execute("SELECT COUNT(*) FROM photos").fetchone()
            indexed, = reader.execute("SELECT COUNT(*) FROM embeddings").fetchone()
        seen.append((photos, indexed))
        if indexed == 32:
            break
        time.sleep(0.02)
    reader.close()
    assert all(2 <= i <= p <= 32 for p, i in seen), seen  # never a phantom or a double count
    assert [i for _, i in seen] == sorted(i for _, i in seen)  # indexed only grows during a burst
    s = w.status()
    assert (s["photos"], s["indexed"], s["pending"], s["failed"]) == (32, 32, 0, 0)


def test_coalesced_scopes_drop_everything_inside_a_recursive_scope():
    batch = ChangeBatch()
    batch.add_scope(b"/p/a/b", False)
    batch.add_scope(b"/p/a", True)
    batch.add_scope(b"/p/a/c/d", True)
    batch.add_scope(b"/p/ab", False)  # a sibling with a common prefix is not inside /p/a
    batch.add_scope(b"/p", False)
    assert batch.coalesced_scopes() == [(b"/p", False), (b"/p/a", True), (b"/p/ab", False)]


@pytest.mark.parametrize("workers", [1, 3])
@pytest.mark.slow  # a few seconds of real waiting; the full suite runs it
def test_decode_workers_reach_the_reconcile_and_live_batches(tmp_path, workers, make_watched):
    import threading

    seen: set[str] = set()

    def record(_progress) -> None:  # runs on the indexing thread while the decode pool is alive
        seen.update(t.name for t in threading.enumerate() if t.name.startswith("photosense-decode"))

    folder = tmp_path / "photos"
    write_photos(folder, 40)
    watched = make_watched([folder], workers=workers, on_progress=record)
    assert watched.lib.status()["indexed"] == 40
    assert len(seen) == workers, seen  # the reconcile used exactly that many decode threads
    seen.clear()
    write_photos(folder, 40, prefix="q", seed=100)
    until(lambda: watched.lib.status()["indexed"] == 80, 60, "the live batch")
    assert 1 <= len(seen) <= workers, seen


def test_a_pause_and_resume_during_the_reconcile_leave_nothing_pending(tmp_path, photos_dir):
    """Paused after the reconcile's first batch and resumed before the reconcile thread finished:
    the photos the reconcile did not reach are indexed without waiting for a file event."""
    write_photos(photos_dir, 40)
    lib = Library.open(tmp_path / "library", model=FAKE_MODEL)
    lib.add_folder(photos_dir)
    holder: dict = {}

    def on_progress(p):
        if p.phase == "indexing" and p.done and "paused" not in holder:
            holder["paused"] = True
            holder["sync"].pause()

    def on_change(report):
        if report.kind == "reconcile":
            holder["sync"].resume()  # (the reconcile thread has not finished yet)

    sync = LiveSync(lib, debounce_s=0.2, on_progress=on_progress, on_change=on_change)
    holder["sync"] = sync
    try:
        sync.start()
        until(lambda: "paused" in holder, 60, "the pause")
        until(lambda: lib.status()["pending"] == 0, 30, "the photos the reconcile did not reach")
    finally:
        assert sync.stop(10)
        lib.close()


def test_a_photo_caught_corrupt_keeps_its_row_and_comes_back_when_readable(photos_dir, make_watched):
    a, _ = write_photos(photos_dir, 2)
    w = make_watched([photos_dir])
    photo_id = w.lib.photo(a).id
    w.lib.tags.accept("favourite", [a])
    a.write_bytes(jpeg_bytes(gradient(seed=50, width=160))[:200])  # briefly corrupt
    until(lambda: w.lib.failures() != [], what="the failure recorded")
    w.settle()
    assert w.lib.photo(a).id == photo_id and [t.label for t in w.lib.tags.of(a)] == ["favourite"]
    s = w.status()
    assert (s["photos"], s["indexed"], s["pending"], s["failed"]) == (2, 1, 0, 1)
    save(gradient(seed=50, width=160), a)
    until(lambda: w.status()["indexed"] == 2, what="the photo re-embedded")
    w.settle()
    assert w.lib.photo(a).id == photo_id and w.lib.failures() == [] and consistent(w.lib)
    assert [t.label for t in w.lib.tags.of(a)] == ["favourite"]
