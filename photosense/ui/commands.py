"""The desktop app's commands (gui, demo), added to the CLI by the entry point; Qt loads only when they run."""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

AddCommand = Callable[..., argparse.ArgumentParser]

EXIT_NO_DISPLAY = 1


def no_display_message() -> str | None:
    """Why the app cannot open a window here, or None. Qt itself would abort with a core dump."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return ("photosense: no display to open the app on (neither DISPLAY nor WAYLAND_DISPLAY is set). "
            "Start it from a desktop session, or use the command line: 'photosense --help' lists "
            "the commands (index, search, watch, ...).")


def _refuse_without_display() -> bool:
    message = no_display_message()
    if message:
        print(message, file=sys.stderr)
    return message is not None


def cmd_gui(args: argparse.Namespace) -> int:
    """Open the desktop app on the library (the default command)."""
    if _refuse_without_display():
        return EXIT_NO_DISPLAY
    from photosense.ui.app import run

    return run(getattr(args, "library", None), model=getattr(args, "model", None))


def cmd_demo(args: argparse.Namespace) -> int:
    """Build (once, offline) the demo library from the bundled samples, then open the app on it."""
    from photosense.services.demo import build_demo

    if not args.no_gui and _refuse_without_display():  # say so before building anything
        return EXIT_NO_DISPLAY
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
