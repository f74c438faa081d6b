"""Duplicates and bursts on the fake colour embedder: groups, the keeper, the trash (a temporary one), undo, CLI."""
from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import ImageFilter

from fakes import color_image
from photosense import Library
from photosense.core import duplicates as dup

from duplicate_shots import T0, exif, write_duplicates  # noqa: E402


@pytest.fixture
def shots(photos_dir) -> dict[str, str]:
    """Named photos: an exact pair, a near trio, a lookalike, a burst of three, and a loner."""
    return write_duplicates(photos_dir)


@pytest.fixture
def lib(fake_library, photos_dir, shots):
    fake_library.index([photos_dir])
    return fake_library


def by_kind(lib) -> dict[str, list[set[str]]]:
    out: dict[str, list[set[str]]] = {}
    for g in lib.duplicates.groups():
        out.setdefault(g.kind, []).append({p.path for p in g.photos})
    return out


def test_exact_near_and_burst_groups_and_nothing_else(lib, shots):
    found = by_kind(lib)
    assert found["exact"] == [{shots["red"], shots["red_copy"]}]
    assert found["near"] == [{shots["blue"], shots["blue_small"], shots["blue_png"]}]
    assert found["burst"] == [{shots["burst0"], shots["burst1"], shots["burst2"]}]
    assert set(found) == {"exact", "near", "burst"}  # the lookalike and the loner are in no group


def test_the_suggested_keeper_is_the_largest_original(lib, shots):
    near = next(g for g in lib.duplicates.groups() if g.kind == "near")
    assert near.photos[0].keep and near.keeper.path == shots["blue"]
    assert [p.keep for p in near.photos].count(True) == 1
    small = next(p for p in near.photos if p.path == shots["blue_small"])
    assert (small.width, small.height, small.size) == (64, 64, os.path.getsize(shots["blue_small"]))


def test_keeper_rules_in_order():
    def item(i, w, size, suffix=".jpg", sharp=10.0, taken=None, camera=None, mtime=0):
        return dup.Item(i, f"/p/{i}{suffix}", w, w, size, taken, camera, mtime, sharpness=sharp)

    def keeper(*items):
        return dup.choose_keeper(list(items))[0]

    assert keeper(item(1, 100, 9000), item(2, 200, 9000)) == 2  # resolution first
    assert keeper(item(1, 100, 9000, ".png", sharp=50), item(2, 100, 5000)) == 2  # the capture format
    assert keeper(item(1, 100, 3000, sharp=50), item(2, 100, 5000)) == 2  # a re-encode (fewer bytes a pixel)
    assert keeper(item(1, 100, 5000, sharp=9), item(2, 100, 4900, sharp=12)) == 2  # then the sharpest
    assert keeper(item(1, 100, 5000), item(2, 100, 5000, taken=1.0, camera="x")) == 2  # then metadata
    assert keeper(item(1, 100, 5000, mtime=5), item(2, 100, 5000, mtime=3)) == 2  # then the older file
    assert dup.choose_keeper([item(1, 100, 5000), item(2, 50, 10)], {2: 1.0}) == (2, True)  # the user's choice


def test_the_users_keeper_is_remembered(lib, shots, library_dir):
    group = lib.duplicates.keep(shots["blue_png"])
    assert group.keeper.path == shots["blue_png"] and group.chosen
    lib.close()
    with Library.open(library_dir) as again:
        near = next(g for g in again.duplicates.groups() if g.kind == "near")
        assert near.keeper.path == shots["blue_png"] and near.chosen
        assert again.duplicates.trash(dry_run=True)["trashed"][0]["keeper"] in (shots["blue_png"], shots["red"])


def test_nothing_is_removed_without_an_explicit_confirmation(lib, shots, trash_home):
    seen = []
    for confirm in (False, None, "yes", lambda plan: seen.append(plan) or False):
        result = lib.duplicates.trash(confirm=confirm)
        assert result["cancelled"] and result["trashed"] == [] and result["freed_bytes"] == 0
    assert len(seen[0]["trashed"]) == 3 and seen[0]["freed_bytes"] > 0
    plan = lib.duplicates.trash(dry_run=True)
    assert {t["path"] for t in plan["trashed"]} == {shots["red_copy"], shots["blue_small"], shots["blue_png"]}
    assert all(os.path.exists(p) for p in shots.values()) and not trash_home.exists()


