"""Text, image and similarity search: query embedding (prompt ensembles), kNN, and catalog lookup."""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from photosense.core.catalog import Catalog
from photosense.core.embedder import Embedder, ensemble
from photosense.core.prompts import query_prompts
from photosense.core.vectors import VectorIndex


@dataclass(frozen=True)
class Hit:
    """One search result: a photo and its cosine similarity to the query."""

    id: int
    path: str
    score: float

    def to_json(self) -> dict:
        """The CLI's JSON form."""
        return {"id": self.id, "path": self.path, "score": round(float(self.score), 4)}


class TextVectors:
    """Query text -> prompt-ensembled unit vector, with a small LRU cache (search-as-you-type repeats)."""

    def __init__(self, embedder: Embedder, size: int = 256) -> None:
        self.embedder = embedder
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def __call__(self, text: str) -> np.ndarray:
        key = " ".join(text.split()).lower()
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        prompts = query_prompts(text)
        if not prompts:
            raise ValueError("empty query")
        vector = ensemble(self.embedder.encode_texts(prompts))
        with self._lock:
            self._cache[key] = vector
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return vector


def nearest(catalog: Catalog, vectors: VectorIndex, query: np.ndarray, limit: int,
            exclude: tuple[int, ...] = (), allowed: np.ndarray | None = None) -> list[Hit]:
    """kNN over the vector index, then paths from the catalog (ids deleted meanwhile are dropped)."""
    ids, scores = vectors.search(query, limit, allowed=allowed, exclude=exclude)
    photos = catalog.photos_by_ids(ids.tolist())
    return [Hit(int(i), photos[int(i)].path, float(s)) for i, s in zip(ids, scores) if int(i) in photos]
