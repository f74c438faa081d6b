"""Entry point: ``photosense`` with a command runs the CLI; with none, it opens the desktop app.

This is the composition root: it joins the CLI (``photosense.cli``) and the app's commands
(``photosense.ui.commands``), two layers that never import each other.
"""
from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``photosense`` on *argv* (default: the process arguments); returns the exit status."""
    from photosense.cli.main import main as cli_main
    from photosense.ui import commands

    return cli_main(sys.argv[1:] if argv is None else argv, extra_groups=(commands,), default_command="gui")


if __name__ == "__main__":
    sys.exit(main())
