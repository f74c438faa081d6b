"""Entry point: ``photosense`` with no arguments opens the app; with a command, runs the CLI."""
from __future__ import annotations

import sys


def main() -> int:
    """Dispatch to the CLI (the desktop app is the CLI's default command)."""
    from photosense.cli import main as cli_main

    return cli_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
