"""Words in photos, end to end with the real OCR engine: generated signs, screenshots, receipts and words on
photos (a seed no OCR constant or fusion rule was chosen on) among Fashion-MNIST photos; a query made of one
distinctive word or number of an image must rank that image first in >= 90 % of cases (issue 11)."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from helpers import TINY_MODEL, fashion_images, save
from photosense import Library
from text_images import TEXT_KINDS, generate, word_tokens

pytestmark = [pytest.mark.slow, pytest.mark.model, pytest.mark.quality]

# Fresh: not the OCR tuning seed (11), its held-out one (2026), the dev seeds the word-gap rule was chosen
# on (7, 11, 99: tools/eval_text_search.py), nor 20261130, this test's seed until that rule was written
# (its misses, codes run together, are what the rule addresses; 144/169 = 0.852 there before it).
SEED = 20261201
PER_KIND = 6
PLAIN_PHOTOS = 120
TARGET = 0.90


def distinctive(images) -> dict[str, list[str]]:
    """image name -> its words that no other image holds (as the index splits them), 3+ characters."""
    owners = Counter(t for img in images for t in {t for w in img.words for t in word_tokens(w)})
    out = {}
    for img in images:
        words = [w for w in dict.fromkeys(img.words)
                 if len(w) >= 3 and word_tokens(w) and all(owners[t] == 1 for t in word_tokens(w))]
        if words:
            out[img.name] = words
    return out


def test_a_distinctive_word_of_a_photo_finds_it_first(tmp_path: Path):
    images = [i for i in generate(SEED, per_kind=PER_KIND, photo_size=(2000, 1500)) if i.kind in TEXT_KINDS
              or i.kind in ("plain", "fashion-plain")]
    photos = tmp_path / "photos"
    paths = {}
    for img in images:
        fmt = "png" if img.kind == "screenshot" else "jpg"
        paths[img.name] = save(img.image, photos / img.kind / f"{img.name}.{fmt}")
    for k, (image, _) in enumerate(fashion_images(PLAIN_PHOTOS, seed=5, size=224)):
        save(image, photos / "wardrobe" / f"f{k:04d}.jpg")
    with Library.open(tmp_path / "library", model=TINY_MODEL) as lib:
        assert lib.index([photos]).failed == 0
        summary = lib.read_text()
        assert summary.unavailable is None and summary.pending == 0
        queries = distinctive(images)
        found, misses = 0, []
        total = sum(len(words) for words in queries.values())
        for name, words in queries.items():
            for word in words:
                hits = lib.search(word, limit=5)
                if hits and hits[0].path == str(paths[name]) and "text" in hits[0].matched:
                    found += 1
                else:
                    misses.append(f"{word!r} in {name}: read {lib.text_of(paths[name])[:60]!r}")
    rate = found / total
    print(f"\ndistinctive word first: {found}/{total} = {rate:.3f} over {len(queries)} images with text")
    for miss in misses[:15]:
        print("  miss:", miss)
    assert total >= 60 and rate >= TARGET
