"""Runs the real app for the X11 end-to-end test: ``python tests/ui/x11_runner.py [photosense arguments]``.

It goes through the real entry point (``photosense.__main__.main``: the arguments, the default command,
the display check), and the window is built by ``photosense.ui.app.start`` exactly as ``run`` builds it;
only the event loop starts here, with x11_script's steps driving the window. The shipped app has no
hook for this: the runner swaps ``photosense.ui.app.run`` in its own process. With ``E2E_FAKE_MODEL=1``
the tests' fake colour embedder is registered first (a library indexed with it opens as it is).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import x11_script  # noqa: E402

from photosense.__main__ import main  # noqa: E402
from photosense.ui import app  # noqa: E402


def run_with_steps(library: str | None = None, model: str | None = None, remember: bool = True) -> int:
    """``app.run`` with the end-to-end steps driving the window."""
    session = app.start(library, model, remember)
    steps = x11_script.Steps(session.window)  # noqa: F841 - parented to the window, held for the loop
    return session.app.exec()


if __name__ == "__main__":
    if os.environ.get("E2E_FAKE_MODEL") == "1":
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for fakes
        from fakes import NAME, FakeEmbedder

        from photosense.core.models import register_embedder

        register_embedder(NAME, FakeEmbedder)
    app.run = run_with_steps
    sys.exit(main(sys.argv[1:]))
