"""The bundle's entry script: PyInstaller freezes this into dist/PhotoSense/photosense."""
from __future__ import annotations

import sys

from photosense.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
