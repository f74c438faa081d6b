"""Stacks in results on the fake colour embedder: copies and bursts fold into one hit, expansion, the setting and
--no-stack, stacks kept current by indexing, live sync, trash, undo and removal; albums; the JSON contract."""
from __future__ import annotations

import json
import os
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from fakes import color_image
from helpers import save
from photosense import Library
from photosense.core import stacks as stacking
from photosense.core.catalog import StackRows
from photosense.core.changes import ChangeBatch
from photosense.core.duplicates import Group

T0 = datetime(2024, 7, 14, 12, 0, 0)


def write(img: Image.Image, path: Path, fmt: str = "JPEG", when: datetime | None = None, **opts) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "JPEG":
        exif = Image.Exif()
        if when is not None:
            exif.get_ifd(0x8769)[0x9003] = when.strftime("%Y:%m:%d %H:%M:%S")
        opts = {"quality": 95, "exif": exif, **opts}
    img.save(path, fmt, **opts)
    return str(path)


def burst_shot(n: int, folder: Path, dx: int | None = None) -> str:
    green = color_image("green", size=110, seed=5)
    dx = 2 * n if dx is None else dx
    return write(green.crop((dx, 0, dx + 96, 96)), folder / "c" / f"green-{n}.jpg",
                 when=T0 + timedelta(hours=3, seconds=2 * n))


@pytest.fixture
def shots(photos_dir) -> dict[str, str]:
    """An exact pair (red), a near trio (blue), a lookalike, a burst of three (green) and a loner (yellow)."""
    base = color_image("blue", size=96, seed=1)
    out = {
        "red": write(color_image("red", size=96, seed=2), photos_dir / "a" / "red.jpg", when=T0),
        "blue": write(base, photos_dir / "a" / "blue.jpg", when=T0 + timedelta(hours=1)),
        "blue_small": write(base.resize((64, 64), Image.Resampling.LANCZOS), photos_dir / "b" / "blue-small.jpg",
                            when=T0 + timedelta(hours=1), quality=85),
        "blue_png": write(base, photos_dir / "b" / "blue.png", "PNG"),
        "blue_other": write(color_image("blue", size=96, seed=9), photos_dir / "a" / "blue-other.jpg",
                            when=T0 + timedelta(hours=2)),
        "yellow": write(color_image("yellow", size=96, seed=4), photos_dir / "a" / "yellow.jpg"),
    }
    shutil.copy2(out["red"], photos_dir / "b" / "red.jpg")
    out["red_copy"] = str(photos_dir / "b" / "red.jpg")
    for n in range(3):
        out[f"burst{n}"] = burst_shot(n, photos_dir)
    return out


BLUE = ("blue", "blue_small", "blue_png")
BURST = ("burst0", "burst1", "burst2")


@pytest.fixture
def lib(fake_library, photos_dir, shots):
    fake_library.index([photos_dir])
    return fake_library


def paths_of(shots, *names) -> set[str]:
    return {shots[n] for n in names}


@pytest.fixture
def incremental(monkeypatch):
    """Group new items incrementally even in a small library (where a full pass is the cheaper choice)."""
    from photosense.services import stacks

    monkeypatch.setattr(stacks, "FULL_SHARE", 2.0)


def stacks_by_paths(lib) -> dict[frozenset[str], str]:
    """Every stored stack as {member paths: kind}."""
    where = {i: p for i, p in lib.photos(stack=False)}
    return {frozenset(where[m] for m in s.members): s.kind for s in lib.catalog.all_stacks().values()}


