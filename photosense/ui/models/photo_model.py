"""The grid's item model: (id, path, score) rows; thumbnails asked for only when a row is painted."""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QImage, QPixmap

from photosense.ui import style
from photosense.ui.thumbnailer import ThumbnailLoader

PathRole = Qt.ItemDataRole.UserRole + 1
ScoreRole = Qt.ItemDataRole.UserRole + 2
IdRole = Qt.ItemDataRole.UserRole + 3
StateRole = Qt.ItemDataRole.UserRole + 4  # "loading" | "ready" | "broken"

PIXMAP_CACHE = 3000  # decoded thumbnails kept in memory (~3000 × 170² × 4 B ≈ 350 MB worst case)

Index = QModelIndex | QPersistentModelIndex


class PhotoGridModel(QAbstractListModel):
    """Rows of (id, path, score or None). Roles: display name, decoration, tooltip, path, score, id."""

    def __init__(self, loader: ThumbnailLoader | None = None, parent=None) -> None:
        super().__init__(parent)
        self._items: list[tuple[int, str, float | None]] = []
        self._rows: dict[str, int] = {}
        self._pixmaps: OrderedDict[str, QPixmap] = OrderedDict()
        self._broken: set[str] = set()
        self.loader = loader
        if loader is not None:
            loader.ready.connect(self._thumbnail_ready)

    # -- content --------------------------------------------------------------------------------

    def set_items(self, items: list[tuple[int, str, float | None]]) -> None:
        self.beginResetModel()
        self._items = list(items)
        self._rows = {path: row for row, (_i, path, _s) in enumerate(self._items)}
        self.endResetModel()
        if self.loader is not None:
            self.loader.forget_waiting()

    def items(self) -> list[tuple[int, str, float | None]]:
        return list(self._items)

    def path(self, row: int) -> str:
        return self._items[row][1]

    def paths(self) -> list[str]:
        return [path for _i, path, _s in self._items]

    def row_of(self, path: str) -> int | None:
        """The row showing *path*, or None."""
        return self._rows.get(path)

    def score(self, path: str) -> float | None:
        """The match score of *path* in a search (None when browsing, or when it is not shown)."""
        row = self._rows.get(path)
        return None if row is None else self._items[row][2]

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
        photo_id, path, score = self._items[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return Path(path).name
        if role == Qt.ItemDataRole.DecorationRole:
            return self._pixmap(path)
        if role == Qt.ItemDataRole.ToolTipRole:
            name = Path(path).name
            return f"{name}\nMatch score {score:.3f}" if score is not None else name
        if role == PathRole:
            return path
        if role == ScoreRole:
            return score
        if role == IdRole:
            return photo_id
        if role == StateRole:
            return "broken" if path in self._broken else "ready" if path in self._pixmaps else "loading"
        return None

    # -- thumbnails -----------------------------------------------------------------------------

    def _pixmap(self, path: str) -> QPixmap:
        pixmap = self._pixmaps.get(path)
        if pixmap is not None:
            self._pixmaps.move_to_end(path)
            return pixmap
        if path in self._broken:
            return style.broken_pixmap()
        if self.loader is not None:
            self.loader.request(path)  # asked only for rows being painted, i.e. visible ones
        return style.placeholder_pixmap()

    def _thumbnail_ready(self, path: str, image: QImage) -> None:
        if image.isNull():
            self._broken.add(path)
        else:
            self._pixmaps[path] = QPixmap.fromImage(image)  # QPixmap only on the GUI thread
            while len(self._pixmaps) > PIXMAP_CACHE:
                self._pixmaps.popitem(last=False)
        row = self._rows.get(path)
        if row is not None:
            index = self.index(row, 0)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])
