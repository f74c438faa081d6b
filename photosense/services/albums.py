"""``library.albums``: smart albums (a description and filters, filled above the cut-off) and manual ones."""
from __future__ import annotations

import os
from collections.abc import Iterable

import numpy as np

from photosense.core.catalog import EXCLUDED, MANUAL, PINNED, SMART, Album
from photosense.core.query import Filters, parse
from photosense.core.search import Hit
from photosense.services.context import LibraryContext
from photosense.services.organizer import Organizer
from photosense.services.search import SearchService


class Albums:
    """Smart and manual albums of a library (``library.albums``)."""

    def __init__(self, ctx: LibraryContext, organizer: Organizer, search: SearchService) -> None:
        self._ctx = ctx
        self._catalog = ctx.catalog
        self._organizer = organizer
        self._search = search

    def create(self, name: str, description: str | None = None, filters: Filters | dict | None = None, *,
               manual: bool = False, threshold: float | None = None) -> Album:
        """Create an album. Smart (default): *description* is a query (the search language works, so a
        saved search is an album) plus optional *filters*; it fills with the photos above the
        relevance cut-off now and whenever photos are indexed later. Manual: only pinned photos."""
        filters = filters if isinstance(filters, Filters) else Filters.from_json(filters)
        if description is not None:
            parse(description)  # a bad query fails before anything is stored
        with self._ctx.write_lock:
            self._catalog.create_album(name, MANUAL if manual else SMART, description, filters, threshold)
            album = self._catalog.album(" ".join(name.split()))
            self._organizer.match(album)
        return self._catalog.album(album.name)

    def save_search(self, name: str, query: str) -> Album:
        """A smart album from the current search query (filters included)."""
        return self.create(name, description=query)

    def list(self) -> list[Album]:
        """Every album with its photo count."""
        return self._catalog.albums()

    def get(self, name: str) -> Album:
        """One album by name."""
        return self._catalog.album(name)

    def photos(self, name: str, limit: int | None = None, *, stack: bool | None = None) -> list[Hit]:
        """The album's photos, best first (score: cosine to the description; 1.0 for manual albums). With
        *stack* (default: the library's setting) a stack shows once (``Hit.stack``): in a smart album as its
        best member, in a manual one as its keeper; its count is how many of its members the album has."""
        album = self.get(name)
        members = self._catalog.album_members(album.id)
        if stack if stack is not None else self._search.stacking:
            folded = dict(self._search.fold([pid for pid, _, _, _ in members],
                                            cover="best" if album.kind == SMART else "keeper",
                                            scores=[-1.0 if score is None else score for _, _, score, _ in members]))
            members = [m for m in members if m[0] in folded]
        else:
            folded = {}
        members = members[:limit]
        items = self._catalog.photos_by_ids([pid for pid, _, _, _ in members])
        videos = [pid for pid, _, _, _ in members if pid in items and items[pid].is_video]
        moments = self._best_moments(album, videos) if videos else {}
        return [self._search.hit(items[pid], 1.0 if score is None else float(score), ("album",), moments.get(pid),
                                 folded.get(pid, 1))
                for pid, _, score, _ in members if pid in items]

    def _best_moments(self, album: Album, videos: list[int]) -> dict[int, float]:
        """Video id -> the moment (seconds) that matches a smart album's description best."""
        if album.kind != SMART or not album.description:
            return {}
        compiled = self._search.compile(parse(album.description))
        embedded = [v for v in videos if self._search.is_embedded(v)]
        if compiled.vector is None or not embedded:
            return {}
        rows, starts = self._search.item_vectors(embedded)
        frames = self._catalog.frame_ids_by_video(self._ctx.model_id(), embedded)
        times = {f: t for v in embedded for f, t in self._catalog.frames_of(v, self._ctx.model_id())}
        cos = rows @ compiled.vector
        ends = [*starts[1:].tolist(), len(rows)]
        return {v: times[frames[v][int(np.argmax(cos[a:b]))]] for v, a, b in zip(embedded, starts.tolist(), ends)}

    def delete(self, name: str) -> None:
        """Delete an album (never its photos)."""
        self._catalog.delete_album(self.get(name).id)

    def edit(self, name: str, *, new_name: str | None = None, description: str | None = None,
             filters: Filters | dict | None = None) -> Album:
        """Rename an album or change what a smart album collects (its matches are recomputed)."""
        album = self.get(name)
        if description is not None:
            parse(description)
        if filters is not None and not isinstance(filters, Filters):
            filters = Filters.from_json(filters)
        with self._ctx.write_lock:
            self._catalog.update_album(album.id, name=new_name, description=description, filters=filters)
            album = self.get(" ".join(new_name.split()) if new_name else name)
            if description is not None or filters is not None:
                self._organizer.match(album)
        return self.get(album.name)

    def pin(self, name: str, photo_paths: Iterable[str | os.PathLike[str]]) -> None:
        """Put photos in an album for good (also "add to album" for manual albums)."""
        album = self.get(name)
        ids = [self._ctx.photo(p).id for p in photo_paths]
        scores = {}
        if album.kind == SMART and album.description:
            compiled = self._search.compile(parse(album.description))
            if compiled.vector is not None:
                embedded = [i for i in ids if self._search.is_embedded(i)]
                if embedded:
                    rows, starts = self._search.item_vectors(embedded)
                    best = np.maximum.reduceat(rows @ compiled.vector, starts)
                    scores = dict(zip(embedded, best.tolist()))
        self._catalog.set_album_state(album.id, ids, PINNED, scores)

    add = pin

    def exclude(self, name: str, photo_paths: Iterable[str | os.PathLike[str]]) -> None:
        """Keep photos out of an album for good (a smart album never re-adds them)."""
        album = self.get(name)
        self._catalog.set_album_state(album.id, [self._ctx.photo(p).id for p in photo_paths], EXCLUDED)

    def reset(self, name: str, photo_paths: Iterable[str | os.PathLike[str]]) -> None:
        """Undo pins and excludes: the album's own matching decides again."""
        album = self.get(name)
        ids = [self._ctx.photo(p).id for p in photo_paths]
        self._catalog.unset_album_state(album.id, ids)
        self._organizer.match(album, np.asarray(ids, np.int64))

    def excluded(self, name: str) -> list[str]:
        """Paths of the photos excluded from an album."""
        ids = self._catalog.album_states(self.get(name).id, EXCLUDED)
        return sorted(self._search.paths_of(ids).values())

    def of(self, path: str | os.PathLike[str]) -> list[str]:
        """Names of the albums a photo is shown in."""
        return self._catalog.albums_of(self._ctx.photo(path).id)
