"""One group of the Duplicates view: its photos side by side (thumbnails, size, resolution, format and date; where
a fact differs within the group, the keeper's value in bold and the values unlike it in bold amber), the keeper
marked, "Keep this one" on the others and "Trash the others"; a burst is a stack ("Burst: 5 shots") that opens
to its shots and has no trash control."""
from __future__ import annotations

from PySide6.QtCore import QMargins, QPoint, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPixmap
from PySide6.QtWidgets import (QFrame, QGridLayout, QHBoxLayout, QLabel, QLayout, QLayoutItem, QPushButton,
                               QSizePolicy, QVBoxLayout, QWidget)

from photosense.ui import style
from photosense.ui.duplicate_groups import FIELDS, Group, Shot, human_size

FIELD_NAMES = {"size": "Size", "resolution": "Resolution", "format": "Format", "date": "Taken"}
TILE_WIDTH = style.THUMB + 72  # room for "Resolution" and a bold "2024-06-01 09:00:00" side by side
TEXT_WIDTH = TILE_WIDTH - 28  # inside the margins and the keeper's border


class FlowLayout(QLayout):
    """Children left to right, wrapping to the next row when the width runs out."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 12) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self.setSpacing(spacing)
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._place(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._place(rect, move=True)

    def sizeHint(self) -> QSize:
        return self.minimumSize()

    def minimumSize(self) -> QSize:
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        m: QMargins = self.contentsMargins()
        return size + QSize(m.left() + m.right(), m.top() + m.bottom())

    def _place(self, rect: QRect, move: bool) -> int:
        m = self.contentsMargins()
        area = rect.marginsRemoved(m)
        x, y, row_height = area.x(), area.y(), 0
        for item in self._items:
            hint = item.sizeHint()
            if x + hint.width() > area.right() + 1 and row_height > 0:
                x, y, row_height = area.x(), y + row_height + self.spacing(), 0
            if move:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x += hint.width() + self.spacing()
            row_height = max(row_height, hint.height())
        return y + row_height - rect.y() + m.bottom()


class Thumb(QLabel):
    """A thumbnail box; a double click asks to open the photo (``opened``)."""

    opened = Signal(str)

    def __init__(self, path: str, stacked: int = 0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.stacked = stacked  # a burst's cover: how many shots it stands for (cards drawn behind)
        self.pixmap_set = False
        margin = 8 if stacked else 0
        self.setFixedSize(style.THUMB + margin, style.THUMB + margin)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setToolTip(f"{path}\nDouble-click to open")
        self.set_image(None)

    def set_image(self, pixmap: QPixmap | None) -> None:
        self.pixmap_set = pixmap is not None
        self._pixmap = pixmap if pixmap is not None else style.placeholder_pixmap()
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        box = QRect(0, 0, style.THUMB, style.THUMB)
        if self.stacked:  # the shots behind the cover, the size of the picture
            size = self._pixmap.deviceIndependentSize().toSize().scaled(box.size(), Qt.AspectRatioMode.KeepAspectRatio)
            picture = QRect(QPoint(0, 0), size)
            picture.moveCenter(box.center())
            for offset, fill in ((8, "#dfe3e9"), (4, "#eceff3")):
                painter.setPen(QColor("#b8c0cc"))
                painter.setBrush(QColor(fill))
                painter.drawRoundedRect(QRectF(picture.translated(offset, offset)).adjusted(0.5, 0.5, -0.5, -0.5), 4, 4)
        style.draw_fitted(painter, self._pixmap, box)
        painter.end()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        self.opened.emit(self.path)


class PhotoTile(QFrame):
    """One photo of a group: thumbnail, badge, name, folder, the compared facts and "Keep this one"."""

    keepClicked = Signal(str)

    def __init__(self, shot: Shot, group: Group, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.shot = shot
        self.setObjectName("dupTile")
        self.setProperty("keeper", shot.keep)
        self.setFixedWidth(TILE_WIDTH)
        self.thumb = Thumb(shot.path, parent=self)
        burst = group.kind == "burst"
        self.badge = QLabel(self)
        if shot.keep:
            self.badge.setObjectName("keepBadge")
            self.badge.setText(("Cover" if burst else "✓ Keep") + (" · your choice" if group.chosen else " · suggested"))
        elif not burst:
            self.badge.setObjectName("copyBadge")
            self.badge.setText("Copy · to trash")
            self.badge.setToolTip("“Trash the others” or “Trash all suggested” moves it to the system trash")
        else:
            self.badge.setObjectName("shotBadge")
            self.badge.setText("Shot, kept")
        self.name = QLabel(self)
        self.name.setObjectName("tileName")
        self.name.setText(self.name.fontMetrics().elidedText(shot.name, Qt.TextElideMode.ElideMiddle, TEXT_WIDTH))
        self.name.setToolTip(shot.path)
        self.folder = QLabel(self)
        self.folder.setObjectName("tileFolder")
        self.folder.setText(self.folder.fontMetrics().elidedText(shot.folder, Qt.TextElideMode.ElideLeft, TEXT_WIDTH))
        self.folder.setToolTip(shot.folder)
        facts = QGridLayout()
        facts.setHorizontalSpacing(8)
        facts.setVerticalSpacing(2)
        self.values: dict[str, QLabel] = {}
        keeper = group.keeper
        for row, name in enumerate(FIELDS):
            label = QLabel(FIELD_NAMES[name], self)
            label.setObjectName("factName")
            value = QLabel(shot.value(name), self)
            # a fact that differs within the group: the keeper's value is the reference (bold), the values
            # unlike it are highlighted (bold amber)
            differs = name in group.differing and shot.key(name) != keeper.key(name)
            reference = name in group.differing and shot.keep
            value.setObjectName("factDiffers" if differs else "factReference" if reference else "factValue")
            value.setProperty("differs", differs)
            value.setToolTip(shot.detail(name) + (f"\nUnlike {'the cover' if burst else 'the photo kept'}: "
                                                  f"{keeper.value(name)}" if differs else ""))
            self.values[name] = value
            facts.addWidget(label, row, 0)
            facts.addWidget(value, row, 1)
        facts.setColumnStretch(1, 1)
        self.keep_button = QPushButton("Use as cover" if burst else "Keep this one", self)
        self.keep_button.setObjectName("keepButton")
        self.keep_button.setToolTip("Show this shot for the burst" if burst else
                                    "Keep this photo instead; the others become the copies")
        self.keep_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.keep_button.setVisible(not shot.keep)
        self.keep_button.clicked.connect(lambda: self.keepClicked.emit(shot.path))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(4)
        layout.addWidget(self.thumb, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(4)
        layout.addWidget(self.badge, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.name)
        layout.addWidget(self.folder)
        layout.addSpacing(2)
        layout.addLayout(facts)
        layout.addStretch(1)
        layout.addWidget(self.keep_button)
        if shot.keep:  # the keeper's tile is as tall as the others, with no button
            layout.addSpacing(self.keep_button.sizeHint().height())


class GroupCard(QFrame):
    """A group: its title, what differs, "Trash the others" (not for a burst) and its photos side by side. A
    burst shows as a stack until "Show the shots"."""

    keepClicked = Signal(str)
    trashClicked = Signal(object)  # Group
    opened = Signal(str)
    thumbsAdded = Signal(list)  # [Thumb] made since the card was built (a burst opened)

    def __init__(self, group: Group, one_group: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dupGroup")
        self.group = group
        self.expanded = group.kind != "burst"
        self.thumbs: list[Thumb] = []
        self.tiles: list[PhotoTile] = []
        self.title = QLabel(group.title(), self)
        self.title.setObjectName("groupTitle")
        self.differs = QLabel(self._differs_text(), self)
        self.differs.setObjectName("groupNote")
        self.trash_button: QPushButton | None = None
        self.toggle: QPushButton | None = None
        header = QHBoxLayout()
        header.setSpacing(10)
        header.addWidget(self.title)
        header.addWidget(self.differs)
        header.addStretch(1)
        if group.trashable and one_group and group.copies:
            count = len(group.copies)
            self.trash_button = QPushButton(f"Trash the other{'s' * (count != 1)} · {human_size(group.freed)}", self)
            self.trash_button.setObjectName("dangerOutline")
            self.trash_button.setToolTip(f"Move {count} cop{'ies' if count != 1 else 'y'} of this group to the "
                                         "system trash (asks first)")
            self.trash_button.clicked.connect(lambda: self.trashClicked.emit(self.group))
            header.addWidget(self.trash_button)
        if group.kind == "burst":
            self.toggle = QPushButton(f"Show the {len(group.photos)} shots", self)
            self.toggle.setObjectName("linkButton")
            self.toggle.setCursor(Qt.CursorShape.PointingHandCursor)
            self.toggle.clicked.connect(lambda: self.set_expanded())
            header.addWidget(self.toggle)
        self.body = QWidget(self)
        self.flow = FlowLayout(self.body)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 14)
        layout.setSpacing(10)
        layout.addLayout(header)
        layout.addWidget(self.body)
        self.body.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self._fill()

    def _differs_text(self) -> str:
        g = self.group
        if g.kind == "burst":
            return "Shots taken seconds apart: kept together, never trashed"
        if not g.differing:
            return "Identical: same size, resolution, format and date"
        return "Differ in " + ", ".join(FIELD_NAMES[f].lower() if f != "date" else "date"
                                       for f in FIELDS if f in g.differing)

    def _fill(self) -> None:
        while (item := self.flow.takeAt(0)) is not None:
            if item.widget() is not None:
                item.widget().deleteLater()
        self.thumbs, self.tiles = [], []
        if self.expanded:
            for shot in self.group.photos:
                tile = PhotoTile(shot, self.group, self.body)
                tile.keepClicked.connect(self.keepClicked)
                tile.thumb.opened.connect(self.opened)
                self.flow.addWidget(tile)
                self.tiles.append(tile)
                self.thumbs.append(tile.thumb)
        else:
            cover = QFrame(self.body)
            cover.setObjectName("dupTile")
            cover.setProperty("keeper", True)
            thumb = Thumb(self.group.keeper.path, stacked=len(self.group.photos), parent=cover)
            thumb.opened.connect(self.opened)
            caption = QLabel(f"{self.group.keeper.name}\n{len(self.group.photos)} shots, "
                             f"{self.group.keeper.value('date')}", cover)
            caption.setObjectName("tileFolder")
            box = QVBoxLayout(cover)
            box.setContentsMargins(12, 12, 12, 12)
            box.addWidget(thumb, 0, Qt.AlignmentFlag.AlignHCenter)
            box.addWidget(caption)
            self.flow.addWidget(cover)
            self.thumbs.append(thumb)
        self.body.updateGeometry()

    def set_expanded(self, expanded: bool | None = None) -> None:
        """Open a burst's stack to its shots (or close it)."""
        self.expanded = (not self.expanded) if expanded is None else expanded
        if self.toggle is not None:
            self.toggle.setText("Show as a stack" if self.expanded else f"Show the {len(self.group.photos)} shots")
        self._fill()
        self.thumbsAdded.emit(self.thumbs)

    def tile(self, path: str) -> PhotoTile | None:
        return next((t for t in self.tiles if t.shot.path == path), None)
