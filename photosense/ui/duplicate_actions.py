"""The Duplicates view in the window: the view's requests go to the controller's ``DuplicatesBridge``, a trash
is confirmed first (``TrashDialog``: ``dialog`` is the one open now), Ctrl+Z undoes the last trash while the
view is shown, a double click previews a photo (or plays a video), and the sidebar shows the group count."""
from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

from photosense.core.filetypes import is_video_name
from photosense.ui.controller import MainController
from photosense.ui.dialogs.trash import TrashDialog
from photosense.ui.duplicate_groups import Group
from photosense.ui.photo_actions import PhotoActions
from photosense.ui.widgets.duplicates_view import DuplicatesView
from photosense.ui.widgets.sidebar import Sidebar


class DuplicateActions(QObject):
    """Connects *view* and *sidebar* to ``controller.duplicates``; ``undo_action`` holds Ctrl+Z."""

    def __init__(self, controller: MainController, view: DuplicatesView, sidebar: Sidebar,
                 photo_actions: PhotoActions, window: QWidget) -> None:
        super().__init__(window)
        self.controller = controller
        self.duplicates = d = controller.duplicates
        self.view = view
        self.sidebar = sidebar
        self.photo_actions = photo_actions
        self.window = window
        self.dialog: TrashDialog | None = None
        self.undo_action = QAction("Undo the last trash", window, shortcut=QKeySequence.StandardKey.Undo)
        self.undo_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.undo_action.triggered.connect(self.undo)
        window.addAction(self.undo_action)
        d.groupsChanged.connect(lambda groups: view.show_groups(groups, d.one_group))
        d.groupChanged.connect(view.update_group)
        d.stateChanged.connect(self._on_state)
        d.message.connect(view.show_note)
        d.error.connect(lambda text: view.show_note(text, error=True))
        controller.pageChanged.connect(lambda _page, _detail: self._on_state())
        view.keepRequested.connect(d.keep)
        view.trashRequested.connect(self.confirm_trash)
        view.undoRequested.connect(self.undo)
        view.findRequested.connect(d.find)
        view.openRequested.connect(self.open)
        self._on_state()

    def _on_state(self) -> None:
        d = self.duplicates
        self.view.set_state(d.finding, d.working, d.undo_count)
        self.sidebar.set_duplicates(d.count(), d.finding)
        self.undo_action.setEnabled(self.controller.duplicates_open and d.undo_count > 0 and not d.working)

    def confirm_trash(self, group: Group | None = None) -> TrashDialog | None:
        """Ask before the copies of every group (or of *group*) go to the trash; accepted, they go."""
        plan = self.duplicates.plan(group)
        if not plan.count or self.duplicates.busy:
            return None
        if self.dialog is not None:
            self.dialog.close()
        self.dialog = dialog = TrashDialog(plan, self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.duplicates.trash(plan))
        dialog.destroyed.connect(lambda: setattr(self, "dialog", None) if self.dialog is dialog else None)
        dialog.open()
        return dialog

    def undo(self) -> None:
        """Restore the last trash (the button, or Ctrl+Z while the view is shown)."""
        if self.controller.duplicates_open and self.duplicates.undo_count > 0:
            self.duplicates.undo()

    def open(self, path: str) -> None:
        if is_video_name(path):
            self.photo_actions.play(path)
        else:
            self.photo_actions.show_preview(path)
