"""Locate the files in ``resources/`` (icons, prompt sets, the bundled model) in a checkout or a wheel."""
from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]  # photosense/ (this file is photosense/core/assets.py)


@cache
def resources_dir() -> Path:
    """``resources/``: inside the installed package (wheel), else beside it (checkout, editable install)."""
    for candidate in (_PACKAGE / "resources", _PACKAGE.parent / "resources"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"PhotoSense's resources folder is missing (looked beside {_PACKAGE}); "
                            "reinstall the package.")


def resource(*parts: str) -> Path:
    """A path inside ``resources/``."""
    return resources_dir().joinpath(*parts)
