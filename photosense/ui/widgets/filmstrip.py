"""A video's filmstrip in the details panel: its sampled moments as small frames (made on the thumbnail
pool), the ones matching the search outlined, the best one and the chosen one marked; a click plays from
there."""
from __future__ import annotations

import math

from PySide6.QtCore import (QAbstractListModel, QModelIndex, QPersistentModelIndex, QPoint, QRect, QRectF, QSize, Qt,
                            Signal)
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QListView, QSizePolicy, QStyle, QStyledItemDelegate,
                               QStyleOptionViewItem)

from photosense.ui import style
from photosense.ui.thumbnailer import ThumbnailLoader
from photosense.ui.videos import Moment, clock

TimeRole = Qt.ItemDataRole.UserRole + 1  # seconds
RelevantRole = Qt.ItemDataRole.UserRole + 2  # passes the search's relevance cut-off
BestRole = Qt.ItemDataRole.UserRole + 3  # the moment the hit matched at
ReadyRole = Qt.ItemDataRole.UserRole + 4  # its frame has arrived (or cannot be made)

FRAME = QSize(66, 44)  # the frame's box: three to a row in the panel's default 228 px
CELL = QSize(FRAME.width() + 8, FRAME.height() + 24)  # frame, time, margins
MATCH = QColor("#f59e0b")  # amber: reads as "found here" next to the accent blue of the selection

Index = QModelIndex | QPersistentModelIndex


class MomentsModel(QAbstractListModel):
    """The moments of one video. Roles: display (its time), decoration (its frame), tooltip, time, relevant,
    best and ready."""

    def __init__(self, loader: ThumbnailLoader | None = None, parent=None) -> None:
        super().__init__(parent)
        self.path: str | None = None
        self._moments: list[Moment] = []
        self._pixmaps: dict[float, QPixmap] = {}
        self._broken: set[float] = set()
        self.loader = loader
        if loader is not None:
            loader.ready.connect(self._frame_ready)

    def set_moments(self, path: str | None, moments: list[Moment]) -> None:
        self.beginResetModel()
        if path != self.path:
            self._pixmaps.clear()
            self._broken.clear()
        self.path, self._moments = path, list(moments)
        self.endResetModel()

    def moments(self) -> list[Moment]:
        return list(self._moments)

    def row_of(self, t: float) -> int | None:
        return next((row for row, m in enumerate(self._moments) if abs(m.t - t) < 1e-6), None)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._moments)

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._moments) or index.column() != 0:
            return None
        moment = self._moments[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return clock(moment.t)
        if role == Qt.ItemDataRole.DecorationRole:
            return self._pixmap(moment.t)
        if role == Qt.ItemDataRole.ToolTipRole:
            found = ("Matches the search" if moment.relevant else
                     "The best match" if moment.best else "")
            return f"{clock(moment.t)}{' · ' + found if found else ''}\nClick to play from here"
        if role == TimeRole:
            return moment.t
        if role == RelevantRole:
            return moment.relevant
        if role == BestRole:
            return moment.best
        if role == ReadyRole:
            return moment.t in self._pixmaps or moment.t in self._broken
        return None

    def _pixmap(self, t: float) -> QPixmap:
        if t in self._pixmaps:
            return self._pixmaps[t]
        if t in self._broken:
            return style.broken_pixmap()
        if self.loader is not None and self.path is not None:
            self.loader.request(self.path, t)  # painted, i.e. visible
        return style.placeholder_pixmap()

    def _frame_ready(self, path: str, at: float | None, image: QImage) -> None:
        if path != self.path or at is None:
            return
        row = self.row_of(at)
        if row is None:
            return
        if image.isNull():
            self._broken.add(self._moments[row].t)
        else:
            self._pixmaps[self._moments[row].t] = QPixmap.fromImage(image)
        index = self.index(row, 0)
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])


class MomentDelegate(QStyledItemDelegate):
    """The frame with its outline (amber: matches the search, thicker for the best moment; blue: chosen)
    and its time below."""

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        return CELL

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        cell = option.rect
        box = QRect(cell.left() + (cell.width() - FRAME.width()) // 2, cell.top() + 4, FRAME.width(), FRAME.height())
        image = style.draw_fitted(painter, index.data(Qt.ItemDataRole.DecorationRole), box)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        relevant, best = index.data(RelevantRole), index.data(BestRole)
        if relevant or best or selected:
            color = style.ACCENT if selected else MATCH
            width = 3.0 if (best or selected) else 2.0
            painter.setPen(QPen(color, width))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(QRectF(image).adjusted(-width / 2, -width / 2, width / 2, width / 2), 3, 3)
        text = QRect(cell.left(), image.bottom() + 4, cell.width(), 16)
        color = QColor("#b45309") if relevant or best else QColor(style.TEXT_DIM)
        font = painter.font()
        font.setPixelSize(11)
        font.setBold(bool(relevant or best))
        painter.setFont(font)
        label = index.data(Qt.ItemDataRole.DisplayRole) or ""
        if best:  # the moment the search found: "▶ 0:42", the triangle drawn (no font glyph needed)
            width = painter.fontMetrics().horizontalAdvance(label) + 10
            left = text.center().x() - width // 2
            style.draw_play(painter, QRectF(left, text.top() + 3.5, 6, 7), color)
            text = QRect(left + 10, text.top(), width, text.height())
            painter.setPen(color)
            painter.drawText(text, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, label)
        else:
            painter.setPen(color)
            painter.drawText(text, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, label)
        painter.restore()


class Filmstrip(QListView):
    """The moments in rows as wide as the panel, as tall as they need (the panel scrolls).
    ``momentClicked(seconds)``: a frame was clicked; ``momentMenu(seconds, global pos)``: right-clicked."""

    momentClicked = Signal(float)
    momentMenu = Signal(float, QPoint)

    def __init__(self, loader: ThumbnailLoader | None = None, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("filmstrip")
        self.moments = MomentsModel(loader, self)
        self.setModel(self.moments)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setGridSize(CELL)
        self.setSpacing(0)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QListView.Shape.NoFrame)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)  # as wide as the panel
        self.setMinimumWidth(CELL.width())
        self.setItemDelegate(MomentDelegate(self))
        self.setMouseTracking(True)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._menu)
        self.clicked.connect(lambda index: self.momentClicked.emit(index.data(TimeRole)))
        self.moments.modelReset.connect(self._fit_height)

    def set_moments(self, path: str | None, moments: list[Moment]) -> None:
        self.moments.set_moments(path, moments)

    def choose(self, t: float | None) -> None:
        """Show *t* as the chosen moment (None: none)."""
        row = None if t is None else self.moments.row_of(t)
        if row is None:
            self.clearSelection()
        else:
            self.setCurrentIndex(self.moments.index(row, 0))

    def _menu(self, pos: QPoint) -> None:
        index = self.indexAt(pos)
        if index.isValid():
            self.momentMenu.emit(index.data(TimeRole), self.viewport().mapToGlobal(pos))

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.momentClicked.emit(self.currentIndex().data(TimeRole))  # the keyboard's click
            return
        super().keyPressEvent(event)

    def _fit_height(self) -> None:
        width = self.viewport().width()
        columns = max(1, (width - 1) // CELL.width()) if width > 0 else 3  # as QListView wraps: past right()
        rows = math.ceil(self.moments.rowCount() / columns)
        self.setFixedHeight(rows * CELL.height() + 2 * self.frameWidth())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_height()
