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


def test_a_label_leaves_out_its_generic_prompts_unless_all_are():
    from photosense.core.prompts import expand
    from photosense.core.tagging import label_vectors

    embedder = FakeEmbedder()
    cal = Calibrator(embedder)
    templates = ["a photo of {}.", "{}"]
    red, mixed, generic = label_vectors(embedder, [["red"], ["red", "thing"], ["thing", "object"]], templates, cal)
    assert np.allclose(mixed, red, atol=1e-6)  # "thing" does not pull the label towards any photo
    assert np.allclose(generic, ensemble(embedder.encode_texts(expand(["thing", "object"], templates))), atol=1e-6)
    # without a calibrator every prompt counts (the behaviour for negatives and background prompts)
    plain = label_vectors(embedder, [["red", "thing"]], templates)[0]
    assert np.allclose(plain, ensemble(embedder.encode_texts(expand(["red", "thing"], templates))), atol=1e-6)
    assert not np.allclose(plain, red, atol=1e-3)


def test_the_query_s_own_noun_is_a_synonym_from_the_former_closeness_on_and_other_words_it_names_are_not():
    from photosense.core.calibration import CONTRAST_WORDS, NAMED_CLOSENESS, SYNONYM_CLOSENESS

    embedder = FakeEmbedder()
    cal = Calibrator(embedder)
    contrast = cal._contrast_vectors()
    rng = np.random.default_rng(0)

    def kept(word: str, texts: list[str], closeness: float) -> bool:
        """Is *word* in the background of a target at rescaled *closeness* to it (its null orthogonal
        to both, so the reference is 0 and the closeness is the cosine)?"""
        w = contrast[1 + CONTRAST_WORDS.index(word)]
        basis, _ = np.linalg.qr(np.column_stack([w, rng.normal(size=(embedder.dim, 2))]))
        noise, null = basis[:, 1], basis[:, 2]
        target = (closeness * w + np.sqrt(1 - closeness ** 2) * noise).astype(np.float32)
        background = cal.background(target[None], nulls=null[None].astype(np.float32), texts=texts)
        return bool(np.isclose(background @ w, 1.0, atol=1e-5).any())

    between = (NAMED_CLOSENESS + SYNONYM_CLOSENESS) / 2
    assert kept("dog", ["cats"], between)  # not named: a competitor below SYNONYM_CLOSENESS
    assert not kept("dog", ["a dog"], between) and not kept("dog", ["Dogs!"], between)
    assert not kept("dress", ["red dresses"], between) and not kept("t-shirt", ["t-shirts"], between)
    assert kept("dress", ["dress shoes"], between)  # named, but not the head word
    assert kept("glasses", ["a glass"], between) and kept("cap", ["capes"], between)
    assert not kept("horse", ["horses"], between) and not kept("house", ["Houses"], between)
    assert not kept("dog", ["my dog's"], between) and not kept("t-shirt", ["t\u2011shirts"], between)
    assert kept("shirt", ["t\u2011shirts"], between)  # a non-ASCII hyphen still makes one word
    assert kept("dog", ["a dog"], NAMED_CLOSENESS - 0.2)  # its own noun, but the model puts it far
    assert not kept("dog", ["cats"], SYNONYM_CLOSENESS + 0.05)
