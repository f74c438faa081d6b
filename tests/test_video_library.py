"""Videos in the library, end to end on real clips with the fake colour embedder (torch-free): moments in
the search index, broken files, moves, copies, changes, deletions, repair, tags, albums, XMP, filters,
similar --at, the CLI's JSON, live sync; and one SIGKILL-and-resume run with the real tiny model."""
from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from fakes import COLORS, FakeEmbedder
from fakes import NAME as FAKE_MODEL
from fakes import color_image
from helpers import TINY_MODEL, save
from helpers import wait_until as until
from videos import (pattern, write_audio_only, write_clip, write_text, write_truncated, write_unknown_codec,
                    write_zero_bytes)

from photosense import Library
from photosense.core.catalog import FRAME_BASE
from photosense.core.errors import UsageError

# clip.mp4 (H.264): red 0-4 s, blue 4-8 s, green 8-12 s; other.webm (VP9): yellow 0-3 s, magenta 3-6 s
MAIN_SEGMENTS = (("red", 0.0, 4.0), ("blue", 4.0, 8.0), ("green", 8.0, 12.0))
OTHER_SEGMENTS = (("yellow", 0.0, 3.0), ("magenta", 3.0, 6.0))
PHOTO_COLORS = ("red", "blue", "cyan", "orange")
COLOR_SET = 'name = "colors"\n' + "".join(f'[labels."{c}"]\n' for c in ("red", "blue", "green", "yellow"))


def clip(path: Path, segments, **kw) -> Path:
    """A clip of solid colour segments ((name, start, end) in seconds), 10 fps, 160x120."""
    return write_clip(path, [(COLORS[name], end - start) for name, start, end in segments], fps=10, **kw)


def segment_of(segments, name: str) -> tuple[float, float]:
    return next((start, end) for n, start, end in segments if n == name)


@pytest.fixture
def media(photos_dir) -> dict[str, Path]:
    """Two clips and four colour photos; returns {name: path}."""
    out = {"clip": clip(photos_dir / "clip.mp4", MAIN_SEGMENTS),
           "other": clip(photos_dir / "other.webm", OTHER_SEGMENTS)}
    for n, color in enumerate(PHOTO_COLORS):
        out[color] = save(color_image(color, seed=n), photos_dir / f"{color}.jpg")
    return out


@pytest.fixture
def lib(fake_library, photos_dir, media):
    summary = fake_library.index([photos_dir])
    assert (summary.indexed, summary.failed) == (len(media), 0), summary.failures
    return fake_library


def model_id(lib: Library) -> int:
    return lib.catalog.model_id(lib.model_spec)


def frames(lib: Library, path: Path) -> list[tuple[int, float]]:
    """(frame id, t) of a library video's moments."""
    return lib.catalog.frames_of(lib.photo(path).id, model_id(lib))


def frame_vector_ids(lib: Library, path: Path) -> set[int]:
    return {FRAME_BASE + f for f, _ in frames(lib, path)}


def encoded(lib: Library) -> int:
    embedder = lib.embedder
    assert isinstance(embedder, FakeEmbedder)
    return embedder.images_encoded


def names(hits) -> list[str]:
    return [Path(h.path).name for h in hits]


def consistent(lib: Library) -> bool:
    """The live search index holds exactly the catalog's photos and video moments."""
    return lib.vectors().ids().tolist() == lib.catalog.vector_ids(model_id(lib)).tolist()


def copy(source: Path, target: Path) -> Path:
    shutil.copyfile(source, target)
    return target


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- indexing and search -------------------------------------------------------------------------

