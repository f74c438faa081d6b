"""Tags, albums and calibrated search through the Library API and the CLI, on real files with the tiny model."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from helpers import TINY_MODEL, fashion_images, run_cli, save
from photosense import Library
from photosense.core.errors import UsageError
from fashion_mnist import CLASS_NAMES

FASHION_SET = 'name = "fashion"\n' + "".join(f'[labels."{n}"]\n' for n in CLASS_NAMES)
SHOES_SET = 'name = "shoes"\n[labels."sneaker"]\n[labels."sandal"]\n'


@pytest.fixture
def fashion(photos_dir):
    """40 Fashion-MNIST photos (4 per class) in two subfolders; returns {path: label}."""
    labels = {}
    for n, (img, label) in enumerate(fashion_images(40, seed=5)):
        path = save(img, photos_dir / ("a" if n % 2 else "b") / f"f{n:02d}.jpg")
        labels[str(path)] = label
    return labels


@pytest.fixture
def lib(tiny_library, photos_dir, fashion, tmp_path):
    tiny_library.index([photos_dir])
    (tmp_path / "fashion.toml").write_text(FASHION_SET)
    (tmp_path / "shoes.toml").write_text(SHOES_SET)
    return tiny_library


def top_label(tags):
    return tags[0].label if tags else None


def test_applied_set_tags_photos_with_calibrated_scores(lib, fashion, tmp_path):
    result = lib.tags.apply(tmp_path / "fashion.toml")
    assert result["set"] == "fashion" and result["photos"] == 40 and result["tags"] >= 40 * 0.8
    correct = 0
    for path, label in fashion.items():
        tags = lib.tags.of(path)
        assert all(t.set == "fashion" and t.source == "auto" and 0.3 <= t.score <= 1 for t in tags)
        correct += top_label(tags) == CLASS_NAMES[label]
    assert correct >= 30


def test_a_photo_that_matches_no_label_gets_no_tag(lib, fashion, tmp_path):
    """Two competing labels alone would split every photo between them; the background stops that."""
    lib.tags.apply(tmp_path / "shoes.toml")
    clothes = [p for p, label in fashion.items() if CLASS_NAMES[label] in ("trousers", "dress", "pullover", "coat")]
    shoes = [p for p, label in fashion.items() if CLASS_NAMES[label] in ("sneaker", "sandal")]
    assert sum(bool(lib.tags.of(p)) for p in clothes) <= 1
    assert sum(bool(lib.tags.of(p)) for p in shoes) >= 6


def test_photos_indexed_later_are_tagged_by_every_set(lib, photos_dir, tmp_path):
    lib.tags.apply(tmp_path / "fashion.toml")
    lib.tags.apply(tmp_path / "shoes.toml")
    new = {}
    for n, (img, label) in enumerate(fashion_images(20, seed=9)):
        new[str(save(img, photos_dir / "later" / f"n{n:02d}.png"))] = label
    lib.index()
    sneakers = [p for p, label in new.items() if CLASS_NAMES[label] == "sneaker"]
    assert sneakers and all({"fashion", "shoes"} <= {t.set for t in lib.tags.of(p)} for p in sneakers)
    assert sum(top_label(lib.tags.of(p)) == CLASS_NAMES[label] for p, label in new.items()) >= 14


def test_manual_accept_and_reject_survive_retagging_and_reindexing(lib, fashion, tmp_path):
    lib.tags.apply(tmp_path / "fashion.toml")
    bag = next(p for p, label in fashion.items() if CLASS_NAMES[label] == "bag")
    assert "bag" in [t.label for t in lib.tags.of(bag)]
    lib.tags.reject("bag", [bag])
    lib.tags.accept("fashion/dress", [bag])
    lib.tags.accept("favourite", [bag])  # a label of no set: the built-in manual set
    lib.tags.apply(tmp_path / "fashion.toml")
    (tmp_path / "photos").touch()
    lib.index()
    labels = {(t.set, t.label): t.source for t in lib.tags.of(bag)}
    assert ("fashion", "bag") not in labels
    assert labels[("fashion", "dress")] == "manual" and labels[("manual", "favourite")] == "manual"
    rejected = [t for t in lib.tags.of(bag, include_rejected=True) if t.rejected]
    assert [(t.set, t.label) for t in rejected] == [("fashion", "bag")]
    with pytest.raises(UsageError, match="no label"):
        lib.tags.accept("fashion/scarf", [bag])


def test_tags_and_albums_follow_moves_and_go_with_deleted_photos(lib, fashion, photos_dir, tmp_path):
    lib.tags.apply(tmp_path / "fashion.toml")
    boots = [p for p, label in fashion.items() if CLASS_NAMES[label] == "ankle boot"]
    lib.albums.create("keep", manual=True)
    lib.albums.pin("keep", boots[:2])
    moved = photos_dir / "elsewhere" / "renamed.jpg"
    moved.parent.mkdir()
    before = lib.tags.of(boots[0])
    (photos_dir / boots[0]).rename(moved)
    lib.index()
    assert lib.tags.of(moved) == before and "keep" in lib.albums.of(moved)
    gone = boots[1]
    gone_id = lib.photo(gone).id
    (photos_dir / gone).unlink()
    lib.index()
    db = sqlite3.connect(lib.catalog.path)
    for table in ("tags", "album_photos", "organized"):
        assert db.execute(f"SELECT COUNT(*) FROM {table} WHERE photo_id = ?", (gone_id,)).fetchone()[0] == 0
    assert [h.path for h in lib.albums.photos("keep")] == [str(moved)]


def test_smart_album_fills_stays_live_and_keeps_pins_and_excludes(lib, fashion, photos_dir):
    album = lib.albums.create("boots", "ankle boot")
    boots = {p for p, label in fashion.items() if CLASS_NAMES[label] == "ankle boot"}
    shown = [h.path for h in lib.albums.photos("boots")]
    assert album.count == len(shown) and len(set(shown) & boots) >= 3 and len(set(shown) - boots) <= 1
    bag = next(p for p, label in fashion.items() if CLASS_NAMES[label] == "bag")
    lib.albums.pin("boots", [bag])
    lib.albums.exclude("boots", [shown[0]])
    new = {}
    for n, (img, label) in enumerate(fashion_images(30, seed=21)):
        new[str(save(img, photos_dir / "later" / f"n{n:02d}.png"))] = label
    lib.index()
    shown = [h.path for h in lib.albums.photos("boots")]
    new_boots = {p for p, label in new.items() if CLASS_NAMES[label] == "ankle boot"}
    assert len(set(shown) & new_boots) >= len(new_boots) - 1
    assert bag in shown and sorted(lib.albums.excluded("boots")) == [min(lib.albums.excluded("boots"))]
    assert lib.albums.excluded("boots")[0] not in shown
    lib.albums.reset("boots", [bag])
    assert bag not in [h.path for h in lib.albums.photos("boots")]


def test_album_filters_and_errors(lib, fashion, photos_dir):
    lib.albums.create("boots in a", "ankle boot", {"folders": [str(photos_dir / "a")]})
    shown = [h.path for h in lib.albums.photos("boots in a")]
    assert shown and all("/a/" in p for p in shown)
    with pytest.raises(UsageError, match="already exists"):
        lib.albums.create("boots in a", "bag")
    with pytest.raises(UsageError, match="no album named"):
        lib.albums.photos("nope")
    lib.albums.edit("boots in a", new_name="A boots")
    assert [a.name for a in lib.albums.list()] == ["A boots"]
    lib.albums.delete("A boots")
    assert lib.albums.list() == []


def test_search_cut_off_filters_and_negative_terms(lib, fashion, photos_dir, tmp_path):
    boots = {p for p, label in fashion.items() if CLASS_NAMES[label] == "ankle boot"}
    calibrated = lib.search("ankle boot", limit=40)
    everything = lib.search("ankle boot", limit=40, show_all=True)
    assert len(everything) == 40 and 3 <= len(calibrated) <= 8
    assert len({h.path for h in calibrated} & boots) >= 3
    assert [h.path for h in calibrated] == [h.path for h in everything[:len(calibrated)]]
    in_a = lib.search("ankle boot folder:a", limit=40, show_all=True)
    assert len(in_a) == 20 and all("/a/" in h.path for h in in_a)  # the filter is exact, not a top-k cut
    lib.tags.apply(tmp_path / "fashion.toml")
    tagged = {h.path for h in lib.search("tag:fashion/sandal", limit=40)}
    assert tagged and tagged == {p for p, _ in lib.tags.all() if top_label(lib.tags.of(p)) == "sandal"
                                 or "sandal" in [t.label for t in lib.tags.of(p)]}
    shoes = {h.path for h in lib.search("sneaker +sandal", limit=40)}
    no_sandals = {h.path for h in lib.search("sneaker +sandal -sandal", limit=40)}
    sandals = {p for p, label in fashion.items() if CLASS_NAMES[label] == "sandal"}
    assert shoes & sandals and not no_sandals & sandals
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
    with Library.open(lib_dir, model=TINY_MODEL) as lib:
        assert lib.catalog.schema_version >= 2 and lib.status()["photos"] == 1
        assert lib.albums.list() == [] and lib.tags.sets() == []
    assert (lib_dir / "catalog.sqlite3.v1.bak").exists()


# -- CLI --------------------------------------------------------------------------------------

def test_cli_tags_and_albums(lib, fashion, tmp_path, library_dir):
    lib.close()
    applied = run_cli("tags", "apply", str(tmp_path / "fashion.toml"), "--json", library=library_dir)
    assert applied.returncode == 0, applied.stderr
    assert json.loads(applied.stdout)["set"] == "fashion"
    shown = json.loads(run_cli("tags", "show", "--json", library=library_dir).stdout)
    assert len(shown) >= 36 and set(shown[0]) == {"path", "tags"}
    assert set(shown[0]["tags"][0]) == {"set", "label", "score", "source"}
    listed = json.loads(run_cli("tags", "list", "--json", library=library_dir).stdout)
    assert [s["name"] for s in listed] == ["fashion"] and len(listed[0]["labels"]) == 10
    bag = next(p for p, label in fashion.items() if CLASS_NAMES[label] == "bag")
    rejected = run_cli("tags", "reject", "bag", bag, "--json", library=library_dir)
    assert rejected.returncode == 0, rejected.stderr
    assert "bag" not in [t["label"] for t in json.loads(rejected.stdout)[0]["tags"]]

    made = run_cli("album", "create", "Boots", "--description", "ankle boot", "--json", library=library_dir)
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["count"] >= 3
    hits = json.loads(run_cli("album", "show", "Boots", "--json", library=library_dir).stdout)
    assert hits and set(hits[0]) == {"path", "score"}
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    pinned = run_cli("album", "pin", "Boots", bag, "--json", library=library_dir)
    assert pinned.returncode == 0, pinned.stderr
    assert bag in [h["path"] for h in json.loads(run_cli("album", "show", "Boots", "--json",
                                                         library=library_dir).stdout)]
    run_cli("album", "exclude", "Boots", hits[0]["path"], library=library_dir)
    after = json.loads(run_cli("album", "show", "Boots", "--json", library=library_dir).stdout)
    assert hits[0]["path"] not in [h["path"] for h in after]
    albums = json.loads(run_cli("album", "list", "--json", library=library_dir).stdout)
    assert [a["name"] for a in albums] == ["Boots"]
    assert run_cli("album", "delete", "Boots", library=library_dir).returncode == 0
    missing = run_cli("album", "show", "Boots", library=library_dir)
    assert missing.returncode == 2 and "no album named" in missing.stderr

    export = run_cli("tags", "export-xmp", "--json", library=library_dir)
    assert export.returncode == 0, export.stderr
    assert json.loads(export.stdout)["written"] >= 36
    tagged = shown[0]["path"]
    sidecar = (tmp_path / "photos" / tagged).with_name(Path(tagged).name + ".xmp")
    assert Path(tagged).exists() and sidecar.exists() and shown[0]["tags"][0]["label"] in sidecar.read_text()
    removed = run_cli("tags", "remove", "fashion", "--json", library=library_dir)
    assert json.loads(removed.stdout)["removed"]["fashion"] >= 36
    bad = run_cli("tags", "apply", str(tmp_path / "missing.toml"), library=library_dir)
    assert bad.returncode == 2 and "missing.toml" in bad.stderr


def test_cli_info_lists_a_photos_tags(lib, fashion, tmp_path, library_dir):
    lib.tags.apply(tmp_path / "fashion.toml")
    path = next(p for p, label in fashion.items() if CLASS_NAMES[label] == "trousers")
    expected = [f"{t.set}/{t.label}" for t in lib.tags.of(path)]
    lib.close()
    info = json.loads(run_cli("info", path, "--json", library=library_dir).stdout)
    assert expected and info["tags"] == expected


def test_filters_never_lose_matches_to_the_approximate_index(library_dir, photos_dir, fashion, monkeypatch):
    """With the hnswlib graph in use, a filtered search is exact over the photos that pass the filter."""
    monkeypatch.setattr("photosense.core.vectors.EXACT_LIMIT", 2)
    with Library.open(library_dir, model=TINY_MODEL) as lib:
        lib.index([photos_dir])
        assert lib.vectors().uses_hnsw
        in_a = lib.search("ankle boot folder:a", limit=100, show_all=True)
        assert sorted(h.path for h in in_a) == sorted(p for p in fashion if "/a/" in p)
        boots_a = {h.path for h in lib.search("ankle boot", limit=100) if "/a/" in h.path}
        assert boots_a and {h.path for h in lib.search("ankle boot folder:a", limit=100)} == boots_a
        album = lib.albums.create("a boots", "ankle boot", {"folders": [str(photos_dir / "a")]})
        assert {h.path for h in lib.albums.photos(album.name)} == boots_a


def test_cli_applies_the_default_sets(lib, library_dir):
    lib.close()
    result = run_cli("tags", "apply", "--defaults", "--json", library=library_dir)
    assert result.returncode == 0, result.stderr
    assert sorted(r["set"] for r in json.loads(result.stdout)) == ["documents", "events", "scenes", "subjects"]
    listed = json.loads(run_cli("tags", "list", "--json", library=library_dir).stdout)
    assert len(listed) == 4 and all(s["labels"] for s in listed)


def _pending_photo(lib, photos_dir) -> str:
    """A photo the catalog knows but that has no embedding yet (its indexing run was cancelled)."""
    import threading

    img, _ = fashion_images(1, seed=33)[0]
    path = str(save(img, photos_dir / "later" / "pending.png"))
    cancel = threading.Event()
    cancel.set()
    lib.index(cancel=cancel)
    assert lib.photo(path).id not in lib.vectors()
    return path


def test_tagging_and_albums_skip_photos_not_embedded_yet(lib, fashion, photos_dir, tmp_path):
    """A pending photo has no vector: accepting a tag on it or resetting it in an album must neither
    crash nor score it with another photo's vector."""
    lib.tags.apply(tmp_path / "fashion.toml")
    pending = _pending_photo(lib, photos_dir)
    bags = [p for p, label in fashion.items() if CLASS_NAMES[label] == "bag"]
    lib.tags.accept("fashion/bag", bags[:3] + [pending])  # 4 examples: the few-shot probe is fitted
    assert [t.label for t in lib.tags.of(pending)] == ["bag"]
    lib.albums.create("boots", "ankle boot")
    lib.albums.reset("boots", [pending])
    assert pending not in [h.path for h in lib.albums.photos("boots")]
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

    def search_then_remove(self, query, k, allowed=None, exclude=()):
        ids, scores = original(self, query, k, allowed=allowed, exclude=exclude)
        remover = threading.Thread(target=self.remove, args=([int(ids[0])],))
        remover.start()
        remover.join(0.5)  # blocks while the search holds the index
        return ids, scores

    monkeypatch.setattr(VectorIndex, "search", search_then_remove)
    assert lib.search("ankle boot", limit=5, show_all=True)
