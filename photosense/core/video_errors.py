"""Why a video file cannot be used: FFmpeg's failures turned into readable reasons (an ImageError each)."""
from __future__ import annotations

import errno
import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

import av.error

from photosense.core.errors import ImageError
from photosense.core.media import FileVanished

NO_DECODER = "unsupported video codec: FFmpeg has no decoder for this video track"


@contextmanager
def reasons(path: str) -> Iterator[None]:
    """Turn any failure inside the block into an ImageError with a reason (FileVanished if the file went)."""
    try:
        yield
    except ImageError:
        raise
    except FileNotFoundError:
        raise FileVanished("the file disappeared before it could be read") from None
    except PermissionError as err:
        if err.errno != errno.EACCES:  # FFmpeg's generic failure (-1) reads as EPERM: not about access
            raise ImageError("corrupt video data (the demuxer gave up)") from None
        raise ImageError("permission denied: the file cannot be read") from None
    except av.error.DecoderNotFoundError:
        raise ImageError(NO_DECODER) from None
    except MemoryError:
        raise ImageError("not enough memory to decode the video") from None
    except (av.error.FFmpegError, OSError, ValueError) as err:
        still_there(path)
        detail = (getattr(err, "strerror", None) or str(err) or "unreadable").rstrip(".").lower()
        if not isinstance(err, av.error.FFmpegError) and getattr(err, "errno", None) in (errno.EIO, errno.ESTALE):
            raise ImageError(f"the disk reported a read error ({detail})") from None
        raise ImageError(f"corrupt video data ({detail})") from None


def still_there(path: str | os.PathLike[str]) -> None:
    """Raise FileVanished if *path* is gone (an open file stays readable on Linux after deletion)."""
    if not os.path.exists(path):
        raise FileVanished("the file disappeared while it was being read")


def not_a_video_reason(path: str) -> str:
    """What a file that FFmpeg cannot open is, from its first bytes."""
    with open(path, "rb") as fh:
        head = fh.read(512)
        iso = head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide")  # MP4/MOV: a chain of boxes
        if iso and not _whole_moov(fh):
            return "incomplete video: its index (the 'moov' atom) is missing or cut short: the file was cut " \
                   "short or is still being written"
    if iso:
        return "corrupt video: the MP4/MOV index (the 'moov' atom) is damaged"
    if head.startswith(b"\x1a\x45\xdf\xa3") or head[:4] == b"RIFF":
        kind = "Matroska/WebM" if head[0] == 0x1A else "AVI"
        return f"truncated or corrupt video: the {kind} header is incomplete or damaged"
    if b"<html" in head[:300].lower() or head.lstrip().lower().startswith(b"<!doctype html"):
        return "not a video: the file is an HTML page"
    try:
        head.decode("utf-8")
        return "not a video: the file contains text"
    except UnicodeDecodeError:
        return "not a recognized video format (unknown or corrupt file header)"


def _whole_moov(fh: BinaryIO) -> bool:
    """Whether a complete 'moov' box is among the top-level boxes (32-bit size, 1: a 64-bit one follows)."""
    end, offset = os.fstat(fh.fileno()).st_size, 0
    for _ in range(10_000):
        fh.seek(offset)
        size, kind = struct.unpack(">I4s", fh.read(8)) if offset + 8 <= end else (0, b"")
        if size == 1 and offset + 16 <= end:
            size = struct.unpack(">Q", fh.read(8))[0]
        if kind == b"moov" or size < 8:
            return kind == b"moov" and offset + size <= end
        offset += size
    return False
