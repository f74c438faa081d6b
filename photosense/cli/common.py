"""What every CLI command shares: exit codes, stderr messages, JSON output, opening the library, Ctrl+C."""
from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from contextlib import contextmanager
from typing import Any

from photosense.services.library import Library

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def stderr_console():
    """A rich console on stderr (stdout stays clean for --json)."""
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def say(text: str) -> None:
    """A message (rich markup) on stderr."""
    stderr_console().print(text, soft_wrap=True)


def emit_json(data: Any) -> None:
    """Print *data* as the command's JSON answer on stdout."""
    json.dump(data, sys.stdout, ensure_ascii=True, indent=2)
    sys.stdout.write("\n")
    sys.stdout.flush()


def open_library(args: argparse.Namespace, model: str | None = None) -> Library:
    """The library named by --library (or the default one), with --device/--precision if given."""
    return Library.open(args.library, model=model, device=getattr(args, "device", None),
                        precision=getattr(args, "precision", None))


@contextmanager
def graceful_stop(cancel: threading.Event):
    """First SIGINT/SIGTERM: finish the batch in flight, save, exit 0. A second SIGINT aborts."""
    def stop(signum, _frame):
        if cancel.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        cancel.set()
        if signum == signal.SIGINT:
            stderr_console().print("Stopping after the current batch (Ctrl-C again to abort)…")

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)



def print_hits(hits, as_json: bool) -> None:
    if as_json:
        emit_json([h.to_json(matched=True) for h in hits])
        return
    if not hits:
        stderr_console().print("No matching photos.")
        return
    for hit in hits:
        moment = f"  (video, at {clock(hit.at)} of {clock(hit.duration)})" if hit.kind == "video" else ""
        stack = f"  (stack of {hit.stack})" if hit.stack > 1 else ""
        words = [m for m in hit.matched if m in ("text", "name", "tag")]
        found = f"  (words in its {', '.join(words)})" if words else ""
        print(f"{hit.score:6.3f}  {hit.path}{moment}{stack}{found}")


def clock(seconds: float | None) -> str:
    """Seconds as a player shows them: 0:42, 12:05, 1:02:09 ("?" when unknown)."""
    if seconds is None:
        return "?"
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


