"""Prompt templates and the prompt-ensemble rendering used by search and tagging (CLIP paper, sec. 3.1.4)."""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

# A small, general ensemble for photos. The CLIP paper gains ~5 points on ImageNet by averaging
# the text embeddings of several phrasings of the same label; these cover the common framings.
DEFAULT_TEMPLATES: tuple[str, ...] = (
    "a photo of a {}.",
    "a picture of a {}.",
    "a close-up photo of a {}.",
    "a photo of the {}.",
    "a good photo of a {}.",
    "an image of a {}.",
)

# Queries longer than this (in words) are taken as full sentences and used as written.
SHORT_QUERY_WORDS = 4

_ARTICLE = re.compile(r"\b([Aa]) (?=[aeiouAEIOU])")
_SENTENCE_START = re.compile(r"^(a|an|the|photos?|pictures?|images?)\b", re.IGNORECASE)


def fill(template: str, label: str) -> str:
    """Put *label* into *template*, fixing the article ("a apple" -> "an apple")."""
    return _ARTICLE.sub(lambda m: m.group(1) + "n ", template.format(label.strip()))


def expand(labels: Iterable[str], templates: Sequence[str] = DEFAULT_TEMPLATES) -> list[str]:
    """Every label in every template, label-major: [l0t0, l0t1, ..., l1t0, ...]."""
    return [fill(t, label) for label in labels for t in templates]


def query_prompts(query: str, templates: Sequence[str] = DEFAULT_TEMPLATES) -> list[str]:
    """The texts a free-text query is encoded as: an ensemble for short noun phrases, else as typed."""
    query = " ".join(query.split())
    if not query:
        return []
    if len(query.split()) > SHORT_QUERY_WORDS or _SENTENCE_START.match(query):
        return [query]
    return expand([query], templates)
