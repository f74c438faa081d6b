"""PhotoSense: a local, private, natural-language photo organizer built on CLIP."""
from __future__ import annotations

from photosense.core.threads import short_openmp_spin

__version__ = "0.1.0"

short_openmp_spin()  # before anything imports torch: its OpenMP pool reads this when it loads

__all__ = ["Library", "Hit", "__version__"]


def __getattr__(name: str):
    # Lazy, so that `photosense --help` and the GUI's first paint do not wait for torch.
    if name == "Library":
        from photosense.services.library import Library

        return Library
    if name == "Hit":
        from photosense.core.search import Hit

        return Hit
    raise AttributeError(f"module 'photosense' has no attribute {name!r}")
