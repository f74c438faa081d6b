"""Hostile and odd input, end to end through a real library (fake embedder): indexed, recorded as failures,
or ignored; never a crash."""
from __future__ import annotations

import pytest

import json
import os
from pathlib import Path

import numpy as np
from fakes import NAME as FAKE_MODEL
from helpers import bomb_png, gradient, jpeg_bytes, save
from PIL import Image

from photosense import Library

ODD_NAME = b"caf\xe9-\xff-not-utf8.jpg"  # Latin-1 bytes: not valid UTF-8
LONG_NAME = "l" * 240 + ".jpg"  # near the 255-byte limit of most file systems


def write_valid(folder: Path) -> list[Path]:
    """One file of every kind that must be indexed."""
    img = gradient(96, 72, seed=1)
    made = [
        save(img.convert("CMYK"), folder / "cmyk.jpg", "JPEG"),
        save(Image.fromarray((np.arange(96 * 72, dtype=np.uint16).reshape(72, 96) * 9)),
             folder / "sixteen-bit.png", "PNG"),
        save(img.convert("P", palette=Image.Palette.ADAPTIVE), folder / "palette.png", "PNG", transparency=0),
        save(img.convert("RGBA"), folder / "rgba.png", "PNG"),
        save(img.convert("L"), folder / "gray.jpg", "JPEG"),
        save(gradient(96, 72, seed=2), folder / "progressive.jpg", "JPEG", progressive=True),
        save(gradient(64, 64, seed=3), folder / "tiff.tif", "TIFF"),
        save(gradient(64, 64, seed=4), folder / "bitmap.bmp", "BMP"),
        save(Image.new("RGB", (1, 1), (200, 10, 10)), folder / "one-pixel.png", "PNG"),
        save(gradient(5000, 12, seed=5), folder / "panorama.jpg", "JPEG"),
        save(gradient(80, 60, seed=6), folder / "SHOUTING.JPEG", "JPEG"),
        save(gradient(80, 60, seed=7), folder / LONG_NAME, "JPEG"),
    ]
    frames = [gradient(40, 40, seed=10 + i).convert("P") for i in range(3)]
    frames[0].save(folder / "animated.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    made.append(folder / "animated.gif")
    odd = os.path.join(os.fsencode(folder), ODD_NAME)
    gradient(70, 50, seed=8).save(os.fsdecode(odd), "JPEG")
    made.append(Path(os.fsdecode(odd)))
    return made


def write_broken(folder: Path) -> dict[str, str]:
    """Files that must be recorded as failures, with a fragment of the expected reason."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.jpg").touch()
    data = jpeg_bytes(gradient(400, 300), quality=95)
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (folder / "notes.png").write_text("just some notes\n")
    (folder / "page.jpeg").write_text("<!DOCTYPE html><html><body>404</body></html>")
    bomb_png(folder / "bomb.png")  # 20000 x 20000 black pixels in ~400 kB
    return {"empty.jpg": "empty file", "truncated.jpg": "truncated", "notes.png": "text",
            "page.jpeg": "HTML", "bomb.png": "decompression bomb"}


def write_traps(folder: Path) -> None:
    """Things that are no photo at all and must simply be passed over."""
    (folder / "album.jpg").mkdir()  # a directory named like an image
    save(gradient(seed=30), folder / "album.jpg" / "inside.jpg")  # ... whose content still counts
    (folder / "loop").mkdir()
    os.symlink(folder, folder / "loop" / "back-to-top")  # a symlink loop
    os.symlink(folder / "nowhere.jpg", folder / "dangling.jpg")  # a dangling symlink


def test_odd_valid_files_are_indexed_broken_ones_recorded_and_traps_ignored(tmp_path, photos_dir, cli):
    valid = write_valid(photos_dir)
    broken = write_broken(photos_dir / "broken")
    write_traps(photos_dir)
    with Library.open(tmp_path / "library", model=FAKE_MODEL) as lib:
        summary = lib.index([photos_dir])
        reasons = {os.path.basename(f.path): f.reason for f in lib.failures()}
        assert set(reasons) == set(broken), reasons
        for name, fragment in broken.items():
            assert fragment in reasons[name], (name, reasons[name])
        expected = len(valid) + 1  # + album.jpg/inside.jpg
        assert summary.indexed == expected and summary.failed == len(broken)
        status = lib.status()
        assert (status["photos"], status["indexed"], status["pending"]) == (expected, expected, 0)
        for path in valid:
            photo = lib.photo(path)
            assert photo.indexed_at is not None and photo.width and photo.height, path
        assert (lib.photo(photos_dir / "panorama.jpg").width, lib.photo(photos_dir / "panorama.jpg").height) \
            == (5000, 12)
        # a second run retries nothing and finds nothing new
        again = lib.index()
        assert (again.indexed, again.failed, again.skipped) == (0, 0, expected + len(broken))

    # a name that is not valid UTF-8 round-trips through the CLI too
    odd = os.fsdecode(os.path.join(os.fsencode(photos_dir), ODD_NAME))
    result = cli("info", odd, "--json", library=tmp_path / "library")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["path"] == odd


def test_files_deleted_between_scan_and_decode_are_dropped_quietly(tmp_path, photos_dir, short_graces):
    for i in range(20):
        save(gradient(48, 48, seed=i), photos_dir / f"p{i:02d}.jpg")
    doomed: list[Path] = []

    def delete_once_indexing_started(progress):
        if progress.phase == "indexing" and not doomed:
            # the scan saw them; decoding (3 photos ahead at most) has not reached the last ones
            doomed.extend(Path(p.path) for p in lib.catalog.pending(1)[-4:])
            for path in doomed:
                path.unlink()

    with Library.open(tmp_path / "library", model=FAKE_MODEL) as lib:
        summary = lib.index([photos_dir], progress=delete_once_indexing_started, batch_size=1, workers=1)
        assert len(doomed) == 4 and summary.vanished == 4 and summary.failed == 0
        assert lib.failures() == []
        status = lib.status()
        assert (status["photos"], status["indexed"], status["pending"]) == (16, 16, 0)
        assert set(lib.vectors().ids().tolist()) == set(lib.catalog.embedding_ids(1).tolist())


@pytest.mark.slow  # a few seconds of real waiting; the full suite runs it
def test_a_photo_saved_by_delete_then_rename_while_indexing_keeps_its_row(tmp_path, photos_dir):
    """Editors save by deleting the file and renaming a new one into place: the indexer gives a
    vanished photo the same grace as live sync, so its id, tags and albums survive the gap."""
    import threading

    files = [save(gradient(48, 48, seed=i), photos_dir / f"p{i}.jpg") for i in range(5)]
    with Library.open(tmp_path / "library", model=FAKE_MODEL) as lib:
        lib.index([photos_dir])
        photo_id, target = max(lib.photos())  # the highest id: decoded last, after the read-ahead
        target = Path(target)
        lib.tags.accept("favourite", [target])
        for i, path in enumerate(files):
            save(gradient(60, 40, seed=10 + i), path)  # edited: all pending again
        timers: list[threading.Timer] = []

        def save_by_delete_then_rename(progress):
            if progress.phase == "indexing" and not timers:
                new = save(gradient(64, 64, seed=99), photos_dir / ".p4.jpg.tmp", "JPEG")
                target.unlink()
                timers.append(threading.Timer(1.5, os.rename, (new, target)))
                timers[0].start()

        summary = lib.index(progress=save_by_delete_then_rename, batch_size=1, workers=1)
        timers[0].join()
        assert timers and summary.vanished == 0 and summary.failed == 0
        assert lib.photo(target).id == photo_id and photo_id in lib.vectors()
        assert [t.label for t in lib.tags.of(target)] == ["favourite"]
        s = lib.status()
        assert (s["photos"], s["indexed"], s["pending"], s["failed"]) == (5, 5, 0, 0)
