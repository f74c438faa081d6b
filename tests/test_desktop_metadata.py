"""The desktop entry and AppStream metadata pass the real validators, and the bundle's install.sh installs them."""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from helpers import REPO
from photosense import __version__

APP_ID = "io.github.photosense.PhotoSense"
LINUX = REPO / "packaging" / "linux"
DESKTOP = LINUX / f"{APP_ID}.desktop"
METAINFO = LINUX / f"{APP_ID}.metainfo.xml"
INSTALL_SH = REPO / "packaging" / "bundle" / "install.sh"


def validator(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (apt-get install {package}; tools/install.sh --dev does it)")
    return path


def desktop_file_validate(path: Path) -> subprocess.CompletedProcess:
    exe = validator("desktop-file-validate", "desktop-file-utils")
    return subprocess.run([exe, str(path)], capture_output=True, text=True, timeout=60)


def appstream_validate(path: Path) -> subprocess.CompletedProcess:
    exe = validator("appstreamcli", "appstream")
    # --no-net: the screenshot URL is checked for form, not fetched (tests run offline)
    return subprocess.run([exe, "validate", "--no-net", "--pedantic", str(path)],
                          capture_output=True, text=True, timeout=60)


def issues(result: subprocess.CompletedProcess) -> list[str]:
    """appstreamcli's findings other than pedantic notes (lines 'E: ', 'W: ', 'I: ')."""
    return [line for line in result.stdout.splitlines() if line[:3] in ("E: ", "W: ", "I: ")]


def test_the_desktop_entry_passes_desktop_file_validate():
    result = desktop_file_validate(DESKTOP)
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), result.stdout + result.stderr


def test_desktop_file_validate_really_rejects_a_broken_entry(tmp_path):
    broken = tmp_path / f"{APP_ID}.desktop"
    broken.write_text("\n".join(line for line in DESKTOP.read_text().splitlines() if not line.startswith("Name="))
                      + "\nCategories=NotACategory;\n")
    result = desktop_file_validate(broken)
    assert result.returncode != 0, result.stdout


def test_the_metainfo_passes_appstreamcli_with_only_the_uppercase_id_note():
    result = appstream_validate(METAINFO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert issues(result) == [], result.stdout
    # The one pedantic note: the ID keeps the capital letters of the desktop file name users already have.
    pedantic = [line.split(":")[-1].split()[0] for line in result.stdout.splitlines() if line.startswith("P: ")]
    assert set(pedantic) <= {"cid-contains-uppercase-letter"}, result.stdout


def test_appstreamcli_really_reports_a_broken_metainfo(tmp_path):
    broken = tmp_path / f"{APP_ID}.metainfo.xml"
    broken.write_text(METAINFO.read_text().replace("<summary>", "<summary>A summary that ends with a dot.")
                      .replace('date="', 'date="not-a-date'))
    result = appstream_validate(broken)
    assert result.returncode != 0 or issues(result), result.stdout


def test_the_metainfo_has_a_launchable_screenshot_release_notes_and_a_content_rating():
    root = ET.parse(METAINFO).getroot()
    assert root.findtext("id") == APP_ID
    launchable = root.find("launchable")
    assert launchable is not None and launchable.get("type") == "desktop-id"
    assert (LINUX / launchable.text).is_file()
    images = [image.text for image in root.iterfind("screenshots/screenshot/image")]
    assert images and all(url.startswith("https://") for url in images)
    for url in images:  # each screenshot is in the repository, where its URL points
        assert (REPO / "docs" / "images" / url.rsplit("/", 1)[1]).is_file(), url
    release = root.find("releases/release")
    assert release is not None and release.get("version") == __version__
    assert release.find("description/p") is not None
    assert root.find("content_rating").get("type") == "oars-1.1"


def fake_bundle(tmp_path: Path) -> Path:
    """A bundle folder as build-bundle.sh lays it out, with a stand-in launcher (the metadata is the real one)."""
    bundle = tmp_path / "unpacked" / "PhotoSense"
    (bundle / "share").mkdir(parents=True)
    launcher = bundle / "photosense"
    launcher.write_text("#!/bin/sh\necho photosense\n")
    launcher.chmod(launcher.stat().st_mode | stat.S_IXUSR)
    shutil.copy(DESKTOP, bundle / "share")
    shutil.copy(METAINFO, bundle / "share")
    shutil.copy(REPO / "resources" / "icons" / "photosense.svg", bundle / "share" / f"{APP_ID}.svg")
    shutil.copy(INSTALL_SH, bundle / "install.sh")
    return bundle


def test_the_bundles_install_script_adds_a_valid_menu_entry_user_locally_and_removes_it(tmp_path):
    bundle = fake_bundle(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home)}
    done = subprocess.run(["bash", str(bundle / "install.sh")], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    data = home / ".local" / "share"
    entry = data / "applications" / f"{APP_ID}.desktop"
    assert f"Exec={bundle}/photosense gui" in entry.read_text().splitlines()
    assert (data / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg").is_file()
    assert (data / "metainfo" / f"{APP_ID}.metainfo.xml").is_file()
    assert os.readlink(home / ".local" / "bin" / "photosense") == str(bundle / "photosense")
    result = desktop_file_validate(entry)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout

    removed = subprocess.run(["bash", str(bundle / "install.sh"), "--remove"], env=env, capture_output=True,
                             text=True, timeout=60)
    assert removed.returncode == 0, removed.stderr
    assert not entry.exists() and not (home / ".local" / "bin" / "photosense").exists()


def test_the_install_script_refuses_a_folder_name_the_menu_entry_could_not_hold(tmp_path):
    bundle = fake_bundle(tmp_path)
    odd = bundle.parent / "My Apps" / "PhotoSense"
    odd.parent.mkdir()
    bundle.rename(odd)
    home = tmp_path / "home"
    home.mkdir()
    done = subprocess.run(["bash", str(odd / "install.sh")], env={"PATH": "/usr/bin:/bin", "HOME": str(home)},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "space or quote" in done.stderr
    assert not (home / ".local" / "share" / "applications").exists()