def test_the_trash_takes_the_copies_to_the_trash_folder_and_nowhere_else(lib, shots, trash_home, photos_dir):
    before = {p: os.path.getsize(p) for p in shots.values()}
    done = lib.duplicates.trash(confirm=True)
    copies = {shots["red_copy"], shots["blue_small"], shots["blue_png"]}
    assert {t["path"] for t in done["trashed"]} == copies
    assert done["freed_bytes"] == sum(before[p] for p in copies)
    for t in done["trashed"]:
        trashed = Path(t["trash_path"])
        assert trashed.parent == trash_home / "files" and trashed.stat().st_size == before[t["path"]]
        info = (trash_home / "info" / (trashed.name + ".trashinfo")).read_text()
        assert "[Trash Info]" in info and "Path=" in info
        assert not os.path.exists(t["path"])
    assert all(os.path.exists(p) for p in set(shots.values()) - copies)  # keepers, bursts, the rest
    assert len(os.listdir(trash_home / "files")) == 3
    assert {p for _, p in lib.photos(stack=False)} == set(shots.values()) - copies  # forgotten at once
    assert all(lib.catalog.photo_by_path(p) is None for p in copies)
    assert by_kind(lib).keys() == {"burst"}
    assert lib.index().removed == 0 and lib.check() == []


def test_albums_pins_and_tags_follow_the_keeper_and_undo_puts_them_back(lib, shots, trash_home):
    lib.albums.create("trip", manual=True)
    lib.albums.pin("trip", [shots["blue_small"]])
    lib.tags.accept("sea", [shots["blue_png"]])
    lib.tags.accept("stamp", [shots["red_copy"]])
    ids = {k: lib.photo(p).id for k, p in shots.items()}
    lib.duplicates.trash(confirm=True)
    assert [h.path for h in lib.albums.photos("trip")] == [shots["blue"]]
    assert [t.label for t in lib.tags.of(shots["blue"])] == ["sea"]
    assert [t.label for t in lib.tags.of(shots["red"])] == ["stamp"]

    undone = lib.duplicates.undo()
    assert {r["path"] for r in undone["restored"]} == {shots["red_copy"], shots["blue_small"], shots["blue_png"]}
    assert undone["failed"] == [] and all(os.path.exists(p) for p in shots.values())
    assert os.listdir(trash_home / "files") == [] and os.listdir(trash_home / "info") == []
    assert {k: lib.photo(p).id for k, p in shots.items()} == ids  # the same ids
    assert [h.path for h in lib.albums.photos("trip")] == [shots["blue_small"]]
    assert [t.label for t in lib.tags.of(shots["blue_png"])] == ["sea"] and lib.tags.of(shots["blue"]) == []
    assert [t.label for t in lib.tags.of(shots["red_copy"])] == ["stamp"] and lib.tags.of(shots["red"]) == []
    assert shots["blue_small"] in {h.path for h in lib.similar(shots["blue"], limit=5, stack=False)}  # its vector is back
    assert by_kind(lib)["near"] == [{shots["blue"], shots["blue_small"], shots["blue_png"]}]
    summary = lib.index()
    assert (summary.indexed, summary.removed) == (0, 0) and lib.check() == []
    with pytest.raises(Exception, match="no trash operation"):
        lib.duplicates.undo()


def test_bursts_are_stacks_never_trashed(lib, shots, trash_home):
    lib.duplicates.trash(confirm=True)
    burst = [shots[f"burst{n}"] for n in range(3)]
    assert all(os.path.exists(p) for p in burst)
    assert by_kind(lib)["burst"] == [set(burst)]


def test_a_changed_copy_is_not_trashed(lib, shots, trash_home):
    with open(shots["blue_png"], "ab") as fh:
        fh.write(b"\0")
    done = lib.duplicates.trash(confirm=True)
    assert shots["blue_png"] not in {t["path"] for t in done["trashed"]} and os.path.exists(shots["blue_png"])
    assert [s["path"] for s in done["skipped"]] == [shots["blue_png"]]


