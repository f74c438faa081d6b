"""The grid's item model: GridItem rows (photos and videos); thumbnails asked for only when a row is painted."""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QImage, QPixmap

from photosense.ui import style
from photosense.ui.bridge import GridItem
from photosense.ui.thumbnailer import ThumbnailLoader
from photosense.ui.videos import clock

PathRole = Qt.ItemDataRole.UserRole + 1
ScoreRole = Qt.ItemDataRole.UserRole + 2
IdRole = Qt.ItemDataRole.UserRole + 3
StateRole = Qt.ItemDataRole.UserRole + 4  # "loading" | "ready" | "broken"
KindRole = Qt.ItemDataRole.UserRole + 5  # "photo" | "video"
DurationRole = Qt.ItemDataRole.UserRole + 6  # a video's length in seconds (None for a photo)
MomentRole = Qt.ItemDataRole.UserRole + 7  # a video hit's matching moment in seconds (None: its poster)
BadgeRole = Qt.ItemDataRole.UserRole + 8  # a video's corner badge: "0:42" (its length) or "0:04 / 0:42" (a hit)
StackRole = Qt.ItemDataRole.UserRole + 9  # how many items the row stands for (> 1: a folded stack)
TextHitRole = Qt.ItemDataRole.UserRole + 10  # True: a search hit found by the words in the photo

PIXMAP_CACHE = 3000  # decoded thumbnails kept in memory (~3000 × 170² × 4 B ≈ 350 MB worst case)

Index = QModelIndex | QPersistentModelIndex


def badge_text(item: GridItem) -> str | None:
    """The corner badge of a video: its length ("0:42"), or the moment that matched and the length
    ("0:04 / 0:42"); None for a photo."""
    if not item.is_video:
        return None
    length = clock(round(item.duration)) if item.duration else ""
    if item.at is None:
        return length or "video"
    return f"{clock(item.at)} / {length}" if length else clock(item.at)


class PhotoGridModel(QAbstractListModel):
    """GridItem rows. Roles: display name, decoration (a video hit's frame at its moment, else the photo or
    the poster), tooltip, path, score, id, state, kind, duration, moment, badge and stack."""

    def __init__(self, loader: ThumbnailLoader | None = None, parent=None) -> None:
        super().__init__(parent)
        self._items: list[GridItem] = []
        self._rows: dict[str, int] = {}
        self._pixmaps: OrderedDict[tuple[str, float | None], QPixmap] = OrderedDict()
        self._broken: set[tuple[str, float | None]] = set()
        self.loader = loader
        if loader is not None:
            loader.ready.connect(self._thumbnail_ready)

    # -- content --------------------------------------------------------------------------------

    def set_items(self, items: list) -> None:
        """Show *items*: GridItems, core Hits or (id, path[, score]) tuples."""
        self.beginResetModel()
        self._items = [GridItem.of(item) for item in items]
        self._rows = {item.path: row for row, item in enumerate(self._items)}
        self.endResetModel()
        if self.loader is not None:
            self.loader.forget_waiting()

    def items(self) -> list[GridItem]:
        return list(self._items)

    def item(self, path: str) -> GridItem | None:
        """The row showing *path*, or None."""
        row = self._rows.get(path)
        return None if row is None else self._items[row]

    def path(self, row: int) -> str:
        return self._items[row].path

    def paths(self) -> list[str]:
        return [item.path for item in self._items]

    def row_of(self, path: str) -> int | None:
        """The row showing *path*, or None."""
        return self._rows.get(path)

    def score(self, path: str) -> float | None:
        """The match score of *path* in a search (None when browsing, or when it is not shown)."""
        row = self._rows.get(path)
        return None if row is None else self._items[row].score

    # -- Qt model API ---------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._items)

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._items) or index.column() != 0:
            return None
        item = self._items[index.row()]
        path, key = item.path, (item.path, item.at if item.is_video else None)
        if role == Qt.ItemDataRole.DisplayRole:
            return Path(path).name
        if role == Qt.ItemDataRole.DecorationRole:
            return self._pixmap(key)
        if role == Qt.ItemDataRole.ToolTipRole:
            return _tooltip(item)
        if role == PathRole:
            return path
        if role == ScoreRole:
            return item.score
        if role == IdRole:
            return item.id
        if role == StateRole:
            return "broken" if key in self._broken else "ready" if key in self._pixmaps else "loading"
        if role == KindRole:
            return item.kind
        if role == DurationRole:
            return item.duration
        if role == MomentRole:
            return item.at
        if role == BadgeRole:
            return badge_text(item)
        if role == StackRole:
            return item.stack
        if role == TextHitRole:
            return item.by_text
        return None

    # -- thumbnails -----------------------------------------------------------------------------

    def _pixmap(self, key: tuple[str, float | None]) -> QPixmap:
        pixmap = self._pixmaps.get(key)
        if pixmap is not None:
            self._pixmaps.move_to_end(key)
            return pixmap
        if key in self._broken:
            return style.broken_pixmap()
        if self.loader is not None:
            self.loader.request(*key)  # asked only for rows being painted, i.e. visible ones
        return style.placeholder_pixmap()

    def _thumbnail_ready(self, path: str, at: float | None, image: QImage) -> None:
        key = (path, at)
        if image.isNull():
            self._broken.add(key)
        else:
            self._pixmaps[key] = QPixmap.fromImage(image)  # QPixmap only on the GUI thread
            while len(self._pixmaps) > PIXMAP_CACHE:
                self._pixmaps.popitem(last=False)
        row = self._rows.get(path)
        if row is not None:
            index = self.index(row, 0)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])


def _tooltip(item: GridItem) -> str:
    lines = [Path(item.path).name]
    if item.stack > 1:
        lines.append(f"Stack of {item.stack} (click its badge or press Ctrl+E to show them)")
    if item.is_video:
        lines.append(f"Video · {clock(round(item.duration))}" if item.duration else "Video")
        if item.at is not None:
            lines.append(f"Best moment ▶ {clock(item.at)}")
    if item.score is not None:
        lines.append(f"Match score {item.score:.3f}")
    found = [WHY[m] for m in item.matched if m in WHY]
    if found:
        lines.append("Found by " + ", ".join(found))
    return "\n".join(lines)


WHY = {"visual": "what it shows", "text": "the words in it", "name": "its file or folder name", "tag": "its tags"}
