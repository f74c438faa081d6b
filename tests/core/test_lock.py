"""The per-library writer lock: re-entrant in one process, clear errors when it cannot be taken."""
from __future__ import annotations

import pytest

from photosense.core.errors import PhotoSenseError
from photosense.core.lock import WriterLock


def test_the_lock_is_re_entrant_and_released_by_the_outermost_holder(tmp_path):
    lock = WriterLock(tmp_path)
    with lock:
        with lock:
            assert lock.held
        assert lock.held
    assert not lock.held


def test_a_library_folder_that_cannot_hold_the_lock_file_is_a_clear_error(tmp_path):
    not_a_folder = tmp_path / "library"
    not_a_folder.write_text("a file where the library folder should be")
    lock = WriterLock(not_a_folder)
    with pytest.raises(PhotoSenseError, match=f"Cannot write to the library folder {not_a_folder}") as err:
        lock.acquire()
    assert isinstance(err.value.__cause__, OSError) and not lock.held
