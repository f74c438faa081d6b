"""A full disk while saving: the previous files stay intact and the error says what to do."""
from __future__ import annotations

import errno
import os

import numpy as np
import pytest
from fakes import NAME as FAKE_MODEL
from helpers import gradient, save

from photosense import Library
from photosense.core.errors import StorageError
from photosense.core.vectors import VectorIndex


def test_a_full_catalog_keeps_what_was_saved_and_says_so(tmp_path, photos_dir):
    for i in range(5):
        save(gradient(seed=i), photos_dir / f"p{i}.jpg")
    with Library.open(tmp_path / "library", model=FAKE_MODEL) as lib:
        lib.index([photos_dir])
        before = lib.status()
        # SQLite's own page limit makes the database file "full": the real SQLITE_FULL code path
        pages = lib.catalog._query("PRAGMA page_count")[0][0]
        lib.catalog._query(f"PRAGMA max_page_count = {pages}")
        for i in range(300):
            save(gradient(width=32, height=32, seed=100 + i), photos_dir / "more" / f"m{i:03d}_{'x' * 150}.jpg")
        with pytest.raises(StorageError) as caught:
            lib.index()
        message = str(caught.value)
        assert "full" in message and "Nothing was lost" in message and "free some disk space" in message
        assert lib.catalog._query("PRAGMA integrity_check") == [("ok",)]
        after = lib.status()
        assert after["indexed"] == before["indexed"] and after["photos"] in (before["photos"], before["photos"] + 300)

        lib.catalog._query("PRAGMA max_page_count = 1073741823")  # space freed: the next run completes
        lib.index()
        assert lib.status()["indexed"] == 305


@pytest.mark.parametrize("exact_limit", [0, None], ids=["graph", "exact"])
def test_no_space_while_saving_the_vector_index_leaves_the_previous_one(tmp_path, monkeypatch, exact_limit):
    folder = tmp_path / "vectors"
    rng = np.random.default_rng(0)
    index = VectorIndex(folder, "model-1", 16, exact_limit=exact_limit)
    index.add(range(1, 11), rng.normal(size=(10, 16)))
    index.save()
    saved = {p.name: p.read_bytes() for p in folder.iterdir()}

    index.add(range(11, 21), rng.normal(size=(10, 16)))
    index.remove([1])

    def no_space(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)  # where a full disk surfaces for buffered writes
    with pytest.raises(StorageError) as caught:
        index.save()
    assert "No space left on device" in str(caught.value) and "previous index is intact" in str(caught.value)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == saved  # no temp files, nothing replaced
    monkeypatch.undo()

    reloaded = VectorIndex(folder, "model-1", 16, exact_limit=exact_limit)
    held = reloaded.load()
    if exact_limit == 0:
        assert held == set(range(1, 11))
    index.save()  # space is back: the save goes through
    if exact_limit == 0:
        assert VectorIndex(folder, "model-1", 16).load() == set(range(2, 21))
