"""Announcements between services: a small, thread-safe publish/subscribe ``Event``."""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np

T = TypeVar("T")


class Event(Generic[T]):
    """Listeners called in order of subscription, on the thread that emits (keep them short, or hand
    the work to a thread of your own). A listener's exception reaches the emitter."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._listeners: list[Callable[[T], None]] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Callable[[T], None]) -> Callable[[], None]:
        """Call *listener(payload)* on every emit; returns a function that unsubscribes it."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def emit(self, payload: T) -> None:
        """Tell every listener (a snapshot: listeners added meanwhile hear the next emit)."""
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(payload)


@dataclass(frozen=True)
class Embedded:
    """Indexing stored embeddings of *model_id*: *ids* were embedded (or reused) by this run. Sent
    after every indexing run that has a vector index, even with no ids, so listeners can also catch
    up on photos an interrupted run embedded but did not announce."""

    model_id: int
    ids: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
