"""A photo's tags in the details panel: each with its score and accept / reject buttons, plus "add a tag"."""
from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QToolButton, QVBoxLayout, QWidget

from photosense.ui import style


class TagRow(QWidget):
    """One tag: "label · set  0.83  [✓] [✕]". Accepted shows ✓ pressed; rejected is struck out with ✕ pressed."""

    judged = Signal(str, bool)  # "set/label", accepted

    def __init__(self, tag, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("tagRow")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.tag = tag
        self.key = f"{tag.set}/{tag.label}"
        self.name = QLabel(tag.label, self)
        self.name.setObjectName("tagName")
        if tag.rejected:
            font = QFont(self.name.font())
            font.setStrikeOut(True)
            self.name.setFont(font)
            self.name.setEnabled(False)
        origin = "added by you" if tag.source == "manual" and tag.score is None else tag.set
        self.name.setToolTip(f"{tag.label} — prompt set “{tag.set}”" + (
            f", score {tag.score:.2f}" if tag.score is not None else "") + (
            "\nYour choice: never changed by automatic tagging" if tag.source == "manual" else ""))
        self.origin = QLabel(origin, self)
        self.origin.setProperty("class", "fieldName")
        self.score = QLabel(f"{tag.score:.2f}" if tag.score is not None else "", self)
        self.score.setProperty("class", "fieldName")
        self.score.setFixedWidth(self.score.fontMetrics().horizontalAdvance("0.00") + 4)  # buttons line up
        self.score.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        accepted = tag.source == "manual" and not tag.rejected
        self.accept = self._button("check", "Right: keep this tag (your choice is never overwritten)", accepted)
        self.reject = self._button("close", "Wrong: remove this tag for good", tag.rejected)
        self.accept.clicked.connect(lambda: self._judge(True))
        self.reject.clicked.connect(lambda: self._judge(False))
        text = QVBoxLayout()
        text.setSpacing(0)
        text.addWidget(self.name)
        text.addWidget(self.origin)
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 4, 4)
        row.setSpacing(4)
        row.addLayout(text, 1)
        row.addWidget(self.score)
        row.addSpacing(4)
        row.addWidget(self.accept)
        row.addWidget(self.reject)

    def _button(self, icon: str, tip: str, checked: bool) -> QToolButton:
        button = QToolButton(self)
        button.setIcon(style.icon(icon))
        button.setIconSize(QSize(16, 16))
        button.setToolTip(tip)
        button.setCheckable(True)
        button.setChecked(checked)
        button.setAutoRaise(True)
        return button

    def _judge(self, accepted: bool) -> None:
        self.accept.setChecked(accepted)  # shown at once; the library confirms in the background
        self.reject.setChecked(not accepted)
        font = QFont(self.name.font())
        font.setStrikeOut(not accepted)
        self.name.setFont(font)
        self.name.setEnabled(accepted)
        self.judged.emit(self.key, accepted)


class TagList(QWidget):
    """Rows of TagRow and a field to add a tag by hand; emits ``judged("set/label" or "label", accepted)``."""

    judged = Signal(str, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[TagRow] = []
        self.empty = QLabel("No tags yet", self)
        self.empty.setProperty("class", "fieldName")
        self.add = QLineEdit(self)
        self.add.setObjectName("addTag")
        self.add.setPlaceholderText("Add a tag…")
        self.add.setClearButtonEnabled(True)
        self.add.returnPressed.connect(self._add)
        self.list = QVBoxLayout()
        self.list.setContentsMargins(0, 0, 0, 0)
        self.list.setSpacing(2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addLayout(self.list)
        layout.addWidget(self.empty)
        layout.addWidget(self.add)

    def set_tags(self, tags: Sequence) -> None:
        """Tags (``Tag``: set, label, score, source, rejected), best first; rejected ones last."""
        for row in self.rows:
            self.list.removeWidget(row)
            row.deleteLater()
        ordered = [t for t in tags if not t.rejected] + [t for t in tags if t.rejected]
        self.rows = [TagRow(tag, self) for tag in ordered]
        for row in self.rows:
            row.judged.connect(self.judged)
            self.list.addWidget(row)
        self.empty.setVisible(not self.rows)

    def row(self, label: str) -> TagRow | None:
        """The row of a label ("label" or "set/label")."""
        return next((r for r in self.rows if label in (r.key, r.tag.label)), None)

    def _add(self) -> None:
        label = " ".join(self.add.text().split())
        if label:
            self.add.clear()
            self.judged.emit(label, True)
