#!/usr/bin/env python3
"""GUI responsiveness: the longest event-loop stall while indexing 1,000 images and searching repeatedly.

    .venv/bin/python bench/bench_gui_stall.py [--photos 1000] [--model tiny-fashion]

A 5 ms heartbeat timer runs on the GUI thread; a stall is how late a beat comes. Two runs in the
same process, on fresh libraries of the same photos:

* **app**: the real MainWindow (offscreen) on a library whose folder is not indexed yet. First the
  window shows and the model loads in the background (reported apart: importing torch holds the
  GIL in C for a few hundred ms, once per process). Then the folder is indexed on the indexing pool
  while the grid makes thumbnails on the thumbnail pool, and a query is typed into the search bar
  every 250 ms (debounced, superseded, run on the search pool).
* **naive baseline**: the same indexing and searches called directly on the GUI thread, with
  ``processEvents()`` from the progress callback (the usual "keep the UI alive" shortcut).

Goal: the app's longest stall <= 50 ms.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

from common import machine, percentile, save_report  # noqa: E402

QUERIES = ["sneaker", "red dress", "a bag", "ankle boot", "coat", "t-shirt", "trousers", "sandal",
           "pullover", "shirt", "summer dress", "running shoe", "handbag", "jacket", "jeans"]
BEAT_MS = 5


class Heartbeat:
    """Records how late each 5 ms beat of a GUI-thread timer arrives."""

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.gaps: list[float] = []
        self._last = time.perf_counter()
        self.timer = QTimer(interval=BEAT_MS, timerType=Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._beat)

    def _beat(self) -> None:
        now = time.perf_counter()
        self.gaps.append((now - self._last) * 1000 - BEAT_MS)
        self._last = now

    def start(self) -> None:
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> dict:
        self.timer.stop()
        gaps = self.gaps or [0.0]
        return {"max_stall_ms": round(max(gaps), 1), "p99_stall_ms": round(percentile(gaps, 99), 1),
                "beats": len(gaps)}


def make_photos(root: Path, n: int) -> Path:
    import fashion_mnist as fm

    split = fm.load("test")
    fm.write_library(root / "photos", split, np.arange(n), rotated_every=0)
    return root / "photos"


def run_app(photos: Path, root: Path, model: str) -> tuple[dict, dict]:
    """The real window: (stalls while the model loads at start-up, stalls while indexing and searching)."""
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from photosense import Library
    from photosense.core.thumbnails import ThumbnailCache
    from photosense.ui.main_window import MainWindow

    app = QApplication.instance()
    with Library.open(root / "library-app", model=model) as library:
        library.add_folder(photos)  # a library whose photos are not indexed yet
    beat = Heartbeat()
    beat.start()
    start = time.perf_counter()
    window = MainWindow(root / "library-app", QSettings(str(root / "ui.ini"), QSettings.Format.IniFormat),
                        model=model, thumbnail_cache=ThumbnailCache(root / "thumbs"),
                        auto_index=False)
    window.resize(1280, 800)
    window.show()
    while window.controller.model_state != "ready":  # the window is up; the model loads in the background
        if window.controller.model_state == "failed":
            sys.exit("the model could not be loaded")
        app.processEvents()
        time.sleep(0.001)
    startup = {**beat.stop(), "seconds": round(time.perf_counter() - start, 1)}

    beat = Heartbeat()
    done = {"indexed": False, "searches": 0, "count": 0}

    def finished(summary) -> None:
        done["indexed"], done["count"] = True, summary.indexed + summary.reused

    window.controller.indexFinished.connect(finished)

    def type_query() -> None:
        text = QUERIES[done["searches"] % len(QUERIES)]
        window.search.setText(text)
        window.search.textEdited.emit(text)
        done["searches"] += 1

    typing = QTimer(interval=250)
    typing.timeout.connect(type_query)
    start = time.perf_counter()
    beat.start()
    typing.start()
    window.controller.start_indexing()
    while not (done["indexed"] and done["searches"] >= 20):
        app.processEvents()
        time.sleep(0.001)
    typing.stop()
    while window.controller.shown != window.controller.query:  # the last search answered
        app.processEvents()
        time.sleep(0.001)
    seconds = time.perf_counter() - start
    result = {**beat.stop(), "seconds": round(seconds, 1), "searches": done["searches"], "indexed": done["count"]}
    window.close()
    return startup, result


def run_naive(photos: Path, root: Path, model: str) -> dict:
    from PySide6.QtWidgets import QApplication

    from photosense import Library

    app = QApplication.instance()
    beat = Heartbeat()
    start = time.perf_counter()
    beat.start()
    with Library.open(root / "library-naive", model=model) as library:
        searches = 0
        last = [time.perf_counter()]

        def progress(_p) -> None:  # the shortcut: search and pump events from the indexing loop
            nonlocal searches
            app.processEvents()
            if time.perf_counter() - last[0] >= 0.25:
                library.search(QUERIES[searches % len(QUERIES)])
                searches += 1
                last[0] = time.perf_counter()

        summary = library.index([photos], progress=progress)
        while searches < 20:
            library.search(QUERIES[searches % len(QUERIES)])
            searches += 1
            app.processEvents()
    seconds = time.perf_counter() - start
    return {**beat.stop(), "seconds": round(seconds, 1), "searches": searches,
            "indexed": summary.indexed + summary.reused}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=1000)
    parser.add_argument("--model", default="tiny-fashion")
    args = parser.parse_args()
    from photosense.ui.app import application

    application([sys.argv[0]])
    with tempfile.TemporaryDirectory(prefix="photosense-stall-") as tmp:
        root = Path(tmp)
        os.environ["PHOTOSENSE_CACHE"] = str(root / "cache")
        photos = make_photos(root, args.photos)
        print(f"{args.photos} photos, model {args.model}; {machine()}", flush=True)
        startup, app_result = run_app(photos, root, args.model)
        print(f"app, model loading:      longest stall {startup['max_stall_ms']:7.1f} ms, "
              f"p99 {startup['p99_stall_ms']:5.1f} ms, {startup['seconds']} s (once, at start-up)", flush=True)
        print(f"app (worker pools):      longest stall {app_result['max_stall_ms']:7.1f} ms, "
              f"p99 {app_result['p99_stall_ms']:5.1f} ms, {app_result['seconds']} s, "
              f"{app_result['searches']} searches, {app_result['indexed']} indexed", flush=True)
        naive = run_naive(photos, root, args.model)
        print(f"naive (GUI thread):      longest stall {naive['max_stall_ms']:7.1f} ms, "
              f"p99 {naive['p99_stall_ms']:5.1f} ms, {naive['seconds']} s, {naive['searches']} searches, "
              f"{naive['indexed']} indexed")
    verdict = "meets" if app_result["max_stall_ms"] <= 50 else "misses"
    print(f"The app {verdict} the 50 ms goal; the naive loop stalls "
          f"{naive['max_stall_ms'] / max(app_result['max_stall_ms'], 0.1):.0f}× longer.")
    path = save_report("gui_stall", {"photos": args.photos, "model": args.model, "goal_ms": 50,
                                     "app": app_result, "app_model_loading": startup,
                                     "naive": naive})
    print(f"report: {path}")


if __name__ == "__main__":
    main()
