"""LiveSync's start and stop may come from different threads (the app starts it on a pool, closes on the GUI)."""
from __future__ import annotations

import threading

from photosense.services.sync import LiveSync


def test_stop_before_start_means_it_never_starts(fake_library, photos_dir):
    fake_library.add_folder(photos_dir)
    sync = LiveSync(fake_library)
    assert sync.stop(timeout=5)
    sync.start()  # too late: nothing starts, nothing is left running
    assert sync.watched == []  # a started sync would watch the library folder
    assert sync.stop(timeout=5)


def test_start_and_stop_racing_on_two_threads_never_fail(fake_library, photos_dir):
    fake_library.add_folder(photos_dir)
    for _ in range(20):
        sync = LiveSync(fake_library)
        errors: list[BaseException] = []

        def start() -> None:
            try:
                sync.start()
            except BaseException as err:  # noqa: BLE001 - the test reports any failure
                errors.append(err)

        starter = threading.Thread(target=start)
        starter.start()
        stopped = sync.stop(timeout=10)  # may run before, during or after start()
        starter.join(10)
        assert errors == [] and stopped and sync.stop(timeout=10)
