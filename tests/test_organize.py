"""Tags, albums and calibrated search through the Library API and the CLI, on real files with the fake
colour embedder (the mechanics; what the real model sees is test_organize_model.py)."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from fakes import NAME as FAKE_MODEL
from fakes import color_image
from helpers import save
from photosense import Library
from photosense.core.errors import UsageError

COLORS = ("red", "blue", "green", "yellow", "white", "black")
TAGGED = COLORS[:4]  # the labels of COLOR_SET; white and black photos match none of them
COLOR_SET = 'name = "colors"\n' + "".join(f'[labels."{c}"]\n' for c in TAGGED)
TWO_SET = 'name = "two"\n[labels."red"]\n[labels."blue"]\n'


@pytest.fixture
def colors(photos_dir):
    """24 photos (4 of each of 6 colours), half in photos/a, half in photos/b; returns {path: colour}."""
    found = {}
    for n in range(24):
        color = COLORS[n % 6]
        path = save(color_image(color, seed=n), photos_dir / ("a" if (n // 6) % 2 else "b") / f"{color}{n:02d}.jpg")
        found[str(path)] = color
    return found


@pytest.fixture
def lib(fake_library, photos_dir, colors, tmp_path):
    fake_library.index([photos_dir])
    (tmp_path / "colors.toml").write_text(COLOR_SET)
    (tmp_path / "two.toml").write_text(TWO_SET)
    return fake_library


def of_color(colors: dict[str, str], *names: str) -> set[str]:
    return {p for p, c in colors.items() if c in names}


def more_photos(folder: Path, n: int, seed: int) -> dict[str, str]:
    """*n* more photos of the 6 colours in *folder* (indexed later); returns {path: colour}."""
    return {str(save(color_image(COLORS[k % 6], seed=seed + k), folder / f"n{k:02d}.png")): COLORS[k % 6]
            for k in range(n)}


def test_an_applied_set_tags_the_photos_of_its_labels_with_calibrated_scores(lib, colors, tmp_path):
    result = lib.tags.apply(tmp_path / "colors.toml")
    assert result == {"set": "colors", "labels": 4, "photos": 24, "tags": 16}
    for path, color in colors.items():
        tags = lib.tags.of(path)
        assert all(t.set == "colors" and t.source == "auto" and 0.3 <= t.score <= 1 for t in tags)
        assert [t.label for t in tags] == ([color] if color in TAGGED else []), path
    assert [s["name"] for s in lib.tags.sets()] == ["colors"]


def test_a_photo_that_matches_no_label_gets_no_tag(lib, colors, tmp_path):
    """Two competing labels alone would split every photo between them; the background stops that."""
    lib.tags.apply(tmp_path / "two.toml")
    assert {p for p in colors if lib.tags.of(p)} == of_color(colors, "red", "blue")


def test_photos_indexed_later_are_tagged_by_every_set(lib, photos_dir, tmp_path):
    lib.tags.apply(tmp_path / "colors.toml")
    lib.tags.apply(tmp_path / "two.toml")
    new = more_photos(photos_dir / "later", 12, seed=100)
    assert lib.index().indexed == 12
    for path, color in new.items():
        expected = {("colors", color)} if color in TAGGED else set()
        expected |= {("two", color)} if color in ("red", "blue") else set()
        assert {(t.set, t.label) for t in lib.tags.of(path)} == expected, path


def test_manual_accept_and_reject_survive_retagging_and_reindexing(lib, colors, tmp_path):
    lib.tags.apply(tmp_path / "colors.toml")
    red = sorted(of_color(colors, "red"))[0]
    assert [t.label for t in lib.tags.of(red)] == ["red"]
    lib.tags.reject("red", [red])
    lib.tags.accept("colors/blue", [red])
    lib.tags.accept("favourite", [red])  # a label of no set: the built-in manual set
    lib.tags.apply(tmp_path / "colors.toml")
    save(color_image("red", seed=99), Path(red))  # edited: re-embedded, retagged
    assert lib.index().indexed == 1
    labels = {(t.set, t.label): t.source for t in lib.tags.of(red)}
    assert ("colors", "red") not in labels
    assert labels == {("colors", "blue"): "manual", ("manual", "favourite"): "manual"}
    rejected = [t for t in lib.tags.of(red, include_rejected=True) if t.rejected]
    assert [(t.set, t.label) for t in rejected] == [("colors", "red")]
    with pytest.raises(UsageError, match="no label"):
        lib.tags.accept("colors/scarf", [red])


def test_tags_and_albums_follow_moves_and_go_with_deleted_photos(lib, colors, photos_dir, tmp_path):
    lib.tags.apply(tmp_path / "colors.toml")
    greens = sorted(of_color(colors, "green"))
    lib.albums.create("keep", manual=True)
    lib.albums.pin("keep", greens[:2])
    moved = photos_dir / "elsewhere" / "renamed.jpg"
    moved.parent.mkdir()
    before = lib.tags.of(greens[0])
    assert before
    Path(greens[0]).rename(moved)
    assert lib.index().moved == 1
    assert lib.tags.of(moved) == before and "keep" in lib.albums.of(moved)
    gone = greens[1]
    gone_id = lib.photo(gone).id
    Path(gone).unlink()
    lib.index()
    db = sqlite3.connect(lib.catalog.path)
    for table in ("tags", "album_photos", "organized"):
        assert db.execute(f"SELECT COUNT(*) FROM {table} WHERE photo_id = ?", (gone_id,)).fetchone()[0] == 0
    db.close()
    assert [h.path for h in lib.albums.photos("keep")] == [str(moved)]


def test_smart_album_fills_stays_live_and_keeps_pins_and_excludes(lib, colors, photos_dir):
    album = lib.albums.create("reds", "red")
    shown = [h.path for h in lib.albums.photos("reds")]
    assert album.count == len(shown) and set(shown) == of_color(colors, "red")
    blue = sorted(of_color(colors, "blue"))[0]
    lib.albums.pin("reds", [blue])
    lib.albums.exclude("reds", [shown[0]])
    new = more_photos(photos_dir / "later", 12, seed=200)
    lib.index()
    shown = [h.path for h in lib.albums.photos("reds")]
    assert of_color(new, "red") <= set(shown)  # photos indexed later join the album
    assert set(shown) == (of_color(colors, "red") | of_color(new, "red") | {blue}) - set(lib.albums.excluded("reds"))
    assert len(lib.albums.excluded("reds")) == 1 and lib.albums.excluded("reds")[0] not in shown
    lib.albums.reset("reds", [blue])
    assert blue not in [h.path for h in lib.albums.photos("reds")]


def test_album_filters_and_errors(lib, colors, photos_dir):
    lib.albums.create("reds in a", "red", {"folders": [str(photos_dir / "a")]})
    shown = {h.path for h in lib.albums.photos("reds in a")}
    assert shown and shown == {p for p in of_color(colors, "red") if "/a/" in p}
    with pytest.raises(UsageError, match="already exists"):
        lib.albums.create("reds in a", "blue")
    with pytest.raises(UsageError, match="no album named"):
        lib.albums.photos("nope")
    lib.albums.edit("reds in a", new_name="A reds")
    assert [a.name for a in lib.albums.list()] == ["A reds"]
    lib.albums.delete("A reds")
    assert lib.albums.list() == []


def test_search_cut_off_filters_and_plus_minus_terms(lib, colors, photos_dir, tmp_path):
    reds = of_color(colors, "red")
    calibrated = lib.search("red", limit=40)
    everything = lib.search("red", limit=40, show_all=True)
    assert len(everything) == 24 and {h.path for h in calibrated} == reds
    assert [h.path for h in calibrated] == [h.path for h in everything[:len(calibrated)]]
    in_a = lib.search("red folder:a", limit=40, show_all=True)
    assert len(in_a) == 12 and all("/a/" in h.path for h in in_a)  # the filter is exact, not a top-k cut
    assert {h.path for h in lib.search("red folder:a", limit=40)} == {p for p in reds if "/a/" in p}
    lib.tags.apply(tmp_path / "colors.toml")
    assert {h.path for h in lib.search("tag:colors/yellow", limit=40)} == of_color(colors, "yellow")
    both = {h.path for h in lib.search("red +blue", limit=40)}
    assert both == of_color(colors, "red", "blue")
    assert {h.path for h in lib.search("red +blue -blue", limit=40)} == reds
    with pytest.raises(UsageError):
        lib.search("  ")


def test_migration_from_schema_1_keeps_photos_and_backs_up(tmp_path):
    from photosense.core.catalog.migrations import MIGRATIONS

    lib_dir = tmp_path / "old"
    lib_dir.mkdir()
    db = sqlite3.connect(lib_dir / "catalog.sqlite3")
    MIGRATIONS[0](db)
    db.execute("INSERT INTO folders(id, path, added_at) VALUES(1, x'2f70', 0)")
    db.execute("INSERT INTO photos(path, folder_id, size, mtime_ns, added_at) VALUES(x'2f702f31', 1, 1, 1, 0)")
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    with Library.open(lib_dir, model=FAKE_MODEL) as lib:
        assert lib.catalog.schema_version >= 2 and lib.status()["photos"] == 1
        assert lib.albums.list() == [] and lib.tags.sets() == []
    assert (lib_dir / "catalog.sqlite3.v1.bak").exists()


def test_filters_never_lose_matches_to_the_approximate_index(library_dir, photos_dir, colors, monkeypatch):
    """With the hnswlib graph in use, a filtered search is exact over the photos that pass the filter."""
    monkeypatch.setattr("photosense.core.vectors.EXACT_LIMIT", 2)
    with Library.open(library_dir, model=FAKE_MODEL) as lib:
        lib.index([photos_dir])
        assert lib.vectors().uses_hnsw
        in_a = lib.search("red folder:a", limit=100, show_all=True)
        assert sorted(h.path for h in in_a) == sorted(p for p in colors if "/a/" in p)
        reds_a = {h.path for h in lib.search("red", limit=100) if "/a/" in h.path}
        assert reds_a and {h.path for h in lib.search("red folder:a", limit=100)} == reds_a
        album = lib.albums.create("a reds", "red", {"folders": [str(photos_dir / "a")]})
        assert {h.path for h in lib.albums.photos(album.name)} == reds_a


def _pending_photo(lib, photos_dir) -> str:
    """A photo the catalog knows but that has no embedding yet (its indexing run was cancelled)."""
    import threading

    path = str(save(color_image("red", seed=33), photos_dir / "later" / "pending.png"))
    cancel = threading.Event()
    cancel.set()
    lib.index(cancel=cancel)
    assert lib.photo(path).id not in lib.vectors()
    return path


def test_tagging_and_albums_skip_photos_not_embedded_yet(lib, colors, photos_dir, tmp_path):
    """A pending photo has no vector: accepting a tag on it or resetting it in an album must neither
    crash nor score it with another photo's vector."""
    lib.tags.apply(tmp_path / "colors.toml")
    pending = _pending_photo(lib, photos_dir)
    lib.tags.accept("colors/blue", [pending])  # (too few examples for the few-shot probe: see below)
    assert [t.label for t in lib.tags.of(pending)] == ["blue"]
    lib.albums.create("reds", "red")
    lib.albums.reset("reds", [pending])
    assert pending not in [h.path for h in lib.albums.photos("reds")]
    lib.index()
    assert lib.photo(pending).id in lib.vectors()
    assert pending in [h.path for h in lib.albums.photos("reds")]  # embedded now: a red photo like the others
    # the manual tag stays, and the photo is tagged like any other once embedded
    assert {(t.label, t.source) for t in lib.tags.of(pending)} == {("blue", "manual"), ("red", "auto")}


