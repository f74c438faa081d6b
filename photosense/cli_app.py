"""Desktop-app commands of the CLI: gui and demo."""
from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

AddCommand = Callable[..., argparse.ArgumentParser]


def cmd_gui(args: argparse.Namespace) -> int:
    """Open the desktop app on the library (the default command)."""
    from photosense.ui.app import run

    return run(getattr(args, "library", None), model=getattr(args, "model", None))


def cmd_demo(args: argparse.Namespace) -> int:
    """Build (once, offline) the demo library from the bundled samples, then open the app on it."""
    from photosense.demo import build_demo

    directory = build_demo(rebuild=args.rebuild)
    if args.no_gui:
        print(directory)
        return 0
    from photosense.ui.app import run

    return run(str(directory), remember=False)  # a plain `photosense` still opens the user's own library


def register(add: AddCommand, model_options: Callable[[argparse.ArgumentParser], Any]) -> None:
    """Add this group's subcommands to the parser (``add(name, func, help)`` returns the subparser)."""
    p = add("gui", cmd_gui, "open the desktop app (the default when no command is given)", json_flag=False)
    p.add_argument("--model", metavar="SPEC", help="model spec for a new library (default: the library's model)")
    p = add("demo", cmd_demo, "try PhotoSense on a demo library of sample photos (built offline)",
            json_flag=False)
    p.add_argument("--rebuild", action="store_true", help="rebuild the demo library from scratch")
    p.add_argument("--no-gui", action="store_true", help="only build the demo library and print its path")