def test_a_video_is_indexed_with_its_moments_and_found_once_at_the_right_moment(lib, media):
    s = lib.status()
    assert (s["photos"], s["videos"], s["indexed"], s["pending"], s["failed"]) == (6, 2, 6, 0, 0)
    for key, segments in (("clip", MAIN_SEGMENTS), ("other", OTHER_SEGMENTS)):
        times = [t for _, t in frames(lib, media[key])]
        assert 3 <= len(times) <= 64 and times == sorted(times) and len(set(times)) == len(times)
        assert all(0 <= t < segments[-1][2] for t in times)
        for _, start, end in segments:  # every segment has a moment of its own
            assert any(start <= t < end for t in times), (key, start, end, times)
        assert lib.photo(media[key]).kind == "video"
        assert lib.photo(media[key]).duration == pytest.approx(segments[-1][2], abs=0.15)
    assert consistent(lib)

    for color, start, end in MAIN_SEGMENTS + OTHER_SEGMENTS:
        hits = lib.search(color)
        video = media["clip"] if (color, start, end) in MAIN_SEGMENTS else media["other"]
        expected = {str(video)} | ({str(media[color])} if color in PHOTO_COLORS else set())
        assert {h.path for h in hits} == expected and len(hits) == len(expected), (color, hits)
        # by score, except that a photo whose file name is the query's word comes first (keyword fusion)
        named = [h for h in hits if "name" in h.matched]
        assert all(os.path.basename(h.path).startswith(color) for h in named) and hits[:len(named)] == named
        assert [h.score for h in hits[len(named):]] == sorted((h.score for h in hits[len(named):]), reverse=True)
        hit = next(h for h in hits if h.path == str(video))
        assert hit.kind == "video" and start <= hit.at < end, (color, hit)
        assert hit.duration == pytest.approx(lib.photo(video).duration)
        for h in hits:
            if h.kind == "photo":
                assert h.at is None and h.duration is None

    assert names(lib.search("cyan")) == ["cyan.jpg"]  # no video has a cyan moment
    assert lib.search("purple") == []  # nothing purple: nothing above the cut-off
    everything = lib.search("purple", limit=100, show_all=True)
    assert sorted(names(everything)) == sorted(p.name for p in media.values())  # a video once, not per moment
    assert len(lib.search("red", limit=1)) == 1


def test_photos_and_videos_are_ranked_together_under_the_cut_off(fake_library, photos_dir):
    """Videos with a red moment and red photos in one ranking; a video with no red moment stays below the
    cut-off however many moments it has, and the limit counts a video once."""
    reds = [clip(photos_dir / f"red{k}.mov", [("black", 0, 2 + k), ("red", 2 + k, 6 + k)]) for k in range(3)]
    reds += [save(color_image("red", seed=k), photos_dir / f"red{k}.png") for k in range(3)]
    clip(photos_dir / "long-blue.mkv", [(c, 0, 4) for c in ("blue", "green", "blue", "yellow", "cyan")])
    save(color_image("green", seed=9), photos_dir / "green.png")
    assert fake_library.index([photos_dir]).indexed == 8
    hits = fake_library.search("red", limit=20)
    assert sorted(h.path for h in hits) == sorted(map(str, reds))
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    for h in hits:
        if h.kind == "video":
            k = int(Path(h.path).stem[-1])
            assert 2 + k <= h.at < 6 + k
    assert len(fake_library.search("red", limit=4)) == 4
    assert len({h.path for h in fake_library.search("red", limit=4)}) == 4


@pytest.mark.timeout(60)
def test_broken_videos_are_failures_with_distinct_readable_reasons_and_the_rest_is_indexed(fake_library, photos_dir,
                                                                                           tmp_path):
    good = clip(photos_dir / "good.mp4", MAIN_SEGMENTS)
    photo = save(color_image("orange"), photos_dir / "photo.jpg")
    camera = write_clip(tmp_path / "camera.mp4", [(pattern(k), 2.0) for k in range(4)], fps=15,
                        size=(320, 240), drift=0.05)  # the MP4 index ('moov') comes last, as cameras write it
    broken = {
        "zero.mp4": (write_zero_bytes(photos_dir / "zero.mp4"), r"empty"),
        "truncated.mp4": (write_truncated(camera, photos_dir / "truncated.mp4", 0.5), r"cut short|truncated"),
        "note.mp4": (write_text(photos_dir / "note.mp4"), r"not a video.*text"),
        "voice-memo.mp4": (write_audio_only(photos_dir / "voice-memo.mp4"), r"no video track.*audio"),
        "song.m4v": (write_audio_only(photos_dir / "song.m4v", cover=True), r"no video track.*audio"),
        "camera.mkv": (write_unknown_codec(photos_dir / "camera.mkv"), r"codec"),
    }
    summary = fake_library.index([photos_dir])
    assert (summary.indexed, summary.failed) == (2, len(broken)), summary.failures
    reasons = {Path(f.path).name: f.reason for f in fake_library.failures()}
    assert set(reasons) == set(broken)
    for name, (_, pattern_) in broken.items():
        reason = reasons[name]
        assert re.search(pattern_, reason), (name, reason)
        assert not re.search(r"Error\b|Exception|Errno|Traceback|0x[0-9a-f]", reason), (name, reason)
    kinds = ["zero.mp4", "truncated.mp4", "note.mp4", "voice-memo.mp4", "camera.mkv"]
    assert len({reasons[k] for k in kinds}) == len(kinds), reasons  # each problem says what it is
    s = fake_library.status()
    assert (s["photos"], s["videos"], s["indexed"], s["pending"], s["failed"]) == (2, 1, 2, 0, len(broken))
    assert names(fake_library.search("green")) == ["good.mp4"] and names(fake_library.search("orange")) == ["photo.jpg"]
    assert fake_library.check() == []
    again = fake_library.index()  # unchanged broken files are not retried
    assert (again.indexed, again.failed) == (0, 0)
    copy(camera, broken["truncated.mp4"][0])  # the copy completes: indexed under the same name
    done = fake_library.index()
    assert (done.indexed, done.failed) == (1, 0)
    assert "truncated.mp4" not in {Path(f.path).name for f in fake_library.failures()}
    assert fake_library.photo(good).kind == "video" and fake_library.photo(photo).kind == "photo"


