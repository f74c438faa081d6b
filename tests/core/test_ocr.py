"""The OCR engine for real (RapidOCR's PP-OCR ONNX models): words read back, the gate, orientation, errors."""
from __future__ import annotations

import sys

import numpy as np
import pytest
from PIL import Image, ImageDraw

import text_images as ti
from helpers import bomb_png, save
from photosense.core import ocr
from photosense.core.errors import ImageError, OcrUnavailable, UsageError

if sys.version_info >= (3, 13):  # rapidocr_onnxruntime 1.4 ships no wheel for 3.13 yet
    pytest.skip("the OCR engine supports Python < 3.13", allow_module_level=True)


@pytest.fixture(scope="module")
def reader() -> ocr.TextReader:
    return ocr.create_reader(device="cpu")


def _sign(size: tuple[int, int], text: str, at: tuple[int, int], height: int, seed: int = 0) -> Image.Image:
    """A photo-like image with *text* in dark letters on a light panel whose top-left corner is *at*."""
    img = ti.photo_background(np.random.default_rng(seed), *size)
    fnt = ti.font("DejaVuSans-Bold.ttf", height)
    left, top, right, bottom = fnt.getbbox(text)
    pad = height // 3
    d = ImageDraw.Draw(img)
    panel = (at[0], at[1], at[0] + right - left + 2 * pad, at[1] + bottom - top + 2 * pad)
    d.rectangle(panel, fill=(240, 240, 230))
    d.text((at[0] + pad - left, at[1] + pad - top), text, font=fnt, fill=(20, 20, 20))
    return img


def _tokens(result: ocr.TextResult) -> set[str]:
    return set(ti.word_tokens(result.text))


def test_words_numbers_and_codes_are_read_back(reader):
    img = Image.new("RGB", (900, 300), (255, 255, 255))
    d = ImageDraw.Draw(img)
    d.text((40, 40), "INVOICE 4471", font=ti.font("DejaVuSans.ttf", 48), fill=(0, 0, 0))
    d.text((40, 160), "gate B12  X7Q-22", font=ti.font("DejaVuSerif.ttf", 44), fill=(30, 30, 120))
    result = reader.read_image(img)
    assert not result.gated
    assert {"invoice", "4471", "gate", "b12", "x7q", "22"} <= _tokens(result), result.text
    assert result.text.index("4471") < result.text.index("B12")  # reading order: top line first
    for line in result.lines:
        assert 0.0 <= line.confidence <= 1.0 and len(line.box) == 4


@pytest.mark.slow
def test_generated_text_images_are_read(reader):
    """Words, receipts and screenshots from the generator (tuning seed): most words come back."""
    images = ti.generate(ti.TUNING_SEED, per_kind=2, kinds=("words", "receipt", "screenshot"))
    words = sum(len(item.words) for item in images)
    found = sum(ti.found_words(item.words, reader.read_image(item.image).text) for item in images)
    assert found / words >= 0.8, f"{found}/{words} words read"  # 0.896 on the whole tuning split


def test_gate_skips_plain_photos(reader):
    plain = ti.generate(ti.TUNING_SEED, per_kind=2, kinds=("plain",), photo_size=(1600, 1200))
    for item in plain:
        result = reader.read_image(item.image)
        assert result.gated and result.lines == () and result.text == "", item.name


@pytest.mark.slow
def test_gate_keeps_text_images(reader):
    """The gate alone on 12 MP signs, screenshots, receipts and tags (tuning seed): none is lost."""
    text = ti.generate(ti.TUNING_SEED, per_kind=2, kinds=ti.TEXT_KINDS)
    lost = [item.name for item in text if not reader.gate_fires(item.image)]
    assert lost == []


def test_ungated_read_runs_the_detector_even_where_the_gate_would_not(reader):
    plain = ti.photo_background(np.random.default_rng(5), 800, 600)
    assert reader.read_image(plain).gated
    assert not reader.read_image(plain, gate=False).gated


