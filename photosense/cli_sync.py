"""Sync commands of the CLI: watch, info, check (issue: live watching and crash safety)."""
from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

AddCommand = Callable[..., argparse.ArgumentParser]


def register(add: AddCommand, model_options: Callable[[argparse.ArgumentParser], Any]) -> None:
    """Add this group's subcommands to the parser (``add(name, func, help)`` returns the subparser)."""
