"""Thumbnail cache on disk: one small JPEG per (path, size, mtime, file size[, video moment]), made with the shared openers."""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from PIL import Image

from photosense.core import config, video
from photosense.core.filetypes import is_video_name
from photosense.core.media import FileVanished, open_image

DEFAULT_SIZE = 256
QUALITY = 85
POSTER_AT = 1.0  # a video's poster: the frame at 1 s (past a fade-in; the last frame of a shorter clip)


class ThumbnailCache:
    """Thumbnails of at most *size* px on the longer side, under *directory* (sharded by key)."""

    def __init__(self, directory: Path | None = None, size: int = DEFAULT_SIZE) -> None:
        self.directory = Path(directory) if directory is not None else config.cache_dir() / "thumbnails"
        self.size = size

    def key(self, path: str | os.PathLike[str], stat: os.stat_result, at: float | None = None) -> str:
        """A key that changes when the file changes (mtime or size), the thumbnail size or the moment does."""
        raw = f"{os.fsdecode(path)}\0{stat.st_mtime_ns}\0{stat.st_size}\0{self.size}"
        if at is not None:
            raw += f"\0{at:.3f}"
        return hashlib.blake2b(raw.encode("utf-8", "surrogateescape"), digest_size=16).hexdigest()

    def cached(self, path: str | os.PathLike[str], at: float | None = None) -> Path | None:
        """The cached thumbnail file of *path* (a video: of its moment *at*) if it is up to date, else None."""
        try:
            target = self._target(path, os.stat(path), at)
        except OSError:
            return None
        return target if target.is_file() else None

    def get(self, path: str | os.PathLike[str], at: float | None = None) -> Path:
        """The thumbnail file of *path*, made now if missing (raises ImageError for unusable files). For a
        video: the frame at *at* seconds, or its poster frame."""
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            raise FileVanished("the file disappeared before it could be read") from None
        target = self._target(path, stat, at)
        if target.is_file():
            return target
        image = self.make(path, at)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                image.save(fh, "JPEG", quality=QUALITY, optimize=True)
            os.replace(tmp, target)  # atomic: a reader never sees half a file
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    def make(self, path: str | os.PathLike[str], at: float | None = None) -> Image.Image:
        """An upright RGB thumbnail of *path* (a video: its frame at *at*, or its poster; no caching)."""
        if is_video_name(path):
            image = video.frame_at(path, POSTER_AT if at is None else at, min_side=self.size).image
        else:
            image = open_image(path, min_side=self.size).image
        image.thumbnail((self.size, self.size), Image.Resampling.LANCZOS, reducing_gap=2.0)
        return image

    def _target(self, path: str | os.PathLike[str], stat: os.stat_result, at: float | None = None) -> Path:
        key = self.key(path, stat, None if at is None or not is_video_name(path) else at)
        return self.directory / key[:2] / f"{key}.jpg"
