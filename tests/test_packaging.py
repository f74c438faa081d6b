"""The wheel holds every module and resource (resources/ is mapped into the package)."""
from __future__ import annotations

import subprocess
import sys
import zipfile

import pytest

from helpers import REPO


@pytest.mark.slow
def test_wheel_contains_modules_and_the_bundled_model(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(REPO)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("photosense-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {str(p.relative_to(REPO)) for p in (REPO / "photosense").rglob("*.py")}
    assert modules <= names
    for resource in ("open_clip_config.json", "open_clip_model.safetensors"):
        assert f"photosense/resources/models/tiny-fashion/{resource}" in names
    # the desktop app's icons and the demo's sample photos
    assert {f"photosense/resources/icons/{p.name}" for p in (REPO / "resources" / "icons").glob("*.svg")} <= names
    samples = {f"photosense/resources/samples/{p.name}" for p in (REPO / "resources" / "samples").glob("*.jpg")}
    assert len(samples) == 200 and samples <= names
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt")))
    assert b"photosense = photosense.__main__:run" in entry_points
