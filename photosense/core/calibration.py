"""Calibrated scores: targets compete in a softmax at CLIP's temperature against a photo's best background."""
from __future__ import annotations

import threading

import numpy as np

from photosense.core.embedder import ImageTextEmbedder, ensemble
from photosense.core.prompts import expand

# A tag needs this calibrated probability unless its label sets its own threshold. The labels of
# a set and the background share one softmax, so 0.3 still admits a photo that is honestly torn
# between two labels (0.45 / 0.45) while a photo the background wins gets nothing.
DEFAULT_TAG_THRESHOLD = 0.3
# Albums and search keep a photo when the query wins at least half the probability against the
# background, i.e. exactly when it matches the photo better than the photo's best background
# phrase. This needs no per-library number: the background is judged per photo.
RELEVANCE_CUTOFF = 0.5
# A background word this close to a target is a synonym of it (or the target itself) and is left
# out of the background, or it would compete with its own query. "Close" is relative to the
# target's typical similarity to the words (their median), because text-text cosines differ a lot
# between models (about 0 for unrelated words in the tiny model, 0.7-0.8 in OpenAI's CLIP):
# (cos - median) / (1 - median) >= SYNONYM_CLOSENESS.
# Measured on the tiny model: anything from 0.6 to 0.9 gives the same albums; without the exclusion
# a query loses most of its photos to its own synonyms.
SYNONYM_CLOSENESS = 0.7

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

    def background(self, targets: np.ndarray, extra: np.ndarray | None = None) -> np.ndarray:
        """Background vectors for *targets* (K, D): generic phrases, the contrast words that are not
        synonyms of a target, and *extra* (a prompt set's own background prompts)."""
        contrast = self._contrast_vectors()
        cos = contrast[1:] @ np.atleast_2d(targets).T  # (words, K); row 0 is "just a photo"
        median = np.median(cos, axis=0, keepdims=True)
        closeness = (cos - median) / np.maximum(1.0 - median, 1e-6)
        keep = np.concatenate([[True], closeness.max(axis=1) < SYNONYM_CLOSENESS])
        parts = [contrast[keep]]
        if extra is not None and len(extra):
            parts.append(np.atleast_2d(extra))
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

    def relevance(self, images: np.ndarray, query: np.ndarray,
                  background: np.ndarray | None = None) -> np.ndarray:
        """(N,) calibrated relevance of one query vector; >= RELEVANCE_CUTOFF means it beats the background."""
        if background is None:
            background = self.background(query)
        return self.probabilities(images, query[None], background)[:, 0]

