"""Errors PhotoSense reports to people: each carries a complete, human-readable message."""
from __future__ import annotations


class PhotoSenseError(Exception):
    """A problem with the user's environment or input, not a bug: show the message, no traceback."""

    exit_code = 1


class UsageError(PhotoSenseError):
    """The request itself is wrong (a bad spec, an unknown path)."""

    exit_code = 2


class ModelSpecError(UsageError):
    """A model spec string that names no model PhotoSense can load."""


class ModelUnavailable(PhotoSenseError):
    """Model weights could not be obtained (no network, a missing or unreadable file)."""


class ModelMismatch(PhotoSenseError):
    """The library's embeddings came from a different model than the one asked for."""


class NotInLibrary(UsageError):
    """A path that is not a photo of this library."""


class LibraryBusy(PhotoSenseError):
    """Another PhotoSense process is writing to this library."""


class StorageError(PhotoSenseError):
    """The disk refused a write (full, read-only, no permission); the previous files are intact."""


class ImageError(Exception):
    """A file that cannot be used as a photo; ``str(err)`` is the reason recorded for the user."""


class DownloadCancelled(PhotoSenseError):
    """The user stopped a model download (what arrived stays for the next try)."""


class OcrUnavailable(PhotoSenseError):
    """The text-recognition engine (or its models) is not installed or cannot start; the message says
    what to install."""