@pytest.mark.slow
def test_a_sign_in_a_12mp_photo_is_read_with_boxes_in_full_size_pixels(reader, tmp_path):
    img = _sign((4000, 3000), "PLATFORM 9", at=(2300, 1900), height=110)
    path = save(img, tmp_path / "sign.jpg", quality=90)
    result = reader.read_path(path)
    assert {"platform", "9"} <= _tokens(result), result.text
    line = next(line for line in result.lines if "PLATFORM" in line.text.upper())
    xs = [x for x, _ in line.box]
    ys = [y for _, y in line.box]
    # the panel's letters span x 2336..~3070, y 1936..~2050 in the 4000x3000 original
    assert 2250 <= min(xs) <= 2400 and 2900 <= max(xs) <= 3200, line.box
    assert 1880 <= min(ys) <= 1980 and 2000 <= max(ys) <= 2120, line.box
    # the full-size detector ran only around what the gate found, and read what a look everywhere reads
    assert sorted(ti.word_tokens(reader.read_path(path, gate=False).text)) == sorted(ti.word_tokens(result.text))


def test_boxes_of_an_image_larger_than_the_ocr_size_are_in_its_own_pixels(reader, tmp_path):
    img = _sign((3200, 1200), "HARBOR 77", at=(2400, 700), height=90, seed=1)
    result = reader.read_path(save(img, tmp_path / "wide.png"))
    line = next(line for line in result.lines if "HARBOR" in line.text.upper())
    xs = [x for x, _ in line.box]
    ys = [y for _, y in line.box]
    assert 2350 <= min(xs) <= 2480 and 2850 <= max(xs) <= 3150, line.box  # beyond OCR_MAX_SIDE: rescaled
    assert 660 <= min(ys) <= 760 and 760 <= max(ys) <= 860, line.box


def test_a_thin_strip_is_not_blown_up_for_the_detector(reader):
    strip = Image.new("RGB", (6000, 14), (255, 255, 255))
    assert reader.read_image(strip, gate=False).lines == ()  # (enlarging its 9 px side to 736 would not fit)


def test_exif_rotated_photo_is_read_upright(reader, tmp_path):
    upright = _sign((1200, 900), "MUSEUM", at=(300, 500), height=90, seed=3)
    # stored rotated by 90 degrees, with EXIF orientation 6 telling viewers to turn it back
    exif = Image.Exif()
    exif[0x0112] = 6
    path = save(upright.transpose(Image.Transpose.ROTATE_90), tmp_path / "rotated.jpg", exif=exif, quality=92)
    result = reader.read_path(path)
    assert "museum" in _tokens(result), result.text
    line = next(line for line in result.lines if "MUSEUM" in line.text.upper())
    xs = [x for x, _ in line.box]
    ys = [y for _, y in line.box]
    assert max(xs) <= 1200 and max(ys) <= 900 and min(ys) >= 450, line.box  # upright coordinates
    assert max(xs) - min(xs) > 3 * (max(ys) - min(ys))  # a horizontal line, not a vertical one


