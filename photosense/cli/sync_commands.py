"""Sync commands of the CLI: watch (live folder watching), info (one photo) and check (catalog vs index)."""
from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from photosense.cli.common import EXIT_ERROR, EXIT_OK, emit_json, graceful_stop, open_library, stderr_console
from photosense.core.errors import UsageError
from photosense.services.sync import LiveSync, SyncReport, set_polling

AddCommand = Callable[..., argparse.ArgumentParser]

REFRESH_FOLDERS_S = 5.0  # how often `watch` looks for folders added or removed by other commands


def cmd_watch(args: argparse.Namespace) -> int:
    """Index what changed since last time, then follow the folders live until SIGINT/SIGTERM."""
    con = stderr_console()

    def on_change(report: SyncReport) -> None:
        if args.json:  # JSON Lines: one compact object per report, flushed for `| while read`
            print(json.dumps(report.to_json(), ensure_ascii=True), flush=True)
            return
        s = report.summary
        if report.text is not None:
            t = report.text
            con.print(f"{time.strftime('%H:%M:%S')} read text in {t.read + t.reused} photos ({t.with_text} with "
                      f"words)" + (f", [red]{t.failed} unreadable[/]" if t.failed else ""), soft_wrap=True)
            return
        if report.kind != "reconcile" and not report.changed:
            return
        where = "library" if report.kind == "reconcile" else ", ".join(report.folders) or "pending photos"
        parts = [f"{s.indexed + s.reused} indexed" + (f" ({s.reused} reused)" if s.reused else ""),
                 f"{s.moved} moved", f"{s.removed + s.vanished} removed"]
        if report.kind == "reconcile":
            parts.insert(1, f"{s.skipped} unchanged")
        if s.failed:
            parts.append(f"[red]{s.failed} failed[/]")
        con.print(f"{time.strftime('%H:%M:%S')} {'reconciled' if report.kind == 'reconcile' else 'synced'} "
                  f"{where}: {', '.join(parts)}", soft_wrap=True, markup=True)
        for path, reason in s.failures[:10]:
            con.print(f"  [red]failed[/] {path}: {reason}", soft_wrap=True)

    def on_error(err: Exception) -> None:
        con.print(f"[bold red]photosense:[/] {err} (will retry)", soft_wrap=True)

    with open_library(args, model=args.model) as library:
        if not library.folders():
            raise UsageError(f"The library {library.directory} has no folders to watch; add one with "
                             "'photosense folders add PATH' or 'photosense index PATH'.")
        if args.remember:
            if args.poll is None:
                raise UsageError("--remember stores --poll or --no-poll; give one of them.")
            set_polling(library, args.poll)
        stop = threading.Event()
        sync = LiveSync(library, polling=args.poll, debounce_s=args.debounce,
                        poll_interval_s=args.poll_interval, on_change=on_change, on_error=on_error)
        with graceful_stop(stop):
            sync.start()
            if not args.json:
                mode = f"polling every {sync.poll_interval_s:g}s" if sync.polling else "file events"
                con.print(f"Watching {len(library.folders())} folder(s) with {mode}; Ctrl-C or SIGTERM stops.")
            while not stop.wait(REFRESH_FOLDERS_S):
                sync.refresh_folders()
            if not args.json:
                con.print("Stopping: finishing the batch in flight…")
            finished = sync.stop(timeout=30)
        if not finished:
            con.print("[yellow]Indexing did not stop in time; pending photos are indexed next time.[/]")
    return EXIT_OK


def cmd_info(args: argparse.Namespace) -> int:
    """What the library knows about one photo."""

    with open_library(args) as library:
        photo = library.photo(args.path)  # NotInLibrary: a clear message and exit 2
        model_id = library.catalog.model_id(library.model_spec)
        indexed = model_id is not None and library.catalog.embedding(photo.id, model_id) is not None
        tags = [f"{t.set}/{t.label}" for t in library.tags.of(photo.path)]  # SET/LABEL, best first
        info: dict[str, Any] = {"id": photo.id, "path": photo.path, "kind": photo.kind, "indexed": indexed,
                                "tags": tags, "size": photo.size, "width": photo.width, "height": photo.height,
                                "taken_at": photo.taken_at, "camera": photo.camera}
        info["text"] = library.text_of(photo.path)  # recognized words, "" when none or not read yet
        if photo.is_video:
            info["duration"] = photo.duration
            info["frames"] = len(library.catalog.frames_of(photo.id, model_id)) if model_id is not None else 0
    if args.json:
        emit_json(info)
    else:
        for key, value in info.items():
            if value not in (None, [], ""):
                print(f"{key:9}{value if not isinstance(value, list) else ', '.join(value)}")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    """Check (and with --repair fix) that the catalog and the vector index agree."""

    with open_library(args) as library:
        problems = library.check(repair=args.repair)
        remaining = library.check() if args.repair and problems else problems
    if args.json:
        emit_json({"ok": not remaining, "problems": problems, "repaired": bool(args.repair and problems),
                    "remaining": remaining})
    else:
        con = stderr_console()
        for problem in problems:
            print(f"problem: {problem}")
        if not problems:
            con.print("The catalog and the search index agree.")
        elif args.repair and not remaining:
            con.print(f"Repaired {len(problems)} problem(s); photos that lost their embedding are indexed "
                      "by the next 'index' or 'watch'.")
        elif not args.repair:
            con.print("Run 'photosense check --repair' to fix them.")
    return EXIT_ERROR if remaining else EXIT_OK


def register(add: AddCommand, model_options: Callable[[argparse.ArgumentParser], Any]) -> None:
    """Add this group's subcommands to the parser (``add(name, func, help)`` returns the subparser)."""
    # (defaults are spelled out: the parser is built before watchdog is imported, which it need not be)
    p = add("watch", cmd_watch, "index what changed since last time, then follow the folders live "
                                "(--json: one JSON object per line for each change)")
    p.add_argument("--poll", action=argparse.BooleanOptionalAction, default=None,
                   help="poll the folders instead of using file events, for network shares that send "
                        "none (default: the library's setting, off unless remembered)")
    p.add_argument("--remember", action="store_true",
                   help="store --poll/--no-poll as this library's setting for later runs and the app")
    p.add_argument("--poll-interval", type=float, metavar="S", help="seconds between polls (default 2)")
    p.add_argument("--debounce", type=float, metavar="S",
                   help="quiet seconds that end a burst of changes (default 0.75)")
    model_options(p)

    p = add("info", cmd_info, "show what the library knows about one photo")
    p.add_argument("path", metavar="PATH")

    p = add("check", cmd_check, "check that the catalog and the search index agree (exit 1 on problems)")
    p.add_argument("--repair", action="store_true", help="fix the problems found")
