"""The thumbnail grid: an icon-mode QListView with uniform cells, a painting delegate and key handling."""
from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPainter, QPalette, QPen
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from photosense.ui import style
from photosense.ui.models.photo_model import BadgeRole, MomentRole, PathRole, StackRole, TextHitRole


def thumb_box(cell: QRect) -> QRect:
    """The thumbnail's box in a cell (*cell*: the item's rect less the 4 px margin)."""
    return QRect(cell.left() + (cell.width() - style.THUMB) // 2, cell.top() + 6, style.THUMB, style.THUMB)


def fitted(pixmap, box: QRect) -> QRect:
    """Where draw_fitted puts *pixmap* in *box*."""
    if pixmap is None or pixmap.isNull():
        return QRect(box)
    size = pixmap.deviceIndependentSize().toSize().scaled(box.size(), Qt.AspectRatioMode.KeepAspectRatio)
    target = QRect(0, 0, size.width(), size.height())
    target.moveCenter(box.center())
    return target


class ThumbnailDelegate(QStyledItemDelegate):
    """Paints a rounded selection, the thumbnail centred in its box (a video with its badge: length, or
    the moment that matched; a folded stack with its count top right), and the elided file name."""

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        return style.CELL

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        cell = option.rect.adjusted(4, 4, -4, -4)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            painter.setPen(QPen(style.ACCENT, 2))
            painter.setBrush(QColor("#e6eefc"))
            painter.drawRoundedRect(cell, 10, 10)
        elif option.state & QStyle.StateFlag.State_MouseOver:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor("#f3f4f6"))
            painter.drawRoundedRect(cell, 10, 10)
        box = thumb_box(cell)
        image = style.draw_fitted(painter, index.data(Qt.ItemDataRole.DecorationRole), box)
        badge = index.data(BadgeRole)
        if badge:
            style.draw_badge(painter, image, badge, moment=index.data(MomentRole) is not None)
        count = index.data(StackRole) or 1
        if count > 1:
            style.draw_stack_badge(painter, image, count)
        if index.data(TextHitRole):
            style.draw_text_badge(painter, image)
        text_rect = QRect(cell.left() + 6, box.bottom() + 6, cell.width() - 12, cell.bottom() - box.bottom() - 8)
        name = option.fontMetrics.elidedText(index.data(Qt.ItemDataRole.DisplayRole) or "",
                                             Qt.TextElideMode.ElideMiddle, text_rect.width())
        painter.setPen(option.palette.color(QPalette.ColorRole.Text) if selected else QColor("#374151"))
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, name)
        painter.restore()


class GridView(QListView):
    """Enter/double-click opens (``activated``), Space previews, a click on a folded stack's count badge asks for
    its members (``stackRequested``); cells are uniform so 100k rows stay fast."""

    previewRequested = Signal(str)
    stackRequested = Signal(str)  # the path of a folded stack's cover

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("grid")
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.SinglePass)
        self.setGridSize(style.CELL)
        self.setSpacing(0)
        self.setWordWrap(False)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.verticalScrollBar().setSingleStep(24)
        self.setMouseTracking(True)
        self.setDragEnabled(False)
        self.setItemDelegate(ThumbnailDelegate(self))
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.setContentsMargins(8, 8, 8, 8)
        self.setViewportMargins(8, 8, 8, 0)

    def selected_paths(self) -> list[str]:
        rows = sorted(i.row() for i in self.selectionModel().selectedIndexes())
        return [self.model().index(r, 0).data(PathRole) for r in rows]

    def current_path(self) -> str | None:
        index = self.currentIndex()
        return index.data(PathRole) if index.isValid() else None

    def stack_badge_at(self, pos) -> str | None:
        """The path of the folded stack whose badge is at *pos* (viewport coordinates), or None."""
        index = self.indexAt(pos)
        count = index.data(StackRole) if index.isValid() else None
        if not count or count < 2:
            return None
        box = thumb_box(self.visualRect(index).adjusted(4, 4, -4, -4))
        image = fitted(index.data(Qt.ItemDataRole.DecorationRole), box)
        return index.data(PathRole) if style.stack_badge_rect(image, count).contains(pos.toPointF()) else None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        path = self.stack_badge_at(event.position().toPoint()) if event.button() == Qt.MouseButton.LeftButton else None
        if path is not None:
            self.stackRequested.emit(path)
            return
        super().mousePressEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and self.currentIndex().isValid():
            self.previewRequested.emit(self.current_path())
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.activated.emit(self.currentIndex())
            return
        super().keyPressEvent(event)
