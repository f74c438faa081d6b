"""Organizing commands of the CLI: tags (prompt sets) and albums."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from photosense.cli.common import EXIT_OK, emit_json, open_library, print_hits, say

AddCommand = Callable[..., argparse.ArgumentParser]


# -- tags -------------------------------------------------------------------------------------

def cmd_tags(args: argparse.Namespace) -> int:
    """tags apply|show|list|remove|accept|reject|export-xmp."""
    action, rest = args.action, args.args
    need = {"apply": 0 if args.defaults else 1, "remove": 1, "accept": 2, "reject": 2}
    if len(rest) < need.get(action, 0):
        usage = {"apply": "tags apply FILE.toml... (or --defaults)", "remove": "tags remove SET",
                 "accept": "tags accept LABEL PATH...", "reject": "tags reject LABEL PATH..."}[action]
        say(f"[bold red]photosense:[/] usage: photosense {usage}")
        return 2
    with open_library(args) as library:
        if action == "apply":
            results = [library.tags.apply(path) for path in rest]
            if args.defaults:
                results += library.tags.apply_defaults()
            if args.json:
                emit_json(results if len(results) > 1 else results[0])
            else:
                for r in results:
                    print(f"{r['set']}: {r['labels']} labels, {r['tags']} tags on {r['photos']} photos")
        elif action == "show":
            if rest:
                items = [(str(library.photo(p).path), library.tags.of(p)) for p in rest]
            else:
                items = library.tags.all()
            if args.json:
                emit_json([{"path": path, "tags": [t.to_json() for t in tags]} for path, tags in items])
            else:
                for path, tags in items:
                    shown = ", ".join(f"{t.set}/{t.label}"
                                      + (" (manual)" if t.source == "manual" else f" {t.score:.2f}")
                                      for t in tags)
                    print(f"{path}: {shown or '-'}")
        elif action == "list":
            sets = library.tags.sets()
            if args.json:
                emit_json(sets)
            else:
                for s in sets:
                    print(f"{s['name']}: {len(s['labels'])} labels, {s['tags']} tags "
                          f"({', '.join(s['labels'])})")
                if not sets:
                    say("No prompt sets yet: 'photosense tags apply FILE.toml' adds one "
                         "(defaults ship in resources/prompt_sets).")
        elif action == "remove":
            removed = {name: library.tags.remove(name) for name in rest}
            if args.json:
                emit_json({"removed": removed})
            else:
                for name, n in removed.items():
                    print(f"removed {name} ({n} tags)")
        elif action in ("accept", "reject"):
            label, photos = rest[0], rest[1:]
            getattr(library.tags, action)(label, photos)
            result = [{"path": str(library.photo(p).path), "tags": [t.to_json() for t in library.tags.of(p)]}
                      for p in photos]
            if args.json:
                emit_json(result)
            else:
                print(f"{action}ed {label} on {len(photos)} photo(s)")
        elif action == "export-xmp":
            report = library.tags.export_xmp(rest or None, min_score=args.min_score)
            if args.json:
                emit_json(report)
            else:
                print(f"{report['written']} sidecars written, {report['unchanged']} already up to date, "
                      f"{len(report['failed'])} failed")
                for f in report["failed"]:
                    print(f"  failed {f['path']}: {f['reason']}", file=sys.stderr)
            return 1 if report["failed"] else EXIT_OK
    return EXIT_OK


# -- albums -----------------------------------------------------------------------------------

def _filters(args: argparse.Namespace):
    from photosense.core.query import Filters, _date_bound

    return Filters(folders=list(args.folder or []),
                   after=_date_bound(args.after, "after", False) if args.after else None,
                   before=_date_bound(args.before, "before", True) if args.before else None,
                   tags=list(args.tag or []), cameras=list(args.camera or []))


def cmd_album(args: argparse.Namespace) -> int:
    """album create|show|list|delete|pin|exclude|reset|rename."""
    action, rest = args.action, args.args
    if action != "list" and not rest:
        say(f"[bold red]photosense:[/] usage: photosense album {action} NAME"
             + (" PATH..." if action in ("pin", "exclude", "reset") else ""))
        return 2
    with open_library(args) as library:
        albums = library.albums
        if action == "create":
            if args.manual and args.description:
                say("[bold red]photosense:[/] a --manual album has no --description (pin photos into it).")
                return 2
            album = albums.create(rest[0], args.description, _filters(args), manual=args.manual)
            if args.json:
                emit_json(album.to_json())
            else:
                print(f"album {album.name!r}: {album.count} photos")
        elif action == "show":
            hits = albums.photos(rest[0], limit=args.limit, stack=False if args.no_stack else None)
            if args.json:
                emit_json([{k: v for k, v in h.to_json().items() if k != "id"} for h in hits])
            else:
                print_hits(hits, False)
        elif action == "list":
            listed = albums.list()
            if args.json:
                emit_json([a.to_json() for a in listed])
            else:
                for a in listed:
                    print(f"{a.name}: {a.count} photos ({a.kind}"
                          + (f": {a.description}" if a.description else "") + ")")
        elif action == "delete":
            for name in rest:
                albums.delete(name)
            if args.json:
                emit_json({"deleted": rest})
        elif action == "rename":
            if len(rest) != 2:
                say("[bold red]photosense:[/] usage: photosense album rename NAME NEW_NAME")
                return 2
            album = albums.edit(rest[0], new_name=rest[1])
            if args.json:
                emit_json(album.to_json())
        elif action in ("pin", "exclude", "reset"):
            getattr(albums, action)(rest[0], rest[1:])
            album = albums.get(rest[0])
            if args.json:
                emit_json(album.to_json())
            else:
                print(f"album {album.name!r}: {album.count} photos")
    return EXIT_OK


def register(add: AddCommand, model_options: Callable[[argparse.ArgumentParser], Any]) -> None:
    """Add this group's subcommands to the parser (``add(name, func, help)`` returns the subparser)."""
    p = add("tags", cmd_tags, "tag photos with prompt sets: apply FILE.toml, show, list, remove SET, "
                              "accept|reject LABEL PATH..., export-xmp [PATH...]")
    p.add_argument("action", choices=("apply", "show", "list", "remove", "accept", "reject", "export-xmp"))
    p.add_argument("args", nargs="*", metavar="ARG",
                   help="apply: prompt set file(s); remove: set name(s); accept/reject: LABEL (or SET/LABEL) "
                        "then photo paths; show/export-xmp: optional photo paths")
    p.add_argument("--defaults", action="store_true",
                   help="apply: also the prompt sets that ship with PhotoSense (scenes, subjects, documents, events)")
    p.add_argument("--min-score", type=float, metavar="P",
                   help="export-xmp: only automatic tags scoring at least P (manual tags always go)")
    model_options(p)

    p = add("album", cmd_album, "smart albums that fill themselves from a description, and manual albums: "
                                "create, show, list, delete, rename, pin, exclude, reset")
    p.add_argument("action", choices=("create", "show", "list", "delete", "rename", "pin", "exclude", "reset"))
    p.add_argument("args", nargs="*", metavar="ARG", help="album NAME, then photo paths (pin/exclude/reset)")
    p.add_argument("--description", "-d", metavar="TEXT",
                   help="create: what the photos show; the search query language works here")
    p.add_argument("--manual", action="store_true", help="create: an album only of photos you pin")
    p.add_argument("--folder", action="append", metavar="DIR", help="create: only photos in this folder")
    p.add_argument("--after", metavar="DATE", help="create: taken on or after (YYYY[-MM[-DD]])")
    p.add_argument("--before", metavar="DATE", help="create: taken before (YYYY[-MM[-DD]])")
    p.add_argument("--tag", action="append", metavar="LABEL", help="create: only photos with this tag")
    p.add_argument("--camera", action="append", metavar="TEXT", help="create: only photos from this camera")
    p.add_argument("--limit", "-n", type=int, metavar="N", help="show: at most N photos")
    p.add_argument("--no-stack", action="store_true",
                   help="show: list every copy and burst shot (by default a stack shows once)")
    model_options(p)
