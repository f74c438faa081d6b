"""The confirmation before duplicates go to the trash: what goes (each copy, where it is, its size, the photo
kept instead), the space freed, that it is the system trash (Undo brings them back) and that bursts are
kept. "Cancel" is the default button."""
from __future__ import annotations

import os

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QHeaderView, QLabel, QPushButton, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from photosense.ui.duplicate_groups import TrashPlan, human_size

STYLE = """
QLabel#confirmTitle { font-size: 16px; font-weight: 600; color: #111827; }
QLabel#confirmText { color: #374151; }
QTreeWidget#trashList { background: #ffffff; border: 1px solid #e3e6eb; border-radius: 6px; }
QTreeWidget#trashList::item { padding: 2px 4px; }
QPushButton#danger { background: #dc2626; color: white; border: none; border-radius: 8px; padding: 7px 14px;
    font-weight: 600; }
QPushButton#danger:hover { background: #b91c1c; }
"""


def copies(count: int) -> str:
    return f"{count:,} cop{'ies' if count != 1 else 'y'}"


class TrashDialog(QDialog):
    """Accepted: the plan's copies may go to the trash. ``paths()`` are the listed copies."""

    def __init__(self, plan: TrashPlan, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plan = plan
        self.setWindowTitle("Move to trash")
        self.setStyleSheet(STYLE)
        self.setMinimumWidth(640)
        scope = "of this group " if plan.group is not None else ""
        self.heading = QLabel(f"Move {copies(plan.count)} {scope}to the trash?", self)
        self.heading.setObjectName("confirmTitle")
        self.text = QLabel(
            f"They go to the system trash, freeing {human_size(plan.freed)}. In each group the photo marked "
            "Keep stays where it is and takes over the albums and tags of its copies. Bursts are kept: they are "
            "never trashed.\n\nUndo (Ctrl+Z in Duplicates) brings them back, and so does the system trash.", self)
        self.text.setObjectName("confirmText")
        self.text.setWordWrap(True)
        self.list = QTreeWidget(self)
        self.list.setObjectName("trashList")
        self.list.setRootIsDecorated(False)
        self.list.setHeaderLabels(["Goes to the trash", "Folder", "Size", "Kept instead"])
        self.list.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.list.setSelectionMode(QTreeWidget.SelectionMode.NoSelection)
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for item in plan.items:
            kept = os.path.basename(item.keeper)
            kept_in = os.path.basename(os.path.dirname(item.keeper))
            row = QTreeWidgetItem(self.list, [os.path.basename(item.path), os.path.dirname(item.path),
                                              human_size(item.size), f"{kept}  (in {kept_in})" if kept_in else kept])
            row.setToolTip(0, item.path)
            row.setToolTip(1, item.path)
            row.setToolTip(3, f"Kept: {item.keeper}")
            row.setTextAlignment(2, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        header = self.list.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        self.list.setMinimumHeight(min(320, 34 + 24 * max(2, len(plan.items))))
        self.move_button = QPushButton(f"Move {copies(plan.count)} to the trash", self)
        self.move_button.setObjectName("danger")
        self.move_button.setAutoDefault(False)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setDefault(True)
        self.buttons = QDialogButtonBox(self)
        self.buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.buttons.addButton(self.move_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 18, 20, 16)
        layout.setSpacing(10)
        layout.addWidget(self.heading)
        layout.addWidget(self.text)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.buttons)
        self.cancel_button.setFocus()

    def paths(self) -> list[str]:
        return [item.path for item in self.plan.items]