def test_copies_and_bursts_fold_into_one_hit_with_the_count_and_the_best_member(lib, shots):
    assert stacks_by_paths(lib) == {frozenset(paths_of(shots, *BLUE)): "near",
                                    frozenset(paths_of(shots, "red", "red_copy")): "exact",
                                    frozenset(paths_of(shots, *BURST)): "burst"}
    stacks = [set(group) for group in stacks_by_paths(lib)]

    def stack_of(path: str) -> int | None:
        return next((k for k, stack_paths in enumerate(stacks) if path in stack_paths), None)

    for query, members in (("blue", BLUE), ("green", BURST), ("red", ("red", "red_copy"))):
        flat = lib.search(query, limit=20, show_all=True, stack=False)
        folded = lib.search(query, limit=20, show_all=True)
        group = paths_of(shots, *members)
        top = next(h for h in flat if h.path in group)
        # the best-scoring member stands for the stack; on a tie (byte copies score alike) the better ranked
        score = {h.path: h.score for h in flat}
        best = next(h for h in lib.stack(shots[members[0]]) if score[h.path] >= top.score - stacking.TIE)
        shown = [h for h in folded if h.path in group]
        assert [(h.path, h.stack) for h in shown] == [(best.path, len(group))]
        assert shown[0].score == pytest.approx(top.score, abs=stacking.TIE)
        # every stack (the others too, with --all) takes the place of its first hit; nothing else goes
        expected, seen = [], set()
        for h in flat:
            k = stack_of(h.path)
            if k is None:
                expected.append(h.path)
            elif k not in seen:
                seen.add(k)
                expected.append(k)
        assert [h.path if h.stack == 1 else stack_of(h.path) for h in folded] == expected
    lookalike = next(h for h in lib.search("blue", show_all=True) if h.path == shots["blue_other"])
    assert lookalike.stack == 1  # a lookalike is no copy


def test_expansion_lists_every_member_keeper_first(lib, shots):
    groups = {g.kind: g for g in lib.duplicates.groups()}
    hit = next(h for h in lib.search("blue") if h.stack > 1)
    members = lib.stack(hit)
    assert {h.path for h in members} == paths_of(shots, *BLUE)
    assert members[0].path == groups["near"].keeper.path == shots["blue"]
    assert [h.path for h in lib.stack(shots["blue_png"])] == [h.path for h in members]  # any member, any form
    assert [h.path for h in lib.stack(lib.photo(shots["blue_small"]).id)] == [h.path for h in members]
    stack = lib.stacks.of(shots["burst1"])
    assert stack.kind == "burst" and stack.cover.path == groups["burst"].keeper.path
    assert {h.path for h in stack.members} == paths_of(shots, *BURST)
    assert lib.stacks.of(shots["yellow"]) is None
    assert [h.path for h in lib.stack(shots["yellow"])] == [shots["yellow"]]  # alone: just itself
    assert lib.stacks.count() == 3


def test_the_grid_and_filters_fold_to_the_keeper_and_count_what_they_show(lib, shots, photos_dir):
    rows = lib.photos(counts=True)
    burst_cover = lib.stacks.of(shots["burst0"]).cover.path
    assert {p for _, p, _ in rows} == (set(shots.values()) - paths_of(shots, "blue_small", "blue_png", "red_copy", *BURST)
                                       ) | {burst_cover}
    counts = {p: n for _, p, n in rows}
    assert counts[shots["blue"]] == 3 and counts[shots["red"]] == 2 and counts[burst_cover] == 3
    assert counts[shots["yellow"]] == 1
    assert [(i, p) for i, p, _ in rows] == lib.photos()  # the same rows without counts
    assert len(lib.photos(stack=False)) == len(shots)
    # a filter shows the members it selects: b has two of the blue trio (the keeper is in a) and the red copy
    second = lib.stack(shots["blue"])[1].path  # the best-ranked blue copy in b
    assert lib.photos(photos_dir, counts=True) == rows  # a library folder's listing
    listed = lib.search("folder:b", limit=50)
    assert sorted((h.path, h.stack) for h in listed) == sorted([(second, 2), (shots["red_copy"], 1)])
    everything = lib.search("folder:a folder:b folder:c", limit=50)
    assert sum(h.stack for h in everything) == len(shots)  # every photo is counted once, none hidden for good


