"""End to end: the real app in a real X11 window (Xvfb 1280×800), real key events, screenshots saved."""
from __future__ import annotations

import json
import os
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
SCRIPT = Path(__file__).with_name("x11_script.py")


@pytest.fixture(scope="module")
def display():
    """A private Xvfb server on a free display number, stopped after the module."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb)")
    number = next(n for n in range(91, 200) if not Path(f"/tmp/.X11-unix/X{n}").exists()
                  and not Path(f"/tmp/.X{n}-lock").exists())
    server = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not Path(f"/tmp/.X11-unix/X{number}").exists():
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            pytest.fail(f"Xvfb :{number} did not start")
        time.sleep(0.05)
    yield f":{number}"
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
            command: tuple[str, ...] = ("gui",)) -> dict[str, dict]:
    """Run ``photosense --library LIB gui`` on *display*, screenshot each step; returns each step's facts."""
    out = tmp / f"e2e-{prefix}"
    out.mkdir()
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb", "E2E_DIR": str(out),
           "E2E_STEPS": ",".join(steps), "PHOTOSENSE_UI_SCRIPT": str(SCRIPT),
           "PHOTOSENSE_SETTINGS": str(tmp / f"{prefix}.ini"), "PHOTOSENSE_LOG_DIR": str(tmp / "logs")}
    app = subprocess.Popen([sys.executable, "-m", "photosense", "--library", str(library), *command], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    facts = {}
    try:
        for step in steps:
            ready = out / f"{step}.ready"
            deadline = time.monotonic() + 120
            while not ready.exists():
                if app.poll() is not None:
                    pytest.fail(f"the app exited during '{step}':\n{app.stdout.read()}")
                if time.monotonic() > deadline:
                    pytest.fail(f"step '{step}' never settled")
                time.sleep(0.1)
            facts[step] = json.loads(ready.read_text())
            screenshot(display, SHOTS / f"{prefix}-{step}.png")
            (out / f"{step}.done").write_text("")
        assert app.wait(60) == 0
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
    output = app.stdout.read()
    assert "Traceback" not in output, output
    return facts


def assert_not_blank(path: Path) -> None:
    with Image.open(path) as image:
        assert image.size == (1280, 800)
        assert max(ImageStat.Stat(image.convert("L")).stddev) > 10  # real content, not one flat colour


@pytest.mark.slow
def test_real_window_search_similar_and_preview(display, indexed_library, tmp_path):
    facts = run_app(display, indexed_library, ["browse", "search", "similar", "preview"], tmp_path, "library")
    assert facts["browse"]["title"] == "PhotoSense" and facts["browse"]["count"] == "60 photos"
    assert facts["search"]["query"] == ["text", "sneaker"]
    assert [label_of(p) for p in facts["search"]["paths"][:5]].count("sneaker") >= 4
    source = facts["similar"]["query"][1]
    assert [label_of(p) for p in facts["similar"]["paths"][:5]].count(label_of(source)) >= 4
    for step in facts:
        assert_not_blank(SHOTS / f"library-{step}.png")


@pytest.mark.slow
def test_real_window_first_run(display, tmp_path):
    facts = run_app(display, tmp_path / "new-library", ["browse"], tmp_path, "first-run", command=())  # no command
    assert facts["browse"]["empty"] and facts["browse"]["empty_title"] == "Add a photo folder"
    assert_not_blank(SHOTS / "first-run-browse.png")


@pytest.mark.slow
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
