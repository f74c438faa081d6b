"""The ``photosense`` command line: a thin layer over :class:`photosense.Library` (``--json`` for scripts)."""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from typing import Any

from photosense import __version__, config
from photosense.core.errors import PhotoSenseError

log = logging.getLogger("photosense")

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def _emit_json(data: Any) -> None:
    json.dump(data, sys.stdout, ensure_ascii=True, indent=2)
    sys.stdout.write("\n")
    sys.stdout.flush()


def _open_library(args: argparse.Namespace, model: str | None = None):
    from photosense.library import Library

    return Library.open(args.library, model=model, device=getattr(args, "device", None),
                        precision=getattr(args, "precision", None))


# -- commands ---------------------------------------------------------------------------------

def cmd_index(args: argparse.Namespace) -> int:
    """Add folders and index them."""
    with _open_library(args, model=args.model) as library:
        cancel = threading.Event()
        with _graceful_stop(cancel), _IndexProgress(enabled=not args.json and not args.quiet) as progress:
            summary = library.index(args.paths, progress=progress.update, cancel=cancel,
                                    workers=args.workers, batch_size=args.batch_size)
    if args.json:
        _emit_json(summary.to_json())
    elif not args.quiet:
        con = _stderr_console()
        con.print(f"[bold]{summary.indexed + summary.reused}[/] indexed"
                  + (f" ({summary.reused} reused)" if summary.reused else "")
                  + f", {summary.skipped} unchanged, {summary.moved} moved, "
                  f"{summary.removed + summary.vanished} removed, "
                  + (f"[red]{summary.failed} failed[/]" if summary.failed else "0 failed")
                  + f" in {summary.seconds:.1f}s")
        for path, reason in summary.failures[:10]:
            con.print(f"  [red]failed[/] {path}: {reason}")
        if summary.failed > 10:
            con.print(f"  … and {summary.failed - 10} more: 'photosense failures' lists them all")
        if summary.cancelled:
            con.print("Stopped early; run the command again to continue where it stopped.")
    return EXIT_OK


@contextmanager
def _graceful_stop(cancel: threading.Event):
    """First SIGINT/SIGTERM: finish the batch in flight, save, exit 0. A second SIGINT aborts."""
    def stop(signum, _frame):
        if cancel.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        cancel.set()
        if signum == signal.SIGINT:
            _stderr_console().print("Stopping after the current batch (Ctrl-C again to abort)…")

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _print_hits(hits, as_json: bool) -> None:
    if as_json:
        _emit_json([h.to_json() for h in hits])
        return
    if not hits:
        _stderr_console().print("No matching photos.")
        return
    for hit in hits:
        print(f"{hit.score:6.3f}  {hit.path}")


def cmd_search(args: argparse.Namespace) -> int:
    """Text search."""
    query = " ".join(args.query)
    with _open_library(args, model=args.model) as library:
        hits = library.search(query, limit=args.limit, show_all=args.all)
    _print_hits(hits, args.json)
    return EXIT_OK


def cmd_similar(args: argparse.Namespace) -> int:
    """Image search: photos like PATH."""
    with _open_library(args, model=args.model) as library:
        hits = library.similar(args.path, limit=args.limit)
    _print_hits(hits, args.json)
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    """Library counts."""
    with _open_library(args) as library:
        status = library.status()
    if args.json:
        _emit_json(status)
    else:
        print(f"library  {status['library']}\nmodel    {status['model']}\n"
              f"photos   {status['photos']} ({status['indexed']} indexed, {status['pending']} pending)\n"
              f"failed   {status['failed']}")
        for folder in status["folders"]:
            print(f"folder   {folder}")
    return EXIT_OK


def cmd_failures(args: argparse.Namespace) -> int:
    """Files that could not be indexed."""
    with _open_library(args) as library:
        failures = library.failures()
    if args.json:
        _emit_json([{"path": f.path, "reason": f.reason} for f in failures])
    else:
        for f in failures:
            print(f"{f.path}: {f.reason}")
        if not failures:
            _stderr_console().print("No failures.")
    return EXIT_OK


def cmd_folders(args: argparse.Namespace) -> int:
    """List, add or remove library folders."""
    with _open_library(args) as library:
        if args.action == "add":
            added = [library.add_folder(p).path for p in args.paths]
            result: Any = {"folders": [f.path for f in library.folders()], "added": added}
        elif args.action == "remove":
            removed = sum(library.remove_folder(p) for p in args.paths)
            result = {"folders": [f.path for f in library.folders()], "photos_removed": removed}
        else:
            result = {"folders": [f.path for f in library.folders()]}
    if args.json:
        _emit_json(result if args.action != "list" else result["folders"])
    else:
        for path in result["folders"]:
            print(path)
    return EXIT_OK