def test_the_setting_and_the_flags_turn_it_off(lib, shots, library_dir, cli):
    assert lib.stacking
    lib.set_stacking(False)
    assert not lib.stacking
    assert sum(h.path in paths_of(shots, *BLUE) for h in lib.search("blue", show_all=True)) == 3
    assert all(h.stack == 1 for h in lib.search("blue", show_all=True))
    assert len(lib.photos()) == len(shots)
    asked = lib.search("blue", show_all=True, stack=True)  # a call can ask
    assert [h.stack for h in asked if h.path in paths_of(shots, *BLUE)] == [3]
    lib.close()
    with Library.open(library_dir) as again:
        assert not again.stacking  # remembered
    on = cli("duplicates", "stacking", "on", "--json", library=library_dir)
    assert on.returncode == 0 and json.loads(on.stdout) == {"stacking": True, "stacks": 3}
    folded = json.loads(cli("search", "blue", "--all", "--json", library=library_dir).stdout)
    flat = json.loads(cli("search", "blue", "--all", "--json", "--no-stack", library=library_dir).stdout)
    assert len(flat) == len(shots) and len(folded) == len(shots) - 5 and all("stack" not in h for h in flat)
    assert [h.get("stack") for h in folded if h["path"] in paths_of(shots, *BLUE)] == [3]
    text = cli("search", "blue", "--all", library=library_dir).stdout
    assert "(stack of 3)" in text
    off = cli("duplicates", "stacking", "off", library=library_dir)
    assert off.returncode == 0 and "stacking off" in off.stdout
    assert len(json.loads(cli("search", "blue", "--all", "--json", library=library_dir).stdout)) == len(flat)
    assert cli("duplicates", "stacking", "maybe", library=library_dir).returncode == 2


def test_json_contract_adds_stack_only_when_it_folds(lib, shots, library_dir, cli):
    lib.close()
    sizes = {**{shots[n]: 3 for n in BLUE + BURST}, shots["red"]: 2, shots["red_copy"]: 2}
    hits = json.loads(cli("search", "green", "--all", "--json", library=library_dir).stdout)
    assert len(hits) == len(shots) - 5  # 2 of the blue trio, 2 of the burst and the red copy are folded
    for h in hits:
        stacked = h["path"] in sizes
        assert set(h) == ({"id", "path", "score", "kind", "matched", "stack"} if stacked
                          else {"id", "path", "score", "kind", "matched"})
        assert h.get("stack", 1) == sizes.get(h["path"], 1)
    similar = json.loads(cli("similar", shots["blue_other"], "--json", library=library_dir).stdout)
    assert sorted(h["stack"] for h in similar if "stack" in h) == [2, 3, 3]
    assert len(json.loads(cli("similar", shots["blue_other"], "--json", "--no-stack", library=library_dir).stdout)) \
        == len(shots) - 1
    expanded = json.loads(cli("duplicates", "stack", shots["burst2"], "--json", library=library_dir).stdout)
    assert expanded["kind"] == "burst" and {p["path"] for p in expanded["photos"]} == paths_of(shots, *BURST)
    assert [p["keep"] for p in expanded["photos"]] == [True, False, False]
    alone = json.loads(cli("duplicates", "stack", shots["yellow"], "--json", library=library_dir).stdout)
    assert alone == {"kind": None, "photos": [{"path": shots["yellow"], "kind": "photo", "keep": True}]}
    assert cli("duplicates", "stack", library=library_dir).returncode == 2


