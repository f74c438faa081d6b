"""Named real photos for duplicate and burst tests: an exact copy, near copies, a lookalike, a loner, a burst."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from PIL import Image

from fakes import color_image

T0 = datetime(2024, 7, 14, 12, 0, 0)


def exif(when: datetime | None) -> Image.Exif:
    """EXIF with DateTimeOriginal *when* and a camera (none at all without *when*)."""
    out = Image.Exif()
    if when is not None:
        out.get_ifd(0x8769)[0x9003] = when.strftime("%Y:%m:%d %H:%M:%S")
        out[0x010F] = "Fake Camera"
    return out


def save_shot(image, path: Path, fmt: str = "JPEG", when: datetime | None = None, **options) -> str:
    """Save *image* at *path*; a JPEG gets EXIF with DateTimeOriginal *when* (none: no capture date)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "JPEG":
        options = {"quality": 95, "exif": exif(when), **options}
    image.save(path, fmt, **options)
    return str(path)


def write_duplicates(folder: Path) -> dict[str, str]:
    """Named real photos: a copy of red.jpg in a second folder (exact), blue.jpg re-saved smaller and as a PNG
    (near), a lookalike and a loner (in no group), and a burst of three shots 2 s apart; returns {name: path}."""
    import shutil

    base = color_image("blue", size=96, seed=1)
    out = {
        "red": save_shot(color_image("red", size=96, seed=2), folder / "a" / "red.jpg", when=T0),
        "blue": save_shot(base, folder / "a" / "blue.jpg", when=T0 + timedelta(hours=1)),
        "blue_small": save_shot(base.resize((64, 64), Image.Resampling.LANCZOS), folder / "b" / "blue-small.jpg",
                                when=T0 + timedelta(hours=1), quality=85),
        "blue_png": save_shot(base, folder / "b" / "blue.png", "PNG"),
        "blue_other": save_shot(color_image("blue", size=96, seed=9), folder / "a" / "blue-other.jpg",
                                when=T0 + timedelta(hours=2)),
        "yellow": save_shot(color_image("yellow", size=96, seed=4), folder / "a" / "yellow.jpg"),
    }
    shutil.copy2(out["red"], folder / "b" / "red.jpg")
    out["red_copy"] = str(folder / "b" / "red.jpg")
    green = color_image("green", size=100, seed=5)
    for n, dx in enumerate((0, 2, 4)):
        out[f"burst{n}"] = save_shot(green.crop((dx, 0, dx + 96, 96)), folder / "c" / f"green-{n}.jpg",
                                     when=T0 + timedelta(hours=3, seconds=2 * n))
    return out
