"""The image opener: formats, modes, orientation, draft decoding, metadata and broken files."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from helpers import bomb_png, gradient, jpeg_bytes, save
from photosense.core.errors import ImageError
from photosense.core.media import FileVanished, is_image_name, open_image


def _exif(**tags: object) -> Image.Exif:
    exif = Image.Exif()
    for key, value in tags.items():
        exif[int(key.lstrip("t"), 16)] = value
    return exif


@pytest.mark.parametrize("ext,fmt,opts", [
    ("jpg", "JPEG", {}), ("png", "PNG", {}), ("webp", "WEBP", {}), ("tif", "TIFF", {}),
    ("bmp", "BMP", {}), ("gif", "GIF", {}), ("jpeg", "JPEG", {"progressive": True}),
    ("heic", "HEIF", {"quality": 90}),
])
def test_common_formats_open_as_rgb(tmp_path, ext, fmt, opts):
    path = save(gradient(80, 60), tmp_path / f"photo.{ext}", fmt, **opts)
    decoded = open_image(path)
    assert decoded.image.mode == "RGB"
    assert decoded.image.size == (80, 60)
    assert (decoded.width, decoded.height) == (80, 60)


def test_upper_case_extension_is_an_image_name(tmp_path):
    assert is_image_name("IMG_0001.JPEG") and is_image_name("a.HeIc") and not is_image_name("notes.txt")
    path = save(gradient(), tmp_path / "SHOUT.JPEG", "JPEG")
    assert open_image(path).image.mode == "RGB"


def test_jpeg_draft_decodes_at_reduced_scale_but_reports_full_size(tmp_path):
    path = save(gradient(4000, 3000), tmp_path / "big.jpg", "JPEG", quality=80)
    decoded = open_image(path, min_side=224)
    assert (decoded.width, decoded.height) == (4000, 3000)
    # 1/8 DCT scale is 500x375: the largest reduction that keeps the short side >= 224
    assert decoded.image.size == (500, 375)
    assert min(decoded.image.size) >= 224


def test_large_png_is_box_reduced_but_keeps_the_short_side(tmp_path):
    path = save(gradient(2400, 1800), tmp_path / "big.png", "PNG")
    decoded = open_image(path, min_side=224)
    assert 224 <= min(decoded.image.size) < 1800


@pytest.mark.parametrize("orientation,stored_as", [
    (3, Image.Transpose.ROTATE_180), (6, Image.Transpose.ROTATE_90), (8, Image.Transpose.ROTATE_270),
    (2, Image.Transpose.FLIP_LEFT_RIGHT), (4, Image.Transpose.FLIP_TOP_BOTTOM),
    (5, Image.Transpose.TRANSPOSE), (7, Image.Transpose.TRANSVERSE),
])
def test_exif_orientation_makes_pixels_upright(tmp_path, orientation, stored_as):
    upright = gradient(90, 60)
    exif = _exif(t0112=orientation)
    path = save(upright.transpose(stored_as), tmp_path / "rot.png", "PNG", exif=exif)
    decoded = open_image(path)
    assert decoded.image.size == (90, 60)
    assert (decoded.width, decoded.height) == (90, 60)
    diff = np.abs(np.asarray(decoded.image, dtype=int) - np.asarray(upright, dtype=int)).mean()
    assert diff < 1.0


def test_rotated_jpeg_with_draft(tmp_path):
    upright = gradient(1600, 1200)
    path = tmp_path / "rot.jpg"
    upright.transpose(Image.Transpose.ROTATE_90).save(path, "JPEG", exif=_exif(t0112=6), quality=95)
    decoded = open_image(path, min_side=100)
    assert (decoded.width, decoded.height) == (1600, 1200)
    assert decoded.image.width > decoded.image.height
    small = upright.resize(decoded.image.size)
    assert np.abs(np.asarray(decoded.image, dtype=int) - np.asarray(small, dtype=int)).mean() < 8


def test_heic_is_not_rotated_twice(tmp_path):
    # pillow-heif turns the EXIF orientation into the HEIF transform and applies it on decode
    wide = np.zeros((40, 80, 3), np.uint8)
    wide[:, :40] = 255  # left half white
    path = tmp_path / "phone.heic"
    Image.fromarray(wide).save(path, exif=_exif(t0112=6).tobytes(), quality=95)
    decoded = open_image(path)
    pixels = np.asarray(decoded.image)
    assert decoded.image.size == (40, 80)  # portrait after one 90 degree turn
    assert pixels[:30].mean() > 200 and pixels[50:].mean() < 50  # white half is on top


def test_cmyk_jpeg(tmp_path):
    path = save(gradient().convert("CMYK"), tmp_path / "cmyk.jpg", "JPEG")
    decoded = open_image(path)
    assert decoded.image.mode == "RGB"
    assert np.asarray(decoded.image).std() > 10


def test_sixteen_bit_png_keeps_its_range(tmp_path):
    ramp = (np.linspace(0, 65535, 64 * 32).reshape(32, 64)).astype(np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(ramp).save(path)  # uint16 -> mode I;16, saved as a 16-bit PNG
    assert Image.open(path).mode.startswith("I")
    decoded = open_image(path)
    pixels = np.asarray(decoded.image)
    assert decoded.image.mode == "RGB"
    assert pixels.min() < 5 and pixels.max() > 250 and 100 < pixels.mean() < 155


def test_palette_png_with_transparency_goes_over_white(tmp_path):
    img = Image.new("P", (20, 20), 0)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    img.paste(1, (0, 0, 10, 20))
    path = tmp_path / "pal.png"
    img.save(path, transparency=0)
    pixels = np.asarray(open_image(path).image)
    assert tuple(pixels[5, 2]) == (255, 0, 0)
    assert tuple(pixels[5, 15]) == (255, 255, 255)


@pytest.mark.parametrize("mode", ["RGBA", "LA", "L", "1", "P", "I", "F"])
def test_every_mode_becomes_rgb(tmp_path, mode):
    img = gradient().convert(mode) if mode not in ("I", "F") else gradient().convert("L").convert(mode)
    ext = "tif" if mode in ("I", "F") else "png"
    path = save(img, tmp_path / f"m.{ext}")
    decoded = open_image(path)
    assert decoded.image.mode == "RGB" and decoded.image.size == (64, 48)


def test_animated_gif_uses_first_frame(tmp_path):
    frames = [Image.new("RGB", (16, 16), c) for c in ((255, 0, 0), (0, 0, 255))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    pixels = np.asarray(open_image(path).image)
    assert pixels[..., 0].mean() > 200 and pixels[..., 2].mean() < 50


@pytest.mark.parametrize("size", [(1, 1), (5000, 12), (12, 5000)])
def test_tiny_and_extreme_aspect_images(tmp_path, size):
    path = save(gradient(*size), tmp_path / "odd.png", "PNG")
    decoded = open_image(path, min_side=224)
    assert decoded.image.mode == "RGB" and (decoded.width, decoded.height) == size


def test_exif_date_and_camera(tmp_path):
    exif = _exif(t010F="Canon", t0110="Canon EOS 5D Mark IV")
    exif.get_ifd(0x8769)[0x9003] = "2023:07:14 18:32:05"
    path = tmp_path / "cam.jpg"
    gradient().save(path, "JPEG", exif=exif)
    decoded = open_image(path)
    assert decoded.taken_at == "2023-07-14T18:32:05"
    assert decoded.camera == "Canon EOS 5D Mark IV"


def test_bogus_exif_date_is_ignored(tmp_path):
    path = tmp_path / "zero.jpg"
    gradient().save(path, "JPEG", exif=_exif(t0132="0000:00:00 00:00:00", t010F="Fuji", t0110="X100"))
    decoded = open_image(path)
    assert decoded.taken_at is None and decoded.camera == "Fuji X100"


# -- broken input: a clear reason, never a crash ----------------------------------------------

def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.jpg"
    path.touch()
    with pytest.raises(ImageError, match="empty file"):
        open_image(path)


def test_truncated_jpeg(tmp_path):
    data = jpeg_bytes(gradient(400, 300), quality=95)
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="truncated"):
        open_image(path)


@pytest.mark.parametrize("content,reason", [
    (b"<!DOCTYPE html><html><body>404</body></html>", "HTML"),
    (b"just some notes\n", "text"),
    (b"%PDF-1.4\n...", "PDF"),
    (bytes(range(256)) * 4, "not a recognized image"),
])
def test_non_images_with_image_extensions(tmp_path, content, reason):
    path = tmp_path / "fake.jpg"
    path.write_bytes(content)
    with pytest.raises(ImageError, match=reason):
        open_image(path)


@pytest.mark.parametrize("side", [20000, 9500], ids=["error", "warning"])
def test_decompression_bomb_is_refused(tmp_path, side):
    # 20000 x 20000 of one colour compresses to a tiny PNG but would need 1.2 GB to decode (PIL's
    # DecompressionBombError); 9500 x 9500 is just over its limit (only a warning, refused all the same)
    path = bomb_png(tmp_path / "bomb.png", side)
    assert path.stat().st_size < 2_000_000 and path.read_bytes()[16:24] == side.to_bytes(4, "big") * 2  # IHDR
    with pytest.raises(ImageError, match="decompression bomb"):
        open_image(path)
    assert Image.MAX_IMAGE_PIXELS is not None  # the guard stays on


def test_directory_named_like_an_image(tmp_path):
    folder = tmp_path / "album.jpg"
    folder.mkdir()
    with pytest.raises(ImageError, match="directory"):
        open_image(folder)


def test_missing_file_is_vanished_not_broken(tmp_path):
    with pytest.raises(FileVanished):
        open_image(tmp_path / "gone.jpg")
