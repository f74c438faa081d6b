"""Prompt templates and the prompt-ensemble rendering used by search and tagging (CLIP paper, sec. 3.1.4)."""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

# Label templates for zero-shot classification (tags): "{}" is a label such as "ankle boot", which
# gets its article. Averaging the text embeddings of several phrasings of one label is the CLIP
# paper's prompt ensembling (about +5 points on ImageNet).
DEFAULT_TEMPLATES: tuple[str, ...] = (
    "a photo of {}.",
    "a picture of {}.",
    "a close-up photo of {}.",
    "a good photo of {}.",
    "an image of {}.",
    "a photo of the {}.",
)

# Search wraps short queries in a smaller ensemble: every prompt costs text-encoder time while
# the user types, and three phrasings already average out most of the wording noise.
SEARCH_TEMPLATES: tuple[str, ...] = ("a photo of {}.", "a picture of {}.", "an image of {}.")

# Queries longer than this (in words) are taken as full sentences and used as written.
SHORT_QUERY_WORDS = 4

_ARTICLE_FIX = re.compile(r"\b([Aa]) (?=[aeiouAEIOU])")
_SENTENCE_START = re.compile(r"^(a|an|the|this|that|my|our|some|photos?|pictures?|images?)\b", re.I)
_NO_ARTICLE = re.compile(r"^(a|an|the|this|that|these|those|my|your|our|their|his|her|some|many|"
                         r"several|two|three|four|five|\d+)\b", re.I)


def with_article(phrase: str) -> str:
    """"sneaker" -> "a sneaker", "ankle boot" -> "an ankle boot"; plurals and phrases stay as they are."""
    words = phrase.split()
    if not words or _NO_ARTICLE.match(phrase) or len(words) > 2 or words[-1].lower().endswith("s"):
        return phrase
    return ("an " if phrase[0].lower() in "aeiou" else "a ") + phrase


def fill(template: str, label: str) -> str:
    """Put *label* into *template* ("a photo of {}." + "apple" -> "a photo of an apple.")."""
    if "{}" in template and not re.search(r"\b(a|an|the)\s*\{\}", template):
        label = with_article(label.strip())
    return _ARTICLE_FIX.sub(lambda m: m.group(1) + "n ", template.format(label.strip()))


def expand(labels: Iterable[str], templates: Sequence[str] = DEFAULT_TEMPLATES) -> list[str]:
    """Every label in every template, label-major: [l0t0, l0t1, ..., l1t0, ...]."""
    return [fill(t, label) for label in labels for t in templates]


def query_prompts(query: str, templates: Sequence[str] = SEARCH_TEMPLATES) -> list[str]:
    """The texts a free-text query is encoded as: an ensemble for short noun phrases, else as typed."""
    query = " ".join(query.split())
    if not query:
        return []
    if len(query.split()) > SHORT_QUERY_WORDS or _SENTENCE_START.match(query):
        return [query]
    return expand([query], templates)
