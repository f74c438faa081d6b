"""Calibrated scores: targets compete in a softmax at CLIP's temperature against a photo's best background."""
from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from photosense.core.embedder import ImageTextEmbedder, encode_ensembles, ensemble
from photosense.core.prompts import SEARCH_TEMPLATES, expand, query_prompts

# A tag needs this calibrated probability unless its label sets its own threshold. The labels of
# a set and the background share one softmax, so 0.3 still admits a photo that is honestly torn
# between two labels (0.45 / 0.45) while a photo the background wins gets nothing.
DEFAULT_TAG_THRESHOLD = 0.3
# Albums and search keep a photo when the query wins at least half the probability against the
# background, i.e. exactly when it matches the photo better than the photo's best background
# phrase. This needs no per-library number: the background is judged per photo.
RELEVANCE_CUTOFF = 0.5
# A background word this close to a target is a synonym of it (or the target itself) and is left
# out of the background, or it would compete with its own query. "Close" is relative to a
# reference similarity, because text-text cosines differ a lot between models (about 0 for
# unrelated words in the tiny models, 0.7-0.8 in OpenAI's CLIP):
# (cos - reference) / (1 - reference) >= SYNONYM_CLOSENESS. The reference is the target's cosine
# to its own null phrases (below) where they are known (search, albums), else its median cosine
# to the words (tags). 0.9: only words the model embeds nearly as the query itself. At 0.7 a model
# whose text space is all clothes (tiny-fashion-wide, trained with captions that match no photo)
# counted the neighbouring classes as synonyms ("sandal" for "a sneaker", "coat" for "sweaters")
# and let the query take their photos. Chosen on dev queries (tools/eval_calibration_dev.py, not
# the held-out ones): with that model precision/recall 0.69/0.96 at 0.7, 0.91/0.90 at 0.9;
# tiny-fashion and the earlier wide model unchanged within 0.02 (tiny-fashion's albums were the same from 0.6 to 0.9).
SYNONYM_CLOSENESS = 0.9
# A contrast word that is the query's own head word ("dog" for "a dog", "dogs") is a synonym from this
# closeness on (the rule before 0.9): a web-trained CLIP may put "a dog" and "a photo of dog." apart
# by more than 0.9 allows, and the query must not compete with its own noun. Not any word the query
# names: "dress" in "dress shoes" or "beach" in "a dog on the beach" still competes unless close.
NAMED_CLOSENESS = 0.7

# Null phrases: the query with its last word (the head of an English noun phrase) replaced by
# each of these generic words ("a pair of socks" -> "a pair of thing", "a pair of object"...).
# They are always in the background: a photo is relevant only if the query describes it better
# than the same words with a meaningless one in its place. A model that does not know a word
# (a small model, a rare word) embeds it like any of these, so an ungrounded query ties with its
# nulls and loses to the best of them on nearly every photo, instead of returning whatever its
# arbitrary direction happens to point at. For a word the model knows, the nulls are just more
# unrelated background. Many words, because an unknown word's direction is a random draw: it
# beats the best of N such draws on few photos only when N is large.
NULL_WORDS: tuple[str, ...] = (
    "thing", "object", "item", "stuff", "something", "piece", "example", "sample", "subject", "view",
    "shape", "form", "kind", "sort", "bit", "unit", "part", "matter", "element", "entity", "detail",
    "anything", "type", "instance")

# Generic phrases that describe any photo: a target must beat "just a photo".
BACKGROUND_PROMPTS: tuple[str, ...] = ("a photo.", "a picture.", "an image.", "a photo of something.")

# Everyday things and scenes. A photo's background score is its best match among these (minus the
# target's synonyms), so "a sneaker" must beat "a sandal" and "a boot" on a sandal, not merely
# "a photo": this is what keeps the near misses out of an album without a user-set number.
CONTRAST_WORDS: tuple[str, ...] = tuple("""
person;people;man;woman;child;baby;crowd;face;dog;cat;bird;horse;fish;insect;animal;car;bus;truck;
bicycle;motorcycle;train;boat;airplane;house;building;room;kitchen;office;street;city;road;bridge;
tree;flower;plant;grass;forest;garden;field;mountain;hill;beach;sea;lake;river;water;sky;cloud;
sunset;snow;desert;food;meal;fruit;vegetable;cake;bread;drink;coffee;bottle;cup;plate;table;chair;
sofa;bed;lamp;window;door;wall;floor;screen;computer;phone;keyboard;television;book;paper;document;
receipt;screenshot;text;sign;poster;painting;drawing;map;chart;toy;ball;clock;box;bag;backpack;
suitcase;umbrella;hat;cap;glasses;jewelry;watch;shirt;t-shirt;sweater;jacket;coat;dress;skirt;
trousers;jeans;shorts;shoe;sneaker;boot;sandal;sock;glove;scarf;tool;instrument;guitar;light;fire;
night;pattern;texture""".replace("\n", "").split(";"))
CONTRAST_TEMPLATES: tuple[str, ...] = ("a photo of {}.", "a picture of {}.")


