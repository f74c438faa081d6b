"""Shared fixtures: an isolated environment, image factories and the bundled tiny model."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Before anything imports huggingface_hub or Qt: no test may reach the network or a display,
# and no test may touch the user's real library or cache.
_session_tmp = Path(tempfile.mkdtemp(prefix="photosense-tests-"))
os.environ["PHOTOSENSE_CACHE"] = str(_session_tmp / "cache")
os.environ["HF_ENDPOINT"] = "https://huggingface.invalid"  # RFC 2606: never resolves
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ.pop("PHOTOSENSE_LIBRARY", None)
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from fakes import NAME as FAKE_MODEL  # noqa: E402
from fakes import FakeEmbedder  # noqa: E402
from helpers import TINY_MODEL  # noqa: E402
from photosense.core.models import register_embedder  # noqa: E402

# "fake-colors": the deterministic, torch-free embedder of tests/fakes.py, usable as a model spec
# (Library.open(model=FAKE_MODEL), or --model fake-colors with the in-process CLI).
register_embedder(FAKE_MODEL, FakeEmbedder)


@pytest.fixture
def library_dir(tmp_path: Path) -> Path:
    """An empty library directory."""
    return tmp_path / "library"


@pytest.fixture
def photos_dir(tmp_path: Path) -> Path:
    """An empty photo folder."""
    folder = tmp_path / "photos"
    folder.mkdir()
    return folder


@pytest.fixture
def tiny_library(library_dir: Path):
    """A Library using the bundled tiny model, closed after the test."""
    from photosense import Library

    lib = Library.open(library_dir, model=TINY_MODEL)
    yield lib
    lib.close()


@pytest.fixture
def fake_library(library_dir: Path):
    """A Library using the fake colour embedder (no torch), closed after the test."""
    from photosense import Library

    lib = Library.open(library_dir, model=FAKE_MODEL)
    yield lib
    lib.close()


@pytest.fixture(scope="session")
def fashion_library(tmp_path_factory):
    """The Fashion-MNIST test split (10k) as a photo library: upscaled, mixed formats, some stored
    rotated with an EXIF orientation tag; indexed with the bundled tiny model."""
    from photosense import Library
    import fashion_mnist as fm

    if not fm.available():
        pytest.skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    root = tmp_path_factory.mktemp("fashion")
    split = fm.load("test")
    photos = fm.write_library(root / "photos", split, np.arange(len(split.labels)))
    lib = Library.open(root / "library", model=TINY_MODEL)
    summary = lib.index([root / "photos"])
    assert summary.failed == 0 and summary.indexed == len(photos)
    yield lib, photos
    lib.close()
