"""The indexer's text check: photos with no letter-like edge anywhere are recorded as read with no text
(the text stage skips them); any text, faint, hue-only or huge, goes on to the reader."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

import text_images as ti
from fakes import NAME as FAKE_MODEL
from fakes import FakeReader, text_photo

from photosense import Library
from photosense.core import text_presence
from photosense.core.text_presence import might_have_text, stroke_score


def smooth_photo(seed: int = 0, size: tuple[int, int] = (500, 375)) -> Image.Image:
    """Shading and grain only, as a 12 MP camera photo of sky or walls decodes at 1/8 scale."""
    return ti.photo_background(np.random.default_rng(seed), *size, noise=4)


def lettered(text: str, size: int, fill, panel, font: str = "DejaVuSans.ttf",
             canvas: Image.Image | None = None) -> Image.Image:
    img = canvas.copy() if canvas is not None else Image.new("RGB", (500, 375), panel)
    ImageDraw.Draw(img).text((20, 60), text, font=ti.font(font, size), fill=fill)
    return img


@pytest.mark.parametrize("seed", range(4))
def test_shading_and_grain_alone_are_text_free(seed):
    assert stroke_score(smooth_photo(seed)) < text_presence.EDGES_MIN
    assert not might_have_text(smooth_photo(seed))


def test_words_on_a_photo_are_kept():
    img = lettered("Gate B12", 40, (250, 250, 250), None, canvas=smooth_photo(1).filter(ImageFilter.GaussianBlur(1)))
    assert might_have_text(img)


def test_faint_thin_text_is_kept():
    # 40 grey levels of contrast, 14 px letters: strokes a pixel or two wide
    assert might_have_text(lettered("wifi password 4471", 14, (150, 150, 150), (190, 190, 190)))


def test_text_that_differs_only_in_hue_is_kept():
    green = (0, 130, 0)
    red = (round(0.587 * 130 / 0.299), 0, 0)  # the same luminance as the green
    img = lettered("SALE 50", 40, red, green)
    assert np.ptp(np.asarray(img.convert("L"))) <= 2  # invisible in brightness
    assert might_have_text(img)


def test_lettering_too_big_for_strokes_to_pair_is_kept():
    assert might_have_text(lettered("EXIT", 220, (20, 20, 20), (240, 240, 240), "DejaVuSans-Bold.ttf"))


def test_small_images_are_never_called_text_free():
    assert might_have_text(Image.new("RGB", (60, 60), (128, 128, 128)))
    assert might_have_text(Image.new("L", (48, 300), 128))


def test_grayscale_images_and_odd_shapes():
    assert not might_have_text(smooth_photo(2).convert("L"))
    assert might_have_text(lettered("Invoice", 30, (0, 0, 0), (255, 255, 255)).convert("L"))
    for width, height in ((1, 500), (500, 1)):  # no block has two pixels to compare across
        lines = np.zeros((height, width), np.uint8)
        lines[::3, ::3] = 255
        assert stroke_score(Image.fromarray(lines, "L")) == 0
    for width, height in ((17, 17), (16, 1000), (1000, 20)):  # partial blocks at the edges count
        lines = np.zeros((height, width), np.uint8)
        lines[:, ::3] = 255
        assert stroke_score(Image.fromarray(lines, "L")) >= text_presence.EDGES_MIN


def test_a_panorama_is_checked_at_its_decode_scale():
    # a 16000x4000 panorama decodes at 1/8 to 2000x500: looked at as decoded (halving it alone would take
    # faint text below the steps), and at half of it as well
    assert [im.size for im in text_presence._scales(Image.new("L", (2000, 500)))] == [(2000, 500), (1000, 250)]
    img = Image.new("L", (2000, 500), 180)
    ImageDraw.Draw(img).text((900, 240), "platform 9", font=ti.font("DejaVuSans.ttf", 14), fill=140)
    assert might_have_text(img)


def test_text_in_the_last_partial_block_counts():
    img = Image.new("L", (500, 383), 200)  # 23 full rows of blocks (368 px), then a 15 px strip
    ImageDraw.Draw(img).text((300, 369), "wifi code 4471", font=ti.font("DejaVuSans.ttf", 11), fill=20)
    assert np.asarray(img)[:368].min() == 200  # all of the text sits in the strip
    assert might_have_text(img)


def test_big_photos_are_also_checked_at_the_scale_the_constants_were_chosen_at():
    # a 48 MP photo decodes to 1000x750 at DCT scale 1/8; the check also looks at 500x375 there
    assert [im.size for im in text_presence._scales(Image.new("L", (1000, 750)))] == [(1000, 750), (500, 375)]
    assert [im.size for im in text_presence._scales(Image.new("L", (1920, 1080)))] == [(960, 540), (480, 270)]
    assert [im.size for im in text_presence._scales(Image.new("L", (500, 375)))] == [(500, 375)]
    # faint strokes 7-12 px wide at 1000 px pair up only at half that
    img = Image.new("L", (1000, 750), 120)
    ImageDraw.Draw(img).text((40, 200), "Market Hall", font=ti.font("DejaVuSans.ttf", 110), fill=160)
    assert text_presence._block_max(np.asarray(img)) < text_presence.EDGES_MIN
    assert might_have_text(img)


def test_indexing_records_text_free_photos_and_the_text_stage_skips_them(tmp_path, photos_dir):
    smooth_photo(3, (400, 300)).save(photos_dir / "sky.jpg", quality=90)
    big = lettered("Boarding pass", 36, (20, 20, 20), (245, 245, 245))
    big.save(photos_dir / "ticket.jpg", quality=90)
    text_photo(photos_dir / "tiny-note.png", "white", "gate B12")  # 48 px: always left to the reader
    reader = FakeReader(texts={"ticket.jpg": "Boarding pass"})
    with Library.open(tmp_path / "lib", model=FAKE_MODEL) as lib:
        lib.text.reader_factory = lambda: reader
        lib.index([photos_dir])
        assert lib.status()["text_pending"] == 2
        sky = lib.catalog.photo_by_path(photos_dir / "sky.jpg")
        row = lib.catalog.text_of(sky.id)
        assert (row.text, row.engine, row.gated) == ("", text_presence.ENGINE, True)
        summary = lib.read_text()
        assert summary.read == 2 and summary.pending == 0
        assert sorted(p.rsplit("/", 1)[-1] for p in map(str, reader.calls)) == ["ticket.jpg", "tiny-note.png"]
        assert [h.path.rsplit("/", 1)[-1] for h in lib.search("boarding pass")][:1] == ["ticket.jpg"]

        # a changed file is checked again: the sky now carries a sign
        lettered("Lisbon", 60, (255, 255, 255), None, canvas=smooth_photo(3, (400, 300))).save(
            photos_dir / "sky.jpg", quality=90)
        lib.index()
        assert lib.status()["text_pending"] == 1


def test_a_touched_file_keeps_the_text_already_read_from_it(tmp_path, photos_dir):
    import os

    path = photos_dir / "sky.jpg"
    smooth_photo(6, (400, 300)).save(path, quality=90)
    from photosense.core.media import open_image
    assert not might_have_text(open_image(path, min_side=text_presence.CHECK_MIN_SIDE).image)
    with Library.open(tmp_path / "lib", model=FAKE_MODEL) as lib:
        lib.text.reader_factory = lambda: FakeReader()
        lib.index([photos_dir], check_text=False)
        # the reader found words the check would not have (a faint watermark, say)
        lib.text.reader_factory = lambda: FakeReader(texts={"sky.jpg": "Lisbon 2026"})
        lib.text._reader = None
        assert lib.read_text().read == 1
        photo = lib.catalog.photo_by_path(path)
        assert lib.catalog.text_of(photo.id).text == "Lisbon 2026"
        st = os.stat(path)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))  # touched, same bytes
        summary = lib.index()
        assert summary.indexed + summary.reused >= 1
        assert lib.catalog.text_of(photo.id).text == "Lisbon 2026"
        assert lib.status()["text_pending"] == 0


def test_a_text_free_verdict_of_the_same_content_is_dropped_when_the_check_changes_its_mind(tmp_path, photos_dir,
                                                                                            monkeypatch):
    import os

    path = photos_dir / "sky.jpg"
    smooth_photo(7, (400, 300)).save(path, quality=90)
    with Library.open(tmp_path / "lib", model=FAKE_MODEL) as lib:
        lib.index([photos_dir])
        photo = lib.catalog.photo_by_path(path)
        assert lib.catalog.text_of(photo.id).engine == text_presence.ENGINE
        monkeypatch.setattr(text_presence, "EDGES_MIN", 0)  # a later check that is less sure
        st = os.stat(path)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
        lib.index()
        assert lib.catalog.text_of(photo.id) is None
        assert lib.status()["text_pending"] == 1


def test_without_the_check_every_photo_waits_for_the_text_stage(tmp_path, photos_dir):
    smooth_photo(4, (400, 300)).save(photos_dir / "sky.jpg", quality=90)
    with Library.open(tmp_path / "lib", model=FAKE_MODEL) as lib:
        lib.index([photos_dir], check_text=False)
        assert lib.status()["text_pending"] == 1


def test_the_cli_no_text_flag_leaves_the_photos_pending(tmp_path, photos_dir, cli):
    import json

    smooth_photo(5, (400, 300)).save(photos_dir / "sky.jpg", quality=90)
    lib = tmp_path / "lib"
    assert cli("index", photos_dir, "--model", FAKE_MODEL, "--no-text", "-q", library=lib).returncode == 0
    assert json.loads(cli("status", "--json", library=lib).stdout)["text_pending"] == 1
