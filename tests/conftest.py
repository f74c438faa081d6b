"""Shared fixtures: an isolated environment, image factories and the bundled tiny model."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

# Before anything imports huggingface_hub or Qt: no test may reach the network or a display,
# and no test may touch the user's real library or cache.
_session_tmp = Path(tempfile.mkdtemp(prefix="photosense-tests-"))
os.environ["PHOTOSENSE_CACHE"] = str(_session_tmp / "cache")
os.environ["HF_ENDPOINT"] = "https://huggingface.invalid"  # RFC 2606: never resolves
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ.pop("PHOTOSENSE_LIBRARY", None)
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from fakes import NAME as FAKE_MODEL  # noqa: E402
from fakes import FakeEmbedder  # noqa: E402
from helpers import TINY_MODEL, CliResult  # noqa: E402
from photosense.core.models import register_embedder  # noqa: E402

# "fake-colors": the deterministic, torch-free embedder of tests/fakes.py, usable as a model spec
# (Library.open(model=FAKE_MODEL), or --model fake-colors with the in-process CLI).
register_embedder(FAKE_MODEL, FakeEmbedder)


# -- the fast path never imports torch ------------------------------------------------------------
# `pytest -m "not slow and not model"` is the developers' quick loop: a test that needs torch (a real
# model, open_clip, a model spec that names an open_clip architecture) must be marked `model`. Two
# checks keep that true: a test that is not marked `model` and brings torch into this process fails
# (in any run, as long as torch was not loaded before it), and a run that selected no `model` test
# fails if torch was imported at all (by collection, a conftest or a fixture).

_torch_loaded_before = pytest.StashKey[bool]()
_model_tests_selected = pytest.StashKey[bool]()
_torch_leak = pytest.StashKey[str]()


def pytest_collection_finish(session: pytest.Session) -> None:
    session.config.stash[_model_tests_selected] = any(
        item.get_closest_marker("model") is not None for item in session.items)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    item.stash[_torch_loaded_before] = "torch" in sys.modules


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    if (call.when == "teardown" and report.passed and not item.stash.get(_torch_loaded_before, True)
            and "torch" in sys.modules and item.get_closest_marker("model") is None):
        report.outcome = "failed"
        report.longrepr = (f"{item.nodeid} imported torch but is not marked @pytest.mark.model: "
                           "the fast path (-m 'not slow and not model') must never load torch.")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if session.config.stash.get(_model_tests_selected, True) or "torch" not in sys.modules:
        return
    session.config.stash[_torch_leak] = (
        "torch was imported although no test marked `model` was selected: something outside the "
        "tests (collection, a conftest, a session fixture) loads it on the fast path.")
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if _torch_leak in config.stash:
        terminalreporter.write_line(f"FAILED (torch guard): {config.stash[_torch_leak]}", red=True, bold=True)


@pytest.fixture
def library_dir(tmp_path: Path) -> Path:
    """An empty library directory."""
    return tmp_path / "library"


@pytest.fixture
def photos_dir(tmp_path: Path) -> Path:
    """An empty photo folder."""
    folder = tmp_path / "photos"
    folder.mkdir()
    return folder


@pytest.fixture
def cli(capsys):
    """Run one ``photosense`` command in-process (``photosense.cli.main.main``), as a user would type it:
    ``cli("status", "--json", library=dir)`` returns a :class:`helpers.CliResult`. Much faster than a
    subprocess, and ``--model fake-colors`` works (the fake is registered in this process)."""
    from photosense.cli.main import main

    def run(*args: object, library: Path | None = None) -> CliResult:
        capsys.readouterr()  # what was printed before is not this command's
        argv = (["--library", str(library)] if library is not None else []) + [os.fsdecode(a) for a in args]
        code = main(argv)
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return run


@pytest.fixture
def short_graces(monkeypatch) -> float:
    """Shorten the waits that give a vanished file the chance to turn up again (live sync's deletion
    grace and vanished-photo grace, the indexer's vanished-photo grace) to a few tenths of a second,
    for tests where a deletion is incidental. Tests about those graces (moves between watched trees,
    saves by delete-then-rename) keep the real ones. Returns the vanished-photo grace in seconds."""
    from photosense.core import changes, watcher

    grace_s = 0.3
    monkeypatch.setattr(watcher, "DELETE_GRACE_S", 0.2)
    monkeypatch.setattr(changes, "VANISH_GRACE_S", grace_s)  # read by Vanishing and the Indexer when made
    return grace_s


@pytest.fixture
def tiny_library(library_dir: Path):
    """A Library using the bundled tiny model, closed after the test."""
    from photosense import Library

    lib = Library.open(library_dir, model=TINY_MODEL)
    yield lib
    lib.close()


@pytest.fixture
def fake_library(library_dir: Path):
    """A Library using the fake colour embedder (no torch), closed after the test."""
    from photosense import Library

    lib = Library.open(library_dir, model=FAKE_MODEL)
    yield lib
    lib.close()


@pytest.fixture(scope="session")
def fashion_library(tmp_path_factory):
    """The Fashion-MNIST test split (10k) as a photo library: upscaled, mixed formats, some stored
    rotated with an EXIF orientation tag; indexed with the bundled tiny model."""
    from photosense import Library
    import fashion_mnist as fm

    if not fm.available():
        pytest.skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    root = tmp_path_factory.mktemp("fashion")
    split = fm.load("test")
    photos = fm.write_library(root / "photos", split, np.arange(len(split.labels)))
    lib = Library.open(root / "library", model=TINY_MODEL)
    summary = lib.index([root / "photos"])
    assert summary.failed == 0 and summary.indexed == len(photos)
    yield lib, photos
    lib.close()


@pytest.fixture
def trash_home(tmp_path, monkeypatch) -> Path:
    """A private desktop trash ($XDG_DATA_HOME/Trash on the photos' file system); the real one is checked
    untouched afterwards."""
    import os

    real = Path(os.path.expanduser("~/.local/share/Trash/files"))
    before = set(os.listdir(real)) if real.is_dir() else set()
    home = tmp_path / "home"
    (home / "data").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    from send2trash import plat_other

    for name in ("XDG_DATA_HOME", "HOMETRASH_B", "HOMETRASH"):
        monkeypatch.setattr(plat_other, name, getattr(plat_other, name))  # put back after the test
    yield home / "data" / "Trash"
    assert (set(os.listdir(real)) if real.is_dir() else set()) == before
