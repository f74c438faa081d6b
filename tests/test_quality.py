"""Search quality with the bundled tiny model on the Fashion-MNIST test split (README reports these)."""
from __future__ import annotations

import numpy as np
import pytest

import fashion_mnist as fm

pytestmark = [pytest.mark.slow, pytest.mark.model, pytest.mark.quality]


def test_class_queries_have_precision_at_20_of_at_least_0_85(fashion_library):
    lib, photos = fashion_library
    per_class = fm.search_precision(lib, photos, k=20)
    print("precision@20 per class query:", per_class)
    assert np.mean(list(per_class.values())) >= 0.85


def test_find_similar_has_precision_at_10_of_at_least_0_75(fashion_library):
    lib, photos = fashion_library
    precision = fm.similar_precision(lib, photos, k=10, queries=300)
    print("find-similar precision@10:", precision)
    assert precision >= 0.75


def test_exif_rotated_photos_are_classified_as_well_as_upright_ones(fashion_library):
    """Every 7th photo is stored sideways or upside down with an orientation tag; if the opener did
    not turn it upright, the model (trained on upright clothes) would misjudge most of them."""
    from photosense.core.embedder import ensemble
    from photosense.core.prompts import expand

    lib, photos = fashion_library
    classes = np.stack([ensemble(lib.embedder.encode_texts(expand([n]))) for n in fm.CLASS_NAMES])

    def accuracy(subset):
        ids = [lib.photo(p.path).id for p in subset]
        predicted = (lib.vectors().vectors(ids) @ classes.T).argmax(1)
        return float(np.mean(predicted == np.array([p.label for p in subset])))

    rotated = [p for n, p in enumerate(photos) if n % 7 == 0]
    upright = [p for n, p in enumerate(photos) if n % 7 == 1]
    assert len(rotated) > 1000
    assert accuracy(rotated) >= accuracy(upright) - 0.03
