"""The calibration's null phrases, their place in a query's background, and the generic-prompt check (fake embedder)."""
from __future__ import annotations

import numpy as np

from fakes import FakeEmbedder
from photosense.core.calibration import NULL_WORDS, Calibrator
from photosense.core.embedder import ensemble
from photosense.core.prompts import query_prompts


def test_null_phrases_replace_the_last_word_and_are_encoded_as_queries_are():
    embedder = FakeEmbedder()
    cal = Calibrator(embedder)
    nulls = cal.nulls(["a pair of socks"])
    assert nulls.shape == (len(NULL_WORDS), embedder.dim)
    expected = ensemble(embedder.encode_texts(query_prompts(f"a pair of {NULL_WORDS[3]}")))
    assert np.allclose(nulls[3], expected)
    before = embedder.texts_encoded
    cal.nulls(["socks", "a pair of socks"])  # the second is cached; the first shares the single-word nulls
    cal.nulls(["shoes"])
    assert embedder.texts_encoded - before == len(NULL_WORDS) * len(query_prompts("thing"))


def test_nulls_are_always_in_the_background_even_when_they_look_like_the_query():
    embedder = FakeEmbedder()
    cal = Calibrator(embedder)
    query = ensemble(embedder.encode_texts(query_prompts("thing")))  # a query that is one of its own nulls
    nulls = cal.nulls(["thing"])
    background = cal.background(query[None], nulls=nulls)
    for n in nulls:
        assert np.isclose(background @ n, 1.0, atol=1e-5).any()


def test_a_generic_prompt_is_flagged_and_a_seen_colour_is_not():
    embedder = FakeEmbedder()
    cal = Calibrator(embedder)
    texts = ["thing", "red"]
    vectors = np.stack([ensemble(embedder.encode_texts(query_prompts(t))) for t in texts])
    generic, red = cal.grounding(texts, vectors)
    assert generic.generic and not red.generic
    assert red.distance > red.spread
