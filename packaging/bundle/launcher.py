"""The bundle's entry script: PyInstaller freezes this into dist/PhotoSense/photosense."""
from __future__ import annotations

from photosense.__main__ import run

if __name__ == "__main__":
    run()