# A prompt is "like a generic word" when it sits no farther from the centroid of its null phrases
# than this share of the null phrases themselves do (a rank, not a distance: models differ).
GENERIC_QUANTILE = 0.9
# generic_prompts' verdicts a calibrator keeps (prompts of prompt sets and their drafts)
GENERIC_KEPT = 4096
# Names what a verdict depends on besides the model: kept verdicts made under another one are ignored.
GENERIC_RULE = "1;" + hashlib.sha1(repr((GENERIC_QUANTILE, NULL_WORDS, SEARCH_TEMPLATES)).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Grounding:
    """How far a prompt stands from its null phrases (text side; 1 - cosine to their centroid)."""

    text: str
    distance: float
    spread: float  # the GENERIC_QUANTILE of the null phrases' own distances to their centroid

    @property
    def generic(self) -> bool:
        """The model embeds the prompt like a generic word: too generic, or words it does not know."""
        return self.distance <= self.spread


def _null_phrases(texts: Sequence[str]) -> list[str]:
    """Each text with its last word replaced by each of NULL_WORDS."""
    return [" ".join([*t.split()[:-1], w]) for t in texts if t.split() for w in NULL_WORDS]


_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_HYPHENS = str.maketrans({"\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-"})


def _head_words(texts: Sequence[str]) -> set[str]:
    """The last word of each text (the head of an English noun phrase, as for the null phrases),
    lower-case, with its possible singulars: "Red dresses!" -> {"dresses", "dresse", "dress"}."""
    heads = set()
    for text in texts:
        words = _WORD.findall(re.sub(r"['\u2019]s\b", "", text.lower().translate(_HYPHENS)))
        if words:
            heads.add(words[-1])
    singular = set()
    for w in heads:
        if w.endswith("ies") and len(w) > 4:
            singular.add(w[:-3] + "y")
        if w.endswith(("ses", "xes", "zes", "ches", "shes")):
            singular |= {w[:-2], w[:-1]}  # boxes, dresses; horses, houses
        elif w.endswith("s") and not w.endswith("ss"):
            singular.add(w[:-1])  # sneakers, capes
    return heads | singular


def _grounding(text: str, vector: np.ndarray, nulls: np.ndarray) -> Grounding:
    centre = ensemble(nulls)
    spread = float(np.quantile(1.0 - nulls @ centre, GENERIC_QUANTILE))
    return Grounding(text, float(1.0 - vector @ centre), spread)


def softmax_rows(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, numerically stable."""
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


class Calibrator:
    """Turns cosine similarities into calibrated probabilities for one model (thread-safe, cached)."""

    def __init__(self, embedder: ImageTextEmbedder) -> None:
        self.embedder = embedder
        self._lock = threading.Lock()
        self._scale: float | None = None
        self._contrast: np.ndarray | None = None
        self._nulls: OrderedDict[str, np.ndarray] = OrderedDict()  # null phrase -> vector (LRU)
        self._generic: dict[str, bool] = {}  # prompt -> generic_prompts' verdict

    @property
    def scale(self) -> float:
        """The model's logit scale."""
        if self._scale is None:
            self._scale = self.embedder.logit_scale
        return self._scale

    def _contrast_vectors(self) -> np.ndarray:
        with self._lock:
            if self._contrast is None:
                n = len(CONTRAST_TEMPLATES)
                prompts = [*BACKGROUND_PROMPTS, *expand(CONTRAST_WORDS, CONTRAST_TEMPLATES)]
                encoded = self.embedder.encode_texts(prompts)  # one batch: much faster than 127 calls
                generic, words = encoded[:len(BACKGROUND_PROMPTS)], encoded[len(BACKGROUND_PROMPTS):]
                self._contrast = np.stack([ensemble(generic)] + [ensemble(words[i:i + n])
                                                                 for i in range(0, len(words), n)])
            return self._contrast

    def nulls(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts) x len(NULL_WORDS), D) null phrase vectors of query *texts*, each encoded as a
        query is (``query_prompts``, ensembled). Cached: single-word queries all share theirs."""
        phrases = _null_phrases(texts)
        self.put_nulls(encode_ensembles(self.embedder, self.pending_nulls(texts)))
        with self._lock:
            return np.stack([self._nulls[p] for p in phrases]) if phrases else \
                np.empty((0, self.embedder.dim), np.float32)

    def pending_nulls(self, texts: Sequence[str]) -> dict[str, list[str]]:
        """The prompts of the null phrases of *texts* not cached yet (for one batch with other prompts)."""
        with self._lock:
            return {p: query_prompts(p) for p in dict.fromkeys(_null_phrases(texts)) if p not in self._nulls}

    def put_nulls(self, vectors: dict[str, np.ndarray]) -> None:
        """Cache null phrase vectors by the phrases :meth:`pending_nulls` gave."""
        with self._lock:
            self._nulls.update(vectors)
            while len(self._nulls) > 64 * len(NULL_WORDS):
                self._nulls.popitem(last=False)

    def grounding(self, texts: Sequence[str], vectors: np.ndarray) -> list[Grounding]:
        """:class:`Grounding` of each query text, given its query vector (as search embeds it)."""
        return [_grounding(text, vector, self.nulls([text])) for text, vector in zip(texts, np.atleast_2d(vectors))]

    def generic_prompts(self, prompts: Sequence[str]) -> list[bool]:
        """Whether the model embeds each prompt, as a query, like a generic word (``Grounding.generic``).
        Every prompt and null phrase not judged before is encoded in one batch, outside the null cache
        (a prompt set's many prefixes would flush the queries' nulls from it); verdicts are kept."""
        with self._lock:
            known = {p: self._generic[p] for p in prompts if p in self._generic}
        todo = list(dict.fromkeys(p for p in prompts if p not in known))
        if todo:
            groups: dict = {("query", p): query_prompts(p) for p in todo}
            groups.update({("null", n): query_prompts(n) for n in _null_phrases(todo)})
            encoded = encode_ensembles(self.embedder, groups)
            known.update({p: _grounding(p, encoded[("query", p)],
                                        np.stack([encoded[("null", n)] for n in _null_phrases([p])])).generic
                          for p in todo})
            self.know_generic({p: known[p] for p in todo})
        return [known[p] for p in prompts]

    def know_generic(self, verdicts: dict[str, bool]) -> None:
        """Verdicts kept from an earlier process for this model (``generic_prompts``' own, by prompt)."""
        with self._lock:
            self._generic.update(verdicts)
            while len(self._generic) > GENERIC_KEPT:  # the oldest go first
                self._generic.pop(next(iter(self._generic)))

    def background(self, targets: np.ndarray, extra: np.ndarray | None = None,
                   nulls: np.ndarray | None = None, texts: Sequence[str] = ()) -> np.ndarray:
        """Background vectors for *targets* (K, D): generic phrases, the contrast words that are not
        synonyms of a target, *extra* (a prompt set's own background prompts) and *nulls* (the
        targets' null phrases, see :meth:`nulls`; never left out). A contrast word that is the head
        word of one of *texts* (the targets' wordings) is a synonym already at NAMED_CLOSENESS."""
        contrast = self._contrast_vectors()
        targets = np.atleast_2d(targets)
        cos = contrast[1:] @ targets.T  # (words, K); row 0 is "just a photo"
        if nulls is not None and len(nulls):
            reference = (ensemble(nulls) @ targets.T)[None, :]
        else:
            reference = np.median(cos, axis=0, keepdims=True)
        closeness = (cos - reference) / np.maximum(1.0 - reference, 1e-6)
        heads = _head_words(texts)
        named = np.array([w in heads for w in CONTRAST_WORDS])
        closest = closeness.max(axis=1)
        keep = np.concatenate([[True], (closest < SYNONYM_CLOSENESS) & ~(named & (closest >= NAMED_CLOSENESS))])
        parts = [contrast[keep]]
        if extra is not None and len(extra):
            parts.append(np.atleast_2d(extra))
        if nulls is not None and len(nulls):
            parts.append(nulls)
        return np.concatenate(parts).astype(np.float32)

    def probabilities(self, images: np.ndarray, targets: np.ndarray, background: np.ndarray,
                      competitors: np.ndarray | None = None) -> np.ndarray:
        """(N, K) calibrated scores of *targets* for unit image vectors *images* (N, D).

        Targets, *competitors* (e.g. negative prompts) and one background class share a softmax at
        the model's temperature; the background class scores each photo's best background match.
        """
        columns = [images @ np.atleast_2d(targets).T]
        if competitors is not None and len(competitors):
            columns.append(images @ np.atleast_2d(competitors).T)
        columns.append((images @ background.T).max(axis=1, keepdims=True))
        probs = softmax_rows(np.concatenate(columns, axis=1) * self.scale)
        return probs[:, :len(np.atleast_2d(targets))]
