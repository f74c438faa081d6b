"""The CLI contract, run as real subprocesses: --library first, --json prints only JSON, exit codes."""
from __future__ import annotations

import json
import os

import pytest

from helpers import TINY_MODEL, fashion_images, gradient, run_cli, save


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    """A library indexed through the CLI: 20 fashion photos, one broken file."""
    root = tmp_path_factory.mktemp("cli")
    photos = root / "photos"
    for n, (img, _) in enumerate(fashion_images(20, seed=11)):
        save(img, photos / f"p{n:02d}.jpg")
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    library = root / "lib"
    result = run_cli("index", str(photos), "--model", TINY_MODEL, "--json", library=library)
    return library, photos, result


def test_index_json_summary_and_exit_zero_despite_failures(indexed):
    _, _, result = indexed
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert {"indexed", "skipped", "failed", "seconds"} <= set(summary)
    assert (summary["indexed"], summary["failed"], summary["skipped"]) == (20, 1, 0)


def test_status_and_failures_json(indexed):
    library, photos, _ = indexed
    status = json.loads(run_cli("status", "--json", library=library).stdout)
    assert {k: status[k] for k in ("photos", "indexed", "pending", "failed", "model", "folders")} == {
        "photos": 20, "indexed": 20, "pending": 0, "failed": 1, "model": TINY_MODEL, "folders": [str(photos)]}
    failures = json.loads(run_cli("failures", "--json", library=library).stdout)
    assert failures == [{"path": str(photos / "broken.jpg"), "reason": failures[0]["reason"]}]
    assert "corrupt" in failures[0]["reason"] or "truncated" in failures[0]["reason"]


def test_search_and_similar_print_json_arrays_best_first(indexed):
    library, photos, _ = indexed
    # --all: the library holds 2 dresses among 20 photos, and the contract under test is the array
    result = run_cli("search", "a", "dress", "--limit", "5", "--all", "--json", library=library)
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert len(hits) == 5 and all(os.path.isabs(h["path"]) and "score" in h for h in hits)
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)

    query = str(photos / "p03.jpg")
    similar = json.loads(run_cli("similar", query, "-n", "4", "--json", library=library).stdout)
    assert len(similar) == 4 and query not in [h["path"] for h in similar]


def test_rerun_skips_everything(indexed):
    library, photos, _ = indexed
    summary = json.loads(run_cli("index", str(photos), "--json", library=library).stdout)
    assert (summary["indexed"], summary["skipped"], summary["failed"]) == (0, 21, 0)


def test_library_from_the_environment(indexed):
    library, _, _ = indexed
    result = run_cli("status", "--json", env={"PHOTOSENSE_LIBRARY": str(library)})
    assert json.loads(result.stdout)["photos"] == 20


def test_fatal_errors_exit_non_zero_with_a_message(tmp_path):
    result = run_cli("index", str(tmp_path / "missing"), "--model", TINY_MODEL, "--json",
                     library=tmp_path / "lib")
    assert result.returncode != 0 and result.stdout == ""
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr
    result = run_cli("search", "x", "--model", "ViT-B-99:none", library=tmp_path / "lib")
    assert result.returncode == 2 and "not an open_clip architecture" in result.stderr


def test_human_output_without_json(tmp_path):
    photos = tmp_path / "p"
    save(gradient(), photos / "a.jpg")
    result = run_cli("index", str(photos), "--model", TINY_MODEL, library=tmp_path / "lib")
    assert result.returncode == 0 and "1 indexed" in result.stderr
    result = run_cli("search", "bag", library=tmp_path / "lib")
    assert str(photos / "a.jpg") in result.stdout


def test_app_without_a_display_explains_instead_of_aborting(tmp_path):
    """Qt aborts (core dump) when it finds no display; the CLI says what to do instead."""
    env = {"QT_QPA_PLATFORM": "", "DISPLAY": "", "WAYLAND_DISPLAY": ""}
    for args in ((), ("gui",), ("demo",)):
        result = run_cli(*args, library=tmp_path / "lib", env=env)
        assert result.returncode == 1, result.stderr
        assert "no display" in result.stderr and "photosense --help" in result.stderr
        assert "Traceback" not in result.stderr


def test_bad_counts_are_usage_errors_not_tracebacks_or_silent_no_ops(tmp_path):
    photos = tmp_path / "p"
    save(gradient(), photos / "a.jpg")
    for option in (("--workers", "-1"), ("--batch-size", "-3"), ("--workers", "0")):
        result = run_cli("index", str(photos), "--model", TINY_MODEL, "--json", *option, library=tmp_path / "lib")
        assert result.returncode == 2 and result.stdout == "", (option, result.stdout)
        assert f"{option[0]} must be at least 1" in result.stderr and "Traceback" not in result.stderr


def test_folders_add_or_remove_without_a_path_is_a_usage_error(tmp_path):
    for action in ("add", "remove"):
        result = run_cli("folders", action, "--json", library=tmp_path / "lib")
        assert result.returncode == 2 and result.stdout == "", (action, result.stdout)
        assert f"folders {action} needs at least one PATH" in result.stderr


def test_non_utf8_file_names_print_as_their_bytes_under_a_strict_utf8_locale(tmp_path):
    """A name that is not UTF-8 (surrogate escapes in Python) must not crash plain-text output; the
    original bytes go to stdout, so the path can be piped to other tools."""
    import subprocess
    import sys

    photos = tmp_path / "p"
    save(gradient(), photos / "x.jpg")
    os.rename(photos / "x.jpg", os.fsencode(photos) + b"/caf\xe9.jpg")
    assert run_cli("index", str(photos), "--model", TINY_MODEL, "-q", library=tmp_path / "lib").returncode == 0
    env = {**os.environ, "PYTHONUTF8": "0", "PYTHONIOENCODING": "utf-8:strict"}
    for args in (("search", "red", "--all"), ("folders",)):
        result = subprocess.run([sys.executable, "-m", "photosense", "--library", str(tmp_path / "lib"), *args],
                                capture_output=True, env=env, timeout=300)
        assert result.returncode == 0 and b"Traceback" not in result.stderr, result.stderr.decode(errors="replace")
    assert os.fsencode(photos) + b"/caf\xe9.jpg" in subprocess.run(
        [sys.executable, "-m", "photosense", "--library", str(tmp_path / "lib"), "search", "red", "--all"],
        capture_output=True, env=env, timeout=300).stdout
