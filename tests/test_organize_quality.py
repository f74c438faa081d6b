"""Quality targets of tagging, smart albums and few-shot refinement on the Fashion-MNIST library (tiny model)."""
from __future__ import annotations

import numpy as np
import pytest

from photosense import Library
import fashion_mnist as fm
from photosense.core.promptsets import parse

from helpers import TINY_MODEL

pytestmark = [pytest.mark.slow, pytest.mark.model, pytest.mark.quality]

CLASS_SET = fm.class_prompt_set("fashion")
WEAK_SET = fm.class_prompt_set("weak", weak=True)  # where accepted examples must help
SNEAKER = fm.CLASS_NAMES.index("sneaker")


def precision_recall(paths: list[str], photos, label: int) -> tuple[float, float]:
    truth = {str(p.path): p.label for p in photos}
    hits = sum(truth.get(p) == label for p in paths)
    return hits / max(len(paths), 1), hits / sum(v == label for v in truth.values())


def test_top_tag_of_a_class_name_set_is_right_for_80_percent(fashion_library):
    lib, photos = fashion_library
    lib.tags.apply(parse(CLASS_SET, "fashion set"))
    accuracy = fm.top_tag_accuracy(lib, photos, "fashion")
    print(f"top-tag accuracy (no thresholds, untagged = wrong): {accuracy:.3f}")
    assert accuracy >= 0.80


def test_sneaker_album_has_precision_and_recall_of_0_8(fashion_library):
    lib, photos = fashion_library
    lib.albums.create("sneakers", "a photo of a sneaker")
    p, r = precision_recall([h.path for h in lib.albums.photos("sneakers", stack=False)], photos, SNEAKER)
    print(f"album 'a photo of a sneaker': precision {p:.3f}, recall {r:.3f}")
    assert p >= 0.8 and r >= 0.8


def test_sneaker_album_takes_in_photos_indexed_after_it_was_made(fashion_library, tmp_path):
    """A second library over some of the same files: the album is made on the first rolls, and the
    photos of the other rolls, indexed afterwards, must join it just as well."""
    _, photos = fashion_library
    root = photos[0].path.parents[1]
    first = [f"roll-{n:02d}" for n in range(3)]
    later = [f"roll-{n:02d}" for n in range(3, 6)]
    with Library.open(tmp_path / "lib", model=TINY_MODEL) as lib:
        lib.index([root / name for name in first])
        lib.albums.create("sneakers", "a photo of a sneaker")
        lib.index([root / name for name in later])
        shown = [h.path for h in lib.albums.photos("sneakers", stack=False)]
    late_photos = [p for p in photos if p.path.parent.name in later]
    late_shown = [s for s in shown if any(f"/{name}/" in s for name in later)]
    p, r = precision_recall(late_shown, late_photos, SNEAKER)
    print(f"photos indexed after the album was made ({len(late_photos)}): precision {p:.3f}, recall {r:.3f}")
    assert p >= 0.8 and r >= 0.8
    p_all, r_all = precision_recall(shown, [q for q in photos if q.path.parent.name in first + later], SNEAKER)
    assert p_all >= 0.8 and r_all >= 0.8


def _fewshot(lib, photos, toml: str, name: str, seed: int) -> tuple[float, float]:
    lib.tags.apply(parse(toml, f"{name} set"))
    labels = np.array([p.label for p in photos])
    picks = fm.stratified_indices(labels, 10, seed=seed)
    chosen = frozenset(str(photos[i].path) for i in picks)
    zero = fm.top_tag_accuracy(lib, photos, name, chosen)
    for c, label in enumerate(fm.CLASS_NAMES):
        lib.tags.accept(f"{name}/{label}", [photos[i].path for i in picks if labels[i] == c],
                        retag=c == len(fm.CLASS_NAMES) - 1)
    few = fm.top_tag_accuracy(lib, photos, name, chosen)
    lib.tags.remove(name)
    return zero, few


def test_ten_examples_per_class_improve_a_weak_zero_shot_prior_and_never_hurt(fashion_library):
    lib, photos = fashion_library
    zero, few = _fewshot(lib, photos, WEAK_SET, "weak", seed=0)
    print(f"weak prompts: zero-shot {zero:.3f} -> 10-shot {few:.3f} ({100 * (few - zero):+.1f} points)")
    assert few >= zero + 0.03
    zero, few = _fewshot(lib, photos, CLASS_SET.replace('"fashion"', '"strong"'), "strong", seed=0)
    print(f"class-name prompts: zero-shot {zero:.3f} -> 10-shot {few:.3f} ({100 * (few - zero):+.1f} points)")
    assert few >= zero - 0.01