def test_albums_fold_too(lib, shots, library_dir, cli):
    lib.albums.create("trip", manual=True)
    lib.albums.pin("trip", [shots["blue_png"], shots["blue_small"], shots["red"], shots["yellow"]])
    shown = {h.path: h.stack for h in lib.albums.photos("trip")}
    keeper_in_album = lib.stack(shots["blue"])[1].path  # the keeper (blue.jpg) is not pinned: the next in rank
    assert shown == {keeper_in_album: 2, shots["red"]: 1, shots["yellow"]: 1}
    assert len(lib.albums.photos("trip", stack=False)) == 4
    assert len(lib.albums.photos("trip", limit=2)) == 2
    lib.albums.create("greens", description="green")
    greens = lib.albums.photos("greens")
    assert [h.stack for h in greens if h.path in paths_of(shots, *BURST)] == [3]
    flat = lib.albums.photos("greens", stack=False)
    top = max(h.score for h in flat if h.path in paths_of(shots, *BURST))
    cover = next(h for h in greens if h.path in paths_of(shots, *BURST))
    assert cover.score >= top - stacking.TIE  # a smart album shows its best member
    lib.close()
    out = json.loads(cli("album", "show", "trip", "--json", library=library_dir).stdout)
    assert sorted(h.get("stack", 1) for h in out) == [1, 1, 2] and all("id" not in h for h in out)
    assert len(json.loads(cli("album", "show", "trip", "--json", "--no-stack", library=library_dir).stdout)) == 4


def test_copies_and_shots_indexed_later_join_their_stacks(lib, shots, photos_dir, incremental):
    (photos_dir / "d").mkdir()
    shutil.copy2(shots["blue"], photos_dir / "d" / "blue again.jpg")
    burst_shot(3, photos_dir)
    write(color_image("purple", size=96, seed=7), photos_dir / "d" / "purple.jpg")
    lib.index()
    assert lib.stacks.last.mode == "incremental" and lib.stacks.last.grouped == 3
    assert len(lib.stack(shots["blue"])) == 4 and lib.stack(shots["blue"])[0].path == shots["blue"]
    assert len(lib.stack(shots["burst0"])) == 4
    assert [h.stack for h in lib.search("green") if h.stack > 1] == [4]
    before = stacks_by_paths(lib)
    assert lib.stacks.update(full=True).mode == "full"
    assert stacks_by_paths(lib) == before  # incremental and full agree
    assert lib.stacks.update().mode == "none"  # nothing left to group


def test_live_sync_batches_keep_stacks_current(lib, shots, photos_dir, incremental):
    target = photos_dir / "e"
    target.mkdir()
    shutil.copy2(shots["red"], target / "red 2.jpg")
    batch = ChangeBatch()
    batch.add_scope(os.fsencode(target), False)
    summary = lib.apply_changes(batch)
    assert summary.indexed + summary.reused == 1
    assert len(lib.stack(shots["red"])) == 3 and lib.stacks.last.mode == "incremental"
    os.remove(target / "red 2.jpg")
    lib.apply_changes(batch)
    assert len(lib.stack(shots["red"])) == 2


def test_trash_undo_removal_and_changes_update_the_counts(lib, shots, photos_dir, tmp_path, monkeypatch,
                                                         incremental):
    home = tmp_path / "home"
    (home / "data").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    from send2trash import plat_other

    for name in ("XDG_DATA_HOME", "HOMETRASH_B", "HOMETRASH"):
        monkeypatch.setattr(plat_other, name, getattr(plat_other, name))
    lib.duplicates.trash(confirm=True)
    blue = [h for h in lib.search("blue", show_all=True) if h.path in paths_of(shots, *BLUE)]
    assert [(h.path, h.stack) for h in blue] == [(shots["blue"], 1)]  # the copies went: nothing to fold
    assert lib.stacks.of(shots["blue"]) is None and len(lib.stack(shots["burst0"])) == 3  # bursts stay
    lib.duplicates.undo()
    blue = [h for h in lib.search("blue", show_all=True) if h.path in paths_of(shots, *BLUE)]
    assert [h.stack for h in blue] == [3]  # back in the stack
    os.remove(shots["burst2"])  # removed on disk: the next scan forgets it, and the count follows
    lib.index()
    assert len(lib.stack(shots["burst0"])) == 2
    write(color_image("magenta", size=96, seed=3), Path(shots["blue_png"]), "PNG")  # a changed member
    lib.index()
    assert {h.path for h in lib.stack(shots["blue"])} == paths_of(shots, "blue", "blue_small")
    lib.duplicates.keep(shots["blue_small"])  # the user's keeper becomes the cover
    assert lib.stack(shots["blue"])[0].path == shots["blue_small"]
    assert [p for _, p in lib.photos()].count(shots["blue_small"]) == 1 and shots["blue"] not in \
        [p for _, p in lib.photos()]


