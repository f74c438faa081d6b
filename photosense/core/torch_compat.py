"""Make torchvision (and so open_clip) importable next to a CPU-only torch build."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from threading import Lock

_lock = Lock()
_done = False
# Kept alive for the life of the process: dropping a Library deregisters its schemas.
_fragment = None

# The schemas torchvision's pure-Python meta registrations look up at import time.
_SCHEMAS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
)


def ensure_torchvision_importable() -> None:
    """Register torchvision's op schemas when its compiled extension cannot load.

    PyPI's torchvision wheel is a CUDA build. Beside a CPU-only torch its ``_C`` extension
    fails to load, and ``import torchvision`` then dies with ``operator torchvision::nms does
    not exist``. open_clip only needs torchvision's pure-Python transforms, so defining the
    two schemas is enough. Where the extension loads (a matching install), nothing changes.
    """
    global _done, _fragment
    with _lock:
        if _done or "torchvision" in sys.modules:
            _done = True
            return
        _done = True
        spec = importlib.util.find_spec("torchvision")
        if spec is None or not spec.submodule_search_locations:
            return  # not installed: the caller's import reports that plainly
        import torch

        package_dir = Path(next(iter(spec.submodule_search_locations)))
        for library in sorted(package_dir.glob("_C*")):
            if library.suffix in (".so", ".pyd", ".dylib"):
                try:
                    torch.ops.load_library(str(library))
                    return  # the real operators are there
                except (OSError, RuntimeError):
                    break
        _fragment = torch.library.Library("torchvision", "FRAGMENT")
        for schema in _SCHEMAS:
            _fragment.define(schema)
