"""Look and feel: sizes, the stylesheet, icons from resources/icons, placeholder tiles."""
from __future__ import annotations

from functools import cache

from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QIcon, QPainter, QPainterPath, QPixmap

from photosense.core.assets import resource

THUMB = 168  # thumbnail box in the grid, logical px
CELL = QSize(THUMB + 20, THUMB + 40)  # thumbnail + name + margins
TILE = QColor("#eceef2")
ACCENT = QColor("#2563eb")
TEXT_DIM = "#6b7280"

STYLESHEET = f"""
QMainWindow, QDialog {{ background: #f7f8fa; }}
QLineEdit#searchBar {{
    border: 1px solid #d5d9e0; border-radius: 10px; padding: 7px 12px; font-size: 15px;
    background: #ffffff; selection-background-color: {ACCENT.name()};
}}
QLineEdit#searchBar:focus {{ border: 1px solid {ACCENT.name()}; }}
QWidget#topBar {{ background: #ffffff; border-bottom: 1px solid #e3e6eb; }}
QTreeWidget#sidebar, QScrollArea#details, QWidget#detailsBody {{ background: #f1f3f6; border: none; }}
QTreeWidget#sidebar {{ font-size: 13px; padding-top: 4px; }}
QTreeWidget#sidebar::item {{ padding: 4px 6px; margin: 0 6px; border-radius: 6px; }}
QTreeWidget#sidebar::item:selected {{ background: #dbe4f5; color: #111827; }}
QWidget#sidebarPanel QToolButton {{ padding: 4px 6px; color: #374151; }}
QListView#grid {{ background: #ffffff; border: none; }}
QLabel#detailsTitle {{ font-size: 15px; font-weight: 600; color: #111827; }}
QLabel.fieldName {{ color: {TEXT_DIM}; }}
QLabel#sectionTitle {{ color: #6b7280; font-size: 11px; font-weight: 700; letter-spacing: 1px; }}
QLabel#problem {{ color: #b91c1c; }}
QWidget#tagRow {{ background: #ffffff; border-radius: 6px; }}
QLabel#tagName {{ color: #111827; }}
QToolButton:checked {{ background: #dbe4f5; border-radius: 4px; }}
QToolButton#link {{ color: {ACCENT.name()}; border: none; padding: 2px 4px; }}
QToolButton#link:hover {{ text-decoration: underline; }}
QToolButton#saveAlbum {{
    border: 1px solid #d5d9e0; border-radius: 8px; padding: 6px 10px; background: #ffffff; color: #1f2937;
}}
QToolButton#saveAlbum:hover {{ background: #f3f4f6; }}
QToolButton#saveAlbum:disabled {{ color: #9ca3af; }}
QListView#preview, QListWidget#labelList {{ background: #ffffff; border: 1px solid #e3e6eb; border-radius: 8px; }}
QListWidget#labelList {{ padding: 4px; }}
QListWidget#labelList::item {{ padding: 5px 8px; border-radius: 6px; color: #1f2937; }}
QListWidget#labelList::item:selected {{ background: #dbe4f5; color: #111827; }}
QDialog QLineEdit, QDialog QPlainTextEdit, QLineEdit#addTag {{
    border: 1px solid #d5d9e0; border-radius: 6px; padding: 4px 6px; background: #ffffff;
    selection-background-color: {ACCENT.name()};
}}
QDialog QLineEdit:focus, QDialog QPlainTextEdit:focus, QLineEdit#addTag:focus {{ border: 1px solid {ACCENT.name()}; }}
QDialog QLineEdit:disabled, QDialog QPlainTextEdit:disabled {{ background: #f3f4f6; color: #9ca3af; }}
QListWidget#folderChoice {{ border: 1px solid #d5d9e0; border-radius: 6px; background: #ffffff; padding: 2px; }}
QListWidget#folderChoice::item {{ padding: 3px 4px; color: #1f2937; }}
QPushButton#primary:disabled {{ background: #93b4f5; }}
QSplitter#editorSplitter::handle {{ background: transparent; }}
QLabel#emptyTitle {{ font-size: 20px; font-weight: 600; color: #111827; }}
QLabel#emptyText {{ font-size: 13px; color: {TEXT_DIM}; }}
QPushButton#primary {{
    background: {ACCENT.name()}; color: white; border: none; border-radius: 8px; padding: 8px 18px;
    font-size: 13px; font-weight: 600;
}}
QPushButton#primary:hover {{ background: #1d4ed8; }}
QToolButton#chip {{
    background: #e0e9fb; color: #1e3a8a; border: none; border-radius: 12px; padding: 4px 10px;
}}
QToolButton#chip:hover {{ background: #cddcf8; }}
QStatusBar {{ background: #ffffff; border-top: 1px solid #e3e6eb; }}
QStatusBar QLabel {{ color: #374151; padding: 0 6px; }}
QProgressBar {{ border: none; background: #e5e7eb; border-radius: 4px; max-height: 8px; min-width: 140px; }}
QProgressBar::chunk {{ background: {ACCENT.name()}; border-radius: 4px; }}
QSplitter::handle {{ background: #e3e6eb; }}
"""


