"""What the real model (tiny-fashion) makes of tags, smart albums and calibrated search on Fashion-MNIST
photos: the right labels, the background that leaves other photos untagged, the cut-off. The same
mechanics on the fake embedder are in test_organize.py."""
from __future__ import annotations

import pytest

from fashion_mnist import CLASS_NAMES
from helpers import fashion_images, save
from photosense.core.errors import UsageError

pytestmark = pytest.mark.model

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
