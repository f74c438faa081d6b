"""Videos for the window (Qt-free, run on workers): times as a player writes them, and a video's sampled
moments with the ones that match the current search marked."""
from __future__ import annotations

from dataclasses import dataclass

from photosense.core.errors import PhotoSenseError


def clock(seconds: float | None) -> str:
    """Seconds as a player shows them: 0:42, 12:05, 1:02:09 ("" when unknown)."""
    if seconds is None or seconds != seconds or seconds < 0:
        return ""
    whole = int(seconds)  # a player shows the second it is in, never the next one
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


@dataclass(frozen=True)
class Moment:
    """One sampled moment of a video: its time, its cosine to the query (None when there is no query),
    whether it passes the search's relevance cut-off, and whether it is the hit's best moment."""

    t: float
    score: float | None = None
    relevant: bool = False
    best: bool = False


def load_moments(library, path: str, text: str = "", best_at: float | None = None) -> list[Moment]:  # worker
    """The sampled moments of the library video *path*, in time order. With a text query, each moment is
    judged as the search judges items (``Library.moments``); *best_at* (the hit's moment) marks the
    nearest moment as the best one."""
    try:
        judged = library.moments(path, text or None)
    except PhotoSenseError:  # a query the search rejects marks nothing here
        judged = library.moments(path)
    if not judged:
        return []
    best = None if best_at is None else min(range(len(judged)), key=lambda i: abs(judged[i].t - best_at))
    return [Moment(m.t, m.score, m.relevant, i == best) for i, m in enumerate(judged)]