def test_cli_json_contract_trash_refusal_and_undo(lib, shots, trash_home, cli, library_dir, monkeypatch):
    lib.close()
    listed = cli("duplicates", "--json", library=library_dir)
    assert listed.returncode == 0, listed.stderr
    groups = json.loads(listed.stdout)
    assert [g["kind"] for g in groups] == ["exact", "near", "burst"]
    for g in groups:
        assert all(set(p) == {"path", "keep", "width", "height", "size"} for p in g["photos"])
        assert [p["keep"] for p in g["photos"]].count(True) == 1
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    refused = cli("duplicates", "trash", library=library_dir)
    assert refused.returncode == 2 and "--yes" in refused.stderr and all(os.path.exists(p) for p in shots.values())
    dry = json.loads(cli("duplicates", "trash", "--dry-run", "--json", library=library_dir).stdout)
    assert len(dry["trashed"]) == 3 and all(t["trash_path"] is None for t in dry["trashed"])
    done = cli("duplicates", "trash", "--yes", "--json", library=library_dir)
    result = json.loads(done.stdout)
    assert done.returncode == 0 and set(result) == {"trashed", "freed_bytes"}
    assert {t["path"] for t in result["trashed"]} == {t["path"] for t in dry["trashed"]}
    assert all(Path(t["trash_path"]).is_file() for t in result["trashed"])
    assert result["freed_bytes"] == dry["freed_bytes"]
    undo = cli("duplicates", "undo", library=library_dir)
    assert undo.returncode == 0 and all(os.path.exists(p) for p in shots.values())
    assert len(json.loads(cli("duplicates", "--json", library=library_dir).stdout)) == 3


def test_cli_trash_asks_on_a_terminal(lib, shots, trash_home, cli, library_dir, monkeypatch):
    lib.close()

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Tty("n\n"))
    answered_no = cli("duplicates", "trash", library=library_dir)
    assert answered_no.returncode == 0 and "[y/N]" in answered_no.stderr
    assert all(os.path.exists(p) for p in shots.values())
    monkeypatch.setattr("sys.stdin", Tty("y\n"))
    assert cli("duplicates", "trash", library=library_dir).returncode == 0
    assert not os.path.exists(shots["red_copy"]) and os.path.exists(shots["red"])


def test_a_crop_is_matched_through_its_window_and_lookalikes_are_not_chained():
    img = color_image("blue", size=120, seed=3).filter(ImageFilter.GaussianBlur(1))
    whole, _ = dup.signature_of_image(img)
    crop, _ = dup.signature_of_image(img.crop((0, 4, 116, 120)))
    assert int(dup.hash_distance(whole, crop)) <= dup.HASH_NEAR
    other, _ = dup.signature_of_image(color_image("blue", size=120, seed=40))
    assert int(dup.hash_distance(whole, other)) > dup.HASH_NEAR
    # 1-2 and 3-4 are groups; a lone lookalike link 2-3 must not chain them
    links = {(1, 2), (3, 4), (2, 3)}
    groups = dup.average_linkage([(1, 2, 0), (3, 4, 0), (2, 3, 5)], lambda a, b: (min(a, b), max(a, b)) in links)
    assert sorted(groups) == [[1, 2], [3, 4]]


def test_video_copies_need_the_duration_and_most_moments():
    rng = np.random.default_rng(0)
    moments = rng.standard_normal((5, 8)).astype(np.float32)
    moments /= np.linalg.norm(moments, axis=1, keepdims=True)
    times = np.arange(5, dtype=np.float32) * 2
    assert dup.video_pair(times, moments, 10.0, times, moments * 0.999, 10.1)
    assert not dup.video_pair(times, moments, 10.0, times, moments, 14.0)  # a trimmed clip
    other = moments.copy()
    other[:2] = -other[:2]  # two moments in five differ
    assert not dup.video_pair(times, moments, 10.0, times, other, 10.0)


def test_the_catalog_schema_has_the_duplicates_step(fake_library):
    assert fake_library.catalog.schema_version >= 4
    assert fake_library.duplicates.groups() == []


def test_video_copies_are_one_group_a_trimmed_or_other_clip_is_not(fake_library, photos_dir):
    from videos import write_clip

    scenes = [((220, 30, 30), 2.0), ((30, 60, 220), 2.0), ((30, 180, 40), 2.0)]
    clip = write_clip(photos_dir / "v" / "clip.mp4", scenes)
    converted = write_clip(photos_dir / "w" / "clip.webm", scenes, size=(128, 96))
    write_clip(photos_dir / "v" / "trimmed.mp4", scenes[:2])
    write_clip(photos_dir / "v" / "other.mp4", [((240, 230, 40), 2.0), ((120, 40, 160), 2.0), ((250, 140, 20), 2.0)])
    fake_library.index([photos_dir])
    assert fake_library.status()["videos"] == 4
    groups = fake_library.duplicates.groups()
    assert [(g.kind, {p.path for p in g.photos}) for g in groups] == [("near", {str(clip), str(converted)})]
    assert groups[0].keeper.path == str(clip)  # the larger frame


