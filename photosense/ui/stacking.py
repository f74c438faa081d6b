"""Stacks in the grid: the stacking setting (``library.stacking``) and a stack expanded as a browsing query."""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from photosense.ui.bridge import Query


class Stacking(QObject):
    """The controller's stacks: ``enabled`` (the library's setting, read when it opens; None until then),
    ``set_enabled(on)`` (stored on the io pool, then the grid refreshes), ``expand(path)`` (the grid shows
    the members of *path*'s stack, keeper first, as ``Query("stack", path)``) and ``back()`` (to what was
    shown before). ``changed(on)`` follows the setting."""

    changed = Signal(bool)

    def __init__(self, controller) -> None:
        super().__init__(controller)
        self.controller = controller
        self.enabled: bool | None = None
        self.before: Query | None = None  # what the grid showed before a stack was expanded
        controller.bridge.opened.connect(lambda _library: controller.bridge.load_stacking(self._loaded))

    def _loaded(self, on: bool) -> None:
        self.enabled = bool(on)
        self.changed.emit(self.enabled)

    def set_enabled(self, on: bool) -> None:
        """Fold stacks in results (True) or list every item; remembered in the library."""
        if on == self.enabled:
            return
        self.enabled = bool(on)
        self.changed.emit(self.enabled)
        self.controller.bridge.set_stacking(self.enabled, self.controller.refresh)

    def expand(self, path: str) -> None:
        """Show the members of the stack of *path* (a photo shown in the grid)."""
        c = self.controller
        if c.query.kind != "stack":
            self.before = c.query
        c.show(Query("stack", path))

    def back(self) -> None:
        """Leave an expanded stack for what was shown before it (a search, a folder...)."""
        c = self.controller
        if c.query.kind == "stack":
            before, self.before = self.before, None
            c.show(before or c.browse_query)
