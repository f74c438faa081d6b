"""The Qt binding itself: emitting signals from Python must not leak or drop references (PySide6 6.12.0 did)."""
from __future__ import annotations

import sys

from PySide6.QtCore import QObject, QThreadPool, Signal

from photosense.ui.tasks import Pools


class _Sender(QObject):
    value = Signal(object)


def test_emit_keeps_the_reference_counts_of_true_and_none(qapp):
    sender = _Sender()
    received = []
    sender.value.connect(received.append)
    true_refs, none_refs = sys.getrefcount(True), sys.getrefcount(None)
    for _ in range(2000):
        sender.value.emit(None)
    assert len(received) == 2000
    assert abs(sys.getrefcount(True) - true_refs) < 50  # 6.12.0: -2000, and a crash once it reaches zero
    assert abs(sys.getrefcount(None) - none_refs) < 50


def test_many_worker_results_come_back_on_the_gui_thread(qtbot):
    pools = Pools()
    results: list[int] = []
    for i in range(3000):
        pools.run(pools.thumbnails, lambda i=i: i, results.append)
    qtbot.waitUntil(lambda: len(results) == 3000, timeout=30_000)
    assert sorted(results) == list(range(3000))
    pools.shutdown()
    assert isinstance(pools.search, QThreadPool)
