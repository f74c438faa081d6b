"""The video decoder: containers and codecs, probe figures, bounded sampling, scene cuts, frame_at, broken files."""
from __future__ import annotations

import math
import os
import re

import numpy as np
import pytest
from PIL import Image

from photosense.core import video
from photosense.core.errors import ImageError
from photosense.core.media import FileVanished
from photosense.core.video import DecodeStats, frame_at, is_video, probe, sample_frames
from videos import (pattern, write_audio_only, write_clip, write_text, write_truncated, write_undecodable_codec,
                    write_unknown_codec, write_zero_bytes)

RED, GREEN, BLUE = (220, 30, 30), (30, 200, 30), (30, 30, 220)
NO_SCENECUT = {"preset": "veryfast", "x264-params": "scenecut=0"}  # cuts that are not keyframes


def _colour(image: Image.Image) -> tuple[int, int, int]:
    return tuple(int(c) for c in np.asarray(image).reshape(-1, 3).mean(axis=0))


def _near(image: Image.Image, colour: tuple[int, int, int], tolerance: int = 25) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(_colour(image), colour))


def _closest(image: Image.Image, candidates: list[Image.Image]) -> int:
    """Index of the candidate picture *image* shows (after the encoder's loss and the drift)."""
    pixels = np.asarray(image.convert("L").resize((32, 24)), dtype=np.float32)
    return int(np.argmin([np.abs(pixels - np.asarray(c.convert("L").resize((32, 24)), dtype=np.float32)).mean()
                          for c in candidates]))


