"""End to end: the real app in a real X11 window (Xvfb 1280×800), real key events, screenshots saved.

The app runs in its own process through tests/ui/x11_runner.py (the real entry point and window; the
steps of x11_script.py drive it). Each step's facts come back over a pipe when the window has settled;
the test takes the screenshot and writes the step's name back.
"""
from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from conftest import label_of
from helpers import REPO

SHOTS = REPO / "tests" / "_artifacts" / "screenshots"
RUNNER = Path(__file__).with_name("x11_runner.py")
STEP_TIMEOUT_S = 120


def read_line(fd: int, timeout: float) -> str | None:
    """One line from *fd* within *timeout* seconds; None at end of file (the writer exited)."""
    data = b""
    deadline = time.monotonic() + timeout
    while not data.endswith(b"\n"):
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise TimeoutError(f"nothing within {timeout:g} s")
        chunk = os.read(fd, 65536)
        if not chunk:
            return None
        data += chunk
    return data.decode()


@pytest.fixture(scope="module")
def display():
    """A private Xvfb server on a display number it picks itself (``-displayfd``), stopped after the module."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb)")
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                              pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    try:
        number = read_line(read_fd, 30)  # written once the server accepts connections
    except TimeoutError:
        number = None
    finally:
        os.close(read_fd)
    if not number:
        server.kill()
        server.wait()
        pytest.fail("Xvfb did not start")
    yield f":{number.strip()}"
    server.terminate()
    try:
        server.wait(5)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def screenshot(display: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["import", "-display", display, "-window", "root", str(path)], check=True, timeout=30)


def run_app(display: str, library: Path, steps: list[str], tmp: Path, prefix: str,
            command: tuple[str, ...] = ("gui",), fake_model: bool = False,
            env: dict[str, str] | None = None) -> dict[str, dict]:
    """Run ``photosense --library LIB gui`` on *display*, screenshot each step; returns each step's facts.
    *fake_model*: the library was indexed with the tests' fake colour embedder; *env*: more variables."""
    facts_read, facts_write = os.pipe()
    shots_read, shots_write = os.pipe()
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb", "E2E_STEPS": ",".join(steps),
           "E2E_FACTS_FD": str(facts_write), "E2E_SHOTS_FD": str(shots_read),
           "PHOTOSENSE_SETTINGS": str(tmp / f"{prefix}.ini"), "PHOTOSENSE_LOG_DIR": str(tmp / "logs"),
           "E2E_FAKE_MODEL": "1" if fake_model else "0", **(env or {})}
    log_path = tmp / f"{prefix}-app.log"
    with open(log_path, "w") as log:
        app = subprocess.Popen([sys.executable, str(RUNNER), "--library", str(library), *command], env=env,
                               stdout=log, stderr=subprocess.STDOUT, pass_fds=(facts_write, shots_read))
    os.close(facts_write)
    os.close(shots_read)
    facts = {}
    try:
        for step in steps:
            try:
                line = read_line(facts_read, STEP_TIMEOUT_S)
            except TimeoutError:
                pytest.fail(f"step '{step}' never settled:\n{log_path.read_text()}")
            if line is None:
                app.wait(30)
                pytest.fail(f"the app exited during '{step}':\n{log_path.read_text()}")
            message = json.loads(line)
            assert message["step"] == step
            facts[step] = message["facts"]
            screenshot(display, SHOTS / f"{prefix}-{step}.png")
            os.write(shots_write, f"{step}\n".encode())
        assert app.wait(60) == 0, log_path.read_text()
    finally:
        os.close(facts_read)
        os.close(shots_write)
        if app.poll() is None:
            app.kill()
            app.wait()
    output = log_path.read_text()
    assert "Traceback" not in output, output
    return facts


def assert_not_blank(path: Path) -> None:
    with Image.open(path) as image:
        assert image.size == (1280, 800)
        assert max(ImageStat.Stat(image.convert("L")).stddev) > 10  # real content, not one flat colour


