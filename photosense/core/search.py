"""Search records and query vectors: ``Hit`` (one result) and ``TextVectors`` (prompt-ensembled, cached)."""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from photosense.core.embedder import ImageTextEmbedder, ensemble
from photosense.core.prompts import query_prompts


@dataclass(frozen=True)
class Hit:
    """One search result: a photo, its score (cosine similarity to the query) and what found it."""

    id: int
    path: str
    score: float
    matched: tuple[str, ...] = ("visual",)  # what found it: "visual", "text", "name", "tag", "filter"
    kind: str = "photo"  # "photo" or "video"
    at: float | None = None  # a video's best moment, in seconds
    duration: float | None = None  # a video's length, in seconds
    stack: int = 1  # how many items it stands for: > 1 when a stack (duplicates, a burst) is folded into it

    def to_json(self, matched: bool = False) -> dict:
        """The CLI's JSON form (with *matched*, the ``matched`` list of what found it: "visual", "text",
        "name", "tag", "filter"); a video adds its best moment ``at`` and its ``duration``, in seconds; a
        folded stack adds ``stack``, its number of items."""
        out = {"id": self.id, "path": self.path, "score": round(float(self.score), 4), "kind": self.kind}
        if matched:
            out["matched"] = list(self.matched)
        if self.kind == "video":
            out["at"] = None if self.at is None else round(float(self.at), 3)
            out["duration"] = None if self.duration is None else round(float(self.duration), 3)
        if self.stack > 1:
            out["stack"] = int(self.stack)
        return out


class TextVectors:
    """Query text -> prompt-ensembled unit vector, with a small LRU cache (search-as-you-type repeats)."""

    def __init__(self, embedder: ImageTextEmbedder, size: int = 256) -> None:
        self.embedder = embedder
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def __call__(self, text: str) -> np.ndarray:
        key = _key(text)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        prompts = query_prompts(text)
        if not prompts:
            raise ValueError("empty query")
        vector = ensemble(self.embedder.encode_texts(prompts))
        self.put({key: vector})
        return vector

    def pending(self, texts: list[str]) -> dict[str, list[str]]:
        """The prompts of those *texts* not cached yet (by cache key), for one batch with other prompts."""
        keys = {_key(t): t for t in texts if _key(t)}
        with self._lock:
            return {key: query_prompts(t) for key, t in keys.items() if key not in self._cache}

    def put(self, vectors: dict[str, np.ndarray]) -> None:
        """Cache vectors by the keys :meth:`pending` gave."""
        with self._lock:
            for key, vector in vectors.items():
                self._cache[key] = vector
                self._cache.move_to_end(key)
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)


def _key(text: str) -> str:
    return " ".join(text.split()).lower()