# -- moves, copies, changes, deletions -----------------------------------------------------------

def test_moves_renames_and_folder_moves_keep_a_videos_id_tags_and_albums_without_decoding(lib, media, photos_dir):
    trip = clip(photos_dir / "trip" / "beach.mov", [("cyan", 0, 3), ("yellow", 3, 5)])
    lib.index()
    video = lib.photo(media["clip"])
    beach = lib.photo(trip)
    lib.tags.accept("favourite", [media["clip"], trip])
    lib.albums.create("Trip", manual=True)
    lib.albums.pin("Trip", [media["clip"], trip])
    lib.albums.create("Greens", "green")
    before = {k: frames(lib, p) for k, p in (("clip", media["clip"]), ("beach", trip))}
    vectors = lib.vectors().ids().tolist()
    start = encoded(lib)

    renamed = photos_dir / "holiday.mp4"
    os.rename(media["clip"], renamed)
    summary = lib.index()
    assert (summary.moved, summary.indexed, summary.reused, summary.removed) == (1, 0, 0, 0)
    (photos_dir / "2024" / "july").mkdir(parents=True)
    moved = photos_dir / "2024" / "july" / "HOLIDAY.MP4"
    os.rename(renamed, moved)
    os.rename(photos_dir / "trip", photos_dir / "2024" / "trip")  # a whole folder
    summary = lib.index()
    assert (summary.moved, summary.indexed, summary.reused, summary.removed) == (2, 0, 0, 0)
    assert encoded(lib) == start  # no frame was decoded or embedded again

    moved_beach = photos_dir / "2024" / "trip" / "beach.mov"
    for path, was, key in ((moved, video, "clip"), (moved_beach, beach, "beach")):
        now = lib.photo(path)
        assert (now.id, now.indexed_at, now.kind) == (was.id, was.indexed_at, "video")
        assert frames(lib, path) == before[key]
        assert [t.label for t in lib.tags.of(path)] == ["favourite"]
        assert "Trip" in lib.albums.of(path)
    assert sorted(lib.albums.of(moved)) == ["Greens", "Trip"]
    assert lib.vectors().ids().tolist() == vectors
    hit = next(h for h in lib.search("green") if h.kind == "video")
    assert hit.path == str(moved) and 8 <= hit.at < 12
    assert [h.path for h in lib.albums.photos("Greens")] == [str(moved)]
    assert lib.status()["videos"] == 3 and lib.check() == []


def test_a_copy_reuses_the_frames_without_decoding_and_both_are_found(lib, media, photos_dir):
    start = encoded(lib)
    (photos_dir / "backup").mkdir()
    duplicate = copy(media["clip"], photos_dir / "backup" / "clip copy.mp4")
    summary = lib.index()
    assert (summary.reused, summary.indexed) == (1, 0)
    assert encoded(lib) == start
    original, twin = lib.photo(media["clip"]), lib.photo(duplicate)
    assert twin.id != original.id and twin.kind == "video" and twin.duration == pytest.approx(original.duration)
    ours, theirs = frames(lib, media["clip"]), frames(lib, duplicate)
    assert [t for _, t in theirs] == [t for _, t in ours] and not {f for f, _ in ours} & {f for f, _ in theirs}
    held = lib.vectors()
    assert np.allclose(held.vectors([FRAME_BASE + f for f, _ in theirs]),
                       held.vectors([FRAME_BASE + f for f, _ in ours]))
    every = [h for h in lib.search("green", stack=False) if h.kind == "video"]  # every copy listed
    assert sorted(h.path for h in every) == sorted([str(media["clip"]), str(duplicate)])
    assert all(8 <= h.at < 12 for h in every)
    folded = [h for h in lib.search("green") if h.kind == "video"]  # by default the two are one stack
    assert len(folded) == 1 and folded[0].stack == 2 and 8 <= folded[0].at < 12
    assert folded[0].path in {str(media["clip"]), str(duplicate)}
    assert lib.status()["videos"] == 3 and consistent(lib) and lib.check() == []

    media["clip"].unlink()  # the copy's moments are its own
    lib.index()
    assert [h.path for h in lib.search("green")] == [str(duplicate)]
    assert consistent(lib) and lib.check() == []


