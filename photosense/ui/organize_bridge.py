"""Tags, prompt sets and albums for the GUI: ``library.tags`` / ``library.albums`` calls on worker pools, answers as signals."""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QObject, Signal

from photosense.core.errors import PhotoSenseError
from photosense.ui.bridge import LibraryBridge, user_message

log = logging.getLogger(__name__)

PREVIEW_LIMIT = 12


class OrganizeBridge(QObject):
    """Every method returns at once. Reads go to the io pool; model work (tagging, matching) to the organize pool."""

    albums = Signal(list)  # [Album]
    tags = Signal(list)  # [(set name, [(label, count)])]
    photoTags = Signal(str, list, list)  # path, [Tag] (rejected ones included), [album name]
    busy = Signal(str)  # a long task started ("" when none is running)
    done = Signal(str)  # a sentence for the status bar
    error = Signal(str)

    def __init__(self, bridge: LibraryBridge, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.pools = bridge.pools
        self.album_list: list = []
        self.tag_sets: list[tuple[str, list[tuple[str, int]]]] = []
        self._long = 0  # long tasks running
        self.albums.connect(lambda albums: setattr(self, "album_list", albums))
        self.tags.connect(lambda sets: setattr(self, "tag_sets", sets))

    @property
    def library(self):
        return self.bridge.library

    @property
    def working(self) -> bool:
        """A long task (tagging, album matching, a change to an album) is running."""
        return self._long > 0

    # -- plumbing -------------------------------------------------------------------------------

    def _read(self, func: Callable[[Any], Any], on_done: Callable[[Any], None] | None = None) -> None:
        library = self.library
        if library is not None:
            self.pools.run(self.pools.io, lambda: func(library), on_done, self._failed)

    def _write(self, message: str, func: Callable[[Any], Any], on_done: Callable[[Any], None] | None = None,
               refresh: bool = True) -> None:
        """A long task (model work, the writer lock) on the organize pool, announced by ``busy``."""
        library = self.library
        if library is None:
            return
        self._long += 1
        self.busy.emit(message)

        def finish(result: Any, err: BaseException | None = None) -> None:
            self._long -= 1
            if self._long == 0:
                self.busy.emit("")
            if refresh:
                self.refresh()
            if err is not None:
                self._failed(err)
            elif on_done is not None:
                on_done(result)

        self.pools.run(self.pools.organize, lambda: func(library), finish, lambda err: finish(None, err))

    def _failed(self, err: BaseException) -> None:
        if not isinstance(err, PhotoSenseError):
            log.error("organize task failed", exc_info=err)
        self.error.emit(user_message(err))

    # -- reads ----------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Reload the sidebar's albums and tag counts."""
        self._read(lambda lib: lib.albums.list(), self.albums.emit)
        self._read(_tag_sets, self.tags.emit)

    def load_photo_tags(self, path: str) -> None:
        self._read(lambda lib: (lib.tags.of(path, include_rejected=True), lib.albums.of(path)),
                   lambda result: self.photoTags.emit(path, result[0], result[1]))

    def load_prompt_set(self, name: str, on_done: Callable[[Any], None]) -> None:
        self._read(lambda lib: lib.tags.prompt_set(name), on_done)

    def preview(self, prompt_set, on_done: Callable[[Any], None], on_error: Callable[[BaseException], None]) -> None:
        """Top matches per label of an unsaved set, and its weak prompts (``library.tags.diagnose``):
        ``on_done((previews, weak))``; model work, on the search pool beside searches."""
        library = self.library
        if library is not None:
            self.pools.run(self.pools.search, lambda: (library.tags.preview(prompt_set, limit=PREVIEW_LIMIT),
                                                       library.tags.diagnose(prompt_set)), on_done, on_error)

    # -- prompt sets and tags -------------------------------------------------------------------

    def apply_set(self, prompt_set, on_done: Callable[[dict], None] | None = None,
                  on_error: Callable[[BaseException], None] | None = None) -> None:
        """Save the set in the library and tag every photo with it."""
        library = self.library
        if library is None:
            return
        self._long += 1
        self.busy.emit(f"Tagging photos with “{prompt_set.name}”…")

        def finish(result: Any, err: BaseException | None = None) -> None:
            self._long -= 1
            if self._long == 0:
                self.busy.emit("")
            self.refresh()
            if err is not None:
                (on_error or self._failed)(err)
                return
            self.done.emit(f"“{result['set']}”: {result['labels']} labels applied to {result['photos']:,} photos")
            if on_done is not None:
                on_done(result)

        self.pools.run(self.pools.organize, lambda: library.tags.apply(prompt_set), finish,
                       lambda err: finish(None, err))

    def apply_defaults(self) -> None:
        self._write("Tagging photos with the default prompt sets…", lambda lib: lib.tags.apply_defaults(),
                    lambda results: self.done.emit(f"Default prompt sets applied: {', '.join(r['set'] for r in results)}"))

    def remove_set(self, name: str) -> None:
        self._write(f"Removing “{name}”…", lambda lib: lib.tags.remove(name),
                    lambda _n: self.done.emit(f"Prompt set “{name}” removed"))

    def judge(self, label: str, paths: Sequence[str], accepted: bool, then: Callable[[], None] | None = None) -> None:
        """Accept or reject *label* ("set/label") on photos; the set is re-tagged with the new examples."""
        verb = "accept" if accepted else "reject"
        self._write(f"Learning from your choice ({label})…",
                    lambda lib: getattr(lib.tags, verb)(label, list(paths)),
                    lambda _r: then() if then else None)

    # -- albums ---------------------------------------------------------------------------------

    def create_album(self, name: str, description: str | None = None, filters: dict | None = None,
                     manual: bool = False, pin: Sequence[str] = (),
                     on_done: Callable[[Any], None] | None = None) -> None:
        def work(lib):
            album = lib.albums.create(name, description, filters, manual=manual)
            if pin:
                lib.albums.pin(album.name, list(pin))
            return lib.albums.get(album.name)

        self._write(f"Creating the album “{name}”…", work, lambda album: self._album_done(album, "created", on_done))

    def save_search(self, name: str, query: str, on_done: Callable[[Any], None] | None = None) -> None:
        self._write(f"Saving “{query}” as an album…", lambda lib: lib.albums.save_search(name, query),
                    lambda album: self._album_done(album, "created", on_done))

    def edit_album(self, name: str, on_done: Callable[[Any], None] | None = None, **changes: Any) -> None:
        self._write(f"Updating the album “{name}”…", lambda lib: lib.albums.edit(name, **changes),
                    lambda album: self._album_done(album, "updated", on_done))

    def delete_album(self, name: str, on_done: Callable[[Any], None] | None = None) -> None:
        self._write(f"Deleting the album “{name}”…", lambda lib: lib.albums.delete(name),
                    lambda _r: (self.done.emit(f"Album “{name}” deleted"), on_done and on_done(None)))

    def add_to_album(self, name: str, paths: Sequence[str], on_done: Callable[[Any], None] | None = None) -> None:
        count = len(paths)
        self._write(f"Adding {count:,} photo{'s' * (count != 1)} to “{name}”…",
                    lambda lib: lib.albums.pin(name, list(paths)),
                    lambda _r: (self.done.emit(f"{count:,} photo{'s' * (count != 1)} added to “{name}”"),
                                on_done and on_done(None)))

    def remove_from_album(self, album, paths: Sequence[str], on_done: Callable[[Any], None] | None = None) -> None:
        """Manual albums forget the photos; smart albums exclude them for good."""
        count = len(paths)

        def work(lib):
            if album.kind == "manual":
                lib.albums.reset(album.name, list(paths))
            else:
                lib.albums.exclude(album.name, list(paths))

        self._write(f"Removing {count:,} photo{'s' * (count != 1)} from “{album.name}”…", work,
                    lambda _r: (self.done.emit(f"{count:,} photo{'s' * (count != 1)} removed from “{album.name}”"),
                                on_done and on_done(None)))

    def _album_done(self, album, verb: str, on_done: Callable[[Any], None] | None) -> None:
        self.done.emit(f"Album “{album.name}” {verb}: {album.count:,} photo{'s' * (album.count != 1)}")
        if on_done is not None:
            on_done(album)


def _tag_sets(library) -> list[tuple[str, list[tuple[str, int]]]]:  # worker thread
    """Each prompt set with its labels that tag at least one photo, and their counts."""
    counts: dict[str, list[tuple[str, int]]] = {}
    for row in library.tags.counts():
        counts.setdefault(row["set"], []).append((row["label"], row["count"]))
    names = [s["name"] for s in library.tags.sets()]
    names += [n for n in counts if n not in names]
    return [(name, counts.get(name, [])) for name in names]
