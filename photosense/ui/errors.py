"""No raw tracebacks: unexpected errors go to the log file, the user sees one short message."""
from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from logging.handlers import RotatingFileHandler
from pathlib import Path
from types import TracebackType

from photosense.core import config

log = logging.getLogger("photosense.ui")


def setup_file_logging(path: Path | None = None) -> Path:
    """Log INFO and above to the app's log file (rotated at 1 MB); returns its path."""
    path = path or config.log_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = RotatingFileHandler(path, maxBytes=1_000_000, backupCount=2, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    return path


def install(show: Callable[[str], None], log_path: Path) -> None:
    """Route uncaught exceptions (GUI thread and others) to the log, then *show* a short message."""
    def hook(kind: type[BaseException], err: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, err, tb)
            return
        log.error("unexpected error", exc_info=(kind, err, tb))
        show(f"Something went wrong: {type(err).__name__}. PhotoSense keeps running; "
             f"the details are in {log_path}.")

    sys.excepthook = hook
    threading.excepthook = lambda args: hook(args.exc_type, args.exc_value, args.exc_traceback)
