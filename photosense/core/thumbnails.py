"""Thumbnail cache on disk: one small JPEG per (path, size, mtime, file size), made with the shared opener."""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from PIL import Image

from photosense.core import config
from photosense.core.media import FileVanished, open_image

DEFAULT_SIZE = 256
QUALITY = 85


class ThumbnailCache:
    """Thumbnails of at most *size* px on the longer side, under *directory* (sharded by key)."""

    def __init__(self, directory: Path | None = None, size: int = DEFAULT_SIZE) -> None:
        self.directory = Path(directory) if directory is not None else config.cache_dir() / "thumbnails"
        self.size = size

    def key(self, path: str | os.PathLike[str], stat: os.stat_result) -> str:
        """A key that changes when the file changes (mtime or size) or the thumbnail size does."""
        raw = f"{os.fsdecode(path)}\0{stat.st_mtime_ns}\0{stat.st_size}\0{self.size}"
        return hashlib.blake2b(raw.encode("utf-8", "surrogateescape"), digest_size=16).hexdigest()

    def cached(self, path: str | os.PathLike[str]) -> Path | None:
        """The cached thumbnail file of *path* if it is up to date, else None."""
        try:
            target = self._target(path, os.stat(path))
        except OSError:
            return None
        return target if target.is_file() else None

    def get(self, path: str | os.PathLike[str]) -> Path:
        """The thumbnail file of *path*, made now if missing (raises ImageError for unusable files)."""
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            raise FileVanished("the file disappeared before it could be read") from None
        target = self._target(path, stat)
        if target.is_file():
            return target
        image = self.make(path)
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

    def make(self, path: str | os.PathLike[str]) -> Image.Image:
        """An upright RGB thumbnail of *path* (no caching)."""
        image = open_image(path, min_side=self.size).image
        image.thumbnail((self.size, self.size), Image.Resampling.LANCZOS, reducing_gap=2.0)
        return image

    def _target(self, path: str | os.PathLike[str], stat: os.stat_result) -> Path:
        key = self.key(path, stat)
        return self.directory / key[:2] / f"{key}.jpg"