@pytest.mark.slow
@pytest.mark.model
def test_real_window_search_similar_and_preview(display, indexed_library, tmp_path):
    facts = run_app(display, indexed_library, ["browse", "search", "similar", "preview"], tmp_path, "library")
    assert facts["browse"]["title"] == "PhotoSense" and facts["browse"]["count"] == "60 photos"
    assert facts["search"]["query"] == ["text", "sneaker"]
    assert [label_of(p) for p in facts["search"]["paths"][:5]].count("sneaker") >= 4
    source = facts["similar"]["query"][1]
    assert [label_of(p) for p in facts["similar"]["paths"][:5]].count(label_of(source)) >= 4
    for step in facts:
        assert_not_blank(SHOTS / f"library-{step}.png")


@pytest.mark.slow  # a real window in a real process; no model: the library has no folders
def test_real_window_first_run(display, tmp_path):
    facts = run_app(display, tmp_path / "new-library", ["browse"], tmp_path, "first-run", command=())  # no command
    assert facts["browse"]["empty"] and facts["browse"]["empty_title"] == "Add a photo folder"
    assert_not_blank(SHOTS / "first-run-browse.png")


@pytest.mark.slow
@pytest.mark.model
def test_real_window_albums_tags_and_prompt_set_editor(display, indexed_library, tmp_path):
    from helpers import TINY_MODEL
    from photosense import Library

    toml = tmp_path / "wardrobe.toml"
    toml.write_text('name = "wardrobe"\n[labels.sneaker]\nprompts = ["sneaker", "running shoe"]\n'
                    '[labels.sandal]\n[labels."ankle boot"]\nprompts = ["ankle boot", "boot"]\nnegatives = ["sandal"]\n'
                    '[labels.bag]\nprompts = ["bag", "handbag"]\n')
    with Library.open(indexed_library, model=TINY_MODEL) as lib:
        lib.tags.apply(toml)
        lib.albums.create("Sneakers", "a photo of a sneaker")
        lib.albums.create("Favourites", manual=True)
        lib.albums.pin("Favourites", [p for _i, p in lib.photos()][:4])
        counts = {f"{c['set']}/{c['label']}": c["count"] for c in lib.tags.counts()}
    facts = run_app(display, indexed_library, ["album", "judge", "tag", "search", "album-dialog", "editor"],
                    tmp_path, "organize")
    album = facts["album"]
    assert album["albums"][0] == ["Favourites", 4] and album["albums"][1][0] == "Sneakers"
    assert {k: v for k, v in album["tags"]} == counts
    assert album["query"][0] == "album" and album["count"] == "4 photos" and album["detail_tags"]
    tag = facts["tag"]  # counts as the sidebar shows them after the rejection
    assert tag["query"][0] == "tag" and tag["count"] == f"{dict(tag['tags'])[tag['query'][1]]} photos"
    assert facts["judge"]["detail_tags"][-1] == facts["album"]["detail_tags"][0]  # rejected: listed last
    assert "manual/favourite" in facts["judge"]["detail_tags"]
    assert facts["search"]["query"] == ["text", "sneaker"] and facts["search"]["count"].endswith("relevant results")
    assert facts["editor"]["preview"]
    for step in facts:
        assert_not_blank(SHOTS / f"organize-{step}.png")


def scene(colour: tuple[int, int, int], seed: int):
    """A clip source: *colour* with a lighter horizon band and a white ball crossing it (motion to see)."""
    from PIL import Image, ImageDraw

    light = tuple(min(255, c + 50) for c in colour)

    def draw(t: float):
        image = Image.new("RGB", (320, 180), colour)
        pen = ImageDraw.Draw(image)
        pen.rectangle((0, 110, 320, 180), fill=light)
        x = (40 + seed * 70 + t * 60) % 360 - 20
        pen.ellipse((x - 14, 70, x + 14, 98), fill=(250, 250, 250))
        return image

    return draw