def cmd_models(args: argparse.Namespace) -> int:
    """Bundled models and how to name others."""
    from photosense.core.models import DEFAULT_MODEL, bundled_models

    bundled = sorted(bundled_models())
    if args.json:
        _emit_json({"default": DEFAULT_MODEL, "bundled": bundled})
    else:
        print(f"default  {DEFAULT_MODEL} (downloaded on first use)")
        for name in bundled:
            print(f"bundled  {name}")
        print("other    ARCH:TAG (any open_clip pretrained tag), ARCH:/path/to/weights.safetensors, ARCH:none")
    return EXIT_OK


# -- progress ---------------------------------------------------------------------------------

class _IndexProgress:
    """A rich progress bar on stderr: done/total, images per second and time left."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self._progress = None
        self._task = None

    def __enter__(self) -> _IndexProgress:
        if self.enabled:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                                       TimeRemainingColumn)

            self._progress = Progress(
                SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[rate]:>6.1f} img/s"), TimeRemainingColumn(),
                console=_stderr_console(), transient=True)
            self._progress.__enter__()
            self._task = self._progress.add_task("Scanning", total=None, rate=0.0)
        return self

    def update(self, p) -> None:
        if self._progress is None:
            return
        if p.phase == "scanning":
            self._progress.update(self._task, description="Scanning")
        else:
            self._progress.update(self._task, description="Indexing", total=p.total, completed=p.done,
                                  rate=p.rate)

    def __exit__(self, *exc: object) -> None:
        if self._progress:
            self._progress.__exit__(*exc)


# -- parser -----------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
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

    p = add("index", cmd_index, "add folders to the library and index them")
    p.add_argument("paths", nargs="+", metavar="PATH", help="photo folder(s)")
    model_options(p)
    p.add_argument("--workers", type=int, metavar="N", help="decode threads (default: one per core)")
    p.add_argument("--batch-size", type=int, metavar="N", help="images per model call")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress or summary")

    p = add("search", cmd_search, "find photos matching a text description (query language: "
                                  "docs/query-language.md; put -- before a query with -terms)")
    p.add_argument("query", nargs="+", metavar="QUERY")
    p.add_argument("--limit", "-n", type=int, default=20, metavar="N", help="results (default 20)")
    p.add_argument("--all", action="store_true",
                   help="also list photos below the relevance cut-off (best first)")
    model_options(p)

    p = add("similar", cmd_similar, "find photos that look like PATH (a library photo or any image)")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--limit", "-n", type=int, default=20, metavar="N", help="results (default 20)")
    model_options(p)

    add("status", cmd_status, "show library counts, model and folders")
    add("failures", cmd_failures, "list files that could not be indexed, with the reason")

    p = add("folders", cmd_folders, "list, add or remove library folders")
    p.add_argument("action", choices=("list", "add", "remove"), nargs="?", default="list")
    p.add_argument("paths", nargs="*", metavar="PATH")

    add("models", cmd_models, "list bundled models and how to name others")

    # Command groups that live in their own modules (each exposes register(add, model_options)).
    from photosense import cli_app, cli_organize, cli_sync

    for group in (cli_sync, cli_app, cli_organize):
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


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    from rich.logging import RichHandler

    handler = RichHandler(console=_stderr_console(), show_path=False, show_time=verbose > 1)
    handler.addFilter(_QuietLibraries(level))
    logging.basicConfig(level=level, format="%(message)s", handlers=[handler], force=True)
    logging.captureWarnings(True)
    warnings.simplefilter("default")
    for noisy in ("PIL", "urllib3", "huggingface_hub"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:  # no command: the desktop app (--help still prints the usage)
        from photosense.cli_app import cmd_gui

        return cmd_gui(args)
    _setup_logging(args.verbose)
    if getattr(sys.stdout, "errors", None) == "strict" and hasattr(sys.stdout, "reconfigure"):
        # file names that are not UTF-8 (surrogate escapes) print as their own bytes, not a traceback
        sys.stdout.reconfigure(errors="surrogateescape")
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
    try:
        return args.func(args)
    except PhotoSenseError as err:
        _stderr_console().print(f"[bold red]photosense:[/] {err}", soft_wrap=True)
        return err.exit_code
    except KeyboardInterrupt:
        _stderr_console().print("Interrupted.")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
