"""Thread pools that share few cores: NumPy's BLAS kept to one thread beside torch's pool."""
from __future__ import annotations

import logging
import threading
from pathlib import PurePath

log = logging.getLogger(__name__)

_lock = threading.Lock()
_done = False


def numpy_blas_single_threaded() -> bool:
    """Limit the BLAS library that NumPy ships (OpenBLAS in its wheels) to one thread, once per process.

    Its worker threads spin for a while after each product. PhotoSense's NumPy products are small
    (a search's candidates against a few hundred text vectors), but the spinning threads take the
    cores from torch's own pool, which then waits on them: on 2 cores, a text encoding that follows a
    search took 110 ms instead of 17. Torch's pool is left as it is. True when a library was limited.
    """
    global _done
    with _lock:
        if _done:
            return False
        _done = True
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # an install without it: slower on few cores, still correct
            return False
        controller = ThreadpoolController()
        ours = [lib.filepath for lib in controller.lib_controllers
                if lib.user_api == "blas" and any(part.startswith("numpy") for part in PurePath(lib.filepath).parts)]
        if not ours:
            return False
        controller.select(filepath=ours).limit(limits=1, user_api="blas")
        log.debug("NumPy's BLAS limited to one thread: %s", ours)
        return True
