"""Videos in the app, on a real clip (red 0-4 s, blue 4-8 s) and colour photos with the fake embedder: the
grid's badge and poster, a hit's moment, the details' filmstrip and its marks, the player (opens at the
moment, advances, seeks, pauses, fails politely) and "Find similar" from a chosen moment."""
from __future__ import annotations

from collections import Counter

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from conftest import label_of, wait_results
from photosense.ui.bridge import Query
from photosense.ui.models.photo_model import BadgeRole, DurationRole, KindRole, MomentRole, StateRole


def colour_of(image: QImage) -> str:
    """"red", "blue" or "other" for the middle of *image*."""
    c = image.pixelColor(image.width() // 2, image.height() // 2)
    if c.red() > 150 and c.blue() < 100:
        return "red"
    if c.blue() > 150 and c.red() < 100:
        return "blue"
    return "other"


def decoration(model, row: int) -> QImage:
    return model.index(row, 0).data(Qt.ItemDataRole.DecorationRole).toImage()


def test_the_grid_lists_a_video_with_its_poster_and_length(make_controller, video_library, video_folder):
    c = make_controller(video_library)
    clip = str(video_folder[1])
    row = c.photos.row_of(clip)
    assert c.photos.rowCount() == 9 and row is not None
    index = c.photos.index(row, 0)
    assert index.data(KindRole) == "video" and index.data(DurationRole) == pytest.approx(8.0, abs=0.15)
    assert index.data(MomentRole) is None and index.data(BadgeRole) == "0:08"
    assert index.data(Qt.ItemDataRole.ToolTipRole) == "clip.mp4\nVideo · 0:08"
    photo = c.photos.index(0 if row else 1, 0)
    assert photo.data(KindRole) == "photo" and photo.data(BadgeRole) is None
    index.data(Qt.ItemDataRole.DecorationRole)  # painting asks; synchronous pools answer at once
    assert index.data(StateRole) == "ready" and colour_of(decoration(c.photos, row)) == "red"  # the poster: 1 s
    assert c.page == ("grid", "")
    assert c.bridge.library.status()["videos"] == 1


def test_the_count_names_photos_and_videos(make_controller, video_library):
    c = make_controller(video_library)
    counts = []
    c.countChanged.connect(counts.append)
    c.refresh()
    assert counts == ["8 photos, 1 video"]


def test_a_video_hit_shows_the_frame_and_time_of_its_moment(make_controller, video_library, video_folder):
    c = make_controller(video_library)
    c.search("blue")
    clip = str(video_folder[1])
    item = c.photos.item(clip)
    assert item is not None and item.is_video and 4.0 <= item.at < 8.0
    assert sorted(label_of(p) for p in c.photos.paths() if p != clip) == ["blue", "blue"]
    index = c.photos.index(c.photos.row_of(clip), 0)
    assert index.data(MomentRole) == item.at
    assert index.data(BadgeRole) == f"0:0{int(item.at)} / 0:08"
    assert f"Best moment ▶ 0:0{int(item.at)}" in index.data(Qt.ItemDataRole.ToolTipRole)
    index.data(Qt.ItemDataRole.DecorationRole)
    assert colour_of(decoration(c.photos, index.row())) == "blue"  # the frame at the moment, not the poster


def test_the_filmstrip_lists_the_moments_and_marks_those_matching_the_search(make_controller, video_library,
                                                                           video_folder):
    c = make_controller(video_library)
    clip = str(video_folder[1])
    seen = []
    c.momentsReady.connect(lambda path, moments: seen.append((path, moments)))
    c.select([clip], clip)  # browsing: the moments, nothing marked
    (path, moments), = seen
    lib = c.library
    sampled = [t for _f, t in lib.catalog.frames_of(lib.photo(clip).id, lib.context.model_id())]
    assert path == clip and [m.t for m in moments] == sampled and len(sampled) >= 4
    assert not any(m.relevant or m.best for m in moments)

    c.search("blue")
    c.select([clip], clip)
    moments = seen[-1][1]
    assert [m.relevant for m in moments] == [t >= 4.0 for t in sampled]  # the search's own cut-off
    assert [m.t for m in moments if m.best] == [c.photos.item(clip).at]
    assert moments[-1].score > moments[0].score

    c.search("red")  # a new answer holding the same clip: the selection is gone with the old grid
    assert c.selection == [] and c.moments == []
    c.select([clip], clip)
    assert [m.relevant for m in seen[-1][1]] == [True, True, False, False]


def test_find_similar_from_a_video_uses_the_chosen_moment(make_controller, video_library, video_folder):
    c = make_controller(video_library)
    clip = str(video_folder[1])
    c.select([clip], clip)
    assert c.moment_of(clip) is None  # browsing, nothing chosen: the video as a whole
    c.choose_moment(clip, 1.0)
    assert c.moment_of(clip) == 1.0
    c.find_similar(clip, c.moment_of(clip))
    assert c.query == c.shown == Query("similar", clip, at=1.0)
    assert clip not in c.photos.paths()
    assert Counter(label_of(p) for p in c.photos.paths()[:2]) == {"red": 2}
    c.find_similar(clip, 6.0)
    assert Counter(label_of(p) for p in c.photos.paths()[:2]) == {"blue": 2}


# -- in the window --------------------------------------------------------------------------------------

def recorder(player) -> list[float]:
    """The times of the frames *player* shows from now on (connected before the event loop runs again,
    so the first frame is never missed)."""
    shown: list[float] = []
    player.frameShown.connect(shown.append)
    return shown


def select_clip(qtbot, window, clip: str) -> None:
    c = window.controller
    window.grid.setFocus()
    window.grid.setCurrentIndex(c.photos.index(c.photos.row_of(clip), 0))
    qtbot.waitUntil(lambda: window.details.video_path == clip and window.details.filmstrip.moments.rowCount() > 0,
                    timeout=10_000)


def test_the_details_show_a_video_with_its_filmstrip(qtbot, make_window, video_library, video_folder):
    from photosense.ui.widgets.filmstrip import BestRole, ReadyRole, RelevantRole

    window = make_window(video_library)
    c = window.controller
    clip = str(video_folder[1])
    wait_results(qtbot, window, "all")
    qtbot.keyClicks(window.search, "blue")
    wait_results(qtbot, window, "text")
    select_clip(qtbot, window, clip)
    details = window.details
    qtbot.waitUntil(lambda: any(m.relevant for m in details.filmstrip.moments.moments()), timeout=10_000)
    assert details.values["Kind"].text() == "Video" and details.values["Duration"].text() == "0:08"
    assert details.values["Dimensions"].text() == "160 × 120" and details.video_box.isVisible()
    strip = details.filmstrip
    rows = [strip.moments.index(r, 0) for r in range(strip.moments.rowCount())]
    times = [m.t for m in strip.moments.moments()]
    assert [i.data(Qt.ItemDataRole.DisplayRole) for i in rows] == [f"0:0{int(t)}" for t in times]
    assert [i.data(RelevantRole) for i in rows] == [t >= 4.0 for t in times]
    assert [i.data(BestRole) for i in rows].count(True) == 1
    matching = sum(t >= 4.0 for t in times)
    assert details.moments_title.text() == f"{len(times)} MOMENTS · {matching} MATCH{'ES' * (matching == 1)} THE SEARCH"
    at = c.photos.item(clip).at
    assert details.play_button.text() == f"Play from 0:0{int(at)}"
    qtbot.waitUntil(lambda: all(i.data(ReadyRole) for i in rows), timeout=10_000)  # made on workers
    frames = [colour_of(i.data(Qt.ItemDataRole.DecorationRole).toImage()) for i in rows]
    assert frames == ["blue" if t >= 4.0 else "red" for t in times]

    window.grid.setCurrentIndex(c.photos.index(0 if c.photos.path(0) != clip else 1, 0))  # a photo
    qtbot.waitUntil(lambda: details.path not in (None, clip), timeout=10_000)
    assert not details.video_box.isVisible() and not details.values["Kind"].isVisible()


def test_enter_on_a_video_hit_plays_it_from_its_moment(qtbot, make_window, video_library, video_folder):
    window = make_window(video_library)
    c = window.controller
    clip = str(video_folder[1])
    qtbot.keyClicks(window.search, "blue")
    wait_results(qtbot, window, "text")
    select_clip(qtbot, window, clip)
    at = c.photos.item(clip).at
    qtbot.keyClick(window.grid, Qt.Key.Key_Return)
    player = window.photo_actions.player
    assert player is not None and player.path == clip
    shown = recorder(player)
    qtbot.waitUntil(lambda: bool(shown), timeout=10_000)
    assert shown[0] == pytest.approx(at, abs=0.06)  # the frame at the moment, first
    assert colour_of(player.screen_view.image) == "blue"
    assert player.time_label.text() == f"0:0{int(at)} / 0:08" and player.playing
    with qtbot.waitSignal(player.frameShown, timeout=10_000, check_params_cb=lambda t: t >= at + 0.5):
        pass  # it plays on at the clip's pace
    assert player.slider.value() >= int((at + 0.5) * 1000)
    assert "no sound" in player.sound.toolTip().lower()

    player.pause()
    with qtbot.waitSignal(player.frameShown, timeout=10_000) as sought:
        player.seek(1.0)
    assert sought.args[0] == pytest.approx(1.0, abs=0.06) and colour_of(player.screen_view.image) == "red"
    assert not player.playing and player.time_label.text() == "0:01 / 0:08"
    qtbot.keyClick(player, Qt.Key.Key_Escape)
    assert not player.playback.running  # the decoding thread stopped with the dialog


def test_a_clicked_moment_plays_and_find_similar_starts_there(qtbot, make_window, video_library, video_folder):
    window = make_window(video_library)
    c = window.controller
    clip = str(video_folder[1])
    wait_results(qtbot, window, "all")
    select_clip(qtbot, window, clip)
    strip = window.details.filmstrip
    t = strip.moments.moments()[1].t  # red
    assert 0 < t < 4
    rect = strip.visualRect(strip.moments.index(1, 0))
    qtbot.mouseClick(strip.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    player = window.photo_actions.player
    assert c.moment == (clip, t) and player is not None
    shown = recorder(player)
    qtbot.waitUntil(lambda: bool(shown), timeout=10_000)
    assert shown[0] == pytest.approx(t, abs=0.06)
    player.pause()
    qtbot.waitUntil(lambda: player.playback.running)
    player.similar_button.click()  # the moment shown, then the dialog closes
    wait_results(qtbot, window, "similar")
    assert c.query.value == clip and c.query.at == pytest.approx(player.position)
    assert Counter(label_of(p) for p in c.photos.paths()[:2]) == {"red": 2}
    assert window.top_bar.chip.text().startswith("Similar to clip.mp4 at 0:0")


def test_the_context_menu_of_a_video_hit(qtbot, make_window, video_library, video_folder):
    window = make_window(video_library)
    c = window.controller
    clip = str(video_folder[1])
    qtbot.keyClicks(window.search, "blue")
    wait_results(qtbot, window, "text")
    at = c.photos.item(clip).at
    rect = window.grid.visualRect(c.photos.index(c.photos.row_of(clip), 0))
    window.grid.customContextMenuRequested.emit(rect.center())
    menu = window.photo_actions.context_menu
    actions = {a.text(): a for a in menu.actions() if a.text()}
    moment = f"0:0{int(at)}"
    assert {f"Play from {moment}", f"Find similar to {moment}", "Open in system player"} <= set(actions)
    actions[f"Find similar to {moment}"].trigger()
    menu.close()
    wait_results(qtbot, window, "similar")
    assert c.query == Query("similar", clip, at=at)
    assert Counter(label_of(p) for p in c.photos.paths()[:2]) == {"blue": 2}


def test_the_player_scrubs_by_keyframes_lands_exactly_and_plays_again_from_the_start(qtbot, video_folder):
    from photosense.ui.dialogs.player import PlayerDialog

    player = PlayerDialog(str(video_folder[1]), 0.0, autoplay=False)  # keyframes every second
    qtbot.addWidget(player)
    shown = recorder(player)
    player.show()
    qtbot.waitUntil(lambda: bool(shown) and player.slider.isEnabled(), timeout=10_000)
    assert shown == [0.0] and not player.playing and player.time_label.text() == "0:00 / 0:08"
    player.slider.setSliderDown(True)  # dragging: the keyframe before, at once
    player.slider.setValue(5500)
    qtbot.waitUntil(lambda: len(shown) == 2, timeout=10_000)
    assert shown[1] == pytest.approx(5.0)
    player.slider.setSliderDown(False)  # let go: the exact frame
    qtbot.waitUntil(lambda: len(shown) == 3, timeout=10_000)
    assert shown[2] == pytest.approx(5.5) and not player.playing
    player.seek(7.5)
    qtbot.waitUntil(lambda: len(shown) == 4, timeout=10_000)
    qtbot.keyClick(player, Qt.Key.Key_Space)  # plays to the end, then stops there
    assert player.playing
    qtbot.waitUntil(lambda: not player.playing, timeout=10_000)
    assert shown[-1] == pytest.approx(7.9) and colour_of(player.screen_view.image) == "blue"
    ended = len(shown)
    qtbot.keyClick(player, Qt.Key.Key_Space)  # again: from the start
    qtbot.waitUntil(lambda: len(shown) > ended, timeout=10_000)
    assert shown[ended] == 0.0 and player.playing
    player.close()
    assert not player.playback.running


def test_a_video_that_cannot_be_played_says_so(qtbot, tmp_path):
    from photosense.ui.dialogs.player import PlayerDialog

    broken = tmp_path / "broken.mp4"
    broken.write_text("Download failed: the server returned an error.\n" * 20)
    player = PlayerDialog(str(broken), 0.0)
    qtbot.addWidget(player)
    player.show()
    qtbot.waitUntil(lambda: "cannot be played" in player.screen_view.message, timeout=10_000)
    assert "the file contains text" in player.screen_view.message and not player.play_button.isEnabled()
    assert player.system_button.isEnabled()
    player.close()


def test_moments_model_passes_the_model_tester(qtmodeltester, qapp):
    from photosense.ui.videos import Moment
    from photosense.ui.widgets.filmstrip import MomentsModel

    model = MomentsModel()
    model.set_moments("/v/clip.mp4", [Moment(0.0), Moment(2.0, 0.3, True, True), Moment(4.0, 0.1)])
    qtmodeltester.check(model, force_py=True)
    model.set_moments(None, [])
    qtmodeltester.check(model, force_py=True)


def test_grid_model_with_videos_passes_the_model_tester(qtmodeltester, qapp):
    from photosense.ui.bridge import GridItem
    from photosense.ui.models.photo_model import PhotoGridModel

    model = PhotoGridModel()
    model.set_items([GridItem(1, "/p/a.jpg", 0.3), GridItem(2, "/p/clip.mp4", 0.4, "video", 4.0, 75.5),
                     GridItem(3, "/p/b.mov", None, "video", None, 3725.0)])
    qtmodeltester.check(model, force_py=True)
    assert [model.index(r, 0).data(BadgeRole) for r in range(3)] == [None, "0:04 / 1:16", "1:02:05"]