def test_a_changed_video_is_sampled_again_under_the_same_id(lib, media):
    video = lib.photo(media["clip"])
    lib.tags.accept("favourite", [media["clip"]])
    old = frame_vector_ids(lib, media["clip"])
    start = encoded(lib)
    time.sleep(0.01)
    clip(media["clip"], [("white", 0, 3), ("purple", 3, 7)], size=(192, 108))  # edited: new content, same name
    summary = lib.index()
    assert (summary.indexed, summary.moved, summary.reused) == (1, 0, 0)
    assert encoded(lib) > start
    now = lib.photo(media["clip"])
    assert now.id == video.id and now.duration == pytest.approx(7.0, abs=0.15) and (now.width, now.height) == (192, 108)
    times = [t for _, t in frames(lib, media["clip"])]
    assert any(t < 3 for t in times) and any(3 <= t < 7 for t in times) and max(times) < 7
    assert not old & set(lib.vectors().ids().tolist())  # the old moments left the search index
    assert [h for h in lib.search("green") if h.kind == "video"] == []
    hit = next(h for h in lib.search("purple") if h.kind == "video")
    assert hit.path == str(media["clip"]) and 3 <= hit.at < 7
    assert [t.label for t in lib.tags.of(media["clip"])] == ["favourite"]
    assert consistent(lib) and lib.check() == []


def test_deleting_a_video_removes_it_and_its_moments_from_search(lib, media):
    gone = frame_vector_ids(lib, media["clip"])
    video_id = lib.photo(media["clip"]).id
    media["clip"].unlink()
    summary = lib.index()
    assert summary.removed == 1
    assert lib.search("green") == [] and names(lib.search("blue")) == ["blue.jpg"]
    assert str(media["clip"]) not in {h.path for h in lib.search("green", limit=100, show_all=True)}
    assert not gone & set(lib.vectors().ids().tolist())
    assert lib.catalog.frames_of(video_id, model_id(lib)) == []
    assert lib.catalog._query("SELECT COUNT(*) FROM frames WHERE photo_id = ?", (video_id,)) == [(0,)]
    s = lib.status()
    assert (s["photos"], s["videos"], s["indexed"]) == (5, 1, 5)
    assert consistent(lib) and lib.check() == []


def test_a_deleted_or_changed_video_leaves_no_moment_in_the_saved_index(library_dir, photos_dir, media, tmp_path,
                                                                        monkeypatch):
    """With the saved graph in use (as in any library of some size), the moments of a video deleted, edited
    or in a folder removed from the library must leave the graph too: 'photosense check' must stay clean."""
    monkeypatch.setattr("photosense.core.vectors.EXACT_LIMIT", 4)
    trip = clip(photos_dir / "trip" / "beach.mov", [("cyan", 0, 3), ("yellow", 3, 5)])
    with Library.open(library_dir, model=FAKE_MODEL) as lib:
        lib.index([photos_dir])
        assert lib.check() == []
        media["other"].unlink()
        clip(media["clip"], [("white", 0, 3), ("purple", 3, 7)], size=(192, 108))
        summary = lib.index()
        assert (summary.removed, summary.indexed) == (1, 1)
        assert lib.check() == []
        assert consistent(lib)
    with Library.open(library_dir) as lib:
        assert lib.check() == []
        shutil.move(photos_dir / "trip", tmp_path / "trip")
        lib.add_folder(tmp_path / "trip")
        lib.index()
        assert lib.photo(tmp_path / "trip" / "beach.mov").kind == "video"
        lib.remove_folder(tmp_path / "trip")
        assert lib.check() == [] and consistent(lib)
        assert lib.status()["videos"] == 1 and trip.name not in names(lib.search("cyan", show_all=True, limit=50))


# -- check and repair ----------------------------------------------------------------------------

