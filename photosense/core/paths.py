"""File paths as the catalog stores them: absolute, normalized, as raw bytes so any file name fits."""
from __future__ import annotations

import os
from pathlib import Path

# Paths are stored as the file system's bytes (BLOB): names that are not valid UTF-8 round-trip
# exactly, and byte order makes "everything under a folder" a simple range query.
SEP = os.sep.encode()


def normalize(path: str | os.PathLike[str] | bytes) -> str:
    """Absolute, lexically normalized path (symlinks are kept as the user named them)."""
    text = os.fsdecode(path)
    return os.path.normpath(os.path.abspath(os.path.expanduser(text)))


def to_db(path: str | os.PathLike[str] | bytes) -> bytes:
    """The catalog key of *path*."""
    return os.fsencode(normalize(path))


def from_db(raw: bytes) -> str:
    """A catalog key back to a path string (undecodable bytes become surrogate escapes)."""
    return os.fsdecode(bytes(raw))


def folder_range(folder: str | os.PathLike[str]) -> tuple[bytes, bytes]:
    """Half-open byte range [lo, hi) holding every path strictly inside *folder*."""
    lo = to_db(folder).rstrip(SEP) + SEP
    return lo, lo[:-1] + bytes([SEP[0] + 1])


def is_inside(path: str | os.PathLike[str], folder: str | os.PathLike[str]) -> bool:
    """True when *path* is *folder* or lies under it."""
    p, f = to_db(path), to_db(folder).rstrip(SEP)
    return p == f or p.startswith(f + SEP)


def display(path: str | os.PathLike[str] | bytes) -> str:
    """A printable form of a path (undecodable bytes shown as \\xNN)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def as_path(raw: bytes) -> Path:
    """A catalog key as a ``Path``."""
    return Path(from_db(raw))
