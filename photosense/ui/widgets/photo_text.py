"""The details panel's "Text in photo" section: the words read in the photo, the search's words highlighted,
and a "Copy text" button."""
from __future__ import annotations

import html
import re
import unicodedata

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

_WORD = re.compile(r"\w+", re.UNICODE)
MAX_CHARS = 4000  # a page of a document is shown; "Copy text" copies all of it


def fold(word: str) -> str:
    """Case and accents folded, as the keyword index folds them ("Café" -> "cafe")."""
    return "".join(c for c in unicodedata.normalize("NFKD", word.casefold()) if not unicodedata.combining(c))


def query_words(query: str) -> set[str]:
    """The folded words of a search query, without its filters' keys and operators."""
    words = set()
    for token in re.split(r"\s+", query or ""):
        if token.startswith("-"):
            continue  # an excluded word is not what the user looks for
        key, sep, value = token.partition(":")
        text = value if sep and key.lower() in ("text", "tag", "folder", "camera") else token
        words.update(fold(w) for w in _WORD.findall(text))
    return {w for w in words if w}


def highlighted(text: str, words: set[str]) -> str:
    """*text* as HTML with each word of *words* (folded) marked."""
    out, last = [], 0
    for match in _WORD.finditer(text):
        if fold(match.group()) in words:
            out.append(html.escape(text[last:match.start()]))
            out.append(f'<span style="background:#fde68a;color:#111827">{html.escape(match.group())}</span>')
            last = match.end()
    out.append(html.escape(text[last:]))
    return "".join(out).replace("\n", "<br>")


class PhotoText(QWidget):
    """Hidden when the photo has no text; ``show_text(text, query)`` fills it."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.text = ""
        self.title = QLabel("TEXT IN PHOTO", self)
        self.title.setObjectName("sectionTitle")
        self.copy_button = QPushButton("Copy text", self)
        self.copy_button.setToolTip("Copy the words read in this photo")
        self.copy_button.clicked.connect(self.copy)
        self.body = QLabel(self)
        self.body.setWordWrap(True)
        self.body.setTextFormat(Qt.TextFormat.RichText)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.body.setMinimumWidth(1)
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(self.title, 1)
        head.addWidget(self.copy_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addLayout(head)
        layout.addWidget(self.body)
        self.hide()

    def show_text(self, text: str, query: str = "") -> None:
        self.text = text or ""
        if not self.text.strip():
            self.body.clear()
            self.hide()
            return
        shown = self.text if len(self.text) <= MAX_CHARS else self.text[:MAX_CHARS] + " …"
        self.body.setText(highlighted(shown, query_words(query)))
        self.show()

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.text)
