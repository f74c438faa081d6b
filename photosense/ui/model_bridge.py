"""Models for the GUI: the list (bundled, known, in this library), speeds measured on this machine, and a
switch (download with byte progress, then re-embedding while search keeps serving) on the models pool."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from photosense.ui.bridge import LibraryBridge, user_message

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelRow:
    """One line of the model preference."""

    name: str
    bundled: bool
    size_mb: float
    downloaded: bool  # weights on disk (always for a bundled model)
    state: str  # "serving" | "switching" | "kept" (embeddings in the library) | "" (none)
    speed: float | None = None  # images per second on this machine, when measured


class ModelBridge(QObject):
    """``rows`` (None until listed), ``switching`` (spec or None), ``working`` ("download" | "switch" | "").
    Every method returns at once; answers come as signals."""

    rowsChanged = Signal(list)  # [ModelRow]
    speedMeasured = Signal(str, float)  # model name, images per second
    downloadProgress = Signal(str, int, int)  # model, bytes so far, total (0: unknown)
    switchProgress = Signal(str, int, int)  # model, photos embedded, of how many
    stateChanged = Signal()
    switched = Signal(str)  # the library now serves this model
    message = Signal(str)
    error = Signal(str)

    def __init__(self, bridge: LibraryBridge, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.pools = bridge.pools
        self.rows: list[ModelRow] | None = None
        self.working = ""
        self.switching: str | None = None
        self._cancel = threading.Event()
        self._measuring = False

    @property
    def library(self):
        return self.bridge.library

    # -- listing ----------------------------------------------------------------------------

    def refresh(self) -> None:
        """List the models (bundled, known and the library's) with what this machine remembers."""
        library = self.library
        if library is None:
            return
        self.pools.run(self.pools.io, lambda: _rows(library), self._on_rows,
                       lambda err: self.error.emit(user_message(err)))

    def _on_rows(self, answer: tuple[list[ModelRow], str | None]) -> None:
        self.rows, self.switching = answer
        self.rowsChanged.emit(self.rows)
        self.stateChanged.emit()

    def measure_speeds(self) -> None:
        """Time every listed model not measured yet on this machine, one after another (background)."""
        if self._measuring or not self.rows:
            return
        names = [r.name for r in self.rows if r.speed is None]
        if not names:
            return
        self._measuring = True
        device = _device(self.library)

        def work() -> None:
            from photosense.core import model_speed

            for name in names:
                if self.pools.closed or self.working:  # a switch goes first: timing can wait
                    return
                try:
                    self.speedMeasured.emit(name, model_speed.measure(name, device))
                except Exception as err:  # noqa: BLE001 - one model that cannot be built leaves a blank
                    log.info("could not time the model %s: %s", name, err)

        self.pools.run(self.pools.models, work, lambda _: self._measured(), lambda _: self._measured())

    def _measured(self) -> None:
        self._measuring = False

    # -- switching --------------------------------------------------------------------------

    def switch(self, name: str) -> None:
        """Download *name* if needed (byte progress, cancellable), then move the library to it while
        search keeps serving the current model; ``switched`` when done."""
        library = self.library
        if library is None or self.working:
            return
        self._cancel.clear()
        self.working, self.switching = "download", name
        self.stateChanged.emit()
        cancel = self._cancel

        def work():
            from photosense.core import config
            from photosense.core.model_downloads import download, needs_download
            from photosense.core.models import parse_spec

            spec = parse_spec(name)
            if needs_download(spec, config.model_cache_dir()):
                download(spec, config.model_cache_dir(), lambda done, total: self.downloadProgress.emit(
                    name, done, total), cancel)
            self.working = "switch"
            self.stateChanged.emit()
            return library.switch_model(name, cancel=cancel, progress=lambda p: self.switchProgress.emit(
                name, *_switch_counts(library)))

        self.pools.run(self.pools.models, work, self._on_switch, self._on_switch_failed)

    def resume(self) -> None:
        """Go on with a switch a previous session left unfinished (nothing when there is none)."""
        library = self.library
        if library is not None and not self.working:
            target = library.model_service.switching_to
            if target:
                self.switch(target)

    def cancel(self) -> None:
        """Stop a download or a switch after the batch in flight (what was done is kept for next time)."""
        self._cancel.set()

    def _on_switch(self, summary) -> None:
        self.working = ""
        if summary.done:
            self.switching = None
            self.message.emit(f"Search now uses the model {summary.spec}.")
            self.switched.emit(summary.spec)
        else:
            self.message.emit(f"Model switch paused: search still uses {self.library.model_spec if self.library else ''}; "
                              "it goes on from where it stopped when you switch again.")
        self.stateChanged.emit()
        self.refresh()

    def _on_switch_failed(self, err: BaseException) -> None:
        self.working = ""
        self.stateChanged.emit()
        self.error.emit(user_message(err))
        self.refresh()

    def prune(self) -> None:
        """Drop the embeddings of the models not in use (switching back to them re-embeds)."""
        library = self.library
        if library is None or self.working:
            return
        self.pools.run(self.pools.models, library.prune_models,
                       lambda pruned: (self.message.emit(f"Removed the embeddings of {len(pruned)} unused models."),
                                       self.refresh()),
                       lambda err: self.error.emit(user_message(err)))


def _device(library) -> str:
    device = getattr(library.context, "device", None) or "cpu"
    return "cpu" if device == "auto" else device


def _switch_counts(library) -> tuple[int, int]:
    status = library.model_service.status()
    return int(status["switch_done"]), int(status["switch_total"])


def _rows(library) -> tuple[list[ModelRow], str | None]:
    """Runs on a worker: bundled and known models, the library's, and the speeds remembered here."""
    from photosense.core import config, model_speed
    from photosense.core.model_downloads import needs_download
    from photosense.core.models import model_catalog, parse_spec

    speeds = model_speed.remembered(_device(library))
    in_library = {m["model"]: m for m in library.models()}
    switching = library.model_service.switching_to
    rows = []
    catalog = {m["name"]: m for m in model_catalog()}  # in its order: bundled first, then known ones
    for name in [*catalog, *(n for n in in_library if n not in catalog)]:
        info = catalog.get(name, {"bundled": False, "size_mb": 0.0})
        try:
            downloaded = info["bundled"] or not needs_download(parse_spec(name, verify=False), config.model_cache_dir())
        except Exception:  # noqa: BLE001 - a spec of another machine's path: listed, not downloadable
            downloaded = False
        state = ("serving" if name == library.model_spec else "switching" if name == switching
                 else "kept" if name in in_library else "")
        rows.append(ModelRow(name, bool(info["bundled"]), float(info["size_mb"]), bool(downloaded), state,
                             speeds.get(name)))
    return rows, switching
