"""Duplicates commands of the CLI: list groups and bursts, keep one, trash the copies (confirmed), undo."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from photosense.cli.common import EXIT_ERROR, EXIT_OK, EXIT_USAGE, emit_json, open_library, say

AddCommand = Callable[..., argparse.ArgumentParser]


def escape(text: str) -> str:
    """*text* shown literally by rich (paths may hold [brackets])."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def _size(n: int) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} bytes"


def _ask(plan: dict) -> bool:
    """Show the plan on stderr and read a yes on stdin."""
    for item in plan["trashed"]:
        say(escape(f"  {item['path']}  (kept: {item['keeper']})"))
    say(f"Move {len(plan['trashed'])} copies ({_size(plan['freed_bytes'])}) to the trash? \\[y/N] ")
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")


def _stacking(library, rest: list[str], as_json: bool) -> int:
    """duplicates stacking [on|off]: show or set whether results fold stacks."""
    if rest:
        library.set_stacking(rest[0] == "on")
        if rest[0] == "on":
            library.stacks.update()  # an upgraded library groups what it has not yet
    state = {"stacking": library.stacking, "stacks": library.stacks.count()}
    if as_json:
        emit_json(state)
    else:
        print(f"stacking {'on' if state['stacking'] else 'off'}: {state['stacks']} "
              f"{'stack' if state['stacks'] == 1 else 'stacks'} (duplicate groups and bursts) "
              f"{'show as one photo' if state['stacking'] else 'are listed photo by photo'} in search, albums "
              "and the grid")
    return EXIT_OK


def _stack(library, path: str, as_json: bool) -> int:
    """duplicates stack PATH: the members of the photo's stack, keeper first."""
    stack = library.stacks.of(path)
    if as_json:
        emit_json(stack.to_json() if stack is not None else
                  {"kind": None, "photos": [{**{k: v for k, v in h.to_json().items() if k not in ("id", "score")},
                                             "keep": True} for h in library.stack(path)]})
    elif stack is None:
        say(f"{escape(path)} is in no stack.")
    else:
        print(f"{stack.kind} ({len(stack.members)}):")
        for n, hit in enumerate(stack.members):
            print(f"  {'keep ' if n == 0 else '     '}{hit.path}")
    return EXIT_OK


def cmd_duplicates(args: argparse.Namespace) -> int:
    """duplicates [list] | keep PATH | trash [--dry-run] [--yes] | undo | stacking [on|off] | stack PATH."""
    action, rest = args.action or "list", args.args
    if action in ("keep", "stack") and len(rest) != 1:
        say(f"[bold red]photosense:[/] usage: photosense duplicates {action} PATH")
        return EXIT_USAGE
    if action == "stacking" and (len(rest) > 1 or (rest and rest[0] not in ("on", "off"))):
        say("[bold red]photosense:[/] usage: photosense duplicates stacking [on|off]")
        return EXIT_USAGE
    if action not in ("keep", "stack", "stacking") and rest:
        say(f"[bold red]photosense:[/] duplicates {action} takes no paths")
        return EXIT_USAGE
    if action == "trash" and not (args.yes or args.dry_run) and not sys.stdin.isatty():
        say("[bold red]photosense:[/] duplicates trash asks for confirmation, and there is no terminal to ask on: "
            "run it in a terminal, add --yes to confirm beforehand, or --dry-run to only see what would go.")
        return EXIT_USAGE
    with open_library(args) as library:
        if action == "stacking":
            return _stacking(library, rest, args.json)
        if action == "stack":
            return _stack(library, rest[0], args.json)
        if action == "list":
            groups = library.duplicates.groups()
            if args.json:
                emit_json([g.to_json() for g in groups])
            elif not groups:
                say("No duplicates or bursts found.")
            for g in [] if args.json else groups:
                print(f"{g.kind} ({len(g.photos)}):")
                for p in g.photos:
                    print(f"  {'keep ' if p.keep else 'copy ' if g.kind != 'burst' else '     '}{p.path}  "
                          f"{p.width}x{p.height}  {_size(p.size)}")
        elif action == "keep":
            group = library.duplicates.keep(rest[0])
            if args.json:
                emit_json(group.to_json())
            else:
                print(f"keeping {group.keeper.path} ({group.kind}, {len(group.photos)} photos)")
        elif action == "trash":
            result = library.duplicates.trash(confirm=True if args.yes else _ask, dry_run=args.dry_run)
            out = {"trashed": [{"path": t["path"], "trash_path": t["trash_path"]} for t in result["trashed"]],
                   "freed_bytes": result["freed_bytes"]}
            if args.json:
                emit_json(out)
            elif result.get("cancelled"):
                say("Nothing was moved to the trash.")
            else:
                verb = "would move" if args.dry_run else "moved"
                for t in result["trashed"]:
                    print(t["path"] if args.dry_run else f"{t['path']} -> {t['trash_path'] or 'the trash'}")
                print(f"{verb} {len(out['trashed'])} copies to the trash, freeing {_size(out['freed_bytes'])}")
            for s in result.get("skipped", []):
                say(f"[yellow]kept[/] {escape(s['path'])}: {escape(s['reason'])}")
            if result.get("skipped"):
                return EXIT_ERROR
        elif action == "undo":
            result = library.duplicates.undo()
            if args.json:
                emit_json(result)
            else:
                for r in result["restored"]:
                    print(f"restored {r['path']}")
            for f in result["failed"]:
                say(f"[yellow]not restored[/] {escape(f['path'])}: {escape(f['reason'])}")
            if result["failed"]:
                return EXIT_ERROR
    return EXIT_OK


def register(add: AddCommand, model_options: Callable[[argparse.ArgumentParser], Any]) -> None:
    """Add this group's subcommands to the parser (``add(name, func, help)`` returns the subparser)."""
    p = add("duplicates", cmd_duplicates,
            "exact and near duplicates and bursts: list them (default), keep PATH, trash the copies "
            "(confirmed; bursts never), undo the last trash; stacking on|off: whether search, albums and "
            "the grid show a stack once; stack PATH: the members of a photo's stack")
    p.add_argument("action", nargs="?", choices=("list", "keep", "trash", "undo", "stacking", "stack"),
                   default="list")
    p.add_argument("args", nargs="*", metavar="PATH",
                   help="keep: the photo to keep in its group; stack: a photo; stacking: on or off")
    p.add_argument("--dry-run", action="store_true", help="trash: only show what would go")
    p.add_argument("--yes", "-y", action="store_true", help="trash: do not ask (the confirmation is given)")
    model_options(p)
