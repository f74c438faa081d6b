"""The ``photosense`` command line: parse, set up logging, run one command, turn errors into exit codes.

``main(argv)`` runs in-process (tests call it directly). The command groups are modules with
``register(add, model_options)``; the entry point (``photosense/__main__.py``) adds the desktop
app's group (``photosense.ui.commands``), so this package never imports the UI.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Iterator

from photosense import __version__
from photosense.cli import (duplicates_commands, library_commands, model_commands, organize_commands,
                            sync_commands)
from photosense.cli.common import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, stderr_console
from photosense.core import config
from photosense.core.errors import PhotoSenseError

GROUPS: tuple[ModuleType, ...] = (library_commands, sync_commands, organize_commands, duplicates_commands,
                                  model_commands)


def build_parser(extra_groups: Sequence[ModuleType] = ()) -> argparse.ArgumentParser:
    """The argument parser (also documents the CLI: ``photosense --help``)."""
    parser = argparse.ArgumentParser(
        prog="photosense",
        description="Organize and search your photos by what is in them, locally, with CLIP.",
        epilog="With no command, the desktop app opens. 'photosense COMMAND --help' explains a command.")
    parser.add_argument("--library", metavar="DIR",
                        help=f"library directory (default: ${config.LIBRARY_ENV} or the user data dir)")
    parser.add_argument("--version", action="version", version=f"photosense {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, func: Callable, help_text: str, json_flag: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        if json_flag:
            p.add_argument("--json", action="store_true", help="print only JSON on stdout")
        return p

    def model_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--model", metavar="SPEC",
                       help="model spec: ARCH:TAG, ARCH:/path/weights.safetensors, ARCH:none or a bundled "
                            "name such as tiny-fashion (default: the library's model)")
        p.add_argument("--device", metavar="DEV", help="auto (default), cpu, cuda, cuda:N or mps")
        p.add_argument("--precision", choices=("fp32", "fp16", "bf16"),
                       help="model precision (default: fp16 on CUDA, fp32 or bf16 on CPU)")

    for group in (*GROUPS, *extra_groups):
        group.register(add, model_options)
    return parser


class _QuietLibraries(logging.Filter):
    """Libraries that log through the root logger (open_clip) are heard only in verbose mode."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "root" and record.levelno < logging.ERROR:
            return self.level <= logging.INFO
        return True


@contextmanager
def _logging(verbose: int) -> Iterator[None]:
    """Log to stderr through rich for one command, then put the logging setup back as it was
    (so ``main`` can run many times in one process, as the tests do)."""
    from rich.logging import RichHandler

    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    root = logging.getLogger()
    handler = RichHandler(console=stderr_console(), show_path=False, show_time=verbose > 1)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(_QuietLibraries(level))
    handler.setLevel(level)
    quiet = {name: logging.getLogger(name).level for name in ("PIL", "urllib3", "huggingface_hub")}
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(level)
    for name in quiet:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    logging.captureWarnings(True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            yield
    finally:
        logging.captureWarnings(False)
        root.removeHandler(handler)
        root.setLevel(old_level)
        for name, value in quiet.items():
            logging.getLogger(name).setLevel(value)


def _check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Option values argparse cannot check by itself."""
    if getattr(args, "limit", 1) is not None and getattr(args, "limit", 1) < 1:
        parser.error("--limit must be at least 1")
    for option in ("workers", "batch_size"):
        if getattr(args, option, None) is not None and getattr(args, option) < 1:
            parser.error(f"--{option.replace('_', '-')} must be at least 1")
    if getattr(args, "poll_interval", None) is not None and not args.poll_interval > 0:
        parser.error("--poll-interval must be more than 0 seconds")
    if getattr(args, "debounce", None) is not None and not args.debounce >= 0:
        parser.error("--debounce must be 0 seconds or more")
    if args.command == "folders" and args.action in ("add", "remove") and not args.paths:
        parser.error(f"folders {args.action} needs at least one PATH")


def main(argv: Sequence[str] | None = None, extra_groups: Sequence[ModuleType] = (),
         default_command: str | None = None) -> int:
    """Run the CLI on *argv* (default: ``sys.argv[1:]``); returns the exit status.

    *extra_groups* add command groups (the entry point adds the desktop app's); with no command,
    *default_command* runs (the app), or the usage is printed.
    """
    parser = build_parser(extra_groups)
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            if default_command is None:
                parser.print_usage(sys.stderr)
                return EXIT_USAGE
            args = parser.parse_args([*argv, default_command])
        _check(parser, args)
    except SystemExit as exit_:  # --help, --version and usage errors end here, with argparse's status
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    if getattr(sys.stdout, "errors", None) == "strict" and hasattr(sys.stdout, "reconfigure"):
        # file names that are not UTF-8 (surrogate escapes) print as their own bytes, not a traceback
        sys.stdout.reconfigure(errors="surrogateescape")
    with _logging(args.verbose):
        try:
            return args.func(args)
        except PhotoSenseError as err:
            stderr_console().print(f"[bold red]photosense:[/] {err}", soft_wrap=True)
            return err.exit_code
        except KeyboardInterrupt:
            stderr_console().print("Interrupted.")
            return EXIT_INTERRUPTED
        except BrokenPipeError:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return EXIT_OK
