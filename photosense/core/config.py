"""Where PhotoSense keeps things: the library directory, the model cache and logs (platformdirs)."""
from __future__ import annotations

import os
from pathlib import Path

from platformdirs import PlatformDirs

APP_NAME = "PhotoSense"
LIBRARY_ENV = "PHOTOSENSE_LIBRARY"
CACHE_ENV = "PHOTOSENSE_CACHE"

_dirs = PlatformDirs(APP_NAME, appauthor=False)


def library_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The library directory: ``--library`` if given, else ``$PHOTOSENSE_LIBRARY``, else the user data dir."""
    chosen = explicit or os.environ.get(LIBRARY_ENV) or _dirs.user_data_dir
    return Path(chosen).expanduser().absolute()


def cache_dir() -> Path:
    """Downloaded model weights and thumbnails (``$PHOTOSENSE_CACHE`` overrides)."""
    return Path(os.environ.get(CACHE_ENV) or _dirs.user_cache_dir).expanduser().absolute()


def model_cache_dir() -> Path:
    """Where downloaded open_clip weights go."""
    return cache_dir() / "models"


def log_dir() -> Path:
    """Where the app writes its log file."""
    return Path(_dirs.user_log_dir)


def log_file() -> Path:
    """The desktop app's log file (``$PHOTOSENSE_LOG_DIR`` overrides the folder)."""
    return Path(os.environ.get("PHOTOSENSE_LOG_DIR") or log_dir()) / "photosense.log"


def settings_file() -> Path:
    """The desktop app's window settings (``$PHOTOSENSE_SETTINGS`` overrides)."""
    return Path(os.environ.get("PHOTOSENSE_SETTINGS") or Path(_dirs.user_config_dir) / "ui.ini")
