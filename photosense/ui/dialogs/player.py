"""The in-app video player: frames from a Playback thread shown at the clip's own pace, play/pause, a seek
slider with the time, "Find similar" at the moment shown and "Open in system player". Picture only."""
from __future__ import annotations

from collections import deque
from pathlib import Path

from PySide6.QtCore import QElapsedTimer, QRect, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices, QImage, QKeyEvent, QPainter
from PySide6.QtWidgets import (QDialog, QHBoxLayout, QLabel, QPushButton, QSlider, QStyle, QStyleOptionSlider,
                               QToolButton, QVBoxLayout, QWidget)

from photosense.ui import style
from photosense.ui.playback import ClipInfo, Playback
from photosense.ui.videos import clock

NO_SOUND = ("Picture only: PhotoSense plays no sound.\n"
            "“Open in system player” plays the video with its sound.")
STEP_S = 5.0  # Left / Right jump this far


class Screen(QWidget):
    """Paints the current frame fitted and centred on black (or a message when there is none)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("playerScreen")
        self.setMinimumSize(320, 180)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # keys go to the dialog through it
        self.image: QImage | None = None
        self.message = "Loading…"

    def show_image(self, image: QImage) -> None:
        self.image, self.message = image, ""
        self.update()

    def show_message(self, text: str) -> None:
        self.image, self.message = None, text
        self.update()

    def device_size(self) -> QSize:
        return self.size() * self.devicePixelRatioF()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#0b0d12"))
        if self.image is not None and not self.image.isNull():
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            size = self.image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, size.width(), size.height())
            target.moveCenter(self.rect().center())
            painter.drawImage(target, self.image)
        elif self.message:
            painter.setPen(QColor("#d1d5db"))
            painter.drawText(self.rect().adjusted(24, 24, -24, -24),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.message)
        painter.end()


class SeekSlider(QSlider):
    """A horizontal slider in milliseconds that jumps straight to where it is clicked."""

    def __init__(self, parent=None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setObjectName("seekSlider")

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            option = QStyleOptionSlider()
            self.initStyleOption(option)
            handle = self.style().subControlRect(QStyle.ComplexControl.CC_Slider, option,
                                                 QStyle.SubControl.SC_SliderHandle, self)
            if not handle.contains(event.position().toPoint()):
                groove = self.style().subControlRect(QStyle.ComplexControl.CC_Slider, option,
                                                     QStyle.SubControl.SC_SliderGroove, self)
                x = int(event.position().x()) - groove.left() - handle.width() // 2
                value = QStyle.sliderValueFromPosition(self.minimum(), self.maximum(), x,
                                                       max(1, groove.width() - handle.width()))
                self.setValue(value)  # then the press below grabs the handle, now under the pointer
        super().mousePressEvent(event)


class PlayerDialog(QDialog):
    """Plays *path* from *at* seconds. ``frameShown(seconds)`` follows every frame put on screen;
    ``similarRequested(path, seconds)`` asks for items like the moment shown (the dialog then closes)."""

    frameShown = Signal(float)
    similarRequested = Signal(str, float)

    def __init__(self, path: str, at: float = 0.0, parent=None, autoplay: bool = True) -> None:
        super().__init__(parent)
        self.path = path
        self.setWindowTitle(Path(path).name)
        self.setObjectName("player")
        self.info: ClipInfo | None = None
        self.position = max(0.0, at)  # seconds of the frame on screen (or being sought)
        self.playing = autoplay
        self.closed = False
        self._buffer: deque[tuple[float, QImage]] = deque()  # frames of this generation, not shown yet
        self._waiting_first = True  # the next frame is the one at the seek target: shown at once
        self._ended = False  # the current generation has no more frames
        self._anchor = (0.0, QElapsedTimer())  # the clock: seconds shown when the timer was started
        self._tick = QTimer(self, singleShot=True, timerType=Qt.TimerType.PreciseTimer)
        self._tick.timeout.connect(self._pump)
        self._setting_slider = False
        self._resume_after_drag = False
        self._exact_at: float | None = None  # the last exact seek (a click on the groove makes one)
        self._build()
        self.playback = Playback(path, self)
        self.playback.opened.connect(self._on_opened)
        self.playback.frameReady.connect(self._on_frame)
        self.playback.ended.connect(self._on_ended)
        self.playback.failed.connect(self._on_failed)
        if parent is not None:
            self.resize(parent.size() * 0.8)
        else:
            self.resize(960, 600)
        size = self.screen_view.device_size()
        self.generation = self.playback.start(self.position, size.width(), size.height())
        self._show_time()

    def _build(self) -> None:
        self.screen_view = Screen(self)
        self.play_button = QToolButton(self)
        self.play_button.setObjectName("playButton")
        self.play_button.setIconSize(QSize(22, 22))
        self.play_button.clicked.connect(self.toggle)
        self.slider = SeekSlider(self)
        self.slider.setEnabled(False)
        self.slider.valueChanged.connect(self._on_slider)
        self.slider.sliderPressed.connect(self._drag_started)
        self.slider.sliderReleased.connect(self._drag_ended)
        self.time_label = QLabel(self)
        self.time_label.setObjectName("playerTime")
        self.time_label.setMinimumWidth(96)
        self.time_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.sound = QLabel(self)
        self.sound.setObjectName("noSound")
        self.sound.setPixmap(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaVolumeMuted).pixmap(18, 18))
        self.sound.setToolTip(NO_SOUND)
        self.similar_button = QPushButton(style.icon("similar"), "Find similar", self)
        self.similar_button.setToolTip("Photos and videos like the moment shown")
        self.similar_button.clicked.connect(self._similar)
        self.system_button = QPushButton(style.icon("open"), "Open in system player", self)
        self.system_button.setToolTip("Play it in the system's video player (with sound)")
        self.system_button.clicked.connect(self.open_in_system_player)
        controls = QHBoxLayout()
        controls.setContentsMargins(12, 8, 12, 10)
        controls.setSpacing(10)
        controls.addWidget(self.play_button)
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.time_label)
        controls.addWidget(self.sound)
        controls.addSpacing(6)
        controls.addWidget(self.similar_button)
        controls.addWidget(self.system_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.screen_view, 1)
        layout.addLayout(controls)
        for button in (self.similar_button, self.system_button):
            button.setAutoDefault(False)  # Enter never clicks a button behind the user's back
        for control in (self.play_button, self.slider, self.similar_button, self.system_button):
            control.setFocusPolicy(Qt.FocusPolicy.TabFocus)  # a click leaves the keys (Space, arrows) to the player
        self.screen_view.setFocus()
        self._show_play_state()

    # -- what the thread sends ------------------------------------------------------------------

    def _on_opened(self, info: ClipInfo) -> None:
        self.info = info
        if info.duration > 0:
            self._setting_slider = True
            self.slider.setRange(0, int(info.duration * 1000))
            self.slider.setPageStep(max(1000, int(info.duration * 100)))
            self.slider.setSingleStep(1000)
            self._setting_slider = False
            self.slider.setEnabled(True)
        self._show_time()

    def _on_frame(self, generation: int, t: float, image: QImage) -> None:
        if generation != self.generation or self.closed:
            self.playback.consumed()
            return
        if self._waiting_first:
            self._waiting_first = False
            self.playback.consumed()
            self._show(t, image)
            self._anchor_clock(t)
        else:
            self._buffer.append((t, image))
        self._schedule()

    def _on_ended(self, generation: int) -> None:
        if generation == self.generation:
            self._ended = True
            self._schedule()

    def _on_failed(self, message: str) -> None:
        self.playing = False
        self._show_play_state()
        self.play_button.setEnabled(False)
        self.slider.setEnabled(False)
        self.similar_button.setEnabled(False)
        self.screen_view.show_message(f"This video cannot be played here: {message}.\n"
                                      "“Open in system player” may still play it.")

    # -- pacing ---------------------------------------------------------------------------------

    def _anchor_clock(self, t: float) -> None:
        timer = QElapsedTimer()
        timer.start()
        self._anchor = (t, timer)

    def _now(self) -> float:
        t, timer = self._anchor
        return t + timer.elapsed() / 1000 if timer.isValid() else t

    def _schedule(self) -> None:
        """Show the frame that is due now (dropping any the clock has passed), then wait for the next."""
        if not self.playing or self._waiting_first or self.closed:
            return
        now = self._now()
        due = None
        while self._buffer and self._buffer[0][0] <= now + 0.004:
            if due is not None:
                self.playback.consumed()  # late: dropped to keep time
            due = self._buffer.popleft()
        if due is not None:
            self.playback.consumed()
            self._show(*due)
        if self._buffer:
            self._tick.start(max(1, int((self._buffer[0][0] - self._now()) * 1000)))
        elif self._ended:
            self.playing = False  # the end: the last frame stays; Play starts again from the beginning
            self._show_play_state()

    def _pump(self) -> None:
        self._schedule()

    def _show(self, t: float, image: QImage) -> None:
        self.position = t
        self.screen_view.show_image(image)
        self._show_time()
        self.frameShown.emit(t)

    def _show_time(self) -> None:
        duration = self.info.duration if self.info is not None else 0.0
        self.time_label.setText(f"{clock(self.position)} / {clock(round(duration))}" if duration
                                else clock(self.position))
        if not self.slider.isSliderDown():
            self._setting_slider = True
            self.slider.setValue(int(self.position * 1000))
            self._setting_slider = False

    # -- user actions ---------------------------------------------------------------------------

    def play(self) -> None:
        if self.playing or not self.play_button.isEnabled():
            return
        self.playing = True
        self._show_play_state()
        if self._ended and not self._buffer:
            self.seek(0.0)  # at the end: from the beginning
            return
        self._anchor_clock(self.position)
        self._schedule()

    def pause(self) -> None:
        if self.playing:
            self.playing = False
            self._tick.stop()
            self._show_play_state()

    def toggle(self) -> None:
        self.pause() if self.playing else self.play()

    def seek(self, t: float, exact: bool = True) -> None:
        """Show the frame at *t* seconds (and play on from there if playing); not *exact*: the keyframe
        before it, at once (while the slider is dragged)."""
        duration = self.info.duration if self.info is not None else 0.0
        t = max(0.0, min(t, duration) if duration else t)
        self._tick.stop()
        self.playback.consumed(len(self._buffer))
        self._buffer.clear()
        self._waiting_first, self._ended = True, False
        self.position = t
        self.generation = self.playback.seek(t, exact)
        self._exact_at = t if exact else None
        self._show_time()

    def _on_slider(self, value: int) -> None:
        if not self._setting_slider:
            self.seek(value / 1000, exact=not self.slider.isSliderDown())

    def _drag_started(self) -> None:
        self._resume_after_drag = self.playing
        self.pause()

    def _drag_ended(self) -> None:
        t = self.slider.value() / 1000
        if self._exact_at is None or abs(t - self._exact_at) > 1e-3:
            self.seek(t)  # the exact frame where the handle was let go
        if self._resume_after_drag:
            self.play()

    def _similar(self) -> None:
        self.similarRequested.emit(self.path, self.position)
        self.accept()

    def open_in_system_player(self) -> None:
        self.pause()
        QDesktopServices.openUrl(QUrl.fromLocalFile(self.path))

    def _show_play_state(self) -> None:
        self.play_button.setIcon(style.icon("pause" if self.playing else "resume"))
        self.play_button.setToolTip("Pause (Space)" if self.playing else "Play (Space)")

    # -- window -----------------------------------------------------------------------------------

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key == Qt.Key.Key_Space:
            self.toggle()
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Right) and self.slider.isEnabled():
            self.seek(self.position + (STEP_S if key == Qt.Key.Key_Right else -STEP_S))
        else:
            super().keyPressEvent(event)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        size = self.screen_view.device_size()
        self.playback.set_size(size.width(), size.height())  # from the next frame on

    def done(self, result: int) -> None:
        self.closed = True
        self._tick.stop()
        self.playback.stop()
        super().done(result)