@pytest.mark.model  # the few-shot probe is fitted with torch (no model is loaded)
def test_the_few_shot_probe_skips_photos_not_embedded_yet(lib, colors, photos_dir, tmp_path):
    """Enough accepted examples fit the probe; a pending one among them has no vector and must be
    left out of the fit, never scored with another photo's vector."""
    from photosense.core.fewshot import MIN_EXAMPLES

    lib.tags.apply(tmp_path / "colors.toml")
    pending = _pending_photo(lib, photos_dir)
    blues = sorted(of_color(colors, "blue"))[:MIN_EXAMPLES - 1]
    lib.tags.accept("colors/blue", blues + [pending])  # MIN_EXAMPLES in all: the probe is fitted
    assert [t.label for t in lib.tags.of(pending)] == ["blue"]
    assert all([t.label for t in lib.tags.of(p)] == ["blue"] for p in of_color(colors, "blue"))
    assert all([t.label for t in lib.tags.of(p)] == ["red"] for p in of_color(colors, "red"))
    lib.index()
    assert lib.photo(pending).id in lib.vectors()


def test_album_rename_normalizes_and_checks_the_new_name_like_create(lib):
    lib.albums.create("keep", manual=True)
    lib.albums.create("Best of", manual=True)
    with pytest.raises(UsageError, match="needs a name"):
        lib.albums.edit("keep", new_name="   ")
    with pytest.raises(UsageError, match="already exists"):
        lib.albums.edit("keep", new_name="  Best   of ")
    assert lib.albums.edit("keep", new_name=" Summer   2024 ").name == "Summer 2024"
    assert [a.name for a in lib.albums.list()] == ["Best of", "Summer 2024"]


