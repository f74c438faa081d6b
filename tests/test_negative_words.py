"""The second model's negative captions never contain a word of the evaluation queries or of its own class captions."""
from __future__ import annotations

from pathlib import Path

import caption_vocab as vocab
import eval_calibration_dev as dev_eval
import make_negative_words as maker
from make_negative_words import words_of as words
from photosense.core.calibration import CONTRAST_WORDS

DATA = Path(__file__).parent / "data"


def same_stem(a: str, b: str) -> bool:
    """Written apart from the generator's rule: equal after dropping common English endings."""
    def stem(w: str) -> str:
        for ending in ("ing", "ers", "er", "ies", "es", "ed", "s"):
            if w.endswith(ending) and len(w) - len(ending) >= 3:
                w = w[:-len(ending)]
                break
        return w[:-1] if len(w) > 3 and w[-1] == w[-2] else w  # running -> runn -> run
    return stem(a) == stem(b)


def test_negative_words_leave_out_evaluation_calibration_and_class_words() -> None:
    negatives = vocab.negative_words()
    assert len(negatives) >= 1000 and len(set(negatives)) == len(negatives)
    evaluation = words((DATA / "heldout_queries.toml").read_text()) | words((DATA / "user_wardrobe.toml").read_text())
    evaluation |= words(" ".join(q for qs in dev_eval.DEV_KNOWN.values() for q in qs))
    evaluation |= words(" ".join(dev_eval.DEV_UNKNOWN))
    classes = set().union(*(words(c) for label in range(len(vocab.NOUNS)) for c in vocab.plain_captions(label)))
    for name, group in (("an evaluation query", evaluation), ("a class caption", classes),
                        ("a contrast word", words(" ".join(CONTRAST_WORDS))), ("a truthful word", maker.TRUTHFUL)):
        group = {w for w in group if len(w) >= 3}
        clashes = [(n, w) for n in negatives for w in group if same_stem(n, w)]
        assert not clashes, f"negatives share a stem with {name}: {clashes[:5]}"


def test_negative_captions_are_distinct_reproducible_and_fit_the_context() -> None:
    first, again = vocab.negative_captions(500, seed=3), vocab.negative_captions(500, seed=3)
    assert first == again and len(set(first)) == 500
    assert vocab.negative_captions(500, seed=4) != first
    allowed = set(vocab.negative_words())
    allowed |= {w + "s" for w in allowed} | words(" ".join(vocab.NEGATIVE_TEMPLATES + vocab.NEGATIVE_PAIRS)) | {"an"}
    for caption in first:
        assert words(caption) <= allowed, caption
