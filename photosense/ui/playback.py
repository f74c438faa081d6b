"""Decoding for the in-app player: one thread per open clip (PyAV), frames scaled inside FFmpeg to the
player's size and turned upright there, at most ``AHEAD`` decoded frames waiting, seeks that supersede
each other. Nothing here runs on the GUI thread except the small calls that post commands."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import av
import av.error
import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage, QTransform

from photosense.core.errors import ImageError, PhotoSenseError

log = logging.getLogger(__name__)

AHEAD = 6  # decoded frames waiting to be shown; each is at most the player's size (≤ 6 × 8 MB at 1080p)
MAX_BAD_PACKETS = 16  # corrupt packets skipped before the rest of the clip is given up
JOIN_S = 2.0  # closing waits this long for the thread (it checks between frames: one decode at most)


@dataclass(frozen=True)
class ClipInfo:
    """What the player needs before the first frame: length (0.0 when the file does not say), frame rate,
    and the displayed size (after rotation and pixel aspect)."""

    duration: float
    fps: float
    width: int
    height: int


class Playback(QObject):
    """Decodes *path* on its own thread. ``start(at, width, height)`` opens it and seeks to *at*; frames
    come as ``frameReady(generation, seconds, QImage)``, in time order, each generation starting at the
    frame shown at its seek target; ``ended(generation)`` follows a generation's last frame. The receiver
    calls ``consumed()`` once per frame it has shown or dropped: at most ``AHEAD`` are in flight."""

    opened = Signal(object)  # ClipInfo
    frameReady = Signal(int, float, QImage)
    ended = Signal(int)
    failed = Signal(str)

    def __init__(self, path: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self._cv = threading.Condition()
        self._generation = 0
        self._seek: tuple[int, float, bool] | None = None  # (generation, seconds, exact) not taken yet
        self._size = (640, 360)  # the box frames are fitted into, in device pixels
        self._ahead = 0
        self._stopping = False
        self._thread: threading.Thread | None = None

    # -- commands (GUI thread) ----------------------------------------------------------------

    def start(self, at: float, width: int, height: int) -> int:
        """Open the clip on a new thread and seek to *at* seconds; returns the first generation."""
        self.set_size(width, height)
        generation = self.seek(at)
        self._thread = threading.Thread(target=self._run, name="photosense-playback", daemon=True)
        self._thread.start()
        return generation

    def seek(self, t: float, exact: bool = True) -> int:
        """Go to *t* seconds: frames of older generations are no longer wanted. Returns the new generation.
        Not *exact* (scrubbing): the generation starts at the keyframe before *t*, at once."""
        with self._cv:
            self._generation += 1
            self._seek = (self._generation, max(0.0, float(t)), exact)
            self._cv.notify_all()
            return self._generation

    def set_size(self, width: int, height: int) -> None:
        """Fit the next frames into width × height device pixels."""
        with self._cv:
            self._size = (max(16, int(width)), max(16, int(height)))

    def consumed(self, count: int = 1) -> None:
        """*count* frames were shown or dropped: the thread may decode that many more."""
        with self._cv:
            self._ahead = max(0, self._ahead - count)
            self._cv.notify_all()

    def stop(self) -> None:
        """Stop the thread and wait for it (briefly: it checks between frames)."""
        with self._cv:
            self._stopping = True
            self._cv.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(JOIN_S)
            if self._thread.is_alive():
                log.warning("playback of %s did not stop within %.0f s", self.path, JOIN_S)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- the thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        from photosense.core import video

        try:
            info = video.probe(self.path)  # ImageError with a reason for whatever cannot be played
            with av.open(self.path, metadata_errors="ignore") as container:
                stream = next(s for s in container.streams.video
                              if not s.disposition & av.stream.Disposition.attached_pic)
                stream.thread_type = "AUTO"  # frame threads: playback wants speed more than memory
                fps = info.fps if info.fps and 1 <= info.fps <= 240 else 25.0
                self._emit(self.opened, ClipInfo(info.duration, fps, info.width, info.height))
                self._play(container, stream, fps)
        except _Gone:
            return
        except (ImageError, PhotoSenseError) as err:  # written for people: the reason as it is
            self._emit(self.failed, str(err), quiet=True)
        except Exception as err:  # noqa: BLE001 - a clip that cannot be played says so, the app goes on
            log.warning("playback of %s failed", self.path, exc_info=err)
            self._emit(self.failed, f"the video could not be decoded ({type(err).__name__})", quiet=True)

    def _emit(self, signal, *args, quiet: bool = False) -> None:
        """Post to the GUI thread; the player may have been deleted meanwhile (the window closed)."""
        try:
            signal.emit(*args)
        except RuntimeError:
            if not quiet:
                raise _Gone from None

    def _play(self, container, stream, fps: float) -> None:
        tb, start = float(stream.time_base), stream.start_time or 0
        sar = float(stream.sample_aspect_ratio or stream.codec_context.sample_aspect_ratio or 1)
        frames, generation, target, last = None, 0, 0.0, None
        while True:
            with self._cv:
                while not self._stopping and self._seek is None and (frames is None or self._ahead >= AHEAD):
                    self._cv.wait()
                if self._stopping:
                    return
                seek, self._seek = self._seek, None
                size = self._size
            if seek is not None:
                generation, target, exact = seek
                frames, last = _decoded(container, stream, start + int(target / tb)), None
                target = target if exact else 0.0
            frame = next(frames, None)
            if frame is None:
                frames = None
                self._emit(self.ended, generation)
                continue
            t = (frame.pts - start) * tb if frame.pts is not None else (last + 1 / fps if last is not None else 0.0)
            last = t
            if t < target - 0.5 / fps:
                continue  # decoded on the way from the keyframe to the moment asked for
            image = _image(frame, size, sar)
            with self._cv:
                if self._seek is not None or self._stopping:
                    continue  # superseded while it was being converted
                self._ahead += 1
            self._emit(self.frameReady, generation, t, image)


class _Gone(Exception):
    """The receiving QObject was deleted: the thread ends."""


def _decoded(container, stream, ts: int):
    """Frames from the keyframe at or before *ts* on (from the start if the file cannot seek)."""
    try:
        container.seek(max(ts, stream.start_time or 0), stream=stream, backward=True)
    except av.error.FFmpegError:
        container.seek(0)  # no index: decode from the start
    bad = 0
    for packet in container.demux(stream):
        try:
            yield from packet.decode()
        except av.error.FFmpegError:
            bad += 1
            if bad > MAX_BAD_PACKETS:
                return


def _image(frame, size: tuple[int, int], sar: float) -> QImage:
    """The frame fitted into *size* (never enlarged), scaled by FFmpeg, upright."""
    rotation = round(-(frame.rotation or 0) / 90) * 90 % 360  # clockwise, as core.video reads it
    width, height = max(1, round(frame.width * sar)), frame.height
    shown = (height, width) if rotation in (90, 270) else (width, height)
    scale = min(1.0, size[0] / shown[0], size[1] / shown[1])
    out_w, out_h = max(2, round(width * scale)), max(2, round(height * scale))
    rgb = np.ascontiguousarray(frame.to_ndarray(width=out_w, height=out_h, format="rgb24",
                                                interpolation="BILINEAR"))
    image = QImage(rgb.data, out_w, out_h, 3 * out_w, QImage.Format.Format_RGB888).copy()
    return image.transformed(QTransform().rotate(rotation)) if rotation else image