def test_search_survives_a_photo_removed_while_it_runs(lib, monkeypatch):
    """Live sync removes deleted photos on its own thread; a search must not fail in between its kNN
    step and reading the hits' vectors."""
    import threading

    from photosense.core.vectors import VectorIndex

    original = VectorIndex.search
    removed = []

    def search_then_remove(self, query, k, allowed=None, exclude=()):
        ids, scores = original(self, query, k, allowed=allowed, exclude=exclude)
        remover = threading.Thread(target=self.remove, args=([int(ids[0])],))
        remover.start()
        remover.join(0.5)  # blocks while the search holds the index
        removed.append(int(ids[0]))
        return ids, scores

    monkeypatch.setattr(VectorIndex, "search", search_then_remove)
    assert lib.search("red", limit=5, show_all=True)
    assert removed


# -- CLI --------------------------------------------------------------------------------------

def test_cli_tags_and_albums(lib, colors, tmp_path, library_dir, cli):
    lib.close()
    applied = cli("tags", "apply", tmp_path / "colors.toml", "--json", library=library_dir)
    assert applied.returncode == 0, applied.stderr
    assert json.loads(applied.stdout)["set"] == "colors"
    shown = json.loads(cli("tags", "show", "--json", library=library_dir).stdout)
    assert len(shown) == 16 and set(shown[0]) == {"path", "tags"}
    assert set(shown[0]["tags"][0]) == {"set", "label", "score", "source"}
    listed = json.loads(cli("tags", "list", "--json", library=library_dir).stdout)
    assert [s["name"] for s in listed] == ["colors"] and len(listed[0]["labels"]) == 4
    red = sorted(of_color(colors, "red"))[0]
    rejected = cli("tags", "reject", "red", red, "--json", library=library_dir)
    assert rejected.returncode == 0, rejected.stderr
    assert "red" not in [t["label"] for t in json.loads(rejected.stdout)[0]["tags"]]

    made = cli("album", "create", "Blues", "--description", "blue", "--json", library=library_dir)
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["count"] == 4
    hits = json.loads(cli("album", "show", "Blues", "--json", library=library_dir).stdout)
    assert {h["path"] for h in hits} == of_color(colors, "blue") and set(hits[0]) == {"path", "score", "kind"}
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    pinned = cli("album", "pin", "Blues", red, "--json", library=library_dir)
    assert pinned.returncode == 0, pinned.stderr
    assert red in [h["path"] for h in json.loads(cli("album", "show", "Blues", "--json",
                                                     library=library_dir).stdout)]
    assert cli("album", "exclude", "Blues", hits[0]["path"], library=library_dir).returncode == 0
    after = json.loads(cli("album", "show", "Blues", "--json", library=library_dir).stdout)
    assert hits[0]["path"] not in [h["path"] for h in after] and len(after) == 4
    albums = json.loads(cli("album", "list", "--json", library=library_dir).stdout)
    assert [a["name"] for a in albums] == ["Blues"]
    assert cli("album", "delete", "Blues", library=library_dir).returncode == 0
    missing = cli("album", "show", "Blues", library=library_dir)
    assert missing.returncode == 2 and "no album named" in missing.stderr

    export = cli("tags", "export-xmp", "--json", library=library_dir)
    assert export.returncode == 0, export.stderr
    assert json.loads(export.stdout)["written"] == 15  # the red photo's only tag was rejected
    tagged = shown[0]["path"]
    sidecar = Path(tagged).with_name(Path(tagged).name + ".xmp")
    assert Path(tagged).exists() and sidecar.exists() and shown[0]["tags"][0]["label"] in sidecar.read_text()
    removed = cli("tags", "remove", "colors", "--json", library=library_dir)
    assert json.loads(removed.stdout)["removed"]["colors"] >= 15
    bad = cli("tags", "apply", tmp_path / "missing.toml", library=library_dir)
    assert bad.returncode == 2 and "missing.toml" in bad.stderr


