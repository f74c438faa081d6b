"""Placeholder for the text recognition engine (issue 11): the interface only, no engine installed yet.

The real module (another branch) replaces this one; until then every reader is unavailable, so the
text stage leaves photos pending and search works on names, folders and tags.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from photosense.core.errors import OcrUnavailable

__all__ = ["TextLine", "TextResult", "TextReader", "OcrUnavailable", "create_reader", "engine_status"]

_MISSING = "text recognition engine not installed"


@dataclass(frozen=True)
class TextLine:
    """One recognized line: its text, its box (polygon corners, pixels) and the engine's confidence."""

    text: str
    box: tuple[tuple[float, float], ...]
    confidence: float


@dataclass(frozen=True)
class TextResult:
    """What a reader found in one image (``gated``: the cheap detector found no text, nothing was read)."""

    lines: tuple[TextLine, ...]
    gated: bool

    @property
    def text(self) -> str:
        """The lines joined by newlines."""
        return "\n".join(line.text for line in self.lines)


class TextReader:
    """Reads the text in images (the interface; this placeholder has no engine)."""

    engine: str = "none"

    def read_path(self, path: str | os.PathLike[str]) -> TextResult:
        """The text in an image file."""
        raise OcrUnavailable(_MISSING)

    def read_image(self, image: object, *, gate: bool = True) -> TextResult:
        """The text in a decoded image."""
        raise OcrUnavailable(_MISSING)


def create_reader(device: str | None = None) -> TextReader:
    """A reader on *device* (None: the best available); raises :class:`OcrUnavailable`."""
    raise OcrUnavailable(_MISSING)


def engine_status() -> tuple[bool, str]:
    """(usable, a sentence saying which engine or why not)."""
    return False, _MISSING
