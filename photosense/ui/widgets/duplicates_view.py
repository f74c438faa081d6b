"""The Duplicates view: every group as a card (``GroupCard``), a page at a time; a header with what was found,
the space "Trash all suggested" frees, "Undo", "Look again", a busy bar while groups are found or a trash
runs, and the last result or error in one short line. It only shows and asks: the window's
``DuplicateActions`` confirms and does the work."""
from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QScrollArea, QSizePolicy,
                               QStackedWidget, QVBoxLayout, QWidget)

from photosense.ui import style
from photosense.ui.duplicate_groups import Group, human_size, summary, trash_plan
from photosense.ui.thumbnailer import ThumbnailLoader
from photosense.ui.widgets.duplicate_card import GroupCard, Thumb
from photosense.ui.widgets.empty_state import EmptyState

PAGE = 30  # cards built at a time; "Show more" adds the next page
PIXMAPS_KEPT = 1500

STYLE = f"""
QWidget#duplicatesView, QWidget#dupBody, QScrollArea#dupScroll {{ background: #ffffff; border: none; }}
QWidget#dupHeader {{ background: #ffffff; border-bottom: 1px solid #e3e6eb; }}
QLabel#dupTitle {{ font-size: 18px; font-weight: 600; color: #111827; }}
QLabel#dupSummary, QLabel#busyLabel {{ color: {style.TEXT_DIM}; }}
QLabel#note {{ color: #166534; }}
QLabel#noteError {{ color: #b91c1c; }}
QFrame#dupGroup {{ background: #f7f8fa; border: 1px solid #e3e6eb; border-radius: 10px; }}
QFrame#dupTile {{ background: #ffffff; border: 1px solid #e3e6eb; border-radius: 8px; }}
QFrame#dupTile[keeper="true"] {{ border: 2px solid #16a34a; }}
QLabel#groupTitle {{ font-size: 14px; font-weight: 600; color: #111827; }}
QLabel#groupNote, QLabel#tileFolder, QLabel#factName {{ color: {style.TEXT_DIM}; }}
QLabel#tileName {{ color: #111827; font-weight: 600; }}
QLabel#factValue {{ color: #374151; }}
QLabel#factReference {{ color: #111827; font-weight: 700; }}
QLabel#factDiffers {{ color: #b45309; font-weight: 700; }}
QLabel#keepBadge {{ background: #dcfce7; color: #166534; border-radius: 8px; padding: 1px 8px; font-weight: 600; }}
QLabel#copyBadge {{ background: #fee2e2; color: #991b1b; border-radius: 8px; padding: 1px 8px; }}
QLabel#shotBadge {{ background: #eef0f3; color: #4b5563; border-radius: 8px; padding: 1px 8px; }}
QPushButton#danger {{ background: #dc2626; color: white; border: none; border-radius: 8px; padding: 7px 14px;
    font-weight: 600; }}
QPushButton#danger:hover {{ background: #b91c1c; }}
QPushButton#danger:disabled {{ background: #f1b2b2; }}
QPushButton#dangerOutline {{ border: 1px solid #fca5a5; color: #b91c1c; background: #ffffff; border-radius: 6px;
    padding: 4px 10px; }}
QPushButton#dangerOutline:hover {{ background: #fef2f2; }}
QPushButton#keepButton, QPushButton#secondary {{ border: 1px solid #d5d9e0; border-radius: 6px; padding: 4px 10px;
    background: #ffffff; color: #1f2937; }}
QPushButton#secondary {{ border-radius: 8px; padding: 7px 14px; }}
QPushButton#keepButton:hover, QPushButton#secondary:hover {{ background: #f3f4f6; }}
QPushButton#secondary:disabled {{ color: #9ca3af; }}
QPushButton#linkButton {{ border: none; background: transparent; color: {style.ACCENT.name()}; padding: 2px 4px; }}
QPushButton#linkButton:hover {{ text-decoration: underline; }}
"""


