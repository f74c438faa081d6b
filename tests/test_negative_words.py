"""The second model's negative captions never contain a word of the evaluation queries or of its own class captions."""
from __future__ import annotations

import re
from pathlib import Path

import caption_vocab as vocab
import make_negative_words as maker

DATA = Path(__file__).parent / "data"


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def test_negative_words_leave_out_heldout_and_class_words() -> None:
    negatives = set(vocab.negative_words())
    assert len(negatives) >= 1000
    heldout = words((DATA / "heldout_queries.toml").read_text()) | words((DATA / "user_wardrobe.toml").read_text())
    heldout = {w for w in heldout if len(w) >= 3}
    assert not negatives & maker.forms(heldout), "a held-out query word would be a trained negative"
    classes = set().union(*(words(c) for label in range(len(vocab.NOUNS)) for c in vocab.plain_captions(label)))
    assert not negatives & classes, "a word of the class captions would count against its own class"
    assert not negatives & maker.TRUTHFUL


def test_negative_captions_are_distinct_reproducible_and_fit_the_context() -> None:
    first, again = vocab.negative_captions(500, seed=3), vocab.negative_captions(500, seed=3)
    assert first == again and len(set(first)) == 500
    assert vocab.negative_captions(500, seed=4) != first
    allowed = set(vocab.negative_words())
    allowed |= {w + "s" for w in allowed} | words(" ".join(vocab.NEGATIVE_TEMPLATES + vocab.NEGATIVE_PAIRS)) | {"an"}
    for caption in first:
        assert words(caption) <= allowed, caption
