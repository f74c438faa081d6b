"""The ``photosense`` command line (a package: ``main`` runs one command in-process; a module per command group)."""
from __future__ import annotations

from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI on *argv*; returns the exit status (see :func:`photosense.cli.main.main`)."""
    from photosense.cli.main import main as run

    return run(argv)
