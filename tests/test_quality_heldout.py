"""Held-out quality (issue 13): the wide model on phrasings it was not tuned on, and unknown queries on both models."""
from __future__ import annotations

import pytest

import fashion_mnist as fm
import heldout_eval as he

pytestmark = [pytest.mark.slow, pytest.mark.model, pytest.mark.quality]

WIDE_MODEL = "tiny-fashion-wide"

# Targets not met yet, each with its figure (bench/bench_heldout.py); strict: a target that starts to hold
# fails here until its line goes. Empty since 2026-12-01 (sixth session): tiny-fashion-wide trained with
# captions that match no photo meets every target (precision@20 0.948, top tag 0.861, albums >= 0.93 /
# 0.97, no unknown query over 5), and tiny-fashion returns at most 5 photos for every unknown query.
KNOWN_GAPS: dict[tuple[str, str], str] = {}  # none since tiny-fashion-wide was trained with negative captions


def known_gap(request, what: str, model: str) -> None:
    reason = KNOWN_GAPS.get((what, model))
    if reason:
        request.node.add_marker(pytest.mark.xfail(strict=True, reason=reason))


@pytest.fixture(scope="module", params=["tiny-fashion", WIDE_MODEL])
def heldout_library(request, tmp_path_factory):
    """The 1,000-photo held-out library indexed with each bundled model."""
    from photosense import Library

    if not fm.available():
        pytest.skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    root = tmp_path_factory.mktemp(f"heldout-{request.param}")
    photos = he.write_library(root / "photos")
    lib = Library.open(root / "library", model=request.param)
    summary = lib.index([root / "photos"])
    assert summary.failed == 0 and summary.indexed == len(photos) == 1000
    yield request.param, lib, photos
    lib.close()


def test_unknown_and_absent_queries_return_at_most_5_photos(heldout_library, request):
    model, lib, _ = heldout_library
    known_gap(request, "unknown", model)
    hits = he.unknown_hits(lib)
    print(f"{model}: hits above the cut-off per unknown query: {hits}")
    assert {q: n for q, n in hits.items() if n > he.MAX_UNKNOWN_HITS} == {}


def test_wide_model_heldout_phrasings_have_precision_at_20_of_0_85(heldout_library, request):
    model, lib, photos = heldout_library
    if model != WIDE_MODEL:
        pytest.skip("the held-out phrasing target is the wide model's (tiny-fashion's figures: bench/bench_heldout.py)")
    known_gap(request, "phrasings", model)
    per_query = he.phrasing_precision(lib, photos)
    print(f"{model}: precision@20 per held-out phrasing: {per_query}")
    print(f"{model}: mean precision@20 over {len(per_query)} phrasings: {he.mean(per_query.values()):.3f}")
    assert he.mean(per_query.values()) >= 0.85


def test_wide_model_user_prompt_set_tags_80_percent_right(heldout_library, request):
    model, lib, photos = heldout_library
    if model != WIDE_MODEL:
        pytest.skip("the user-style prompt set target is the wide model's")
    known_gap(request, "tags", model)
    accuracy = he.user_set_accuracy(lib, photos)
    print(f"{model}: top-tag accuracy with the user-style prompt set: {accuracy:.3f}")
    assert accuracy >= 0.80


def test_wide_model_smart_albums_have_precision_and_recall_of_0_8(heldout_library, request):
    model, lib, photos = heldout_library
    if model != WIDE_MODEL:
        pytest.skip("the held-out album target is the wide model's")
    known_gap(request, "albums", model)
    quality = he.album_quality(lib, photos)
    print(f"{model}: album (precision, recall): {quality}")
    assert all(p >= 0.8 and r >= 0.8 for p, r in quality.values())
