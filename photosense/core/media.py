"""Open any photo safely and fast: draft-mode JPEG, EXIF orientation, HEIC, every mode to RGB."""
from __future__ import annotations

import errno
import os
import struct
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from photosense.core.errors import ImageError
from photosense.core.filetypes import IMAGE_EXTENSIONS

try:  # HEIC/HEIF (and AVIF where the wheel has it) through libheif
    import pillow_heif

    pillow_heif.register_heif_opener()
    _HEIF_FORMATS = {"HEIF"}
except ImportError:  # pragma: no cover - pillow-heif is a declared dependency
    pillow_heif = None
    _HEIF_FORMATS = set()

# Truncated files are failures, never silently half-grey photos; the bomb guard stays on.
ImageFile.LOAD_TRUNCATED_IMAGES = False
DECODE_BLOCK = 1 << 23  # bytes fed to an image decoder at a time (see _decode)


_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL, _DATETIME_DIGITIZED, _DATETIME = 0x9003, 0x9004, 0x0132
_SUBSEC_ORIGINAL, _SUBSEC_DIGITIZED, _SUBSEC = 0x9291, 0x9292, 0x9290  # fractions of those seconds
_MAKE, _MODEL, _ORIENTATION = 0x010F, 0x0110, 0x0112
_TRANSPOSED = {5, 6, 7, 8}  # orientations that swap width and height
_ORIENT_TRANSPOSE = {  # EXIF orientation -> the transpose that makes the pixels upright
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90,
}


class FileVanished(ImageError):
    """The file was deleted or moved after it was found: not a broken photo."""


@dataclass
class Decoded:
    """An opened photo: upright RGB pixels plus what the catalog records about it."""

    image: Image.Image
    width: int  # of the original, upright
    height: int
    taken_at: str | None = None
    camera: str | None = None


def is_image_name(name: str | os.PathLike[str]) -> bool:
    """True when a file name has a photo extension (case-insensitive)."""
    return os.path.splitext(os.fsdecode(name))[1].lower() in IMAGE_EXTENSIONS


def open_image(path: str | os.PathLike[str], min_side: int | None = None) -> Decoded:
    """Decode *path* to an upright RGB image whose shorter side is at least *min_side* when possible.

    JPEGs are decoded at a reduced DCT scale (``draft``) and other large images are box-reduced,
    so a 12 MP photo bound for a 224 px model costs a fraction of a full decode. Raises
    :class:`ImageError` with a human-readable reason for anything that is not a usable photo.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            head = fh.read(512)
            if not head:
                raise ImageError("empty file (0 bytes)")
            fh.seek(0)
            try:
                img = Image.open(fh)
            except UnidentifiedImageError:
                raise ImageError(_not_an_image_reason(head)) from None
            return _decode(img, min_side)
    except ImageError:
        raise
    except FileNotFoundError:
        raise FileVanished("the file disappeared before it could be read") from None
    except IsADirectoryError:
        raise ImageError("is a directory, not a file") from None
    except PermissionError:
        raise ImageError("permission denied: the file cannot be read") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ImageError(f"refused as a possible decompression bomb: {_bomb_detail(err)}") from None
    except OSError as err:
        if err.errno in (errno.EIO, errno.ENXIO, errno.ESTALE, errno.ENODEV):
            raise ImageError(f"the disk reported a read error ({err.strerror})") from None
        raise ImageError(_decode_error_reason(err)) from None
    except (ValueError, SyntaxError, EOFError, MemoryError, IndexError, KeyError, TypeError,
            ZeroDivisionError, struct.error) as err:
        raise ImageError(f"corrupt image data ({type(err).__name__}: {err})") from None


def _decode(img: Image.Image, min_side: int | None) -> Decoded:
    fmt = img.format or ""
    exif = img.getexif()
    orientation = exif.get(_ORIENTATION, 1) if fmt not in _HEIF_FORMATS else 1
    width, height = img.size
    if orientation in _TRANSPOSED:
        width, height = height, width
    if min_side and fmt == "JPEG" and img.mode in ("RGB", "L", "CMYK", "YCbCr"):
        # DCT-domain downscaling: the largest 1/2^k scale that keeps both sides >= min_side.
        img.draft(img.mode if img.mode != "YCbCr" else "RGB", (min_side, min_side))
    if getattr(img, "n_frames", 1) > 1:
        img.seek(0)  # animated GIF/WebP/TIFF: the first frame is the photo
    # Pillow feeds its decoder 64 KiB at a time and takes the GIL back between feeds: 50 times for a
    # 3 MB JPEG, each a wait for the thread holding it (imports while the model loads, the encoding
    # loop). Bigger feeds: with a busy Python thread beside them, 2 decode threads went from 3 to 30
    # photos/s (alone: 64 either way).
    img.decodermaxblock = max(getattr(img, "decodermaxblock", 0), DECODE_BLOCK)
    img.load()
    if min_side:
        factor = min(img.size) // (2 * min_side)
        if factor >= 2:
            img = img.reduce(factor)  # cheap box filter; the model's resize does the rest
    img = _to_rgb(img)
    if orientation in _ORIENT_TRANSPOSE:
        # pillow-heif already applied HEIF rotation to the pixels: only EXIF-oriented formats get here.
        img = img.transpose(_ORIENT_TRANSPOSE[orientation])
    taken_at, camera = _exif_fields(exif)
    return Decoded(img, width, height, taken_at, camera)


def _to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow mode to 8-bit RGB: 16/32-bit and float scaled, transparency over white."""
    mode = img.mode
    if mode == "RGB":
        return img
    if mode in ("I", "I;16", "I;16L", "I;16B", "I;16N", "F"):
        arr = np.asarray(img, dtype=np.float64)
        top = arr.max(initial=0.0)
        if mode == "F" and top <= 1.0:
            scale = 255.0
        elif top > 255:
            scale = 255.0 / (65535.0 if top <= 65535 else top)
        else:
            scale = 1.0
        gray = np.clip(arr * scale, 0, 255).astype(np.uint8)
        return Image.fromarray(gray, "L").convert("RGB")
    if mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    elif mode in ("LA", "La", "PA", "RGBa"):
        img = img.convert("RGBA")
    if img.mode == "RGBA":
        background = Image.new("RGB", img.size, (255, 255, 255))
        background.paste(img, mask=img.getchannel("A"))
        return background
    return img.convert("RGB")