def test_video_copies_stack(fake_library, photos_dir):
    from videos import write_clip

    scenes = [((30, 180, 40), 2.0), ((220, 30, 30), 2.0)]
    clip = write_clip(photos_dir / "clip.mp4", scenes)
    (photos_dir / "backup").mkdir()
    copy = shutil.copy2(clip, photos_dir / "backup" / "clip copy.mp4")
    fake_library.index([photos_dir])
    videos = [h for h in fake_library.search("green") if h.kind == "video"]
    assert len(videos) == 1 and videos[0].stack == 2
    assert {h.path for h in fake_library.stack(videos[0])} == {str(clip), str(copy)}
    assert len([h for h in fake_library.search("green", stack=False) if h.kind == "video"]) == 2


def test_merge_and_fold_rules():
    # a burst chained over the keeper of a near group takes the group's copies along; the burst's keeper leads
    merged = stacking.merge_groups([Group("near", [5, 9], 5), Group("burst", [3, 5, 4], 3), Group("exact", [7, 8], 7),
                                    Group("near", [11], 11)])
    assert merged == [(3, "burst", [3, 5, 4, 9]), (7, "exact", [7, 8])]
    stacks = {3: StackRows(3, "burst", [3, 5, 4, 9]), 7: StackRows(7, "exact", [7, 8])}
    order = [1, 9, 7, 4, 2, 8, 3]
    assert stacking.fold(order, stacks) == [(1, 1), (9, 4), (7, 2), (2, 1)]
    # members the query leaves out do not count (those listed do)
    assert stacking.fold(order, stacks, allowed=lambda m: m in {9, 4}) == [(1, 1), (9, 3), (7, 2), (2, 1)]
    assert stacking.fold([9, 1], stacks, allowed=lambda m: False) == [(9, 1), (1, 1)]
    # a tie in score goes to the better ranked member, at the best one's place
    assert stacking.fold([8, 1, 7], stacks, scores=[0.9, 0.8, 0.8999]) == [(7, 2), (1, 1)]
    assert stacking.fold([8, 1, 7], stacks, scores=[0.9, 0.8, 0.85]) == [(8, 2), (1, 1)]
    assert stacking.fold(order, stacks, cover="keeper") == [(1, 1), (7, 2), (2, 1), (3, 3)]
    assert stacking.fold([1, 9, 2], stacks, cover="keeper") == [(1, 1), (9, 1), (2, 1)]  # one member shown: itself
    assert stacking.fold(order, {}) == [(i, 1) for i in order]
    assert stacking.parse_setting(None) and not stacking.parse_setting("off")


def test_the_catalog_schema_has_the_stacks_step(fake_library):
    assert fake_library.catalog.schema_version >= 5
    assert fake_library.catalog.unstacked() == [] and fake_library.stacks.update().mode == "none"


def test_indexing_stores_the_perceptual_hashes_so_stacks_never_decode_again(fake_library, photos_dir, monkeypatch):
    """The hashes come from the indexer's own decode; grouping after indexing opens no file."""
    from photosense.core import duplicates

    for n in range(3):
        save(color_image("red", seed=n), photos_dir / f"red-{n}.jpg")
    opened = []
    monkeypatch.setattr(duplicates, "signature_of_file", lambda path: opened.append(path))
    fake_library.index([photos_dir])
    ids = [i for i, _ in fake_library.photos(stack=False)]
    assert sorted(fake_library.catalog.signatures(ids)) == sorted(ids)
    fake_library.duplicates.groups()
    assert opened == []