def _saved_index(library_dir: Path, mid: int, dim: int):
    from photosense.core.vectors import VectorIndex

    index = VectorIndex(library_dir / "vectors", f"model-{mid}", dim)
    held = index.load()
    return index, held


def test_check_is_clean_and_repair_brings_back_a_videos_moments(library_dir, photos_dir, media, monkeypatch):
    monkeypatch.setattr("photosense.core.vectors.EXACT_LIMIT", 4)  # force the saved graph file
    with Library.open(library_dir, model=FAKE_MODEL) as lib:
        lib.index([photos_dir])
        assert lib.check() == []
        mid, dim = model_id(lib), lib.catalog.model_dim(model_id(lib))
        moments = frame_vector_ids(lib, media["clip"])
        truth = set(lib.catalog.vector_ids(mid).tolist())
    assert moments and moments <= truth

    # the saved index lost one video's moments (a graph saved by an older run, a bad copy)
    index, held = _saved_index(library_dir, mid, dim)
    assert held == truth
    index.remove(moments)
    index.save()
    with Library.open(library_dir) as lib:
        problems = lib.check()
        assert len(problems) == 1 and "missing from the search index" in problems[0], problems
        assert str(min(moments)) in problems[0]
        assert lib.check(repair=True) == problems
        assert lib.check() == []
        hit = next(h for h in lib.search("green") if h.kind == "video")
        assert hit.path == str(media["clip"]) and 8 <= hit.at < 12
    assert _saved_index(library_dir, mid, dim)[1] == truth

    # the saved index is gone altogether
    for f in (library_dir / "vectors").iterdir():
        f.unlink()
    with Library.open(library_dir) as lib:
        problems = lib.check()
        assert problems and "missing or unreadable" in problems[0], problems
        lib.check(repair=True)
        assert lib.check() == []
        assert moments <= set(lib.vectors().ids().tolist())
        assert names(h for h in lib.search("magenta")) == ["other.webm"]
    assert _saved_index(library_dir, mid, dim)[1] == truth


# -- tags, albums, XMP, filters, similar ---------------------------------------------------------

def test_tags_albums_and_xmp_sidecars_take_a_video_when_one_moment_matches(lib, media, photos_dir, tmp_path):
    (tmp_path / "colors.toml").write_text(COLOR_SET)
    lib.tags.apply(tmp_path / "colors.toml")
    labels = {Path(p).name: sorted(t.label for t in tags) for p, tags in lib.tags.all()}
    assert labels["clip.mp4"] == ["blue", "green", "red"]
    assert labels["other.webm"] == ["yellow"]
    assert labels["red.jpg"] == ["red"] and labels["blue.jpg"] == ["blue"]
    assert "cyan.jpg" not in labels and "orange.jpg" not in labels

    lib.albums.create("Greens", "green")
    shown = lib.albums.photos("Greens")
    assert [(h.path, h.kind) for h in shown] == [(str(media["clip"]), "video")]
    assert 8 <= shown[0].at < 12 and shown[0].duration == pytest.approx(12, abs=0.15)
    lib.albums.create("Yellows", "yellow")
    yellows = {Path(h.path).name: h for h in lib.albums.photos("Yellows")}
    assert set(yellows) == {"other.webm"} and 0 <= yellows["other.webm"].at < 3
    lib.albums.create("Nothing purple", "purple")
    assert lib.albums.photos("Nothing purple") == []

    late = clip(photos_dir / "late.mkv", [("black", 0, 2), ("green", 2, 4), ("yellow", 4, 6)])
    assert lib.index().indexed == 1  # a video indexed after the album was made joins it, and is tagged
    greens = {Path(h.path).name: h for h in lib.albums.photos("Greens")}
    assert set(greens) == {"clip.mp4", "late.mkv"} and 2 <= greens["late.mkv"].at < 4
    assert sorted(t.label for t in lib.tags.of(late)) == ["green", "yellow"]

    before = file_digest(media["clip"])
    report = lib.tags.export_xmp([media["clip"]])
    assert report == {"written": 1, "unchanged": 0, "failed": []}
    sidecar = media["clip"].with_name("clip.mp4.xmp")
    text = sidecar.read_text()
    for label in ("red", "blue", "green"):
        assert f"PhotoSense/colors/{label}" in text
    assert file_digest(media["clip"]) == before  # the video itself is never touched
    assert lib.index().indexed == 0 and lib.status()["photos"] == 7  # a sidecar is not an item


