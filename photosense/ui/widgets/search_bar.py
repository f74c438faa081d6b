"""The search bar: debounced search-as-you-type, Escape to clear, and image drops for search by image."""
from __future__ import annotations

import html

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QKeyEvent
from PySide6.QtWidgets import QLineEdit

from photosense.core.media import is_image_name
from photosense.core.query import HELP
from photosense.ui import style

DEBOUNCE_MS = 150
EXAMPLES = "Search your photos and videos — try “dog on a beach”, “red dress”, “sunset over the sea”"
LOADING = "Loading the search model… you can browse meanwhile"
UNAVAILABLE = "Search is unavailable: the model could not be loaded"


def help_html(text: str) -> str:
    """The query-language help as a tooltip: indented "example  meaning" lines become a two-column table."""
    out, table = [], []

    def flush() -> None:
        if table:
            out.append("<table cellspacing='0' cellpadding='1'>" + "".join(
                f"<tr><td style='padding-right:12px'><code>{html.escape(a)}</code></td><td>{html.escape(b)}</td></tr>"
                for a, b in table) + "</table>")
            table.clear()

    for line in text.splitlines():
        parts = line.strip().split("  ", 1)
        if line.startswith("  ") and len(parts) == 2:
            table.append((parts[0], parts[1].strip()))
        else:
            flush()
            out.append(f"<p style='margin:6px 0 2px 0'>{html.escape(line)}</p>")
    flush()
    return "<qt>" + "".join(out) + "</qt>"


class SearchBar(QLineEdit):
    """Emits ``queryChanged(text)`` ~150 ms after typing stops (empty text included: the search was cleared)."""

    queryChanged = Signal(str)
    imageDropped = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("searchBar")
        self.setClearButtonEnabled(True)
        self.addAction(style.icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.setAcceptDrops(True)
        self.setPlaceholderText(EXAMPLES)
        self.setMinimumHeight(38)
        self.setToolTip(help_html(HELP))
        self._timer = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._timer.timeout.connect(self._fire)
        self.textEdited.connect(lambda _text: self._timer.start())  # restarts: only the last text counts
        self._last = ""

    def set_model_state(self, state: str) -> None:
        """'loading', 'ready' or 'failed': the placeholder says where search stands."""
        self.setPlaceholderText({"loading": LOADING, "failed": UNAVAILABLE}.get(state, EXAMPLES))

    def clear_query(self) -> None:
        self._timer.stop()
        self.clear()
        self._fire()

    def _fire(self) -> None:
        text = self.text().strip()
        if text != self._last:
            self._last = text
            self.queryChanged.emit(text)

    def forget(self) -> None:
        """Clear the text without announcing it (another kind of search took over)."""
        self._timer.stop()
        self.clear()
        self._last = ""

    def keyPressEvent(self, event: QKeyEvent) -> None:
        from PySide6.QtCore import Qt

        if event.key() == Qt.Key.Key_Escape:
            self.clear_query()
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._timer.stop()
            self._fire()
            return
        super().keyPressEvent(event)

    # -- search by image ------------------------------------------------------------------------

    @staticmethod
    def _image_path(event: QDragEnterEvent | QDropEvent) -> str | None:
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        if len(urls) == 1 and urls[0].isLocalFile() and is_image_name(urls[0].toLocalFile()):
            return urls[0].toLocalFile()
        return None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._image_path(event):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event) -> None:
        if self._image_path(event):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        path = self._image_path(event)
        if path:
            event.acceptProposedAction()
            self.imageDropped.emit(path)
        else:
            super().dropEvent(event)
