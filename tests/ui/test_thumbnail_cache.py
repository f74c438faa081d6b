"""The Qt-free thumbnail cache: made once, keyed by file state, upright, atomic, errors as ImageError."""
from __future__ import annotations

import os

import pytest
from PIL import Image

from helpers import gradient, save
from photosense.core.errors import ImageError
from photosense.core.thumbnails import ThumbnailCache


def test_thumbnails_are_made_once_and_remade_when_the_file_changes(tmp_path):
    photo = save(gradient(640, 480), tmp_path / "a.jpg")
    cache = ThumbnailCache(tmp_path / "thumbs", size=128)
    assert cache.cached(photo) is None
    first = cache.get(photo)
    assert cache.cached(photo) == first
    with Image.open(first) as thumb:
        assert thumb.size == (128, 96)
    stamp = first.stat().st_mtime_ns
    assert cache.get(photo) == first and first.stat().st_mtime_ns == stamp  # not made again
    save(gradient(300, 600, seed=2), photo)
    os.utime(photo, ns=(stamp + 10**9, stamp + 10**9))
    second = cache.get(photo)
    assert second != first
    with Image.open(second) as thumb:
        assert thumb.size == (64, 128)
    assert not list((tmp_path / "thumbs").rglob("*.tmp"))


def test_exif_orientation_is_applied(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: shown rotated 90°
    photo = save(gradient(200, 100), tmp_path / "r.jpg", exif=exif)
    with Image.open(ThumbnailCache(tmp_path / "thumbs", size=64).get(photo)) as thumb:
        assert thumb.size == (32, 64)


def test_unusable_files_raise_image_errors(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image at all")
    cache = ThumbnailCache(tmp_path / "thumbs")
    with pytest.raises(ImageError):
        cache.get(bad)
    with pytest.raises(ImageError):
        cache.get(tmp_path / "missing.jpg")