def test_kind_filters_pick_videos_or_photos(lib, media):
    assert names(lib.search("red kind:video")) == ["clip.mp4"]
    assert names(lib.search("red kind:photo")) == ["red.jpg"]
    assert lib.search("cyan kind:video") == []
    assert sorted(names(lib.search("kind:photo"))) == sorted(f"{c}.jpg" for c in PHOTO_COLORS)
    with pytest.raises(UsageError):
        lib.search("kind:sound")


def test_a_kind_filter_alone_lists_the_videos(lib, media, photos_dir):
    """A query of filters only lists what they select (newest first): kind:video must list the videos.
    (A video is in the search index as its moments, FRAME_BASE + frame id, never as its own id.)"""
    assert sorted(names(lib.search("kind:video"))) == ["clip.mp4", "other.webm"]
    hits = lib.search("kind:video")
    assert all(h.kind == "video" and h.duration for h in hits)
    folder = media["clip"].parent
    assert len(lib.search(f'folder:"{folder}"', limit=100)) == 6
    # a negative term judges moments one by one, as search does: it leaves out a video only when every
    # moment matches it (clip.mp4 has blue and green moments besides its red ones)
    clip(photos_dir / "all-red.mkv", [("red", 0, 5)])
    assert lib.index().indexed == 1
    assert sorted(names(lib.search("-red kind:video"))) == ["clip.mp4", "other.webm"]
    assert sorted(names(lib.search("-red"))) == sorted(["clip.mp4", "other.webm", "blue.jpg", "cyan.jpg",
                                                        "orange.jpg"])


def test_similar_at_picks_the_moment_of_a_video(lib, media, photos_dir, tmp_path):
    green = save(color_image("green", seed=7), photos_dir / "green.jpg")
    third = clip(photos_dir / "third.mov", [("black", 0, 2), ("blue", 2, 5)])
    assert lib.index().indexed == 2
    for at, first in ((1.0, media["red"]), (5.0, media["blue"]), (10.0, green)):
        hits = lib.similar(media["clip"], at=at)
        assert next(h for h in hits if h.kind == "photo").path == str(first), (at, hits[:3])
        assert str(media["clip"]) not in [h.path for h in hits]
    near_blue = lib.similar(media["clip"], at=6.0)[0]  # the same blue as a moment of another video
    assert near_blue.path == str(third) and near_blue.kind == "video" and 2 <= near_blue.at < 5
    assert names(lib.similar(media["clip"], at=1.0)[:1]) == ["red.jpg"]
    whole = lib.similar(media["clip"], limit=20)  # without at: the whole video (its mean)
    assert str(media["clip"]) not in [h.path for h in whole] and len(whole) == 7

    outside = copy(media["clip"], tmp_path / "outside.mp4")  # any video file, not in the library
    hits = lib.similar(outside, at=9.0)
    assert hits[0].path == str(media["clip"]) and 8 <= hits[0].at < 12 and hits[0].score > 0.99
    with pytest.raises(UsageError, match="not a video"):
        lib.similar(media["red"], at=1.0)


# -- the CLI -------------------------------------------------------------------------------------

