"""Thumbnails made on the thumbnail pool (core cache + QImage decode there); newest requests first. A video's
thumbnail is its poster frame, or the frame at a moment."""
from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QImage

from photosense.core.thumbnails import ThumbnailCache
from photosense.ui import style
from photosense.ui.tasks import Pools

MAX_WAITING = 400  # requests beyond this were scrolled past: the oldest are dropped


Key = tuple[str, "float | None"]  # (path, a video's moment in seconds or None)


class ThumbnailLoader(QObject):
    """``request(path, at=None)`` returns at once; ``ready(path, at, image)`` follows (a null image if
    unusable). *at*: the moment of a video (None: a photo, or a video's poster frame)."""

    ready = Signal(str, object, QImage)

    def __init__(self, pools: Pools, cache: ThumbnailCache | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pools = pools
        self.cache = cache or ThumbnailCache()
        self._waiting: OrderedDict[Key, None] = OrderedDict()
        self._running: set[Key] = set()
        self._slots = max(2, pools.thumbnails.maxThreadCount() * 2)
        self._pumping = False  # synchronous pools answer inside run(): no recursion per request

    def request(self, path: str, at: float | None = None) -> None:
        key = (path, at)
        if key in self._running:
            return
        self._waiting[key] = None
        self._waiting.move_to_end(key)  # the most recent request (visible now) goes first
        while len(self._waiting) > MAX_WAITING:
            self._waiting.popitem(last=False)
        self._pump()

    def forget_waiting(self) -> None:
        """Drop requests not yet started (the grid's content changed)."""
        self._waiting.clear()

    def pending(self) -> int:
        return len(self._waiting) + len(self._running)

    def _pump(self) -> None:
        if self._pumping:
            return
        self._pumping = True
        try:
            while self._waiting and len(self._running) < self._slots:
                key, _ = self._waiting.popitem(last=True)
                self._running.add(key)
                self.pools.run(self.pools.thumbnails, lambda k=key: (k, self._make(*k)), self._done,
                               lambda err, k=key: self._done((k, QImage())))
        finally:
            self._pumping = False

    def _make(self, path: str, at: float | None) -> QImage:  # worker thread
        try:
            image = QImage(str(self.cache.get(path, at)))
            if image.isNull():
                return image
            return image.scaled(style.THUMB, style.THUMB, Qt.AspectRatioMode.KeepAspectRatio,
                                Qt.TransformationMode.SmoothTransformation)
        except Exception:  # noqa: BLE001 - an unusable file shows the "broken" tile, nothing more
            return QImage()

    def _done(self, result: tuple[Key, QImage]) -> None:
        key, image = result
        self._running.discard(key)
        self.ready.emit(key[0], key[1], image)
        self._pump()