def test_broken_files_and_bombs_raise_image_error_with_a_reason(reader, tmp_path):
    broken = tmp_path / "broken.jpg"
    good = _sign((600, 400), "OPEN", at=(100, 100), height=60)
    data = save(good, tmp_path / "good.jpg").read_bytes()
    broken.write_bytes(data[: len(data) // 3])
    with pytest.raises(ImageError, match="truncated|corrupt"):
        reader.read_path(broken)
    notes = tmp_path / "notes.jpg"
    notes.write_text("wifi password: hunter2\n")
    with pytest.raises(ImageError, match="not an image"):
        reader.read_path(notes)
    with pytest.raises(ImageError, match="decompression bomb"):
        reader.read_path(bomb_png(tmp_path / "bomb.png"))


def test_missing_engine_gives_a_clear_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "rapidocr_onnxruntime", None)  # makes the import fail
    with pytest.raises(OcrUnavailable, match=r"rapidocr_onnxruntime.*tools/install\.sh"):
        ocr.create_reader()
    available, reason = ocr.engine_status()
    assert not available and "rapidocr_onnxruntime package is not installed" in reason


def test_a_library_the_engine_needs_failing_to_load_is_named(monkeypatch):
    for name in [m for m in sys.modules if m.split(".")[0] == "rapidocr_onnxruntime"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "cv2", None)  # as when OpenCV's libGL.so.1 is missing
    available, reason = ocr.engine_status()
    assert not available and "a library it needs failed to load" in reason and "cv2" in reason
    assert "tools/install.sh" in reason


def test_engine_status_names_the_engine():
    available, name = ocr.engine_status()
    assert available and name.startswith("rapidocr-onnxruntime 1.4") and "PP-OCRv4" in name


def test_cuda_asked_for_without_a_gpu_provider_says_what_to_install(monkeypatch):
    monkeypatch.setattr(ocr, "_cuda_available", lambda: False)
    with pytest.raises(OcrUnavailable, match="onnxruntime-gpu"):
        ocr.create_reader(device="cuda")
    assert ocr.create_reader().device == "cpu"
    with pytest.raises(UsageError, match="unknown OCR device"):
        ocr.create_reader(device="tpu")


def test_a_cpu_reader_shares_the_cores_between_sets_of_models_read_from_threads_at_once(reader):
    import os
    from concurrent.futures import ThreadPoolExecutor

    assert reader.parallel == min(ocr.PARALLEL_MAX, os.cpu_count() or 1)
    assert ocr.create_reader(device="cpu", threads=2).parallel == 1  # threads asked for: one set using them
    pages = []
    for i, words in enumerate(["INVOICE 4471", "gate B12", "PLATFORM 9", "total 12.50"]):
        img = Image.new("RGB", (700, 200), (255, 255, 255))
        ImageDraw.Draw(img).text((30, 60), words, font=ti.font("DejaVuSans.ttf", 48), fill=(0, 0, 0))
        pages.append(img)
    alone = [reader.read_image(p).text for p in pages]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda p: reader.read_image(p).text, pages * 2))
    assert together == alone * 2 and all(alone)


def _word_box(text: str, gaps: list[int]) -> list:
    """RapidOCR's return_word_box record for *text* read with these column gaps between its characters."""
    columns = [2]
    for gap in gaps:
        columns.append(columns[-1] + gap)
    return [columns[-1] + 3, [list(text)], [columns], ["en&num"], [0.9] * len(text)]


def test_words_the_recognizer_ran_together_are_split_where_their_characters_lie_a_word_apart():
    # "B5C-12 29500 MOUNTAIN" read as one word: word gaps of 6-7 columns, letters 3-5 apart
    text = "B5C-1229500MOUNTAIN"
    gaps = [4, 4, 3, 3, 3, 6, 4, 3, 4, 4, 7, 4, 4, 5, 4, 3, 3, 3]
    assert ocr._respaced(text, _word_box(text, gaps)) == "B5C-12 29500 MOUNTAIN"
    # big lettering on a sign: evenly wide gaps, and a wide last letter, are one word
    assert ocr._respaced("BUSINESS", _word_box("BUSINESS", [7, 5, 4, 5, 6, 5, 5])) == "BUSINESS"
    assert ocr._respaced("system", _word_box("system", [4, 3, 3, 4, 6])) == "system"
    # spaces the recognizer did emit stay as they are, and nothing is added next to them
    assert ocr._respaced("gate B12", _word_box("gate B12", [3, 3, 3, 4, 5, 3, 3])) == "gate B12"
    # a record that does not give one column per character leaves the text as read
    assert ocr._respaced("C2636T7983", [12, [["C"]], [[2]], ["en&num"], [0.9]]) == "C2636T7983"