def test_cli_json_says_kind_moment_and_duration(cli, library_dir, photos_dir, media):
    indexed = cli("index", photos_dir, "--model", FAKE_MODEL, "--json", library=library_dir)
    assert indexed.returncode == 0, indexed.stderr
    assert json.loads(indexed.stdout)["indexed"] == 6

    found = cli("search", "blue", "--json", library=library_dir)
    assert found.returncode == 0, found.stderr
    hits = {Path(h["path"]).name: h for h in json.loads(found.stdout)}
    assert set(hits) == {"clip.mp4", "blue.jpg"}
    assert set(hits["clip.mp4"]) == {"id", "path", "score", "kind", "matched", "at", "duration"}
    assert hits["clip.mp4"]["kind"] == "video" and 4 <= hits["clip.mp4"]["at"] < 8
    assert hits["clip.mp4"]["duration"] == pytest.approx(12, abs=0.15)
    assert set(hits["blue.jpg"]) == {"id", "path", "score", "kind", "matched"} and hits["blue.jpg"]["kind"] == "photo"
    assert hits["blue.jpg"]["matched"] == ["visual", "name"] and hits["clip.mp4"]["matched"] == ["visual"]
    only = json.loads(cli("search", "blue", "kind:video", "--json", library=library_dir).stdout)
    assert [Path(h["path"]).name for h in only] == ["clip.mp4"]
    text = cli("search", "green", library=library_dir)
    assert text.returncode == 0 and "clip.mp4" in text.stdout and "video, at 0:" in text.stdout

    made = cli("album", "create", "Greens", "--description", "green", "--json", library=library_dir)
    assert made.returncode == 0 and json.loads(made.stdout)["count"] == 1, made.stderr
    shown = json.loads(cli("album", "show", "Greens", "--json", library=library_dir).stdout)
    assert len(shown) == 1 and set(shown[0]) == {"path", "score", "kind", "at", "duration"}
    assert shown[0]["kind"] == "video" and 8 <= shown[0]["at"] < 12

    info = json.loads(cli("info", media["clip"], "--json", library=library_dir).stdout)
    assert info["kind"] == "video" and info["indexed"] is True
    assert info["duration"] == pytest.approx(12, abs=0.15) and 3 <= info["frames"] <= 64
    assert (info["width"], info["height"]) == (160, 120)
    photo = json.loads(cli("info", media["red"], "--json", library=library_dir).stdout)
    assert photo["kind"] == "photo" and "frames" not in photo and "duration" not in photo

    status = json.loads(cli("status", "--json", library=library_dir).stdout)
    assert (status["photos"], status["videos"], status["indexed"], status["failed"]) == (6, 2, 6, 0)

    similar = cli("similar", media["clip"], "--at", "5", "--json", library=library_dir)
    assert similar.returncode == 0, similar.stderr
    near = json.loads(similar.stdout)
    assert Path(near[0]["path"]).name == "blue.jpg" and "clip.mp4" not in [Path(h["path"]).name for h in near]
    refused = cli("similar", media["red"], "--at", "5", library=library_dir)
    assert refused.returncode == 2 and "not a video" in refused.stderr

    checked = cli("check", "--json", library=library_dir)
    assert checked.returncode == 0 and json.loads(checked.stdout)["ok"] is True


# -- live sync -----------------------------------------------------------------------------------

