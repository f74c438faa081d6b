"""The Qt binding itself: emitting signals from Python must not leak or drop references (PySide6 6.12.0 did)."""
from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import QObject, QThreadPool, Signal

from photosense.ui.tasks import Pools


class _Sender(QObject):
    value = Signal(object)


def test_emit_keeps_the_reference_counts_of_what_it_carries(qapp):
    # What can break on every Python: a binding that leaks or drops a reference to an emitted object.
    sender, payload = _Sender(), object()
    received = []
    sender.value.connect(received.append)
    before = sys.getrefcount(payload)
    for _ in range(2000):
        sender.value.emit(payload)
    assert len(received) == 2000
    assert sys.getrefcount(payload) - before == 2000  # held by `received`: nothing leaked, nothing dropped
    received.clear()
    assert sys.getrefcount(payload) == before


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="True is immortal from Python 3.12 (PEP 683): its count "
                    "never changes, so a dropped reference cannot free it (the payload test above still runs)")
def test_emit_keeps_the_reference_count_of_true(qapp):
    # PySide6 6.12.0 returned True from emit() without a new reference: -2000 here, a crash at zero
    # (on Python < 3.12, where True's reference count is real).
    sender = _Sender()
    received = []
    sender.value.connect(lambda value: received.append(value is None))
    true_refs = sys.getrefcount(True)
    for _ in range(2000):
        sender.value.emit(None)
    assert len(received) == 2000
    assert abs(sys.getrefcount(True) - 2000 - true_refs) < 50  # received holds 2000 Trues


def test_many_worker_results_come_back_on_the_gui_thread(qtbot):
    pools = Pools()
    results: list[int] = []
    for i in range(3000):
        pools.run(pools.thumbnails, lambda i=i: i, results.append)
    qtbot.waitUntil(lambda: len(results) == 3000, timeout=30_000)
    assert sorted(results) == list(range(3000))
    pools.shutdown()
    assert isinstance(pools.search, QThreadPool)
