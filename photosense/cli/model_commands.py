"""Model commands of the CLI: list the library's models, switch to another (resumable), cancel, prune."""
from __future__ import annotations

import argparse
import threading
from collections.abc import Callable
from typing import Any

from photosense.cli.common import EXIT_OK, emit_json, graceful_stop, open_library, stderr_console
from photosense.cli.progress import IndexProgress

AddCommand = Callable[..., argparse.ArgumentParser]


def cmd_model(args: argparse.Namespace) -> int:
    """model list | switch SPEC | resume | cancel | prune."""
    with open_library(args) as library:
        if args.action == "list":
            result: Any = library.models()
        elif args.action in ("switch", "resume"):
            if args.action == "switch" and not args.spec:
                raise SystemExit("photosense model switch: name the model to switch to (see 'photosense models')")
            cancel = threading.Event()
            with graceful_stop(cancel), IndexProgress(enabled=not args.json) as progress:
                kwargs = {"progress": progress.update, "cancel": cancel, "workers": args.workers}
                summary = (library.switch_model(args.spec, **kwargs) if args.action == "switch"
                           else library.resume_switch(**kwargs))
            result = summary.to_json() if summary is not None else {"model": library.model_spec, "done": True}
        elif args.action == "cancel":
            library.cancel_switch()
            result = {"model": library.model_spec, "switching_to": None}
        else:
            result = {"pruned": library.prune_models(), "model": library.model_spec}
    if args.json:
        emit_json(result)
    else:
        _say(args.action, result)
    return EXIT_OK


def _say(action: str, result: Any) -> None:
    con = stderr_console()
    if action == "list":
        for m in result:
            state = "serving" if m["serving"] else ("switching to" if m["switching_to"] else "kept")
            print(f"{state:<13} {m['model']:<40} {m['embedded']} items, {m['dim']}-d")
    elif action in ("switch", "resume"):
        if result.get("done"):
            con.print(f"The library now uses [bold]{result['model']}[/]"
                      + (f" ({result['embedded']} photos embedded)" if result.get("embedded") else ""))
        else:
            con.print(f"Stopped; search still uses the old model. Run 'photosense model resume' to go on to "
                      f"{result['model']}.")
    elif action == "cancel":
        con.print(f"No switch in progress; the library uses {result['model']}.")
    else:
        con.print(f"Pruned {len(result['pruned'])} models" + (f": {', '.join(result['pruned'])}" if result["pruned"]
                                                               else "") + f"; the library uses {result['model']}.")


def register(add: AddCommand, model_options: Callable[[argparse.ArgumentParser], Any]) -> None:
    """Add this group's subcommands to the parser (``add(name, func, help)`` returns the subparser)."""
    p = add("model", cmd_model, "the library's models: list; switch SPEC (re-embeds in the background while "
                                "search keeps serving, resumable); resume; cancel; prune (drop other models' "
                                "embeddings)")
    p.add_argument("action", choices=("list", "switch", "resume", "cancel", "prune"))
    p.add_argument("spec", nargs="?", metavar="SPEC", help="for switch: the model (see 'photosense models')")
    p.add_argument("--workers", type=int, metavar="N", help="decode threads (default: one per core)")
    p.add_argument("--device", metavar="DEV", help="auto (default), cpu, cuda, cuda:N or mps")
    p.add_argument("--precision", choices=("fp32", "fp16", "bf16"), help="model precision for the new model")
