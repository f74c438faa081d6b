"""The CLI contract, in-process on the fake embedder: --library first, --json prints only JSON, exit codes,
human output. What only a real process shows (the entry point without a display, a strict UTF-8
locale) runs as a subprocess at the end."""
from __future__ import annotations

import io
import json
import os
import sys

import pytest

from fakes import NAME as FAKE_MODEL
from fakes import color_image
from helpers import TINY_MODEL, gradient, run_cli, save

COLORS = ("red", "blue", "green", "yellow")


@pytest.fixture
def indexed(tmp_path, cli):
    """A library indexed through the CLI: 20 photos (5 of each of 4 colours), one broken file."""
    photos = tmp_path / "photos"
    for n in range(20):
        save(color_image(COLORS[n % 4], seed=n), photos / f"p{n:02d}.jpg")
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    library = tmp_path / "lib"
    result = cli("index", photos, "--model", FAKE_MODEL, "--json", library=library)
    return library, photos, result


def test_index_json_summary_and_exit_zero_despite_failures(indexed):
    _, _, result = indexed
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert {"indexed", "skipped", "failed", "seconds"} <= set(summary)
    assert (summary["indexed"], summary["failed"], summary["skipped"]) == (20, 1, 0)


def test_status_and_failures_json(indexed, cli):
    library, photos, _ = indexed
    status = json.loads(cli("status", "--json", library=library).stdout)
    assert {k: status[k] for k in ("photos", "indexed", "pending", "failed", "model", "folders")} == {
        "photos": 20, "indexed": 20, "pending": 0, "failed": 1, "model": FAKE_MODEL, "folders": [str(photos)]}
    failures = json.loads(cli("failures", "--json", library=library).stdout)
    assert failures == [{"path": str(photos / "broken.jpg"), "reason": failures[0]["reason"]}]
    assert "corrupt" in failures[0]["reason"] or "truncated" in failures[0]["reason"]


def test_search_and_similar_print_json_arrays_best_first(indexed, cli):
    library, photos, _ = indexed
    result = cli("search", "red", "--json", library=library)
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert sorted(h["path"] for h in hits) == [str(photos / f"p{n:02d}.jpg") for n in range(0, 20, 4)]
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    # --all: past the cut-off, up to --limit, as long as the library allows
    everything = json.loads(cli("search", "a", "dog", "--limit", "7", "--all", "--json", library=library).stdout)
    assert len(everything) == 7 and all(os.path.isabs(h["path"]) and "score" in h for h in everything)
    assert json.loads(cli("search", "a", "dog", "--json", library=library).stdout) == []

    query = str(photos / "p03.jpg")
    similar = json.loads(cli("similar", query, "-n", "4", "--json", library=library).stdout)
    assert len(similar) == 4 and query not in [h["path"] for h in similar]


def test_rerun_skips_everything(indexed, cli):
    library, photos, _ = indexed
    summary = json.loads(cli("index", photos, "--json", library=library).stdout)
    assert (summary["indexed"], summary["skipped"], summary["failed"]) == (0, 21, 0)


def test_library_from_the_environment(indexed, cli, monkeypatch):
    library, _, _ = indexed
    monkeypatch.setenv("PHOTOSENSE_LIBRARY", str(library))
    assert json.loads(cli("status", "--json").stdout)["photos"] == 20


def test_fatal_errors_exit_non_zero_with_a_message(tmp_path, cli):
    result = cli("index", tmp_path / "missing", "--model", FAKE_MODEL, "--json", library=tmp_path / "lib")
    assert result.returncode != 0 and result.stdout == ""
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr
    # (a spec naming an unknown open_clip architecture is checked in core/test_models.py: it needs torch)
    for spec, message in (("ViT-B-32", "names no weights"), ("local-dir:/nonexistent", "has no open_clip_config.json")):
        result = cli("search", "x", "--model", spec, library=tmp_path / "lib")
        assert result.returncode == 2 and message in result.stderr and result.stdout == "", (spec, result)
        assert "Traceback" not in result.stderr


