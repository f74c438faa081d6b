"""Library.moments: a video's sampled moments, judged against a query as search judges items."""
from __future__ import annotations

from fakes import COLORS, color_image
from helpers import save
from videos import write_clip


def test_moments_are_judged_as_search_judges_items(fake_library, photos_dir):
    clip = write_clip(photos_dir / "clip.mp4", [(COLORS["red"], 4), (COLORS["blue"], 4)], gop=10)
    save(color_image("green", seed=1), photos_dir / "green.jpg")
    assert fake_library.index([photos_dir]).indexed == 2
    plain = fake_library.moments(clip)
    assert plain and all(m.score is None and not m.relevant for m in plain)
    assert [m.t for m in plain] == sorted(m.t for m in plain)
    blue = fake_library.moments(clip, "blue")
    assert {m.relevant for m in blue if m.t >= 4.5} == {True} and {m.relevant for m in blue if m.t < 4} == {False}
    hit = fake_library.search("blue")[0]
    assert hit.kind == "video" and any(m.relevant and m.t == hit.at for m in blue)
    # each moment is judged on its own, as search() does: "-red" leaves out red moments, not the video
    assert [m.relevant for m in fake_library.moments(clip, "blue -red")] == [m.relevant for m in blue]
    assert [h.kind for h in fake_library.search("blue -red")] == ["video"]
    assert not any(m.relevant for m in fake_library.moments(clip, "a dog"))
    assert fake_library.moments(photos_dir / "green.jpg", "green") == []  # a photo has no moments
