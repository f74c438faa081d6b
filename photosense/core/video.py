"""Decode videos for indexing: a fast probe, bounded keyframe/scene-cut sampling, the frame at a moment."""
from __future__ import annotations

import errno
import functools
import math
import os
import stat
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import NamedTuple

import av
import av.error
import numpy as np
from PIL import Image

from photosense.core.errors import ImageError
from photosense.core.filetypes import VIDEO_EXTENSIONS, is_video_name
from photosense.core.video_errors import NO_DECODER, not_a_video_reason, reasons, still_there

av.logging.set_level(None)  # FFmpeg stays silent: every problem reaches the user as an ImageError reason

VIDEO_SUFFIXES: tuple[str, ...] = tuple(sorted(VIDEO_EXTENSIONS))

# The grid: cells of EVERY_S seconds, one frame each (the cell's last keyframe if it has one: one decode),
# so nothing lasting a cell goes unseen. Long files widen the cells to duration / 48 (GRID_SHARE of
# MAX_FRAMES): past 2 s only beyond 96 s; a 2-hour film is seen every 150 s. The last quarter is for cuts.
EVERY_S = 2.0
MAX_FRAMES = 64
GRID_SHARE = 0.75
# Scene cuts. Each decoded frame gets a 16x16 luma signature from a 64x64 point grid of its Y plane (~0.1 ms
# at any size; decoding costs 2-30 ms). Consecutive decoded frames whose signatures differ by SCENE_DIFF
# (mean absolute difference, 0-255) mark a cut; the frames either side become samples. A signature pixel
# averages 16 points: compression noise stays near 1, motion between neighbouring frames well below 10,
# unrelated shots differ by 30-80 (PySceneDetect's content detector cuts at 27 on a like 0-255 delta).
# Where a seek jumped, grid neighbours differing by SCENE_DIFF are bisected (each probe watched too) while
# the change stays in one half (a cut puts SPREAD x more change in one half than in the other; a pan or
# a fade spreads it), down to CUT_PRECISION of a step. Probes are keyframes in the middle half of the gap
# (one decode each; a level keeps <= 3/4 of it), so a cut is located to the keyframes around it: exact
# where the encoder put a keyframe at the cut (x264 does), within the GOP otherwise. Decoding the P-frames
# of a GOP to go finer cost 3/4 of all decoding on phone clips (1-2 s GOPs), so it is done only where no
# keyframe lies between neighbours over two steps apart, or the file has no index.
SCENE_DIFF = 20.0
SPREAD = 2.0
# Samples a grid step apart are compared after the best shift of up to MAX_SHIFT signature cells (1/16 of
# the frame each) in each direction: a steady pan or a walk moves the content rather than changing it,
# and probing it doubled the decoding of panning clips. A shot whose content moved further than an eighth
# of the frame, or changed, still differs and is probed (what lies between two such samples was unseen).
MAX_SHIFT = 2
CUT_PRECISION = 0.25
MAX_LEVELS = 4
# Seeking. A grid target jumps over the rest of the GOP only if it spans <= SEEK_GOP_STEPS steps, so a
# probe sent into the skipped stretch later decodes at most that GOP; longer GOPs are decoded through
# (non-reference frames skipped) and watched. Without an index, only gaps of over SEEK_GOP_STEPS are jumped.
SEEK_GOP_STEPS = 2.0
# Bounds. One target feeds at most MAX_FORWARD packets: above x264's default keyint of 250, the longest
# common GOP, so ordinary files reach the exact moment and a single-keyframe file yields the frame reached;
# a clip costs at most max_frames * MAX_FORWARD packets. PyAV's default slice threads are kept: frame
# threads were 20-25% faster on heavy 1080p/4K on 2 cores but took 55 MB more at 4K and slowed light
# clips, and the indexer decodes several files at once anyway.
MAX_FORWARD = 300
MAX_BAD_PACKETS = 16  # corrupt packets skipped before the rest of the stream is given up
_EPS = 1e-6

_TO_UPRIGHT = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_90}


@dataclass(frozen=True)
class VideoInfo:
    """What a probe learns. Width and height are as displayed (after rotation and pixel aspect)."""

    duration: float  # seconds; 0.0 when the header does not say (a live or browser recording)
    width: int
    height: int
    codec: str
    fps: float | None
    rotation: int  # clockwise degrees (0/90/180/270) a player turns the stored frames: the phone 'rotate' tag


@dataclass(frozen=True)
class Frame:
    """One upright RGB frame and its presentation time in seconds from the start of the clip."""

    t: float
    image: Image.Image


