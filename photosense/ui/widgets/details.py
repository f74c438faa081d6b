"""The right-hand details panel: name, folder, kind and length of a video, size, dimensions, date taken,
camera, match, albums, a video's filmstrip of moments, and tags."""
from __future__ import annotations

import os
import re
from pathlib import Path

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtWidgets import (QFormLayout, QLabel, QMenu, QPushButton, QScrollArea, QSizePolicy,
                               QToolButton, QVBoxLayout, QWidget)

from photosense.ui import style
from photosense.ui.videos import Moment, clock
from photosense.ui.widgets.filmstrip import Filmstrip
from photosense.ui.widgets.photo_text import PhotoText
from photosense.ui.widgets.tag_list import TagList

FIELDS = ("Folder", "Kind", "Duration", "Size", "Dimensions", "Date taken", "Camera", "Match", "Albums")
VIDEO_FIELDS = ("Kind", "Duration")  # rows shown for a video only


def human_size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


class DetailsPanel(QScrollArea):
    """Shows one photo's or video's catalog record (``show_photo``), a video's moments (``show_moments``) and
    tags (``show_tags``), a count for a multi-selection, or a hint. ``tags.judged(label, accepted)`` reports
    accept / reject clicks; ``momentClicked(path, seconds)`` a click on a frame of the filmstrip,
    ``playRequested(path, seconds)`` and ``similarRequested(path, seconds)`` the buttons under it (at the
    chosen moment, else the best one, else the start)."""

    momentClicked = Signal(str, float)
    playRequested = Signal(str, float)
    similarRequested = Signal(str, object)  # path, seconds or None (the video as a whole)

    def __init__(self, parent=None, loader=None) -> None:
        super().__init__(parent)
        self.setObjectName("details")
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setMinimumWidth(200)
        body = QWidget(self)
        body.setObjectName("detailsBody")
        self.setWidget(body)
        self.path: str | None = None  # the photo shown
        self._text_path: str | None = None  # the photo whose text the text section shows
        self.title = QLabel("No photo selected", self)
        self.title.setObjectName("detailsTitle")
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.form = QFormLayout()
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        self.form.setHorizontalSpacing(12)
        self.form.setVerticalSpacing(8)
        self.values: dict[str, QLabel] = {}
        for name in FIELDS:
            label = QLabel(name, self)
            label.setProperty("class", "fieldName")
            value = QLabel("—", self)
            value.setWordWrap(True)
            value.setMinimumWidth(1)
            value.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.values[name] = value
            self.form.addRow(label, value)
        self._build_video(loader)
        self.photo_text = PhotoText(self)
        self.tags_title = QLabel("TAGS", self)
        self.tags_title.setObjectName("sectionTitle")
        self.tags = TagList(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(16, 16, 16, 16)
        layout.setSpacing(14)
        layout.addWidget(self.title)
        layout.addLayout(self.form)
        layout.addWidget(self.video_box)
        layout.addWidget(self.photo_text)
        layout.addSpacing(4)
        layout.addWidget(self.tags_title)
        layout.addWidget(self.tags)
        layout.addStretch(1)
        self.clear()

    def _build_video(self, loader) -> None:
        self.video_path: str | None = None  # the video shown
        self.best_at: float | None = None  # the moment its hit matched at
        self.chosen_at: float | None = None  # the moment chosen in the filmstrip
        self.video_box = QWidget(self)
        self.moments_title = QLabel("MOMENTS", self.video_box)
        self.moments_title.setObjectName("sectionTitle")
        self.moments_title.setWordWrap(True)
        self.filmstrip = Filmstrip(loader, self.video_box)
        self.filmstrip.momentClicked.connect(self._moment_clicked)
        self.filmstrip.momentMenu.connect(self._moment_menu)
        self.play_button = QPushButton(style.play_icon(), "Play", self.video_box)
        self.play_button.setObjectName("primary")
        self.play_button.setToolTip("Play in PhotoSense (picture only)")
        self.play_button.clicked.connect(lambda: self.playRequested.emit(self.video_path, self.moment() or 0.0))
        self.similar_button = QToolButton(self.video_box)
        self.similar_button.setObjectName("link")
        self.similar_button.setText("Find similar")
        self.similar_button.clicked.connect(lambda: self.similarRequested.emit(self.video_path, self.moment()))
        self.similar_button.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        box = QVBoxLayout(self.video_box)
        box.setContentsMargins(0, 4, 0, 0)
        box.setSpacing(6)
        box.addWidget(self.play_button, 0, Qt.AlignmentFlag.AlignLeft)
        box.addWidget(self.similar_button, 0, Qt.AlignmentFlag.AlignLeft)
        box.addSpacing(6)
        box.addWidget(self.moments_title)
        box.addWidget(self.filmstrip)
        self.menu: QMenu | None = None

    def moment(self) -> float | None:
        """The moment the buttons act on: the chosen one, else the best one (None: the video as a whole)."""
        return self.chosen_at if self.chosen_at is not None else self.best_at

    def clear(self, text: str = "No photo selected") -> None:
        self.path = self._text_path = None
        self.photo_text.show_text("")
        self._clear_video()
        self.title.setText(text)
        for value in self.values.values():
            value.setText("—")
        self._set_visible_rows(False)
        self.tags_title.hide()
        self.tags.hide()
        self.tags.set_tags([])

    def show_photo(self, photo, score: float | None = None) -> None:
        """*photo*: a catalog ``Photo`` (or None when it left the library)."""
        if photo is None:
            self.clear("This photo is no longer in the library")
            return
        if photo.path != self.path:
            self.tags.set_tags([])
            if photo.path != self._text_path:
                self.photo_text.show_text("")
            self.values["Albums"].setText("—")
            self._clear_video()
        self.path = photo.path
        self._set_visible_rows(True)
        for name in VIDEO_FIELDS:
            self.form.setRowVisible(FIELDS.index(name), photo.is_video)
        if photo.is_video:
            self.video_path = photo.path
            self.values["Kind"].setText("Video")
            self.values["Duration"].setText(clock(round(photo.duration)) if photo.duration else "—")
            self.video_box.show()
            self._show_buttons()
        self.tags_title.show()
        self.tags.show()
        self.title.setText(Path(photo.path).name)
        folder = os.path.dirname(photo.path)
        self.values["Folder"].setText(re.sub(r"([/_.\-])", "\\1\u200b", folder))  # may wrap after / _ . -
        self.values["Folder"].setToolTip(folder)
        self.values["Size"].setText(human_size(photo.size))
        self.values["Dimensions"].setText(f"{photo.width} × {photo.height}" if photo.width else "—")
        self.values["Date taken"].setText((photo.taken_at or "—").replace("T", " "))
        self.values["Camera"].setText(photo.camera or "—")
        self.values["Match"].setText(f"{score:.3f}" if score is not None else "—")

    def show_text(self, path: str, text: str, query: str = "") -> None:
        """The words read in the photo at *path* (it arrives just before its details), the words of the
        search *query* highlighted."""
        self._text_path = path
        self.photo_text.show_text(text, query)

    def show_moments(self, path: str, moments: list[Moment]) -> None:
        """The shown video's sampled moments, marked for the current search."""
        if path != self.video_path:
            return
        self.filmstrip.set_moments(path, moments)
        best = next((m.t for m in moments if m.best), None)
        self.best_at = best
        matching = sum(m.relevant for m in moments)
        count = f"{len(moments)} MOMENT{'S' * (len(moments) != 1)}"
        if matching:
            count += f" · {matching} MATCH{'ES' * (matching == 1)} THE SEARCH"
        elif best is not None:
            count += f" · BEST MATCH AT {clock(best)}"
        self.moments_title.setText(count if moments else "NOT INDEXED YET")
        self.filmstrip.choose(self.chosen_at)
        self._show_buttons()

    def show_chosen(self, path: str, t: float | None) -> None:
        """The moment chosen for *path* (the controller's; None: none)."""
        if path == self.video_path or t is None:
            self.chosen_at = t
            self.filmstrip.choose(t)
            self._show_buttons()

    def _show_buttons(self) -> None:
        at = self.moment()
        self.play_button.setText(f"Play from {clock(at)}" if at else "Play")
        self.similar_button.setText(f"Find similar to {clock(at)}" if at is not None else "Find similar")
        self.similar_button.setToolTip("Photos and videos like this moment" if at is not None
                                       else "Photos and videos like this video as a whole")

    def _clear_video(self) -> None:
        self.video_path = self.best_at = self.chosen_at = None
        self.filmstrip.set_moments(None, [])
        self.moments_title.setText("MOMENTS")
        self.video_box.hide()

    def _moment_clicked(self, t: float) -> None:
        if self.video_path is not None:
            self.chosen_at = t
            self._show_buttons()
            self.momentClicked.emit(self.video_path, t)

    def _moment_menu(self, t: float, pos: QPoint) -> None:
        path = self.video_path
        if path is None:
            return
        self.menu = menu = QMenu(self)
        menu.addAction(style.icon("resume"), f"Play from {clock(t)}", lambda: self.playRequested.emit(path, t))
        menu.addAction(style.icon("similar"), f"Find similar to {clock(t)}",
                       lambda: self.similarRequested.emit(path, t))
        menu.popup(pos)

    def show_tags(self, path: str, tags: list, albums: list[str]) -> None:
        """The shown photo's tags (rejected ones included) and the albums it is in."""
        if path == self.path:
            self.tags.set_tags(tags)
            self.values["Albums"].setText(", ".join(albums) if albums else "—")

    def _set_visible_rows(self, visible: bool) -> None:
        for row in range(self.form.rowCount()):
            self.form.setRowVisible(row, visible)