def test_human_output_without_json(tmp_path, cli):
    photos = tmp_path / "p"
    save(color_image("red"), photos / "a.jpg")
    save(color_image("blue"), photos / "b.jpg")
    result = cli("index", photos, "--model", FAKE_MODEL, library=tmp_path / "lib")
    assert result.returncode == 0 and "2 indexed" in result.stderr and result.stdout == ""
    result = cli("search", "red", library=tmp_path / "lib")
    assert result.returncode == 0 and str(photos / "a.jpg") in result.stdout
    assert str(photos / "b.jpg") not in result.stdout
    result = cli("search", "a", "dog", library=tmp_path / "lib")
    assert result.returncode == 0 and result.stdout == "" and "No matching photos" in result.stderr
    result = cli("status", library=tmp_path / "lib")
    assert "photos   2 (2 indexed, 0 pending)" in result.stdout and f"model    {FAKE_MODEL}" in result.stdout


def test_bad_counts_are_usage_errors_not_tracebacks_or_silent_no_ops(tmp_path, cli):
    photos = tmp_path / "p"
    save(gradient(), photos / "a.jpg")
    for option in (("--workers", "-1"), ("--batch-size", "-3"), ("--workers", "0")):
        result = cli("index", photos, "--model", FAKE_MODEL, "--json", *option, library=tmp_path / "lib")
        assert result.returncode == 2 and result.stdout == "", (option, result.stdout)
        assert f"{option[0]} must be at least 1" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "lib").exists()  # refused before anything was done


def test_folders_add_or_remove_without_a_path_is_a_usage_error(tmp_path, cli):
    for action in ("add", "remove"):
        result = cli("folders", action, "--json", library=tmp_path / "lib")
        assert result.returncode == 2 and result.stdout == "", (action, result.stdout)
        assert f"folders {action} needs at least one PATH" in result.stderr


def test_non_utf8_file_names_print_as_their_bytes_on_a_strict_utf8_stdout(tmp_path, cli, monkeypatch):
    """A name that is not UTF-8 (surrogate escapes in Python) must not crash plain-text output; the
    original bytes go to stdout, so the path can be piped to other tools. (In-process, with a strict
    UTF-8 stdout; the real-process run under such a locale is the slow test below.)"""
    photos = tmp_path / "p"
    save(color_image("red"), photos / "x.jpg")
    odd = os.fsencode(photos) + b"/caf\xe9.jpg"
    os.rename(photos / "x.jpg", odd)
    assert cli("index", photos, "--model", FAKE_MODEL, "-q", library=tmp_path / "lib").returncode == 0
    for args in (("search", "red"), ("folders",)):
        raw = io.BytesIO()
        monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(raw, encoding="utf-8", errors="strict"))
        result = cli(*args, library=tmp_path / "lib")
        sys.stdout.flush()
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
        if args[0] == "search":
            assert odd in raw.getvalue()
        else:
            assert os.fsencode(photos) in raw.getvalue()


# -- real processes -----------------------------------------------------------------------------

def test_app_without_a_display_explains_instead_of_aborting(tmp_path):
    """Qt aborts (core dump) when it finds no display; the CLI says what to do instead."""
    import subprocess

    env = {**os.environ, "QT_QPA_PLATFORM": "", "DISPLAY": "", "WAYLAND_DISPLAY": ""}
    procs = {args: subprocess.Popen([sys.executable, "-m", "photosense", "--library", str(tmp_path / "lib"), *args],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for args in ((), ("gui",), ("demo",))}  # (side by side: each is a fresh interpreter)
    for args, proc in procs.items():
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 1, (args, err)
        assert "no display" in err and "photosense --help" in err
        assert "Traceback" not in err


@pytest.mark.slow
@pytest.mark.model
def test_non_utf8_file_names_print_as_their_bytes_under_a_strict_utf8_locale(tmp_path):
    """The same as the in-process test above, through the real entry point and the real model, in a
    process whose locale makes stdout strict UTF-8."""
    import subprocess

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
