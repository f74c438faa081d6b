"""Videos for the window (Qt-free, run on workers): times as a player writes them, and a video's sampled
moments with the ones that match the current search marked."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from photosense.core.catalog import FRAME_BASE


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
    judged as the search judges items (its calibrated relevance against its own background, negatives
    excluded); *best_at* (the hit's moment) marks the nearest moment as the best one."""
    photo = library.catalog.photo_by_path(path)
    model_id = library.context.model_id()
    if photo is None or not photo.is_video or model_id is None:
        return []
    frames = library.catalog.frames_of(photo.id, model_id)
    if not frames:
        return []
    best = None if best_at is None else min(range(len(frames)), key=lambda i: abs(frames[i][1] - best_at))
    scores, relevant = _judge(library, [f for f, _t in frames], text) if text else (None, None)
    return [Moment(t, None if scores is None else float(scores[i]), bool(relevant is not None and relevant[i]),
                   i == best) for i, (_f, t) in enumerate(frames)]


def _judge(library, frame_ids: list[int], text: str) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(cosine, passes) of each moment for the query *text*, or (None, None) when it cannot be judged (a
    query of filters only, or moments removed meanwhile)."""
    from photosense.core.query import parse

    service = library.search_service
    try:
        compiled = service.compile(parse(text))
    except Exception:  # noqa: BLE001 - a query the search rejects marks nothing here
        return None, None
    vectors = library.vectors()
    if compiled.vector is None or vectors is None:
        return None, None
    with vectors.locked():
        try:
            found = vectors.vectors([FRAME_BASE + f for f in frame_ids])
        except KeyError:  # re-indexed or removed meanwhile
            return None, None
    return compiled.assess(library.context.calibrator, found)