def _exif_fields(exif: Image.Exif) -> tuple[str | None, str | None]:
    try:
        sub = exif.get_ifd(_EXIF_IFD)
    except Exception:  # malformed EXIF must not cost the photo
        sub = {}
    taken = None
    for raw, subsec in ((sub.get(_DATETIME_ORIGINAL), sub.get(_SUBSEC_ORIGINAL)),
                        (sub.get(_DATETIME_DIGITIZED), sub.get(_SUBSEC_DIGITIZED)),
                        (exif.get(_DATETIME), sub.get(_SUBSEC))):
        taken = _parse_exif_datetime(raw, subsec)
        if taken:
            break
    make = _clean_text(exif.get(_MAKE))
    model = _clean_text(exif.get(_MODEL))
    if make and model and model.lower().startswith(make.split()[0].lower()):
        camera = model  # "Canon" + "Canon EOS 5D" -> "Canon EOS 5D"
    else:
        camera = " ".join(p for p in (make, model) if p) or None
    return taken, camera


def _clean_text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    value = value.replace("\x00", "").strip()
    return value or None


def _parse_exif_datetime(value: object, subsec: object = None) -> str | None:
    """ISO 8601 local time, to the millisecond when the camera wrote the fraction (SubSecTime: a burst
    shoots several frames a second, and only the fraction tells them from copies of one shot)."""
    text = _clean_text(value)
    if not text:
        return None
    for fmt in ("%Y:%m:%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y:%m:%d %H:%M", "%Y-%m-%dT%H:%M:%S"):
        try:
            parsed = datetime.strptime(text[:19], fmt)
        except ValueError:
            continue
        if parsed.year >= 1826:  # the first photograph; "0000:00:00" placeholders fail above
            digits = (_clean_text(subsec) or "").strip()
            if digits.isdigit():
                return parsed.replace(microsecond=int(digits[:6].ljust(6, "0"))).isoformat(timespec="milliseconds")
            return parsed.isoformat(timespec="seconds")
    return None


def _not_an_image_reason(head: bytes) -> str:
    start = head.lstrip().lower()
    if start.startswith((b"<!doctype html", b"<html")) or b"<html" in start[:200]:
        return "not an image: the file is an HTML page"
    if start.startswith(b"<?xml") or start.startswith(b"<svg"):
        return "not a supported image: the file is XML/SVG"
    if start.startswith(b"%pdf"):
        return "not an image: the file is a PDF document"
    try:
        head.decode("utf-8")
        return "not an image: the file contains text"
    except UnicodeDecodeError:
        pass
    return "not a recognized image format (unknown or corrupt file header)"


def _decode_error_reason(err: OSError) -> str:
    text = str(err)
    if "truncated" in text or "premature end" in text.lower():
        return "truncated or incomplete file (the image data ends early)"
    if "cannot identify" in text:
        return "not a recognized image format"
    return f"corrupt image data ({text})"


def _bomb_detail(err: Exception) -> str:
    text = str(err)
    return text.split(" could be")[0] if " could be" in text else text
