"""Records the catalog hands out: folders, photos, failures, tags and albums (plain frozen data)."""
from __future__ import annotations

from dataclasses import dataclass

from photosense.core.query import Filters

SMART, MANUAL = "smart", "manual"  # album kinds
MATCH, PINNED, EXCLUDED = "match", "pinned", "excluded"  # why a photo is in (or kept out of) an album
MANUAL_SET = "manual"  # the prompt set that holds labels a user accepts that no prompt set defines
# A video's moments are vectors in the same search index as photos: a frame's vector id is
# FRAME_BASE + its frame id, far above any photo id (ids are AUTOINCREMENT, so neither is reused).
FRAME_BASE = 1 << 40


def is_frame_vector(vector_id: int) -> bool:
    """True for the vector id of a video moment (not of a photo)."""
    return vector_id >= FRAME_BASE


@dataclass(frozen=True)
class Folder:
    """A library folder: a root that is scanned and watched."""

    id: int
    path: str


@dataclass(frozen=True)
class Photo:
    """One photo of the library, as the catalog knows it."""

    id: int
    path: str
    folder_id: int
    size: int
    mtime_ns: int
    hash: bytes | None
    width: int | None
    height: int | None
    taken_at: str | None
    camera: str | None
    indexed_at: float | None
    kind: str = "photo"  # "photo" or "video"
    duration: float | None = None  # seconds, for a video

    @property
    def is_video(self) -> bool:
        return self.kind == "video"


@dataclass(frozen=True)
class FileState:
    """What a scan compares against the disk: a known file's stat and hash."""

    id: int
    path: bytes
    size: int
    mtime_ns: int
    hash: bytes | None


@dataclass(frozen=True)
class Failure:
    """A file that could not be indexed, and why."""

    path: str
    reason: str
    failed_at: float


@dataclass(frozen=True)
class PhotoMeta:
    """What decoding learns about a photo besides its embedding."""

    width: int | None = None
    height: int | None = None
    taken_at: str | None = None
    camera: str | None = None


@dataclass(frozen=True)
class Tag:
    """A photo's tag: its set, label, calibrated score (None for a manual tag without one) and source."""

    set: str
    label: str
    score: float | None
    source: str  # "auto" | "manual"
    rejected: bool = False

    def to_json(self) -> dict:
        """The CLI's JSON form."""
        return {"set": self.set, "label": self.label,
                "score": None if self.score is None else round(float(self.score), 4), "source": self.source}


@dataclass(frozen=True)
class Album:
    """An album: smart (description, filters, optional expert threshold) or manual; *count* photos shown."""

    id: int
    name: str
    kind: str
    description: str | None
    filters: Filters
    threshold: float | None
    count: int = 0

    def to_json(self) -> dict:
        """The CLI's JSON form."""
        return {"name": self.name, "kind": self.kind, "description": self.description,
                "filters": self.filters.to_json(), "count": self.count}