def draw_fitted(painter: QPainter, pixmap: QPixmap | None, box: QRect) -> QRect:
    """Draw *pixmap* scaled to fit *box*, keeping its aspect ratio, centred; returns where it went (*box*
    itself, drawing nothing, if it is empty)."""
    if pixmap is None or pixmap.isNull():
        return QRect(box)
    size = pixmap.deviceIndependentSize().toSize().scaled(box.size(), Qt.AspectRatioMode.KeepAspectRatio)
    target = QRect(0, 0, size.width(), size.height())
    target.moveCenter(box.center())
    painter.drawPixmap(target, pixmap)
    return target


def draw_play(painter: QPainter, rect: QRectF, color: QColor) -> None:
    """A play triangle filling *rect* (drawn, so it needs no glyph in the font)."""
    path = QPainterPath(QPointF(rect.left(), rect.top()))
    path.lineTo(rect.right(), rect.center().y())
    path.lineTo(rect.left(), rect.bottom())
    path.closeSubpath()
    painter.fillPath(path, color)


@cache
def play_icon(color: str = "#ffffff") -> QIcon:
    """A filled play triangle (the primary "Play" button's, white on the accent)."""
    pixmap = QPixmap(48, 48)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    draw_play(painter, QRectF(15, 11, 22, 26), QColor(color))
    painter.end()
    return QIcon(pixmap)


def draw_badge(painter: QPainter, image: QRect, text: str, moment: bool = False) -> None:
    """A video's badge in the bottom right corner of *image*: a play triangle and *text* (its length, or a
    hit's moment "0:04 / 0:42", on the accent colour)."""
    painter.save()
    font = QFont(painter.font())
    font.setPixelSize(11)
    font.setWeight(QFont.Weight.DemiBold)
    painter.setFont(font)
    metrics = QFontMetrics(font)
    height, glyph = 18, 7
    width = min(image.width() - 8, metrics.horizontalAdvance(text) + glyph + 16)
    badge = QRectF(image.right() - 4 - width, image.bottom() - 4 - height, width, height)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(37, 99, 235, 235) if moment else QColor(17, 24, 39, 190))
    painter.drawRoundedRect(badge, 5, 5)
    draw_play(painter, QRectF(badge.left() + 6, badge.center().y() - glyph / 2, glyph * 0.9, glyph),
              QColor("white"))
    painter.setPen(QColor("white"))
    text_box = badge.adjusted(glyph + 9, 0, -5, 0)
    painter.drawText(text_box, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                     metrics.elidedText(text, Qt.TextElideMode.ElideRight, int(text_box.width())))
    painter.restore()


def _stack_font(base: QFont | None = None) -> QFont:
    font = QFont(base) if base is not None else QFont()
    font.setPixelSize(11)
    font.setWeight(QFont.Weight.DemiBold)
    return font


def stack_badge_rect(image: QRect, count: int) -> QRectF:
    """Where a folded stack's badge sits on *image*: its top right corner (a video's badge is bottom right)."""
    width = min(image.width() - 8, QFontMetrics(_stack_font()).horizontalAdvance(str(count)) + 27)
    return QRectF(image.right() - 4 - width, image.top() + 4, width, 18)


def draw_stack_badge(painter: QPainter, image: QRect, count: int) -> None:
    """A folded stack's pill in the top right corner of *image*: two stacked frames (drawn, so no glyph is
    needed from the font) and the number of items; a click on it opens the stack."""
    painter.save()
    font = _stack_font(painter.font())
    painter.setFont(font)
    badge = stack_badge_rect(image, count)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QColor(255, 255, 255, 200))
    painter.setBrush(QColor(17, 24, 39, 200))
    painter.drawRoundedRect(badge, 9, 9)
    white = QColor("white")
    painter.setPen(white)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    top, left = badge.center().y() - 5, badge.left() + 7
    painter.drawRoundedRect(QRectF(left + 3, top, 7, 7), 1.5, 1.5)  # the frame behind
    painter.setBrush(QColor(17, 24, 39))
    painter.drawRoundedRect(QRectF(left, top + 3, 7, 7), 1.5, 1.5)  # the frame in front
    painter.drawText(badge.adjusted(17, 0, -4, 0), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignHCenter,
                     str(count))
    painter.restore()


def draw_text_badge(painter: QPainter, image: QRect) -> None:
    """A search hit found by the words in the photo: a small "Aa" pill in the top left corner of *image*."""
    painter.save()
    font = QFont(painter.font())
    font.setPixelSize(11)
    font.setWeight(QFont.Weight.Bold)
    painter.setFont(font)
    badge = QRectF(image.left() + 4, image.top() + 4, QFontMetrics(font).horizontalAdvance("Aa") + 12, 18)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(37, 99, 235, 235))
    painter.drawRoundedRect(badge, 5, 5)
    painter.setPen(QColor("white"))
    painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, "Aa")
    painter.restore()


def icon(name: str) -> QIcon:
    """An icon from resources/icons (SVG)."""
    return QIcon(str(resource("icons", f"{name}.svg")))


def _tile(symbol: str) -> QPixmap:
    pixmap = QPixmap(THUMB, THUMB)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(TILE)
    painter.drawRoundedRect(QRectF(0, 0, THUMB, THUMB), 8, 8)
    side = THUMB // 4
    icon(symbol).paint(painter, (THUMB - side) // 2, (THUMB - side) // 2, side, side)
    painter.end()
    return pixmap


@cache
def placeholder_pixmap() -> QPixmap:
    """The tile shown while a thumbnail is being made."""
    return _tile("image")


@cache
def broken_pixmap() -> QPixmap:
    """The tile of a file that cannot be shown."""
    return _tile("broken")
