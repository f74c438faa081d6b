"""The demo library: the bundled sample photos indexed offline with the bundled tiny model."""
from __future__ import annotations

import shutil
from pathlib import Path

from photosense.core import config
from photosense.core.assets import resource

DEMO_MODEL = "tiny-fashion"


def demo_dir() -> Path:
    """Where the demo lives: ``demo/`` in the cache dir (photos/ and library/ inside)."""
    return config.cache_dir() / "demo"


def samples() -> list[Path]:
    """The sample photos shipped in resources/samples."""
    return sorted(resource("samples").glob("*.jpg"))


def build_demo(directory: Path | None = None, rebuild: bool = False) -> Path:
    """Copy the samples and index them with the tiny model (skipped when already done); returns the library dir."""
    from photosense.services.library import Library

    root = directory or demo_dir()
    photos, library_dir = root / "photos", root / "library"
    if rebuild and root.exists():
        shutil.rmtree(root)
    photos.mkdir(parents=True, exist_ok=True)
    for sample in samples():
        target = photos / sample.name
        if not target.exists():
            shutil.copy2(sample, target)
    with Library.open(library_dir, model=DEMO_MODEL) as library:
        status = library.status()
        if status["photos"] != len(samples()) or status["pending"]:
            library.index([photos])
    return library_dir