@pytest.mark.slow  # a real window in a real process; the fake embedder: no torch
def test_real_window_videos_search_filmstrip_and_player(display, tmp_path):
    from fakes import COLORS
    from fakes import NAME as FAKE_MODEL
    from videos import write_clip

    from conftest import write_colors
    from photosense import Library

    media = tmp_path / "media"
    write_colors(media, per_color=3)
    c = COLORS
    write_clip(media / "beach.mp4", [(scene(c["red"], 0), 4.0), (scene(c["blue"], 1), 6.0)], fps=25, gop=25,
               size=(320, 180))
    write_clip(media / "garden.mov", [(scene(c["green"], 2), 5.0), (scene(c["yellow"], 3), 4.0)], fps=25,
               size=(320, 180))
    write_clip(media / "night.webm", [(scene(c["blue"], 4), 3.0)], fps=25, size=(320, 180))
    with Library.open(tmp_path / "library", model=FAKE_MODEL) as lib:
        assert lib.index([media]).indexed == 15
    facts = run_app(display, tmp_path / "library", ["browse", "video-search", "video-player"], tmp_path, "videos",
                    fake_model=True)
    browse = facts["browse"]
    assert browse["count"] == "12 photos, 3 videos" and browse["status"].startswith("12 photos · 3 videos")
    assert browse["badges"] == {"beach.mp4": "0:10", "garden.mov": "0:09", "night.webm": "0:03"}
    search = facts["video-search"]
    assert search["query"] == ["text", "blue"] and search["badges"]["beach.mp4"].startswith("0:0")
    assert "garden.mov" not in search["badges"]
    moments = search["moments"]
    assert [t >= 4.0 for t, _relevant, _best in moments] == [relevant for _t, relevant, _best in moments]
    (best,) = [t for t, _relevant, is_best in moments if is_best]
    assert best >= 4.0
    path, position = facts["video-player"]["player"]
    assert path.endswith("beach.mp4") and position >= best + 1.0
    for step in facts:
        assert_not_blank(SHOTS / f"videos-{step}.png")


