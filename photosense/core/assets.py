"""Locate the files in ``resources/`` (icons, prompt sets, the bundled model) in a checkout, a wheel or a bundle."""
from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]  # photosense/ (this file is photosense/core/assets.py)


def _candidates() -> list[Path]:
    # A PyInstaller bundle unpacks its data beside the frozen modules, in sys._MEIPASS
    # (dist/PhotoSense/_internal); packaging/photosense.spec puts resources/ there.
    frozen = getattr(sys, "_MEIPASS", None) if getattr(sys, "frozen", False) else None
    bundled = [Path(frozen) / "resources"] if frozen else []
    return [*bundled, _PACKAGE / "resources", _PACKAGE.parent / "resources"]


@cache
def resources_dir() -> Path:
    """``resources/``: in the bundle, else inside the installed package (wheel), else beside it (checkout)."""
    for candidate in _candidates():
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"PhotoSense's resources folder is missing (looked beside {_PACKAGE}); "
                            "reinstall the package.")


def resource(*parts: str) -> Path:
    """A path inside ``resources/``."""
    return resources_dir().joinpath(*parts)
