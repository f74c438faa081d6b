"""Thread pools that share few cores: torch's OpenMP workers spin briefly, NumPy's BLAS keeps one thread."""
from __future__ import annotations

import logging
import os
import threading
from pathlib import PurePath

log = logging.getLogger(__name__)

_lock = threading.Lock()
_done = False

# How long (busy-wait iterations, tens of microseconds here) torch's OpenMP workers (GNU libgomp, in
# torch's Linux wheels) spin for the next parallel region before sleeping; libgomp's own default is
# 300,000 (milliseconds). While images decode on the same cores, those spinning workers took them
# from the decoders: on 2 cores, indexing 240 camera JPEGs took 13.9-14.2 s as a whole process with
# the default and 11.7-11.8 s at 10,000-20,000, with no change in text-encoding latency (15-16 ms for
# a query); passive waiting (0) saved as much for indexing but doubled that latency.
OPENMP_SPIN = "10000"


def short_openmp_spin() -> None:
    """Ask torch's OpenMP workers to spin briefly (OPENMP_SPIN) unless the user has set it. Only takes
    effect before torch is first imported (libgomp reads it when it loads)."""
    os.environ.setdefault("GOMP_SPINCOUNT", OPENMP_SPIN)


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