def landscape(seed: int, size: tuple[int, int] = (640, 480), sun_dx: int = 0):
    """A photo-like scene: a sky and a ground of their own colours, a sun, hills and grain; *sun_dx* moves the
    sun (the shots of a burst)."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter

    from fakes import COLORS

    names = ["blue", "orange", "green", "purple", "cyan", "red", "yellow", "brown", "magenta"]
    sky, ground = COLORS[names[seed % len(names)]], COLORS[names[(seed + 3) % len(names)]]
    w, h = size
    image = Image.new("RGB", size, sky)
    pen = ImageDraw.Draw(image)
    horizon = int(h * (0.45 + 0.05 * (seed % 4)))
    pen.polygon([(0, horizon), (w * 0.3, horizon - 60 - 10 * seed), (w * 0.6, horizon - 20), (w, horizon - 80),
                 (w, h), (0, h)], fill=ground)
    sx = int(w * (0.15 + 0.1 * (seed % 7))) + sun_dx
    pen.ellipse((sx, 50, sx + 70, 120), fill=(252, 245, 220))
    for k in range(3 + seed % 4):
        x = int(w * (0.1 + 0.22 * k)) + 15 * seed % 40
        pen.rectangle((x, horizon + 30, x + 18, horizon + 90), fill=(60, 40, 30))
        pen.ellipse((x - 25, horizon - 10, x + 43, horizon + 45), fill=(30, 100 + 12 * k, 50))
    grain = np.random.default_rng(seed).normal(0, 6, (h, w, 1))
    pixels = np.clip(np.asarray(image, np.float32) + grain, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels).filter(ImageFilter.GaussianBlur(0.6))


@pytest.mark.slow  # a real window in a real process; the fake embedder: no torch
def test_real_window_duplicates_keep_the_suggested_trash_the_rest_undo(display, tmp_path):
    """As a new user would: a folder copied twice, a few copies re-saved smaller, a burst; open Duplicates, keep
    the suggested photos, trash the rest (confirmed), find them in the (private) system trash, undo."""
    from datetime import datetime, timedelta

    from PIL import Image

    from conftest import save_shot
    from fakes import NAME as FAKE_MODEL
    from photosense import Library

    pictures, backup, phone = tmp_path / "Pictures", tmp_path / "Backup", tmp_path / "Phone export"
    when = datetime(2024, 6, 1, 9, 0, 0)
    for n in range(6):
        save_shot(landscape(n), pictures / f"IMG_{n:04d}.jpg", when=when + timedelta(days=n))
    for n, dx in enumerate((0, 6, 12)):  # a burst: three shots 2 s apart
        save_shot(landscape(7, sun_dx=dx), pictures / f"IMG_{10 + n:04d}.jpg", when=when + timedelta(days=9, seconds=2 * n))
    shutil.copytree(pictures, backup)
    shutil.copytree(pictures, phone)
    resaved = ["IMG_0001.jpg", "IMG_0003.jpg", "IMG_0004.jpg"]
    for name in resaved:  # re-saved smaller, their capture date kept
        with Image.open(phone / name) as image:
            exif = image.getexif()
            image.resize((320, 240), Image.Resampling.LANCZOS).save(phone / name, "JPEG", quality=80, exif=exif)
    with Library.open(tmp_path / "library", model=FAKE_MODEL) as lib:
        lib.index([pictures, backup, phone])
        assert lib.status()["indexed"] == 27
        if hasattr(lib, "set_stacking"):
            lib.set_stacking(False)  # the grid lists every file
    home = tmp_path / "home"
    (home / "data").mkdir(parents=True)
    steps = ["open-duplicates", "burst", "trash-confirm", "trashed", "grid-after-trash", "undo"]
    facts = run_app(display, tmp_path / "library", steps, tmp_path, "duplicates", fake_model=True,
                    env={"HOME": str(home), "XDG_DATA_HOME": str(home / "data")})
    found = facts["open-duplicates"]["duplicates"]
    kinds = sorted(kind for kind, _paths, _keeper in found["groups"])  # the burst's shots were copied too
    assert kinds == ["burst"] + ["exact"] * 6 + ["near"] * 3 and found["count"] == 10
    for kind, paths, keeper in found["groups"]:
        if kind == "near":  # the full-size original is kept, never the smaller re-save
            assert len(paths) == 3 and Image.open(keeper).size == (640, 480)
        if kind == "burst":
            assert [Path(p).name for p in paths] == ["IMG_0010.jpg", "IMG_0011.jpg", "IMG_0012.jpg"]
    copies = {p for kind, paths, keeper in found["groups"] if kind != "burst" for p in paths if p != keeper}
    assert len(copies) == 18
    confirm = facts["trash-confirm"]["duplicates"]
    assert set(confirm["dialog"]) == copies and "system trash" in confirm["dialog_text"]
    trashed = facts["trashed"]["duplicates"]
    assert [kind for kind, *_ in trashed["groups"]] == ["burst"] and trashed["count"] == 1
    assert trashed["note"].startswith("Moved 18 copies to the trash")
    assert len(trashed["trash"]) == 18  # in the (private) system trash, until the undo below
    grid = facts["grid-after-trash"]
    assert grid["count"] == "9 photos" and not copies & set(grid["paths"])
    undone = facts["undo"]["duplicates"]
    assert undone["note"] == "Restored 18 copies from the trash." and undone["count"] == 10
    assert all(os.path.exists(p) for p in copies) and undone["trash"] == []
    for step in facts:
        assert_not_blank(SHOTS / f"duplicates-{step}.png")


@pytest.mark.slow  # a real window in a real process; the fake embedder: no torch
def test_real_window_stacks_show_one_photo_with_a_badge_and_open_to_the_copies(display, tmp_path):
    """A folder and its backup copy: each photo shows once with a "2" count badge; a click on one opens it."""
    from fakes import NAME as FAKE_MODEL
    from photosense import Library

    pictures, backup = tmp_path / "Pictures", tmp_path / "Backup"
    pictures.mkdir()
    for n in range(6):
        landscape(n).save(pictures / f"IMG_{n:04d}.jpg", quality=92)
    shutil.copytree(pictures, backup)
    with Library.open(tmp_path / "library", model=FAKE_MODEL) as lib:
        lib.index([pictures, backup])
        assert lib.status()["indexed"] == 12 and lib.stacking
    facts = run_app(display, tmp_path / "library", ["stacked", "stack-open"], tmp_path, "stacks", fake_model=True)
    stacked = facts["stacked"]
    assert stacked["count"] == "6 photos" and sorted(stacked["stacks"]) == [f"IMG_{n:04d}.jpg" for n in range(6)]
    assert set(stacked["stacks"].values()) == {2}
    opened = facts["stack-open"]
    assert opened["query"][0] == "stack" and opened["count"] == "2 photos" and opened["stacks"] == {}
    assert sorted(Path(p).parent.name for p in opened["paths"]) == ["Backup", "Pictures"]
    assert opened["chip"] == f"Stack of {Path(opened['query'][1]).name}"
    for step in facts:
        assert_not_blank(SHOTS / f"stacks-{step}.png")