def test_trash_only_some_copies_and_what_undo_would_restore(lib, trash_home):
    """One group's copies can be trashed alone (the app's 'Trash the others'); last_trash() tells
    what undo would bring back."""
    groups = [g for g in lib.duplicates.groups() if g.kind in ("exact", "near")]
    assert len(groups) >= 2
    first = [p.path for p in groups[0].photos if not p.keep]
    others = [p.path for g in groups[1:] for p in g.photos if not p.keep]
    assert lib.duplicates.last_trash() is None
    done = lib.duplicates.trash(True, only=first)
    assert sorted(t["path"] for t in done["trashed"]) == sorted(first)
    assert all(os.path.exists(p) for p in others)
    assert lib.duplicates.last_trash() == {"photos": len(first), "paths": sorted(first)}
    lib.duplicates.undo()
    assert lib.duplicates.last_trash() is None and all(os.path.exists(p) for p in first)


def test_a_burst_within_one_second_is_a_stack_not_copies(fake_library, photos_dir, trash_home):
    """Burst modes shoot several frames a second: EXIF SubSecTimeOriginal tells them apart from copies
    of one shot, which carry the same fraction."""
    green = color_image("green", size=100, seed=5)
    shots = []
    for n, dx in enumerate((0, 2, 4)):
        exif_data = exif(T0)
        exif_data.get_ifd(0x8769)[0x9291] = f"{n * 20:02d}"  # .00, .20, .40 s: three frames in one second
        path = photos_dir / f"green-{n}.jpg"
        green.crop((dx, 0, dx + 96, 96)).save(path, "JPEG", quality=95, exif=exif_data)
        shots.append(str(path))
    shutil.copy2(shots[0], photos_dir / "copy-of-green-0.jpg")  # a real copy: the same fraction
    fake_library.index([photos_dir])
    assert fake_library.photo(shots[1]).taken_at == "2024-07-14T12:00:00.200"
    kinds = sorted((g.kind, sorted(os.path.basename(p.path) for p in g.photos)) for g in fake_library.duplicates.groups())
    assert ("burst", ["green-0.jpg", "green-1.jpg", "green-2.jpg"]) in kinds or \
        ("burst", ["copy-of-green-0.jpg", "green-0.jpg", "green-1.jpg", "green-2.jpg"]) in kinds
    assert ("exact", ["copy-of-green-0.jpg", "green-0.jpg"]) in kinds
    planned = {os.path.basename(t["path"]) for t in fake_library.duplicates.trash(True, dry_run=True)["trashed"]}
    assert planned <= {"copy-of-green-0.jpg", "green-0.jpg"}  # only one of the two copies, never a burst frame


def test_near_edges_decide_every_candidate_pair_as_near_pair_does_one_by_one():
    from photosense.core import duplicates as dup

    rng = np.random.default_rng(11)
    base = rng.integers(0, 2**63, (dup.HASHES, dup.WORDS), dtype=np.uint64)
    items = {}
    for i in range(300):
        flips = rng.integers(0, 2**63, (dup.HASHES, dup.WORDS), dtype=np.uint64) & \
            rng.integers(0, 2**63, (dup.HASHES, dup.WORDS), dtype=np.uint64)  # ~1/4 of the bits differ
        signature = None if i % 17 == 0 else (base ^ flips if i % 3 else base ^ (flips & flips >> np.uint64(3)))
        w, h = [(4000, 3000), (3000, 4000), (4000, 2990), (None, None), (1200, 900)][i % 5]
        taken = None if i % 4 == 0 else 1_700_000_000 + float(i % 7) + (0.0004 * (i % 3))
        items[i * 10] = dup.Item(i * 10, f"p{i}.jpg", w, h, 1000, taken=taken, signature=signature,
                                 precise=bool(i % 2))
    ids = list(items)
    pairs = {(a, b): float(rng.uniform(0.85, 1.0)) for a, b in
             (sorted(rng.choice(ids, 2, replace=False).tolist()) for _ in range(4000))}
    expected = sorted((a, b, int(dup.hash_distance(items[a].signature, items[b].signature)))
                      for (a, b), cos in pairs.items() if dup.near_pair(items[a], items[b], cos))
    assert expected  # the data has both outcomes
    assert len(expected) < len(pairs) / 2
    assert sorted(dup.near_edges(items, pairs, chunk=97)) == expected
    assert dup.near_edges(items, {}) == []
