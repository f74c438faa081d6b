"""Duplicates for the GUI: ``library.duplicates`` calls on the duplicates pool (one thread: finding, keeping,
trashing and undoing never overlap), answers as signals. It holds the groups the view shows.

Finding groups takes seconds on a big library; a find asked for while one runs is run once more afterwards
(never queued twice). A new keeper is shown at once and stored behind it; if the library refuses, the
groups are found again. A trash is confirmed in the window on the groups shown, and the library trashes
only if what it would remove is still exactly that (``duplicate_groups.agrees``).
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from photosense.core.errors import PhotoSenseError
from photosense.ui.bridge import LibraryBridge, user_message
from photosense.ui.duplicate_groups import (Found, Group, TrashPlan, agrees, human_size, load_groups, trash_plan,
                                            trashes_one_group)

log = logging.getLogger(__name__)


def _names(items: list[dict], reason: bool = True) -> str:
    """"a.jpg (why)" for the first item, and how many more."""
    first = items[0]
    text = os.path.basename(first["path"]) + (f" ({first['reason']})" if reason and first.get("reason") else "")
    return text + (f" and {len(items) - 1} more" if len(items) > 1 else "")


class DuplicatesBridge(QObject):
    """``groups`` (None until found), ``finding``, ``working`` (what is being done, "" when idle), ``undo_count``
    (copies the last trash can restore). Every method returns at once."""

    groupsChanged = Signal(list)  # [Group]
    groupChanged = Signal(int, object)  # index, Group (a new keeper)
    stateChanged = Signal()  # finding, working or undo_count changed
    removed = Signal()  # files left or came back: the grid, the status and the albums are stale
    message = Signal(str)  # a short sentence (done)
    error = Signal(str)  # a short sentence (failed)

    def __init__(self, bridge: LibraryBridge, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.pools = bridge.pools
        self.groups: list[Group] | None = None
        self.finding = False
        self.working = ""
        self.undo_count = 0
        self.one_group = False  # the library can trash one group's copies ("Trash the others")
        self._again = False
        self._tasks = 0

    @property
    def library(self):
        return self.bridge.library

    @property
    def busy(self) -> bool:
        """A task runs or waits on the pool (finding, a keeper being stored, a trash, an undo)."""
        return self._tasks > 0

    def count(self) -> int | None:
        return None if self.groups is None else len(self.groups)

    def plan(self, group: Group | None = None) -> TrashPlan:
        """What "Trash all suggested" (or one group's "Trash the others") would remove, from the groups shown."""
        return trash_plan(self.groups or [], group)

    # -- plumbing -------------------------------------------------------------------------------

    def _run(self, working: str, func: Callable, on_done: Callable, on_error: Callable | None = None) -> None:
        library = self.library
        if library is None:
            return
        self._tasks += 1
        if working:
            self.working = working
        self.stateChanged.emit()

        def finish(handler: Callable | None, value) -> None:
            self._tasks -= 1
            if self._tasks == 0:
                self.working = ""
            self.stateChanged.emit()
            if handler is not None:
                handler(value)

        self.pools.run(self.pools.duplicates, lambda: func(library), lambda v: finish(on_done, v),
                       lambda err: finish(on_error or self._failed, err))

    def _failed(self, err: BaseException) -> None:
        if not isinstance(err, PhotoSenseError):
            log.error("duplicates task failed", exc_info=err)
        self.error.emit(user_message(err))

    # -- finding --------------------------------------------------------------------------------

    def find(self) -> None:
        """Find the groups again (on the duplicates pool); ``groupsChanged`` follows."""
        if self.library is None:
            return
        if self.finding:
            self._again = True
            return
        self.finding = True
        self.one_group = trashes_one_group(self.library)
        self._run("", load_groups, self._found, self._find_failed)

    def _found(self, found: Found) -> None:
        self.finding = False
        self.groups, self.undo_count = found.groups, found.undo
        self.stateChanged.emit()
        self.groupsChanged.emit(self.groups)
        self._find_next()

    def _find_failed(self, err: BaseException) -> None:
        self.finding = False
        self.stateChanged.emit()
        self._failed(err)
        self._find_next()

    def _find_next(self) -> None:
        if self._again:
            self._again = False
            self.find()

    # -- the keeper -----------------------------------------------------------------------------

    def keep(self, path: str) -> None:
        """Make *path* its group's keeper: shown at once, stored on the pool (found again if refused)."""
        index = next((i for i, g in enumerate(self.groups or []) if any(p.path == path for p in g.photos)), None)
        if index is None:
            return
        group = self.groups[index].with_keeper(path)
        self.groups[index] = group
        self.groupChanged.emit(index, group)

        def refused(err: BaseException) -> None:
            self._failed(err)
            self.find()

        self._run("", lambda lib: lib.duplicates.keep(path), lambda _g: None, refused)

    # -- trash and undo -------------------------------------------------------------------------

    def trash(self, plan: TrashPlan) -> None:
        """Move the confirmed *plan*'s copies to the desktop trash (the confirmation was shown before)."""
        if not plan.count:
            return
        only = {"only": [i.path for i in plan.items]} if plan.group is not None else {}
        if only and not self.one_group:
            self.error.emit("This version of the library trashes every group at once: use “Trash all suggested”.")
            return
        noun = f"cop{'ies' if plan.count != 1 else 'y'}"
        self._run(f"Moving {plan.count:,} {noun} to the trash…",
                  lambda lib: lib.duplicates.trash(confirm=agrees(plan), **only), self._trashed)

    def _trashed(self, result: dict) -> None:
        if result.get("cancelled"):
            self.error.emit("The duplicates changed since they were listed: nothing was moved. Look again, then trash.")
            self.find()
            return
        gone = {t["path"] for t in result["trashed"]}
        count = len(gone)
        if count:
            self.undo_count = count
            self.groups = [g for g in (g.without(gone) for g in self.groups or []) if g is not None]
            self.groupsChanged.emit(self.groups)
            self.stateChanged.emit()
            self.removed.emit()
            self.message.emit(f"Moved {count:,} cop{'ies' if count != 1 else 'y'} to the trash, freeing "
                              f"{human_size(result['freed_bytes'])}. Undo (Ctrl+Z) brings them back.")
        if result.get("skipped"):
            self.error.emit(f"{len(result['skipped']):,} not moved: {_names(result['skipped'])}.")
        self.find()

    def undo(self) -> None:
        """Restore the last trash operation; the groups are found again."""
        if self.working:
            return
        self._run("Restoring from the trash…", lambda lib: lib.duplicates.undo(), self._restored)

    def _restored(self, result: dict) -> None:
        restored, failed = result["restored"], result["failed"]
        if restored:
            self.message.emit(f"Restored {len(restored):,} cop{'ies' if len(restored) != 1 else 'y'} from the trash.")
        if failed:
            self.error.emit(f"{len(failed):,} not restored: {_names(failed)}.")
        self.undo_count = 0
        self.stateChanged.emit()
        self.removed.emit()
        self.find()
