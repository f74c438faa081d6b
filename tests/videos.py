"""Test helpers: write real video clips (segments of images, colours or drawings) and broken video files."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Union

import av
import numpy as np
from PIL import Image

Source = Union[Image.Image, tuple[int, int, int], Callable[[float], Image.Image]]
Segment = tuple[Source, float]  # what to show, for how many seconds

# The encoder each suffix gets by default, as cameras and browsers write them.
CODECS = {".webm": "libvpx-vp9", ".avi": "mpeg4", ".3gp": "mpeg4"}
# Fast settings that keep the streams realistic: x264 keeps B-frames, B-pyramid and scene-cut keyframes.
ENCODER_OPTIONS = {"libx264": {"preset": "veryfast"}, "libvpx-vp9": {"deadline": "realtime", "cpu-used": "8"}}


def write_clip(path: Path, segments: Sequence[Segment], *, codec: str | None = None, fps: float = 10,
               size: tuple[int, int] = (160, 120), gop: int | None = None, drift: float = 0.0,
               rotation: int = 0, options: dict[str, str] | None = None,
               muxer_options: dict[str, str] | None = None) -> Path:
    """Encode *segments* one after another into *path* and return it.

    A segment's source is an image (fitted into *size* on black, like Fashion-MNIST's background), an RGB
    colour, or a callable t -> image with t the seconds since the segment began. *drift* pans and zooms
    still images by that fraction of the frame over their segment, so no two frames are alike. *gop* is
    the keyframe interval in frames; *rotation* is the display rotation (degrees counter-clockwise) a
    player must apply, as phones write it. *options* go to the encoder, *muxer_options* to the container
    ({"movflags": "+faststart"} puts an MP4's index first, as streaming sites do).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    codec = codec or CODECS.get(path.suffix.lower(), "libx264")
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(path), "w", format=_muxer(path), options=muxer_options or {}) as out:
        stream = out.add_stream(codec, rate=rate, options={**ENCODER_OPTIONS.get(codec, {}), **(options or {})})
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        if gop:
            stream.codec_context.gop_size = gop
        if rotation:
            stream.set_display_rotation(rotation)
        index = 0
        for source, seconds in segments:
            count = round(seconds * fps)
            for i in range(count):
                frame = av.VideoFrame.from_image(_render(source, i / fps, i / max(count - 1, 1), size, drift))
                frame.pts, frame.time_base = index, 1 / rate
                out.mux(stream.encode(frame))
                index += 1
        out.mux(stream.encode(None))
    return path


def solid(colour: tuple[int, int, int], size: tuple[int, int] = (160, 120)) -> Image.Image:
    return Image.new("RGB", size, colour)


def pattern(seed: int, size: tuple[int, int] = (160, 120)) -> Image.Image:
    """A blocky random picture: strong structure that survives compression and small thumbnails."""
    blocks = np.random.default_rng(seed).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    return Image.fromarray(blocks, "RGB").resize(size, Image.Resampling.NEAREST)


# -- broken inputs ---------------------------------------------------------------------------------
def write_zero_bytes(path: Path) -> Path:
    Path(path).write_bytes(b"")
    return Path(path)


def write_text(path: Path) -> Path:
    """A text file with a video name (a renamed note, a failed download's error message)."""
    Path(path).write_text("Download failed: the server returned an error.\n" * 20)
    return Path(path)


def write_audio_only(path: Path, seconds: float = 1.0, cover: bool = False) -> Path:
    """An AAC track in an MP4 container (a voice memo, a song), with *cover* art as an attached picture:
    a video stream that is not a video."""
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=44100)
        if cover:
            art = out.add_stream("mjpeg", rate=1)
            art.width, art.height, art.pix_fmt = 64, 64, "yuvj420p"
            art.disposition = av.stream.Disposition.attached_pic
            out.mux(art.encode(av.VideoFrame.from_image(Image.new("RGB", (64, 64), (200, 0, 0)))))
            out.mux(art.encode(None))
        t = np.arange(int(seconds * 44100), dtype=np.float32) / 44100
        tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        for start in range(0, len(tone) - 1024, 1024):
            frame = av.AudioFrame.from_ndarray(tone[None, start:start + 1024], format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 44100, start
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return Path(path)


def write_truncated(source: Path, path: Path, fraction: float = 0.5) -> Path:
    """The first *fraction* of *source*: a copy cut short, or one still being written."""
    data = Path(source).read_bytes()
    Path(path).write_bytes(data[:int(len(data) * fraction)])
    return Path(path)


def write_unknown_codec(path: Path) -> Path:
    """A Matroska file whose video track names a codec FFmpeg does not know (as a proprietary camera's).

    The H.264 track's CodecID is overwritten with an unknown one of the same length, so the container
    stays valid and only the codec is foreign.
    """
    tmp = write_clip(Path(path).with_suffix(".tmp.mkv"), [((200, 40, 40), 1.0)])
    data = tmp.read_bytes()
    assert data.count(b"V_MPEG4/ISO/AVC") == 1
    Path(path).write_bytes(data.replace(b"V_MPEG4/ISO/AVC", b"V_PHOTOSENSE/XX"))
    tmp.unlink()
    return Path(path)


def write_undecodable_codec(path: Path) -> Path:
    """An MP4 whose track is tagged EVC (MPEG-5): FFmpeg knows the codec but has no decoder for it."""
    tmp = write_clip(Path(path).with_suffix(".tmp.mp4"), [((40, 200, 40), 1.0)])
    data = tmp.read_bytes()
    entry = data.index(b"avc1", data.index(b"stsd"))  # the sample entry (the file type box lists avc1 too)
    Path(path).write_bytes(data[:entry] + b"evc1" + data[entry + 4:])
    tmp.unlink()
    return Path(path)


# -- rendering -------------------------------------------------------------------------------------
def _muxer(path: Path) -> str | None:
    return {".m4v": "mp4", ".3gp": "3gp", ".webm": "webm", ".mkv": "matroska"}.get(path.suffix.lower())


def _render(source: Source, t: float, progress: float, size: tuple[int, int], drift: float) -> Image.Image:
    if callable(source):
        image = source(t).convert("RGB")
    elif isinstance(source, Image.Image):
        image = _drifted(_fit(source.convert("RGB"), size), progress, drift)
    else:
        return Image.new("RGB", size, tuple(source))
    return image if image.size == size else image.resize(size, Image.Resampling.BILINEAR)


def _fit(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    scale = min(size[0] / image.width, size[1] / image.height)
    inner = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                         Image.Resampling.BILINEAR)
    canvas = Image.new("RGB", size)
    canvas.paste(inner, ((size[0] - inner.width) // 2, (size[1] - inner.height) // 2))
    return canvas


def _drifted(image: Image.Image, progress: float, drift: float) -> Image.Image:
    """Zoom in by up to *drift* and pan by up to *drift* of the width, *progress* of the way."""
    if not drift:
        return image
    w, h = image.size
    zoom = 1 + drift * progress
    cw, ch = w / zoom, h / zoom
    left, top = (w - cw) * progress, (h - ch) / 2
    return image.resize((w, h), Image.Resampling.BILINEAR, box=(left, top, left + cw, top + ch))