class DuplicatesView(QWidget):
    """Signals ask for the work: ``keepRequested(path)``, ``trashRequested(Group | None)`` (None: every
    suggested copy), ``undoRequested``, ``findRequested`` and ``openRequested(path)``."""

    keepRequested = Signal(str)
    trashRequested = Signal(object)
    undoRequested = Signal()
    findRequested = Signal()
    openRequested = Signal(str)

    def __init__(self, loader: ThumbnailLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("duplicatesView")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(STYLE)
        # the window's other pages set its minimum size; narrower than the header, this view scrolls or clips
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.loader = loader
        loader.ready.connect(self._thumbnail_ready)
        self.groups: list[Group] = []
        self.cards: list[GroupCard] = []
        self.one_group = False
        self.known = False  # groups have been found at least once
        self.limit = PAGE
        self._opened: set[frozenset[int]] = set()  # bursts opened to their shots (kept when groups are found again)
        self._pixmaps: OrderedDict[str, QPixmap] = OrderedDict()
        self._thumbs: dict[str, list[Thumb]] = {}
        self._build()
        self.set_state(finding=False, working="", undo_count=0)

    def _build(self) -> None:
        header = QWidget(self)
        header.setObjectName("dupHeader")
        header.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.title = QLabel("Duplicates", header)
        self.title.setObjectName("dupTitle")
        self.summary = QLabel(header)
        self.summary.setObjectName("dupSummary")
        self.find_button = self._button("Look again", "secondary", "Find the duplicates and bursts again")
        self.find_button.clicked.connect(self.findRequested)
        self.undo_button = self._button("Undo", "secondary", "Bring back what the last trash removed (Ctrl+Z)")
        self.undo_button.clicked.connect(self.undoRequested)
        self.trash_all_button = self._button("Trash all suggested", "danger",
                                             "Move every copy (not the photos marked Keep, never a burst) to the "
                                             "system trash; asks first")
        self.trash_all_button.clicked.connect(lambda: self.trashRequested.emit(None))
        self.busy_bar = QProgressBar(header)
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setTextVisible(False)
        self.busy_bar.setMaximumWidth(160)
        self.busy_label = QLabel(header)
        self.busy_label.setObjectName("busyLabel")
        self.note = QLabel(header)
        self.note.setObjectName("note")
        self.note.setWordWrap(True)
        self.note.hide()
        top = QHBoxLayout()
        top.setSpacing(8)
        top.addWidget(self.title)
        top.addStretch(1)
        for button in (self.find_button, self.undo_button, self.trash_all_button):
            top.addWidget(button)
        second = QHBoxLayout()
        second.setSpacing(8)
        second.addWidget(self.busy_bar)
        second.addWidget(self.busy_label)
        second.addWidget(self.summary, 1)
        box = QVBoxLayout(header)
        box.setContentsMargins(20, 14, 20, 12)
        box.setSpacing(6)
        box.addLayout(top)
        box.addLayout(second)
        box.addWidget(self.note)

        self.empty = EmptyState(self)
        self.content = QWidget(self)
        self.content.setObjectName("dupBody")
        self.list = QVBoxLayout(self.content)
        self.list.setContentsMargins(20, 16, 20, 20)
        self.list.setSpacing(14)
        self.more_button = self._button("", "secondary", "")
        self.more_button.clicked.connect(self.show_more)
        self.list.addWidget(self.more_button, 0, Qt.AlignmentFlag.AlignHCenter)
        self.list.addStretch(1)
        self.scroll = QScrollArea(self)
        self.scroll.setObjectName("dupScroll")
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setWidget(self.content)
        self.pages = QStackedWidget(self)
        self.pages.addWidget(self.empty)
        self.pages.addWidget(self.scroll)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(header)
        layout.addWidget(self.pages, 1)

    def _button(self, text: str, name: str, tip: str) -> QPushButton:
        button = QPushButton(text, self)
        button.setObjectName(name)
        button.setToolTip(tip)
        button.setCursor(Qt.CursorShape.PointingHandCursor)
        button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        return button

    # -- what is shown ----------------------------------------------------------------------------

    def show_groups(self, groups: list[Group], one_group: bool = False) -> None:
        """Show *groups* (a page at a time); the number of cards shown, the bursts opened and the scroll
        position are kept (groups are found again after indexing, a trash or an undo)."""
        self.known = True
        self.groups, self.one_group = list(groups), one_group
        bar = self.scroll.verticalScrollBar()
        position = bar.value()
        for card in self.cards:
            card.deleteLater()
        self.cards = []
        for index, group in enumerate(self.groups[:self.limit]):
            self._add_card(index, group)
        self._after_change()
        QTimer.singleShot(0, self, lambda: bar.setValue(position))  # once the new cards are laid out

    def update_group(self, index: int, group: Group) -> None:
        """One group changed (a new keeper): its card is made again in place."""
        if not 0 <= index < len(self.groups):
            return
        self.groups[index] = group
        if index < len(self.cards):
            old = self.cards.pop(index)
            self.list.removeWidget(old)
            old.deleteLater()
            self._add_card(index, group)
        self._after_change()

    def show_more(self) -> None:
        start = len(self.cards)
        self.limit = start + PAGE
        for index, group in enumerate(self.groups[start:self.limit], start):
            self._add_card(index, group)
        self._after_change()

    def _add_card(self, index: int, group: Group) -> GroupCard:
        card = GroupCard(group, self.one_group, self.content)
        if group.ids in self._opened:
            card.set_expanded(True)
        card.keepClicked.connect(self.keepRequested)
        card.trashClicked.connect(self.trashRequested)
        card.opened.connect(self.openRequested)
        card.thumbsAdded.connect(lambda _thumbs, card=card: self._toggled(card))
        self.cards.insert(index, card)
        self.list.insertWidget(index, card)
        return card

    def _toggled(self, card: GroupCard) -> None:
        (self._opened.add if card.expanded else self._opened.discard)(card.group.ids)
        self._register()

    def _after_change(self) -> None:
        self._register()
        left = len(self.groups) - len(self.cards)
        self.more_button.setText(f"Show {min(PAGE, left)} more groups ({left:,} not shown)")
        self.more_button.setVisible(left > 0)
        plan = trash_plan(self.groups)
        self.trash_all_button.setText(f"Trash all suggested · {human_size(plan.freed)}" if plan.count
                                      else "Trash all suggested")
        self.trash_all_button.setToolTip(
            f"Move {plan.count:,} cop{'ies' if plan.count != 1 else 'y'} (not the photos marked Keep, never a "
            f"burst) to the system trash, freeing {human_size(plan.freed)}; asks first" if plan.count else
            "There is no copy to remove")
        self.summary.setText(summary(self.groups) if self.groups else "")
        self._update_page()
        self._update_buttons()

    def _update_page(self) -> None:
        if self.groups:
            self.pages.setCurrentWidget(self.scroll)
            return
        if not self.known or self._finding:
            self.empty.show_message("image", "Looking for duplicates…",
                                    "Copies, re-saved or resized versions and bursts of the same shot\n"
                                    "are being compared. This can take a little while on a big library.")
        else:
            self.empty.show_message("check", "No duplicates or bursts",
                                    "Copies of a photo, re-saved or resized versions and bursts\n"
                                    "show up here as soon as the library has any.")
        self.pages.setCurrentWidget(self.empty)

    def set_state(self, finding: bool, working: str, undo_count: int) -> None:
        """The busy bar (finding groups, or *working*: a trash or an undo running) and what can be done."""
        self._finding, self._working, self._undo = finding, working, undo_count
        busy = finding or bool(working)
        self.busy_bar.setVisible(busy)
        self.busy_label.setVisible(busy)
        self.busy_label.setText(working or "Looking for duplicates…")
        self.undo_button.setText(f"Undo · restore {undo_count:,}" if undo_count else "Undo")
        self._update_buttons()
        self._update_page()

    def _update_buttons(self) -> None:
        working = bool(self._working)
        self.undo_button.setEnabled(self._undo > 0 and not working)
        self.find_button.setEnabled(not self._finding and not working)
        self.trash_all_button.setEnabled(bool(trash_plan(self.groups).count) and not working and not self._finding)
        for card in self.cards:
            if card.trash_button is not None:
                card.trash_button.setEnabled(not working and not self._finding)
            for tile in card.tiles:  # a trash or an undo decides the groups; a keeper can be chosen after
                tile.keep_button.setEnabled(not working)

    def show_note(self, text: str, error: bool = False) -> None:
        """One short line under the summary: the last result, or what went wrong."""
        self.note.setObjectName("noteError" if error else "note")
        self.note.style().unpolish(self.note)  # the stylesheet's rule for the new name
        self.note.style().polish(self.note)
        self.note.setText(text)
        self.note.setVisible(bool(text))

    def card(self, index: int) -> GroupCard:
        return self.cards[index]

    # -- thumbnails -------------------------------------------------------------------------------

    def _register(self) -> None:
        """Every thumbnail box shown gets its picture, now (kept) or when the loader has made it."""
        self._thumbs = {}
        for card in self.cards:
            for thumb in card.thumbs:
                pixmap = self._pixmaps.get(thumb.path)
                if pixmap is not None:
                    thumb.set_image(pixmap)
                else:
                    self._thumbs.setdefault(thumb.path, []).append(thumb)
        for path in list(self._thumbs):  # synchronous pools answer inside request()
            self.loader.request(path)

    def _thumbnail_ready(self, path: str, at, image: QImage) -> None:
        if at is not None or path not in self._thumbs:
            return
        pixmap = style.broken_pixmap() if image.isNull() else QPixmap.fromImage(image)
        self._pixmaps[path] = pixmap
        while len(self._pixmaps) > PIXMAPS_KEPT:
            self._pixmaps.popitem(last=False)
        for thumb in self._thumbs.pop(path):
            thumb.set_image(pixmap)

    def thumbnails_pending(self) -> int:
        """Thumbnail boxes still showing the placeholder."""
        return sum(len(thumbs) for thumbs in self._thumbs.values())