def test_cli_info_lists_a_photos_tags(lib, colors, tmp_path, library_dir, cli):
    lib.tags.apply(tmp_path / "colors.toml")
    lib.tags.accept("favourite", [sorted(of_color(colors, "green"))[0]])
    path = sorted(of_color(colors, "green"))[0]
    lib.close()
    info = json.loads(cli("info", path, "--json", library=library_dir).stdout)
    assert info["tags"] == ["manual/favourite", "colors/green"] or info["tags"] == ["colors/green", "manual/favourite"]


def test_cli_applies_the_default_sets(lib, library_dir, cli):
    lib.close()
    result = cli("tags", "apply", "--defaults", "--json", library=library_dir)
    assert result.returncode == 0, result.stderr
    assert sorted(r["set"] for r in json.loads(result.stdout)) == ["documents", "events", "scenes", "subjects"]
    listed = json.loads(cli("tags", "list", "--json", library=library_dir).stdout)
    assert len(listed) == 4 and all(s["labels"] for s in listed)


def test_diagnose_flags_prompts_the_model_cannot_tell_from_the_background(lib, colors):
    """The editor's diagnostic: a word the (fake) model cannot see matches no photo, and a null word
    itself ("thing") is as generic as a prompt gets; colour words that match photos are not flagged."""
    from photosense.core.promptsets import parse

    prompt_set = parse('name = "check"\n[labels."red"]\nprompts = ["red", "a dog"]\n'
                       '[labels."blue"]\nprompts = ["blue", "thing"]\n')
    flagged = {(d["label"], d["prompt"]): d["reason"] for d in lib.tags.diagnose(prompt_set)}
    assert set(flagged) == {("red", "a dog"), ("blue", "thing")}
    assert "generic word" in flagged[("blue", "thing")]
    assert "no photo" in flagged[("red", "a dog")] or "generic word" in flagged[("red", "a dog")]