@pytest.mark.timeout(120)
def test_a_clip_copied_into_a_watched_folder_is_indexed_once_complete(tmp_path, photos_dir):
    from photosense.services.sync import LiveSync

    save(color_image("red"), photos_dir / "red.jpg")
    source = write_clip(tmp_path / "incoming.mp4", [(pattern(1), 2.0), (COLORS["green"], 3.0)], fps=15,
                        size=(320, 240), drift=0.05)  # (its index comes last: a partial copy cannot be read)
    data = source.read_bytes()
    lib = Library.open(tmp_path / "library", model=FAKE_MODEL)
    lib.add_folder(photos_dir)
    reports = []
    sync = LiveSync(lib, debounce_s=0.2, settle_s=1.5, on_change=reports.append)
    try:
        sync.start()
        until(lambda: any(r.kind == "reconcile" for r in reports), 60, "the start-up reconcile")
        assert lib.status()["indexed"] == 1
        target = photos_dir / "incoming.mp4"
        with open(target, "wb") as fh:
            step = -(-len(data) // 4)  # four writes, each after a pause longer than the debounce
            for i in range(0, len(data), step):
                fh.write(data[i:i + step])
                fh.flush()
                time.sleep(0.3)
                assert lib.catalog.photo_by_path(target) is None or lib.catalog.photo(
                    lib.catalog.photo_by_path(target).id).indexed_at is None
                assert not lib.failures(), lib.failures()
        until(lambda: lib.status()["indexed"] == 2, 30, "the completed clip indexed")
        assert sync.wait_idle(20)
        assert not lib.failures()
        s = lib.status()
        assert (s["photos"], s["videos"], s["indexed"], s["pending"]) == (2, 1, 2, 0)
        hit = next(h for h in lib.search("green") if h.kind == "video")
        assert hit.path == str(target) and 2 <= hit.at < 5
        assert consistent(lib)
    finally:
        assert sync.stop(10)
        lib.close()


# -- crash safety --------------------------------------------------------------------------------

KILLS = 5


def _snapshot(library: Path) -> tuple[dict[int, tuple[bytes, float | None]], dict[int, list[tuple[int, float]]]]:
    """(id -> (path, indexed_at), video id -> [(frame id, t)]) read the way another process would."""
    db = sqlite3.connect(library / "catalog.sqlite3", timeout=30)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        items = {i: (bytes(p), t) for i, p, t in db.execute("SELECT id, path, indexed_at FROM photos")}
        moments: dict[int, list[tuple[int, float]]] = {}
        for vid, fid, t in db.execute("SELECT photo_id, id, t FROM frames ORDER BY photo_id, t, id"):
            moments.setdefault(vid, []).append((fid, t))
        return items, moments
    finally:
        db.close()


def _embedded(library: Path) -> int:
    if not (library / "catalog.sqlite3").exists():
        return 0
    db = sqlite3.connect(library / "catalog.sqlite3", timeout=30)
    try:
        return db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        db.close()


def _start_index(library: Path, folder: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "photosense", "--library", str(library), "index", str(folder),
                             "--model", TINY_MODEL, "--batch-size", "8", "--workers", "1", "--no-text", "-q"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.mark.slow
@pytest.mark.model
@pytest.mark.timeout(600)
def test_sigkill_while_indexing_videos_loses_and_duplicates_nothing(tmp_path):
    rng = random.Random(77)
    folder, library = tmp_path / "clips", tmp_path / "library"
    suffixes = (".mp4", ".mkv", ".webm", ".mov", ".avi", ".m4v")
    for k in range(12):  # 12 distinct clips of 20 s (four scenes each, always moving), some photos between
        write_clip(folder / f"{k // 4}" / f"clip{k:02d}{suffixes[k % len(suffixes)]}",
                   [(pattern(100 * k + j), 5.0) for j in range(4)], fps=10, drift=0.04)
    for k in range(10):
        save(pattern(5000 + k, (96, 96)), folder / "photos" / f"p{k}.png")
    videos = sorted(os.fsencode(p) for p in folder.rglob("clip*"))
    previous: tuple[dict, dict] = ({}, {})
    kills_while_indexing = 0

    for attempt in range(KILLS):
        proc = _start_index(library, folder)
        base = _embedded(library)
        deadline = time.monotonic() + 120
        while _embedded(library) == base and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.25))  # indexing takes a second or two once the first batch is in
        finished = proc.poll() is not None
        if not finished:
            proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        if finished:
            assert proc.returncode == 0, proc.stderr.read().decode()
        proc.stderr.close()

        items, moments = _snapshot(library)
        paths = [p for p, _ in items.values()]
        assert len(paths) == len(set(paths)), f"a duplicated row after kill {attempt}"
        assert set(moments) <= set(items), f"moments of no video after kill {attempt}"
        for vid, ms in moments.items():
            times = [t for _, t in ms]
            assert len(times) == len(set(times)), f"video {vid} has duplicated moments after kill {attempt}"
            assert items[vid][1] is not None, f"video {vid} has moments but is not indexed after kill {attempt}"
        for pid, (path, indexed_at) in previous[0].items():
            if indexed_at is None:
                continue
            assert items.get(pid) == (path, indexed_at), \
                f"item {pid} ({path!r}) was lost or redone after kill {attempt}"
            if path in videos:
                assert moments.get(pid) == previous[1][pid], f"the moments of video {pid} changed after kill {attempt}"
        if not finished and sum(t is not None for _, t in items.values()) > \
                sum(t is not None for _, t in previous[0].values()):
            kills_while_indexing += 1
        with Library.open(library) as lib:
            mid = lib.catalog.model_id(lib.model_spec)
            if mid is not None:
                assert lib.vectors().ids().tolist() == lib.catalog.vector_ids(mid).tolist()
                assert lib.check() == []
        previous = (items, moments)
        if finished:
            break

    assert kills_while_indexing >= 2, "too few kills landed while clips were being indexed"
    final = _start_index(library, folder)
    assert final.wait(300) == 0, final.stderr.read().decode()
    final.stderr.close()
    items, moments = _snapshot(library)
    on_disk = sorted(os.fsencode(p) for p in folder.rglob("*") if p.is_file())
    assert sorted(p for p, _ in items.values()) == on_disk
    assert all(t is not None for _, t in items.values())
    by_path = {p: i for i, (p, _) in items.items()}
    assert sorted(p for p in by_path if by_path[p] in moments) == videos  # every video has its moments
    assert all(len(moments[by_path[v]]) >= 10 for v in videos)  # 20 s: the 2 s grid at least
    for pid, (path, indexed_at) in previous[0].items():
        if indexed_at is not None:
            assert items[pid] == (path, indexed_at)
    with Library.open(library) as lib:
        assert lib.failures() == [] and lib.check() == []
        s = lib.status()
        assert (s["photos"], s["videos"], s["indexed"], s["pending"]) == (len(on_disk), len(videos), len(on_disk), 0)
        assert lib.vectors().ids().tolist() == lib.catalog.vector_ids(lib.catalog.model_id(lib.model_spec)).tolist()