@dataclass
class DecodeStats:
    """Work done by one call, for tests and benchmarks: packets fed, frames decoded, seeks."""

    packets: int = 0
    frames: int = 0  # non-reference frames skipped by the decoder are not counted: they cost nothing
    seeks: int = 0


_Sample = NamedTuple("_Sample", [("t", float), ("image", Image.Image), ("sig", np.ndarray)])  # + a signature


def is_video(path: str | os.PathLike[str]) -> bool:
    """True when a file name has a video extension (case-insensitive)."""
    return is_video_name(path)


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    """Read the header and decode the first frame (to be sure the video decodes); ImageError if not."""
    with _opened(path) as reader:
        return reader.info


def sample_frames(path: str | os.PathLike[str], *, min_side: int, every_s: float = EVERY_S,
                  max_frames: int = MAX_FRAMES, stats: DecodeStats | None = None
                  ) -> tuple[VideoInfo, list[Frame]]:
    """At most *max_frames* upright frames in time order: one per grid cell of *every_s* seconds (wider
    for long files) and the frames either side of scene cuts; shorter side *min_side* (or the video's).

    A truncated file yields the frames that decoded before its data ends; one with none raises ImageError.
    """
    max_frames = max(1, max_frames)
    with _opened(path, min_side=min_side, stats=stats) as reader:
        if not reader.info.duration and (end := reader.last_packet_time()):  # a live recording: measure it
            reader.info = replace(reader.info, duration=end + 1 / (reader.info.fps or 25))
        step, cells = _grid(reader.info.duration, every_s, max_frames)
        reader.watch(step, max(0, max_frames - len(cells)) // 2)
        grid: list[_Sample] = []
        for lo, hi in cells:
            sample = reader.sample(lo, hi)
            if sample is not None and (not grid or sample.t > grid[-1].t):
                grid.append(sample)
        if not grid:
            raise ImageError(reader.no_frame_reason())
        probes = _bisect(reader, grid, step, max_frames - len(grid) - 2 * len(reader.cuts))
    still_there(path)
    chosen = {s.t: s for s in grid}
    for sample in [s for _, *pair in sorted(reader.cuts, key=lambda c: -c[0]) for s in pair] + probes:
        if len(chosen) < max_frames:
            chosen.setdefault(sample.t, sample)
    return reader.info, [Frame(t, chosen[t].image) for t in sorted(chosen)]


def frame_at(path: str | os.PathLike[str], t: float, *, min_side: int) -> Frame:
    """The frame on screen at *t* seconds (clamped to the clip), upright, shorter side *min_side*."""
    with _opened(path, min_side=min_side) as reader:
        sample = reader.shown_at(max(0.0, t))
    still_there(path)
    return Frame(sample.t, sample.image)


def _grid(duration: float, every_s: float, max_frames: int) -> tuple[float, list[tuple[float, float]]]:
    """Cells [lo, hi) covering the clip, the last one open-ended; an unknown duration gets the full grid."""
    cap = max(1, int(max_frames * GRID_SHARE))
    duration = duration if duration > 0 else every_s * cap
    step = max(every_s, duration / cap, _EPS)
    count = max(1, min(cap, math.ceil(duration / step - 1e-9)))
    return step, [(i * step, (i + 1) * step if i < count - 1 else math.inf) for i in range(count)]


def _bisect(reader: _Reader, grid: list[_Sample], step: float, budget: int) -> list[_Sample]:
    """Probe between neighbours that differ strongly where no decoded stretch saw the cut: the biggest
    changes get the budget, then each pair is halved depth-first in time order."""
    pairs = [(a, b) for a, b in zip(grid, grid[1:]) if _diff(a, b) >= SCENE_DIFF and not reader.seen(a.t, b.t)]
    probes: list[_Sample] = []
    for a, b in sorted(sorted(pairs, key=lambda p: -_diff(*p))[:max(0, budget)], key=lambda p: p[0].t):
        for _ in range(MAX_LEVELS):
            gap = b.t - a.t
            if len(probes) >= budget or gap <= step * CUT_PRECISION + _EPS or reader.seen(a.t, b.t):
                break
            key = reader.keyframe_between(a.t, b.t)
            if key is not None:
                lo = key  # one decode
            elif gap > 2 * step + _EPS or not reader.indexed:
                lo = a.t + gap / 2  # no keyframe between them: decode forward to the middle
            else:
                break  # located to the keyframes around it, within a step: finer costs the P-frames
            mid = reader.sample(lo, b.t, snap=False)
            if mid is None or not a.t < mid.t < b.t:
                break  # no frame between the two: the cut is already exact
            probes.append(mid)
            before, after = _diff(a, mid), _diff(mid, b)
            a, b = (a, mid) if before >= after else (mid, b)
            if max(before, after) < SCENE_DIFF or min(before, after) * SPREAD > max(before, after):
                break  # the change spread over both halves: motion or a fade, not a cut
    return probes


def _diff(a: _Sample, b: _Sample) -> float:
    """How much the content changed between two samples, allowing for camera motion: the least mean
    absolute difference of their signatures over shifts of up to MAX_SHIFT cells (on the overlap)."""
    return _moved_diff(a.sig, b.sig)


def _moved_diff(a: np.ndarray, b: np.ndarray, reach: int = MAX_SHIFT) -> float:
    n, m = a.shape
    best = math.inf
    for dy in range(-reach, reach + 1):
        for dx in range(-reach, reach + 1):
            here = a[max(0, dy):n + min(0, dy), max(0, dx):m + min(0, dx)]
            there = b[max(0, -dy):n + min(0, -dy), max(0, -dx):m + min(0, -dx)]
            best = min(best, float(np.abs(here - there).mean()))
    return best


class _Reader:
    """Sequential access to one video stream that seeks only when a keyframe lets it skip decoding."""

    def __init__(self, container: av.container.InputContainer, stream: av.VideoStream, min_side: int | None,
                 stats: DecodeStats) -> None:
        self.container, self.stream, self.min_side, self.stats = container, stream, min_side, stats
        self.codec, self.tb, self.start = stream.codec_context, float(stream.time_base), stream.start_time or 0
        self.sar = float(stream.sample_aspect_ratio or self.codec.sample_aspect_ratio or 1)  # anamorphic pixels
        self.pending: deque[av.VideoFrame] = deque()  # decoded, not handed out yet, in presentation order
        self.packets: Iterator[av.Packet] = self._demux()
        self.pos, self.ended, self.broken, self.bad = -math.inf, False, False, 0
        self.cuts: list[tuple[float, _Sample, _Sample]] = []  # (difference, frame before, frame after)
        self.stretches: list[tuple[float, float]] = []  # (first, last) frame times decoded without a seek
        self.step, self.cut_cap, self.last = math.inf, 0, None
        if len(stream.index_entries) < 2:  # Matroska reads its cues on the first seek
            self._seek_ts(self.start)
        self.index = stream.index_entries
        self.indexed = len(self.index) >= 2
        # MP4 indexes decode times, which run this far ahead of the presentation times seeks use
        self.delay = max(0, self.start - self.index[0].timestamp) if len(self.index) else 0
        first = self._next(self.stats.packets + MAX_FORWARD)
        if first is None:
            raise ImageError(self.no_frame_reason())
        self.pending.appendleft(first)
        self.info = self._info(first)

    def watch(self, step: float, cut_cap: int) -> None:
        """Sampling mode: watch every decoded stretch for cuts, and skip non-reference frames (no other
        frame refers to them, so dropping them unseen never breaks the frames that follow)."""
        self.step, self.cut_cap = step, cut_cap
        self.codec.skip_frame = "NONREF"
        if self.pending:
            self.last = (self.pending[0], _signature(self.pending[0]))
            self.stretches.append((self._t(self.pending[0]),) * 2)

    def sample(self, lo: float, hi: float, snap: bool = True) -> _Sample | None:
        """A frame in [lo, hi): with *snap* the last keyframe before hi when it lies in the cell (a single
        decode), else the first frame from lo; None when the cell holds no frame or the data ended."""
        if self.pending and self._t(self.pending[0]) >= lo - _EPS:
            return self._take(self.pending.popleft()) if self._t(self.pending[0]) < hi else None
        if self.ended and lo > self.pos:
            return None
        end = min(hi, (self.info.duration or lo + self.step) + 1.0)  # the last cell is open-ended
        target = end - 1e-3 if snap else lo
        if self._should_seek(lo, target):
            self._seek_ts(self._ts(target))  # lands on the last keyframe at or before the target
        limit, newest = self.stats.packets + MAX_FORWARD, None
        while (frame := self._next(limit)) is not None:
            if self._t(frame) >= lo - _EPS:
                if self._t(frame) < hi:
                    return self._take(frame)
                self.pending.appendleft(frame)  # it belongs to a later cell
                return None
            newest = frame
        if newest is not None and not self.ended:
            return self._take(newest)  # an endless GOP ran out the budget: the frame reached is still true
        return None

    def shown_at(self, t: float) -> _Sample:
        """The last frame whose presentation time is <= t (the first frame if t precedes it)."""
        t = min(t, self.info.duration) if self.info.duration > 0 else t
        frame = None
        for back in (0.0, 2.0, 30.0):  # an index that disagrees with the stream may land after t: go back
            self._seek_ts(self._ts(max(0.0, t - back)))
            shown, limit = None, self.stats.packets + MAX_FORWARD
            while (frame := self._next(limit)) is not None and self._t(frame) <= t + _EPS:
                shown = frame
            if shown is not None:
                return self._take(shown)
            if t - back <= 0:
                break
        if frame is None:
            raise ImageError(self.no_frame_reason())
        return self._take(frame)  # t precedes the first frame

    def last_packet_time(self) -> float:
        """Where the stream ends, when the header does not say: seek to the end (FFmpeg scans a file that
        has no index) and read what is left there."""
        self._seek_ts(self._ts(1e7))  # ~4 months: lands on the last keyframe
        times = [self._t(p) for _, p in zip(range(MAX_FORWARD), self._demux()) if p.pts is not None]
        self._seek_ts(self.start)
        return max(times, default=0.0)

    def seen(self, a: float, b: float) -> bool:
        """Whether every frame between a and b was decoded (and so watched for cuts)."""
        return any(first <= a + _EPS and b <= last + _EPS for first, last in self.stretches)

    def keyframe_before(self, t: float, strictly: bool = False) -> float | None:
        """Presentation time of the last indexed keyframe at (unless *strictly*) or before t (a guide:
        seeks find the truth)."""
        if len(self.index) < 2 or (i := self.index.search_timestamp(self._ts(t) - self.delay - strictly)) < 0:
            return None
        return (self.index[i].timestamp + self.delay - self.start) * self.tb

    def keyframe_between(self, a: float, b: float) -> float | None:
        """An indexed keyframe in the middle half of (a, b), the last before its three-quarter point
        (each probe then cuts the gap by a quarter or more); None when the index shows none there."""
        gap = b - a
        key = self.keyframe_before(a + gap * 3 / 4)
        return key if key is not None and max(a + gap / 4 - _EPS, a + _EPS) < key < b - _EPS else None

    def no_frame_reason(self) -> str:
        size = os.path.getsize(self.container.name) if os.path.exists(self.container.name) else math.inf
        if len(self.index) and self.index[len(self.index) - 1].pos > size:
            return "truncated video: the data ends early (the file was cut short or is still being written)"
        if self.broken or self.bad:
            return "corrupt video data: the stream breaks before a frame could be decoded"
        return "no frame could be decoded from the video track"

    def _next(self, limit: int) -> av.VideoFrame | None:
        """The next decoded frame, feeding packets while fewer than *limit* were fed; None at the end."""
        while not self.pending:
            if self.ended or self.stats.packets >= limit:
                return None
            if (packet := next(self.packets, None)) is None:
                self.ended = True
                if self.broken:  # the data ends early: the frames the decoder holds back for reordering
                    self._decode(None)
                continue
            self.stats.packets += 1
            self._decode(packet)
        return self.pending.popleft()

    def _decode(self, packet: av.Packet | None) -> None:
        try:
            frames = self.codec.decode(packet)
        except av.error.EOFError:
            self.ended = True
            return
        except (av.error.FFmpegError, ValueError):  # a corrupt packet: skip it, give up after many
            self.bad += 1
            if self.bad >= MAX_BAD_PACKETS and packet is not None:
                self.ended = True
                self._decode(None)
            return
        for frame in frames:
            if frame.pts is not None:
                self.stats.frames += 1
                self.pos = max(self.pos, self._t(frame))
                self.pending.append(frame)
                if self.cut_cap:
                    self._watch(frame)

    def _watch(self, frame: av.VideoFrame) -> None:
        sig, t = _signature(frame), self._t(frame)
        if self.last is None:
            self.stretches.append((t, t))
        else:
            before, before_sig = self.last
            if len(self.cuts) < self.cut_cap and (d := float(np.abs(sig - before_sig).mean())) >= SCENE_DIFF:
                self.cuts.append((d, self._take(before, before_sig), self._take(frame, sig)))
            self.stretches[-1] = (self.stretches[-1][0], t)
        self.last = (frame, sig)

    def _seek_ts(self, ts: int) -> None:
        self.stats.seeks += 1
        self.codec.flush_buffers()
        self.pending.clear()
        self.packets = self._demux()
        self.pos, self.ended, self.broken, self.last = -math.inf, False, False, None
        try:
            self.container.seek(max(int(ts), self.start), stream=self.stream, backward=True)
        except av.error.FFmpegError:  # a damaged index: nothing can be reached from here
            self.ended = self.broken = True

    def _demux(self) -> Iterator[av.Packet]:
        try:
            yield from self.container.demux(self.stream)
        except (av.error.FFmpegError, OSError):
            self.broken = True

    def _should_seek(self, lo: float, target: float) -> bool:
        if lo < self.pos - _EPS or self.pos == -math.inf:
            return True
        key = self.keyframe_before(target)
        if key is None:
            return target - self.pos > SEEK_GOP_STEPS * min(self.step, EVERY_S)
        if key <= self.pos + _EPS:
            return False  # no keyframe ahead: decoding on is the only way
        here = self.keyframe_before(self.pos)
        return here is None or key - here <= SEEK_GOP_STEPS * self.step or target == lo

    def _t(self, frame: av.VideoFrame) -> float:
        return (frame.pts - self.start) * self.tb

    def _ts(self, t: float) -> int:
        return int(round(t / self.tb)) + self.start

    def _take(self, frame: av.VideoFrame, sig: np.ndarray | None = None) -> _Sample:
        image = _to_image(frame, self.min_side, self.info.rotation, self.sar)
        return _Sample(self._t(frame), image, _signature(frame) if sig is None else sig)

    def _info(self, first: av.VideoFrame) -> VideoInfo:
        rotation = round(-(first.rotation or 0) / 90) * 90 % 360  # the display matrix turns counter-clockwise
        width, height = round(first.width * self.sar), first.height
        if rotation in (90, 270):
            width, height = height, width
        duration = self.stream.duration * self.tb if self.stream.duration else (self.container.duration or 0) / 1e6
        rate = self.stream.average_rate or self.stream.guessed_rate
        return VideoInfo(duration, width, height, self.codec.name, float(rate) if rate else None, rotation)


def _signature(frame: av.VideoFrame) -> np.ndarray:
    """16x16 means of a 64x64 point grid over the first plane (luma in YUV), in 0-255."""
    plane, bits = frame.planes[0], frame.format.components[0].bits
    rows = np.frombuffer(plane, np.dtype("<u2") if bits > 8 else np.uint8).reshape(plane.height, -1)
    points = rows[_grid_points(plane.height, min(plane.width, rows.shape[1]))].astype(np.float32)
    return points.reshape(16, 4, 16, 4).mean(axis=(1, 3)) / (1 << max(0, bits - 8))


@functools.lru_cache(maxsize=16)
def _grid_points(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    return np.ix_(np.linspace(0, height - 1, 64).astype(int), np.linspace(0, width - 1, 64).astype(int))


def _to_image(frame: av.VideoFrame, min_side: int | None, rotation: int, sar: float) -> Image.Image:
    """Scale inside FFmpeg (a 4K frame never becomes a 4K RGB image), then turn upright."""
    width, height = max(1, round(frame.width * sar)), frame.height
    if min_side and min(width, height) > min_side:
        scale = min_side / min(width, height)
        width, height = max(min_side, round(width * scale)), max(min_side, round(height * scale))
    image = frame.to_image(width=width, height=height, interpolation="BILINEAR")  # filtered, unlike FAST_
    return image.transpose(_TO_UPRIGHT[rotation]) if rotation in _TO_UPRIGHT else image


@contextmanager
def _opened(path: str | os.PathLike[str], *, min_side: int | None = None,
            stats: DecodeStats | None = None) -> Iterator[_Reader]:
    """A reader on the first real video track; every failure becomes an ImageError with a reason."""
    path = os.fspath(path)
    with reasons(path):
        found = os.stat(path)
        if stat.S_ISDIR(found.st_mode):
            raise ImageError("is a directory, not a file")
        if not stat.S_ISREG(found.st_mode):  # opening a FIFO would block forever
            raise ImageError("not a regular file (a pipe or device cannot be indexed)")
        if found.st_size == 0:
            raise ImageError("empty file (0 bytes)")
        try:
            container = av.open(path, metadata_errors="ignore")
        except av.error.FFmpegError as err:
            if isinstance(err, FileNotFoundError) or err.errno == errno.EACCES:
                raise
            raise ImageError(not_a_video_reason(path)) from None  # FFmpeg's words are terse: look at the file
        try:
            streams = [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
            if not streams:  # a cover picture does not make a song a video
                raise ImageError("no video track: an audio-only file" if container.streams.audio
                                 else not_a_video_reason(path))  # a data track at most: a broken header
            if streams[0].codec_context is None:
                raise ImageError(NO_DECODER)
            yield _Reader(container, streams[0], min_side, stats or DecodeStats())
        finally:
            container.close()