def test_a_label_is_embedded_without_its_generic_prompts_and_the_verdicts_are_kept(library_dir, photos_dir, colors,
                                                                                    tmp_path, monkeypatch):
    from photosense.core import calibration
    from photosense.services.organizer import GENERIC_PROMPTS_SETTING

    (tmp_path / "mixed.toml").write_text('name = "mixed"\n[labels."red"]\nprompts = ["red", "thing"]\n'
                                         '[labels."blue"]\nprompts = ["blue", "a blue photo"]\n')
    with Library.open(library_dir, model=FAKE_MODEL) as lib:
        lib.index([photos_dir])
        lib.tags.apply(tmp_path / "mixed.toml")
        reds = {p for p, c in colors.items() if c == "red"}
        assert {p for p in colors if any(t.label == "red" for t in lib.tags.of(p))} == reds
        key = f"{GENERIC_PROMPTS_SETTING}.{lib.context.model_spec}"
        verdicts = json.loads(lib.catalog.setting(key))["verdicts"]
        assert verdicts["thing"] is True and verdicts["red"] is False
    # another process judges nothing again: it reads the verdicts the library kept

    def judged_again(texts):
        raise AssertionError(f"null phrases of {texts} encoded again")

    monkeypatch.setattr(calibration, "_null_phrases", judged_again)
    with Library.open(library_dir, model=FAKE_MODEL) as lib:
        assert lib.tags.apply(tmp_path / "mixed.toml")["labels"] == 2


def test_tagging_works_when_the_kept_verdicts_cannot_be_written(lib, colors, tmp_path, monkeypatch):
    import sqlite3 as sqlite

    def busy(values):
        raise sqlite.OperationalError("database is locked")

    monkeypatch.setattr(lib.catalog, "set_settings", busy)
    (tmp_path / "mixed.toml").write_text('name = "mixed"\n[labels."red"]\nprompts = ["red", "thing"]\n')
    assert lib.tags.apply(tmp_path / "mixed.toml")["tags"] == 4  # the four red photos


def test_kept_verdicts_of_another_rule_or_unreadable_ones_are_ignored(lib, tmp_path):
    from photosense.services.organizer import GENERIC_PROMPTS_SETTING

    key = f"{GENERIC_PROMPTS_SETTING}.{lib.context.model_spec}"
    (tmp_path / "mixed.toml").write_text('name = "mixed"\n[labels."red"]\nprompts = ["red", "thing"]\n')
    for junk in ('{"rule": "0;old", "verdicts": {"red": true, "thing": false}}', "not json", '{"verdicts": 3}',
                 '{"rule": "x", "verdicts": {"red": "false"}}'):
        lib.catalog.set_settings({key: junk})
        lib.organizer._set_models.clear()
        lib.context.calibrator._generic.clear()
        lib.tags.apply(tmp_path / "mixed.toml")
        kept = json.loads(lib.catalog.setting(key))["verdicts"]
        assert kept == {"red": False, "thing": True}, junk
