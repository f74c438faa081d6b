"""Video search quality with the bundled tiny model: clips of Fashion-MNIST items in segments, encoded as
H.264, VP9 and MPEG-4 in MP4, MKV, WebM, MOV and AVI, indexed in one library with Fashion-MNIST photos.

The targets (issue 10): for at least 90% of (clip, class in the clip) pairs, the query naming the class
returns the clip with its best moment inside that class's segment; for at least 90% of (clip, class not
in the clip) pairs, the clip stays below the cut-off. The queries are the class names, as in
test_quality.py (``fm.class_query``). The plan below is drawn from a fixed seed and was fixed before
any result was seen; nothing in PhotoSense is tuned to it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from helpers import TINY_MODEL
from PIL import Image
from videos import write_clip

import fashion_mnist as fm
from photosense import Library

pytestmark = [pytest.mark.slow, pytest.mark.model, pytest.mark.quality]

SEED = 20261130
SEGMENT_S = 4.0  # each clip: three items, 4 s each (0-4, 4-8, 8-12 s), hard cuts between them
SEGMENTS_PER_CLIP = 3
FPS = 10
SIZE = (160, 120)  # the item fills the height, on black (Fashion-MNIST's own background)
DRIFT = 0.1  # each item pans and zooms in by up to 10% over its segment: no two frames alike
# (suffix, encoder): every codec in the containers that carry it, three clips each
FORMATS = (("mp4", "libx264"), ("mkv", "libx264"), ("mov", "libx264"),
           ("webm", "libvpx-vp9"), ("mkv", "libvpx-vp9"),
           ("mp4", "mpeg4"), ("avi", "mpeg4"), ("mov", "mpeg4"))
CLIPS_PER_FORMAT = 3
PHOTOS_PER_CLASS = 30  # Fashion-MNIST photos in the same library, competing for the same queries
QUERIES = {label: fm.class_query(label) for label in range(len(fm.CLASS_NAMES))}  # "coat", "sandal", ...
TARGET = 0.90


@dataclass(frozen=True)
class PlannedClip:
    name: str
    codec: str
    labels: tuple[int, ...]  # the class of each segment, in order
    images: tuple[int, ...]  # the test-split index shown in each segment

    def segment(self, label: int) -> tuple[float, float]:
        k = self.labels.index(label)
        return k * SEGMENT_S, (k + 1) * SEGMENT_S


def plan(labels: np.ndarray, photo_indices: np.ndarray) -> list[PlannedClip]:
    """The clips: distinct classes per clip and test images not among the library's photos, from SEED."""
    rng = np.random.default_rng(SEED)
    taken = set(photo_indices.tolist())
    out = []
    for f, (suffix, codec) in enumerate(FORMATS):
        for c in range(CLIPS_PER_FORMAT):
            classes = tuple(int(x) for x in rng.choice(len(fm.CLASS_NAMES), SEGMENTS_PER_CLIP, replace=False))
            images = []
            for label in classes:
                pool = [i for i in np.flatnonzero(labels == label).tolist() if i not in taken]
                pick = int(rng.choice(pool))
                taken.add(pick)
                images.append(pick)
            out.append(PlannedClip(f"clip{f:02d}{c}-{codec}.{suffix}", codec, classes, tuple(images)))
    return out


@pytest.fixture(scope="module")
def video_library(tmp_path_factory):
    if not fm.available():
        pytest.skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    root = tmp_path_factory.mktemp("video-quality")
    split = fm.load("test")
    photo_indices = fm.stratified_indices(split.labels, PHOTOS_PER_CLASS, seed=SEED % 1000)
    clips = plan(split.labels, photo_indices)
    folder = root / "media"
    fm.write_library(folder / "photos", split, photo_indices)
    for planned in clips:
        segments = [(Image.fromarray(split.images[i], "L").resize((112, 112), Image.Resampling.BICUBIC), SEGMENT_S)
                    for i in planned.images]
        write_clip(folder / "clips" / planned.name, segments, codec=planned.codec, fps=FPS, size=SIZE, drift=DRIFT)
    lib = Library.open(root / "library", model=TINY_MODEL)
    summary = lib.index([folder])
    assert summary.failed == 0, summary.failures
    assert summary.indexed == len(clips) + len(photo_indices)
    assert lib.status()["videos"] == len(clips)
    yield lib, {str(folder / "clips" / c.name): c for c in clips}
    lib.close()


def test_class_queries_find_the_clips_at_the_right_moment_and_leave_the_others_out(video_library):
    lib, clips = video_library
    total = lib.status()["photos"]
    found, placed, positives, rejected, negatives = 0, 0, 0, 0, 0
    per_codec: dict[str, list[int]] = {}
    misses = []
    for label, query in QUERIES.items():
        hits = {h.path: h for h in lib.search(query, limit=total) if h.kind == "video"}  # all above the cut-off
        for path, planned in clips.items():
            if label in planned.labels:
                positives += 1
                start, end = planned.segment(label)
                hit = hits.get(path)
                right = hit is not None and start <= hit.at < end
                found += hit is not None
                placed += right
                per_codec.setdefault(planned.codec, [0, 0])[0] += right
                per_codec[planned.codec][1] += 1
                if not right:
                    misses.append(f"{query!r} in {planned.name} [{start:g}-{end:g} s]: "
                                  + ("not found" if hit is None else f"at {hit.at:.2f} s"))
            else:
                negatives += 1
                rejected += path not in hits
    hit_rate, reject_rate = placed / positives, rejected / negatives
    print(f"\n{len(clips)} clips ({len(FORMATS)} formats), {total - len(clips)} photos, {len(QUERIES)} class queries")
    print(f"(clip, class in clip): found {found}/{positives}, "
          f"at the right moment {placed}/{positives} = {hit_rate:.3f}")
    print(f"(clip, class not in clip): below the cut-off {rejected}/{negatives} = {reject_rate:.3f}")
    print("right moment per codec:", {k: f"{a}/{b}" for k, (a, b) in per_codec.items()})
    for miss in misses:
        print("  miss:", miss)
    assert hit_rate >= TARGET
    assert reject_rate >= TARGET


def test_every_clip_keeps_a_moment_in_each_of_its_segments(video_library):
    """The sampler sees every item: each 4 s segment of each clip has a moment of its own."""
    lib, clips = video_library
    model_id = lib.catalog.model_id(lib.model_spec)
    for path, planned in clips.items():
        video = lib.photo(path)
        assert video.duration == pytest.approx(SEGMENTS_PER_CLIP * SEGMENT_S, abs=0.15), planned.name
        times = [t for _, t in lib.catalog.frames_of(video.id, model_id)]
        for k in range(SEGMENTS_PER_CLIP):
            assert any(k * SEGMENT_S <= t < (k + 1) * SEGMENT_S for t in times), (planned.name, times)
