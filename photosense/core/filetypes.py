"""Which files are library items: photo and video file-name suffixes, in any letter case."""
from __future__ import annotations

import os

PHOTO, VIDEO = "photo", "video"  # the two kinds of library item

IMAGE_EXTENSIONS: frozenset[str] = frozenset({
    ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".gif", ".tif", ".tiff", ".bmp",
    ".heic", ".heif", ".hif", ".avif",
})
VIDEO_EXTENSIONS: frozenset[str] = frozenset({".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".3gp"})


def _suffix(name: str | bytes | os.PathLike) -> str:
    return os.path.splitext(os.fsdecode(name))[1].lower()


def kind_of(name: str | bytes | os.PathLike) -> str | None:
    """``"photo"``, ``"video"`` or None (not a library item) from a file name."""
    suffix = _suffix(name)
    return PHOTO if suffix in IMAGE_EXTENSIONS else VIDEO if suffix in VIDEO_EXTENSIONS else None


def is_media_name(name: str | bytes | os.PathLike) -> bool:
    """True when a file name is a photo or a video the library indexes."""
    return kind_of(name) is not None


def is_video_name(name: str | bytes | os.PathLike) -> bool:
    """True when a file name has a video suffix."""
    return _suffix(name) in VIDEO_EXTENSIONS
