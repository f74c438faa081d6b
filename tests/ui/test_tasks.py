"""The task pools: results come back on the GUI thread; the synchronous mode delivers them before run() returns."""
from __future__ import annotations

import threading

import pytest

from photosense.ui.tasks import Pools


def test_a_pooled_task_runs_on_a_worker_and_answers_on_the_gui_thread(qtbot):
    pools = Pools()
    seen: dict[str, object] = {}

    def work() -> int:
        seen["worker"] = threading.current_thread()
        return 42

    with qtbot.waitCallback() as answered:
        pools.run(pools.io, work, lambda value: (seen.setdefault("handler", threading.current_thread()),
                                                 answered(value)))
    assert answered.args == [42]
    assert seen["worker"] is not threading.main_thread() and seen["handler"] is threading.main_thread()
    with qtbot.waitCallback() as failed:
        pools.run(pools.io, lambda: 1 / 0, None, failed)
    assert isinstance(failed.args[0], ZeroDivisionError)
    pools.shutdown()


def test_synchronous_pools_run_inline_and_deliver_before_run_returns(qapp, caplog):
    pools = Pools(synchronous=True)
    events: list[tuple[str, object]] = []

    def work() -> str:
        events.append(("work", threading.current_thread()))
        return "done"

    pools.run(pools.search, work, lambda value: events.append(("done", value)))
    events.append(("returned", None))
    assert events == [("work", threading.main_thread()), ("done", "done"), ("returned", None)]

    errors: list[BaseException] = []
    pools.run(pools.io, lambda: 1 / 0, events.append, errors.append)
    assert len(errors) == 1 and isinstance(errors[0], ZeroDivisionError)
    pools.run(pools.io, lambda: [][1])  # no error handler: logged, like a pooled task's
    assert "background task failed" in caplog.text and "IndexError" in caplog.text

    def broken_handler(_value) -> None:
        raise RuntimeError("a bug in the handler")

    with pytest.raises(RuntimeError, match="a bug in the handler"):  # surfaces in the test, not hidden
        pools.run(pools.io, lambda: 1, broken_handler)
    assert pools.wait_idle(0)
    pools.shutdown()
    pools.run(pools.io, lambda: events.append(("late", None)))
    assert ("late", None) not in events  # after shutdown nothing runs
