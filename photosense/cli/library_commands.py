"""Library commands of the CLI: index, search, similar, status, failures, folders and models."""
from __future__ import annotations

import argparse
import threading
from collections.abc import Callable
from typing import Any

from photosense.cli.common import (EXIT_OK, emit_json, graceful_stop, open_library, print_hits,
                                   stderr_console)
from photosense.cli.progress import IndexProgress

AddCommand = Callable[..., argparse.ArgumentParser]


def add_no_stack(p: argparse.ArgumentParser) -> None:
    """The --no-stack flag of the commands that list results."""
    p.add_argument("--no-stack", action="store_true",
                   help="list every copy and burst shot (by default a stack shows once, with \"stack\": N in "
                        "--json; 'photosense duplicates stacking off' turns it off for the library)")


def cmd_index(args: argparse.Namespace) -> int:
    """Add folders and index them."""
    with open_library(args, model=args.model) as library:
        cancel = threading.Event()
        with graceful_stop(cancel), IndexProgress(enabled=not args.json and not args.quiet) as progress:
            summary = library.index(args.paths, progress=progress.update, cancel=cancel,
                                    workers=args.workers, batch_size=args.batch_size,
                                    check_text=not args.no_text)
            # then the words in the photos (OCR); --no-text leaves them for a later run or `watch`
            text = (library.read_text(progress=progress.update, cancel=cancel)
                    if not args.no_text and not cancel.is_set() else None)
    if args.json:
        emit_json({**summary.to_json(), **({"text": text.to_json()} if text is not None else {})})
    elif not args.quiet:
        con = stderr_console()
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
        if text is not None and (text.read or text.failed):
            con.print(f"Text read in {text.read} photos ({text.with_text} with words)"
                      + (f", [red]{text.failed} unreadable[/]" if text.failed else "") + f" in {text.seconds:.1f}s")
        if summary.cancelled or (text is not None and text.cancelled):
            con.print("Stopped early; run the command again to continue where it stopped.")
    return EXIT_OK


def cmd_search(args: argparse.Namespace) -> int:
    """Text search."""
    query = " ".join(args.query)
    with open_library(args, model=args.model) as library:
        hits = library.search(query, limit=args.limit, show_all=args.all, stack=False if args.no_stack else None)
    print_hits(hits, args.json)
    return EXIT_OK


def cmd_similar(args: argparse.Namespace) -> int:
    """Image search: photos like PATH."""
    with open_library(args, model=args.model) as library:
        hits = library.similar(args.path, limit=args.limit, at=args.at, stack=False if args.no_stack else None)
    print_hits(hits, args.json)
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    """Library counts."""
    with open_library(args) as library:
        status = library.status()
    if args.json:
        emit_json(status)
    else:
        print(f"library  {status['library']}\nmodel    {status['model']}\n"
              f"photos   {status['photos']} ({status['indexed']} indexed, {status['pending']} pending)\n"
              f"text     {status['text_pending']} photos waiting to be read\nfailed   {status['failed']}")
        for folder in status["folders"]:
            print(f"folder   {folder}")
    return EXIT_OK


def cmd_failures(args: argparse.Namespace) -> int:
    """Files that could not be indexed."""
    with open_library(args) as library:
        failures = library.failures()
    if args.json:
        emit_json([{"path": f.path, "reason": f.reason} for f in failures])
    else:
        for f in failures:
            print(f"{f.path}: {f.reason}")
        if not failures:
            stderr_console().print("No failures.")
    return EXIT_OK


def cmd_folders(args: argparse.Namespace) -> int:
    """List, add or remove library folders."""
    with open_library(args) as library:
        if args.action == "add":
            added = [library.add_folder(p).path for p in args.paths]
            result: Any = {"folders": [f.path for f in library.folders()], "added": added}
        elif args.action == "remove":
            removed = sum(library.remove_folder(p) for p in args.paths)
            result = {"folders": [f.path for f in library.folders()], "photos_removed": removed}
        else:
            result = {"folders": [f.path for f in library.folders()]}
    if args.json:
        emit_json(result if args.action != "list" else result["folders"])
    else:
        for path in result["folders"]:
            print(path)
    return EXIT_OK


def cmd_models(args: argparse.Namespace) -> int:
    """Bundled and known models, and how to name others."""
    from photosense.core.models import DEFAULT_MODEL, model_catalog

    models = model_catalog()
    if args.json:
        emit_json(models)
    else:
        for m in models:
            where = "bundled " if m["bundled"] else ("default " if m["name"] == DEFAULT_MODEL else "download")
            print(f"{where}  {m['name']:<32} {m['size_mb']:>8.1f} MB")
        print("other     ARCH:TAG (any open_clip pretrained tag), ARCH:/path/to/weights.safetensors, ARCH:none")
    return EXIT_OK


def register(add: AddCommand, model_options: Callable[[argparse.ArgumentParser], Any]) -> None:
    """Add this group's subcommands to the parser (``add(name, func, help)`` returns the subparser)."""
    p = add("index", cmd_index, "add folders to the library and index them")
    p.add_argument("paths", nargs="+", metavar="PATH", help="photo folder(s)")
    model_options(p)
    p.add_argument("--workers", type=int, metavar="N", help="decode threads (default: one per core)")
    p.add_argument("--batch-size", type=int, metavar="N", help="images per model call")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress or summary")
    p.add_argument("--no-text", action="store_true",
                   help="skip reading the words in photos (OCR) after indexing; 'watch' or a later run does it")

    p = add("search", cmd_search, "find photos matching a text description, or by the words in them, their "
                                  "names, folders and tags (query language: docs/query-language.md; put -- "
                                  "before a query with -terms)")
    p.add_argument("query", nargs="+", metavar="QUERY")
    p.add_argument("--limit", "-n", type=int, default=20, metavar="N", help="results (default 20)")
    p.add_argument("--all", action="store_true",
                   help="also list photos below the relevance cut-off (best first)")
    add_no_stack(p)
    model_options(p)

    p = add("similar", cmd_similar, "find photos and videos that look like PATH (a library photo or video, or "
                                    "any image or video file)")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--at", type=float, metavar="SECONDS", help="for a video: the moment to look like (default: "
                                                             "the whole video)")
    p.add_argument("--limit", "-n", type=int, default=20, metavar="N", help="results (default 20)")
    add_no_stack(p)
    model_options(p)

    add("status", cmd_status, "show library counts, model and folders")
    add("failures", cmd_failures, "list files that could not be indexed, with the reason")

    p = add("folders", cmd_folders, "list, add or remove library folders")
    p.add_argument("action", choices=("list", "add", "remove"), nargs="?", default="list")
    p.add_argument("paths", nargs="*", metavar="PATH")

    add("models", cmd_models, "list bundled models and how to name others")
