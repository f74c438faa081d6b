"""Stacks in results with the real tiny model: copies of Fashion-MNIST photos fold into one hit in search,
similar and the grid, and other items of the same class (the lookalikes) stay apart."""
from __future__ import annotations

import shutil

import pytest
from PIL import Image

from helpers import TINY_MODEL, fashion_images
from photosense import Library

pytestmark = pytest.mark.model


def test_copies_fold_and_lookalikes_stay_apart(tmp_path):
    photos = tmp_path / "photos"
    (photos / "backup").mkdir(parents=True)
    originals, copies = [], {}
    for n, (img, label) in enumerate(fashion_images(30, seed=4, size=128)):
        path = photos / f"item-{n:02d}-{label}.jpg"
        img.save(path, quality=92)
        originals.append(str(path))
        if n % 10 == 0:  # three items with a byte copy, a smaller re-encode and a PNG conversion
            made = [shutil.copy2(path, photos / "backup" / path.name), photos / "backup" / f"{path.stem}-small.jpg",
                    photos / "backup" / f"{path.stem}.png"]
            img.resize((96, 96), Image.Resampling.LANCZOS).save(made[1], quality=80)
            img.save(made[2])
            copies[str(path)] = {str(p) for p in made}
    with Library.open(tmp_path / "library", model=TINY_MODEL) as lib:
        lib.index([photos])
        for original, made in copies.items():
            assert {h.path for h in lib.stack(original)} == {original} | made
        flat = lib.similar(originals[10], limit=40, stack=False)
        folded = lib.similar(originals[10], limit=40)
        own = copies[originals[10]]
        assert sum(h.path in own for h in flat) == 3
        assert [h.stack for h in folded if h.path in own] == [3]  # the original itself is the query
        # limit 40 reaches the whole library (39 items): every stack folds, every photo is counted once
        assert sum(h.stack for h in folded) == len(flat) == 38 and len(folded) == len(flat) - 2 - 3 - 3
        grid = lib.photos(counts=True)
        assert len(grid) == len(originals) and sum(n for _, _, n in grid) == len(originals) + 9
        assert {p for _, p, n in grid if n > 1} == set(copies)  # the originals are the keepers