def test_video_names_in_any_case():
    assert is_video("clip.MP4") and is_video("a.MoV") and is_video("b.webm") and is_video("c.3GP")
    assert not is_video("photo.jpg") and not is_video("notes.txt") and not is_video("mp4")
    assert set(video.VIDEO_SUFFIXES) == {".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".3gp"}


@pytest.mark.parametrize("name,codec", [
    ("clip.mp4", "h264"), ("clip.mov", "h264"), ("clip.mkv", "h264"), ("clip.webm", "vp9"), ("clip.avi", "mpeg4"),
    ("clip.m4v", "h264"), ("clip.3gp", "mpeg4"), ("SHOUT.MP4", "h264"), ("SHOUT.WEBM", "vp9"), ("SHOUT.AVI", "mpeg4"),
])
def test_containers_and_codecs_decode_to_the_right_content(tmp_path, name, codec):
    path = write_clip(tmp_path / name, [(RED, 1.0), (GREEN, 1.0), (BLUE, 1.0)], fps=10)
    info = probe(path)
    assert (info.codec, info.width, info.height, info.rotation) == (codec, 160, 120, 0)
    assert info.duration == pytest.approx(3.0, abs=0.1) and info.fps == pytest.approx(10)
    info2, frames = sample_frames(path, min_side=64, every_s=0.5)
    assert info2 == info and frames
    for frame in frames:
        assert frame.image.mode == "RGB"
        assert _near(frame.image, (RED, GREEN, BLUE)[min(2, int(frame.t + 1e-6))]), (frame.t, _colour(frame.image))
    assert _near(frame_at(path, 1.5, min_side=64).image, GREEN)


@pytest.mark.parametrize("seconds,fps,size", [(2.7, 15, (320, 240)), (4.0, 30, (160, 90)), (1.0, 24, (96, 128))])
def test_probe_reports_duration_within_a_frame_and_the_size(tmp_path, seconds, fps, size):
    path = write_clip(tmp_path / "p.mp4", [(pattern(1, size), seconds)], fps=fps, size=size)
    info = probe(path)
    assert abs(info.duration - seconds) <= 1 / fps + 1e-6
    assert (info.width, info.height) == size and info.fps == pytest.approx(fps)


@pytest.mark.slow  # a few seconds of real waiting; the full suite runs it
def test_a_long_clip_costs_a_bounded_number_of_frames(tmp_path):
    # 20 minutes at 2 fps, a keyframe every 10 s, a new scene every 30 s, always moving
    scenes = [(pattern(k, (64, 48)), 30.0) for k in range(40)]
    path = write_clip(tmp_path / "long.mp4", scenes, fps=2, size=(64, 48), gop=20, drift=0.05)
    total = 1200 * 2
    stats = DecodeStats()
    info, frames = sample_frames(path, min_side=48, stats=stats)
    assert len(frames) <= video.MAX_FRAMES and len(frames) >= 48  # the whole grid, plus cuts
    assert stats.frames < total / 6, stats
    ts = [f.t for f in frames]
    assert ts == sorted(ts) and len(set(ts)) == len(ts) and ts[-1] > info.duration - 30
    few = sample_frames(path, min_side=48, max_frames=8)[1]
    assert 6 <= len(few) <= 8


@pytest.mark.slow  # a few seconds of real waiting; the full suite runs it
def test_a_single_keyframe_file_is_still_bounded(tmp_path):
    path = write_clip(tmp_path / "onekey.mp4", [(pattern(k, (64, 48)), 20.0) for k in range(6)], fps=10,
                      size=(64, 48), drift=0.05, options={"preset": "ultrafast", "x264-params": "keyint=100000:scenecut=0"})
    stats = DecodeStats()
    _, frames = sample_frames(path, min_side=48, max_frames=16, stats=stats)
    assert frames and stats.packets <= 16 * video.MAX_FORWARD + 16
    assert [f.t for f in frames] == sorted({f.t for f in frames})


@pytest.mark.parametrize("every_s", [2.0, 1.0])
@pytest.mark.parametrize("gop", [30, 5, 250])
def test_every_cell_of_every_s_seconds_has_a_sample(tmp_path, every_s, gop):
    path = write_clip(tmp_path / "c.mp4", [(pattern(1), 6.0), (pattern(2), 6.0)], fps=10, gop=gop, drift=0.1)
    _, frames = sample_frames(path, min_side=64, every_s=every_s)
    for k in range(math.ceil(12.0 / every_s)):
        assert any(k * every_s <= f.t < (k + 1) * every_s for f in frames), (k, [f.t for f in frames])


@pytest.mark.parametrize("name,gop,options,precision", [
    ("short-gop.mp4", 10, NO_SCENECUT, 1.0),  # cuts between keyframes: located to the keyframes around them
    ("long-gop.mp4", 250, NO_SCENECUT, 0.25),  # decoded through: to the frame (non-reference frames skipped)
    ("encoder-cuts.mp4", 20, None, 2.0),  # x264 puts keyframes at the cuts: the new scene's first frame
    ("vp9.webm", 15, None, 1.5),
])
def test_scene_cuts_are_located_to_the_keyframes_around_them(tmp_path, name, gop, options, precision):
    pictures = [pattern(seed) for seed in (11, 12, 13, 14)]
    lengths = [3.3, 4.1, 2.9, 3.7]  # cuts at 3.3, 7.4, 10.3: never on the grid
    path = write_clip(tmp_path / name, list(zip(pictures, lengths)), fps=10, gop=gop, drift=0.04, options=options)
    _, frames = sample_frames(path, min_side=96)
    shown = [(f.t, _closest(f.image, pictures)) for f in frames]
    assert [k for _, k in shown] == sorted(k for _, k in shown), shown  # each sample shows its own scene
    for cut, (before, after) in zip(np.cumsum(lengths)[:-1], [(0, 1), (1, 2), (2, 3)]):
        last_before = max(t for t, k in shown if k == before)
        first_after = min(t for t, k in shown if k == after)
        assert last_before < cut <= first_after + 1e-6
        assert first_after - last_before <= precision + 1e-6, (cut, shown)
        if name == "encoder-cuts.mp4" and abs(cut - 7.4) > 0.01:  # x264's keyframe at a cut (not 7.4: a GOP had just
            # begun at 7.3): the new scene is sampled from its first frame
            assert first_after == pytest.approx(cut, abs=0.05), (cut, shown)


def test_fashion_items_cut_and_moving(tmp_path):
    from helpers import fashion_images

    items = {label: image for image, label in fashion_images(40, size=96)}
    coat, sandal, bag = items[4], items[5], items[8]
    path = write_clip(tmp_path / "fashion.mp4", [(coat, 4.0), (sandal, 4.0), (bag, 4.0)], fps=10,
                      size=(160, 120), drift=0.08, options=NO_SCENECUT, gop=15)
    _, frames = sample_frames(path, min_side=112)
    shown = [(f.t, _closest(f.image, [coat, sandal, bag])) for f in frames]
    assert [k for _, k in shown] == sorted(k for _, k in shown)
    for cut, before, after in ((4.0, 0, 1), (8.0, 1, 2)):
        gap = min(t for t, k in shown if k == after) - max(t for t, k in shown if k == before)
        assert gap <= 1.5 + 1e-6, shown  # within the keyframe interval (15 frames) around the cut


def test_frames_are_rgb_scaled_to_min_side_and_never_upscaled(tmp_path):
    wide = write_clip(tmp_path / "wide.mp4", [(pattern(3, (640, 360)), 1.0)], fps=10, size=(640, 360))
    _, frames = sample_frames(wide, min_side=224)
    assert {f.image.size for f in frames} == {(398, 224)} and {f.image.mode for f in frames} == {"RGB"}
    assert frame_at(wide, 0.5, min_side=224).image.size == (398, 224)
    small = write_clip(tmp_path / "small.mp4", [(pattern(3), 1.0)], fps=10)
    assert {f.image.size for f in sample_frames(small, min_side=224)[1]} == {(160, 120)}


@pytest.mark.parametrize("name,gop", [("a.mp4", 250), ("b.mp4", 4), ("c.webm", 250), ("d.avi", 12), ("e.mkv", 30)])
def test_frame_at_shows_the_frame_on_screen_at_that_moment(tmp_path, name, gop):
    path = write_clip(tmp_path / name, [(RED, 1.0), (GREEN, 1.0), (BLUE, 1.0)], fps=10, gop=gop)
    for t, colour in ((0.0, RED), (0.5, RED), (0.95, RED), (1.0, GREEN), (1.55, GREEN), (2.0, BLUE),
                      (2.9, BLUE), (60.0, BLUE), (-3.0, RED)):
        frame = frame_at(path, t, min_side=64)
        assert _near(frame.image, colour), (t, frame.t, _colour(frame.image))
        assert frame.t <= max(t, 0.0) + 1e-6 and frame.t > min(max(t, 0.0), 2.9) - 0.1 - 1e-6
    # a moment returned by sampling gives back the same frame
    for sample in sample_frames(path, min_side=64)[1]:
        assert frame_at(path, sample.t, min_side=64).t == pytest.approx(sample.t)


@pytest.mark.parametrize("ccw,clockwise", [(90, 270), (-90, 90), (180, 180)])
def test_phone_rotation_is_applied(tmp_path, ccw, clockwise):
    upright = Image.new("RGB", (96, 160), BLUE)
    upright.paste(RED, (0, 0, 96, 80))
    upright.paste(GREEN, (0, 0, 32, 32))
    stored = upright.rotate(-ccw, expand=True)  # the sensor's pixels; the player turns them back
    path = write_clip(tmp_path / "phone.mov", [(stored, 1.0)], fps=10, size=stored.size, rotation=ccw)
    info = probe(path)
    assert (info.width, info.height, info.rotation) == (96, 160, clockwise)
    for image in [frame_at(path, 0.5, min_side=96).image] + [f.image for f in sample_frames(path, min_side=96)[1]]:
        assert image.size == (96, 160)
        assert _near(image.crop((0, 0, 24, 24)), GREEN) and _near(image.crop((40, 40, 96, 76)), RED)
        assert _near(image.crop((0, 90, 96, 160)), BLUE)


def _broken(kind: str, folder) -> os.PathLike:
    good_end = write_clip(folder / "good-end.mp4", [(pattern(1), 3.0)], fps=10)
    good_first = write_clip(folder / "good-first.mp4", [(pattern(1), 3.0)], fps=10,
                            muxer_options={"movflags": "+faststart"})
    return {
        "zero": lambda: write_zero_bytes(folder / "zero.mp4"),
        "text": lambda: write_text(folder / "notes.mp4"),
        "audio": lambda: write_audio_only(folder / "memo.mp4"),
        "audio-with-cover": lambda: write_audio_only(folder / "song.m4v", cover=True),
        "moov-missing": lambda: write_truncated(good_end, folder / "half.mp4"),
        "data-cut": lambda: write_truncated(good_first, folder / "cut.mp4", 0.3),
        "unknown-codec": lambda: write_unknown_codec(folder / "camera.mkv"),
        "no-decoder": lambda: write_undecodable_codec(folder / "evc.mp4"),
    }[kind]()


REASONS = {
    "zero": "empty file (0 bytes)",
    "text": "not a video: the file contains text",
    "audio": "no video track: an audio-only file",
    "audio-with-cover": "no video track: an audio-only file",
    "moov-missing": "incomplete video: its index (the 'moov' atom) is missing or cut short",
    "data-cut": "truncated video: the data ends early",
    "unknown-codec": "unsupported video codec",
    "no-decoder": "unsupported video codec",
}


@pytest.mark.parametrize("kind", list(REASONS))
def test_broken_files_give_a_readable_reason(tmp_path, capfd, kind):
    path = _broken(kind, tmp_path)
    capfd.readouterr()
    for call in (probe, lambda p: sample_frames(p, min_side=64), lambda p: frame_at(p, 1.0, min_side=64)):
        with pytest.raises(ImageError) as caught:
            call(path)
        assert not isinstance(caught.value, FileVanished)
        assert str(caught.value).startswith(REASONS[kind]), str(caught.value)
    assert capfd.readouterr() == ("", "")  # FFmpeg prints nothing


def test_the_reasons_are_distinct():
    assert len(set(REASONS.values())) == len(REASONS) - 2  # cover art, codec id or not: the same to a user


def test_a_recording_without_duration_or_index_is_sampled_through(tmp_path):
    # a browser's MediaRecorder writes WebM 'live': no duration, no cues
    path = write_clip(tmp_path / "recording.webm", [(pattern(k), 3.0) for k in range(4)], fps=10, drift=0.05,
                      muxer_options={"live": "1"})
    assert probe(path).duration == 0.0
    info, frames = sample_frames(path, min_side=64)
    assert info.duration == pytest.approx(12.0, abs=0.2)
    step = video.EVERY_S
    for k in range(math.ceil(12.0 / step)):
        assert any(step * k <= f.t < step * (k + 1) for f in frames)
    for cut in (3.0, 6.0, 9.0):  # no index, so no keyframes to go by: bisected to a quarter step
        assert min(f.t for f in frames if f.t >= cut) - max(f.t for f in frames if f.t < cut) <= step / 4 + 1e-6
    longer = write_clip(tmp_path / "longer.webm", [(pattern(k, (64, 48)), 20.0) for k in range(6)], fps=2,
                        size=(64, 48), muxer_options={"live": "1"})
    info, frames = sample_frames(longer, min_side=48)  # past the 96 s a grid covers when blind
    assert frames[-1].t > 94 and info.duration == pytest.approx(120.0, abs=1.0)


def test_a_file_cut_short_while_copying_gives_what_decoded(tmp_path):
    whole = write_clip(tmp_path / "whole.mkv", [(pattern(k), 2.0) for k in range(3)], fps=10, drift=0.1)
    part = write_truncated(whole, tmp_path / "part.mkv", 0.6)
    _, frames = sample_frames(part, min_side=64)
    assert frames and max(f.t for f in frames) < 6.0
    assert frame_at(part, 5.9, min_side=64).t < 5.9


def test_a_file_deleted_while_decoding_vanishes(tmp_path, monkeypatch):
    path = write_clip(tmp_path / "gone.mp4", [(pattern(1), 2.0), (pattern(2), 2.0)], fps=10)
    original = video._to_image

    def delete_then_convert(*args, **kwargs):
        if path.exists():
            path.unlink()
        return original(*args, **kwargs)

    monkeypatch.setattr(video, "_to_image", delete_then_convert)
    with pytest.raises(FileVanished, match="disappeared"):
        sample_frames(path, min_side=64)
    with pytest.raises(FileVanished):
        probe(path)


def test_a_file_growing_while_decoding_ends_cleanly(tmp_path, monkeypatch):
    whole = write_clip(tmp_path / "whole.mkv", [(pattern(k), 2.0) for k in range(3)], fps=10, drift=0.1)
    data = whole.read_bytes()
    growing = write_truncated(whole, tmp_path / "growing.mkv", 0.4)
    original = video._to_image

    def append_then_convert(*args, **kwargs):
        with open(growing, "ab") as fh:  # the copy goes on while we read
            fh.write(data[growing.stat().st_size:growing.stat().st_size + len(data) // 10])
        return original(*args, **kwargs)

    monkeypatch.setattr(video, "_to_image", append_then_convert)
    try:
        _, frames = sample_frames(growing, min_side=64)
    except ImageError as err:
        assert not isinstance(err, FileVanished)
    else:
        assert frames


def test_not_a_file(tmp_path):
    with pytest.raises(FileVanished):
        probe(tmp_path / "missing.mp4")
    with pytest.raises(ImageError, match="directory"):
        probe(tmp_path)
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    with pytest.raises(ImageError, match="not a regular file"):
        sample_frames(fifo, min_side=64)


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".webm", ".avi"])
def test_damaged_files_fail_cleanly_or_give_what_decodes(tmp_path, capfd, suffix):
    source = write_clip(tmp_path / f"source{suffix}", [(pattern(k), 1.5) for k in range(3)], fps=10, gop=8, drift=0.05)
    data = source.read_bytes()
    rng = np.random.default_rng(len(suffix))
    for trial in range(8):
        damaged = bytearray(data)
        for i in rng.integers(0, len(data), size=int(rng.choice([1, 5, 50]))):
            damaged[i] = int(rng.integers(0, 256))
        path = tmp_path / f"damaged{trial}{suffix}"
        path.write_bytes(bytes(damaged))
        for call in (probe, lambda p: sample_frames(p, min_side=64), lambda p: frame_at(p, 2.0, min_side=64)):
            try:
                call(path)
            except ImageError as err:
                assert not isinstance(err, FileVanished) and not re.search(r"Error\b|Errno|0x[0-9a-f]", str(err))
    assert capfd.readouterr() == ("", "")


def _panning(seed: int, size: tuple[int, int] = (160, 120), per_second: float = 0.05):
    """A steady pan across a wide blocky picture: *per_second* of the frame width each second."""
    wide = np.random.default_rng(seed).integers(0, 256, (6, 40, 3), dtype=np.uint8)
    picture = Image.fromarray(wide, "RGB").resize((size[0] * 5, size[1]), Image.Resampling.NEAREST)

    def frame(t: float) -> Image.Image:
        left = round(t * per_second * size[0])
        return picture.crop((left, 0, left + size[0], size[1]))
    return frame


def test_a_steady_pan_is_not_mistaken_for_cuts_but_a_cut_inside_it_is_found(tmp_path):
    # a keyframe every second, samples every 2 s: a pan moves the content a tenth of the frame between
    # samples, which differs by far more than SCENE_DIFF unless the camera motion is allowed for
    pan = write_clip(tmp_path / "pan.mp4", [(_panning(3), 12.0)], fps=10, gop=10, options=NO_SCENECUT)
    stats = DecodeStats()
    _, frames = sample_frames(pan, min_side=96, stats=stats)
    assert stats.frames == len(frames) == 6, [f.t for f in frames]  # the grid only: no probes
    cut = write_clip(tmp_path / "cut.mp4", [(_panning(3), 5.5), (_panning(4), 6.5)], fps=10, gop=10,
                     options=NO_SCENECUT)
    _, frames = sample_frames(cut, min_side=96)
    times = [f.t for f in frames]
    assert any(5.5 <= t <= 6.0 for t in times) and len(frames) > 6, times  # probed: the cut's keyframe
