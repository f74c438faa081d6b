"""The PyInstaller desktop bundle: built by packaging/build-bundle.sh (cached), it runs with no Python environment.

Slow: a cold build takes minutes (PyInstaller over torch and Qt); unchanged inputs skip it.
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from helpers import REPO
from photosense import __version__

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]
DIST = REPO / "dist"
BUNDLE = DIST / "PhotoSense"
ARCHIVE = DIST / f"PhotoSense-{__version__}-linux-x86_64.tar.gz"
SHOT = REPO / "tests" / "_artifacts" / "screenshots" / "bundle-demo.png"
WINDOW_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def bundle() -> Path:
    if importlib.util.find_spec("PyInstaller") is None:
        pytest.skip("PyInstaller is not installed (it is in the dev extra: bash tools/install.sh --dev)")
    done = subprocess.run(["bash", str(REPO / "packaging" / "build-bundle.sh")], cwd=REPO,
                          env={**os.environ, "PYTHON": sys.executable}, capture_output=True, text=True, timeout=3300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return BUNDLE


def clean_env(home: Path, **more: str) -> dict[str, str]:
    """No venv on PATH, no PYTHONPATH, nothing but a home: what a desktop session without Python gives."""
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), **more}


def test_the_bundle_holds_no_cuda_library_but_what_the_app_needs(bundle):
    libraries = [p.name for p in bundle.rglob("*.so*") if p.is_file()]
    assert len(libraries) > 50  # the scan below looks at the real libraries
    assert not [n for n in libraries if any(k in n for k in ("cudart", "nvjpeg", "cublas", "cudnn", "_cuda."))]
    assert not (bundle / "_internal" / "torchvision" / "_C.so").exists()
    # torch starts this helper to share tensors between processes (left out, indexing failed every file)
    assert (bundle / "_internal" / "torch" / "bin" / "torch_shm_manager").is_file()
    assert (bundle / "photosense").is_file() and os.access(bundle / "photosense", os.X_OK)
    assert (bundle / "_internal" / "resources" / "models" / "tiny-fashion" / "open_clip_model.safetensors").is_file()
    assert not (bundle / "_internal" / "PySide6" / "Qt" / "translations").exists()


def test_the_release_archive_holds_the_bundle_and_its_install_script(bundle):
    with tarfile.open(ARCHIVE) as archive:
        names = set(archive.getnames())
    assert {"PhotoSense/photosense", "PhotoSense/install.sh",
            "PhotoSense/share/io.github.photosense.PhotoSense.desktop"} <= names


def test_version_runs_without_python(bundle, tmp_path):
    done = subprocess.run([str(bundle / "photosense"), "--version"], env=clean_env(tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert __version__ in done.stdout


def test_indexing_the_samples_with_the_bundled_model_runs_without_python(bundle, tmp_path):
    samples = bundle / "_internal" / "resources" / "samples"
    done = subprocess.run([str(bundle / "photosense"), "--library", str(tmp_path / "lib"), "index", str(samples),
                           "--model", "tiny-fashion", "--json"], env=clean_env(tmp_path),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["indexed"] == len(list(samples.glob("*.jpg"))) == 200
    assert report["failed"] == 0
    assert "Traceback" not in done.stderr


@pytest.fixture
def display():
    """A private Xvfb server (1280x800) on a display number it picks itself."""
    for tool in ("Xvfb", "xdotool", "import"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (bash tools/install.sh --dev installs it)")
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                              pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    with os.fdopen(read_fd) as numbers:
        number = numbers.readline().strip()  # written once the server accepts connections
    if not number:
        server.kill()
        pytest.fail("Xvfb did not start")
    yield f":{number}"
    server.terminate()
    server.wait(10)


def main_window(display: str) -> str | None:
    """The id of the visible window titled PhotoSense that is window-sized (not a dialog), if one is shown."""
    found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "^PhotoSense$"],
                           env={**os.environ, "DISPLAY": display}, capture_output=True, text=True, timeout=30)
    for wid in found.stdout.split():
        geometry = subprocess.run(["xdotool", "getwindowgeometry", "--shell", wid], capture_output=True, text=True,
                                  env={**os.environ, "DISPLAY": display}, timeout=30).stdout
        fields = dict(line.split("=", 1) for line in geometry.splitlines() if "=" in line)
        if int(fields.get("WIDTH", 0)) >= 600:
            return wid
    return None


def test_the_demo_opens_the_real_window_without_python(bundle, display, tmp_path):
    log = tmp_path / "demo.log"
    with open(log, "w") as out:
        app = subprocess.Popen([str(bundle / "photosense"), "demo"], stdout=out, stderr=subprocess.STDOUT,
                               env=clean_env(tmp_path, DISPLAY=display))
    try:
        deadline = time.monotonic() + WINDOW_TIMEOUT_S
        while main_window(display) is None:
            assert app.poll() is None, f"the demo exited ({app.returncode}):\n{log.read_text()}"
            assert time.monotonic() < deadline, f"no window within {WINDOW_TIMEOUT_S} s:\n{log.read_text()}"
            time.sleep(0.2)
        time.sleep(5)  # thumbnails fill in
        SHOT.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["import", "-display", display, "-window", "root", str(SHOT)], check=True, timeout=60)
        assert app.poll() is None, log.read_text()
    finally:
        app.terminate()
        try:
            app.wait(30)
        except subprocess.TimeoutExpired:
            app.kill()
            app.wait()
    with Image.open(SHOT) as shot:
        assert shot.size == (1280, 800)
        assert max(ImageStat.Stat(shot.convert("RGB")).stddev) > 20  # a drawn window, not a blank screen
    assert "Traceback" not in log.read_text(), log.read_text()
