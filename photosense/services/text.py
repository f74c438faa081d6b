"""The text stage: after embedding, read the words in pending photos (OCR) in batches, in the background.

What is pending is derived from the catalog (a photo of kind photo, embedded, with no text read from
its current content hash), so a run that is cancelled or killed resumes where it stopped, a moved
photo keeps its text, and a changed file is read again. A photo that cannot be read gets its reason
recorded and waits for its file to change. Without an engine (``OcrUnavailable``) one message is
logged, photos stay pending, and search keeps working on names, folders and tags.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from photosense.core import ocr, paths
from photosense.core.catalog import TextRead
from photosense.core.errors import OcrUnavailable
from photosense.core.indexer import Progress, ProgressCallback
from photosense.services.context import LibraryContext

log = logging.getLogger(__name__)

BATCH = 16  # photos read between two saves (one transaction each)
PHASE = "reading text"


@dataclass
class TextSummary:
    """What one text stage run did."""

    read: int = 0  # photos read (with or without text found)
    with_text: int = 0  # of those, photos where text was found
    reused: int = 0  # copies that took the text of a photo with the same content
    failed: int = 0
    pending: int = 0  # left for a later run (cancelled, or no engine)
    cancelled: bool = False
    unavailable: str | None = None  # why no engine could run (photos stay pending)
    seconds: float = 0.0

    def to_json(self) -> dict:
        return {"read": self.read, "with_text": self.with_text, "reused": self.reused, "failed": self.failed,
                "pending": self.pending, "cancelled": self.cancelled, "unavailable": self.unavailable,
                "seconds": round(self.seconds, 3)}


class TextService:
    """Reads text in photos with ``core.ocr`` readers and stores it in the catalog (the keyword index
    follows by itself). *reader_factory* makes the reader (default ``ocr.create_reader``)."""

    def __init__(self, ctx: LibraryContext, reader_factory: Callable[[], ocr.TextReader] | None = None) -> None:
        self.ctx = ctx
        self.catalog = ctx.catalog
        self.reader_factory = reader_factory or (lambda: ocr.create_reader(ctx.device))
        self._reader: ocr.TextReader | None = None
        self._unavailable: str | None = None  # logged once; not tried again by this open library
        self._lock = threading.Lock()  # one run at a time

    def pending_count(self) -> int:
        """Photos still waiting for the text stage."""
        return self.catalog.text_pending_count(self.ctx.model_id())

    def _get_reader(self) -> ocr.TextReader | None:
        if self._reader is None and self._unavailable is None:
            try:
                self._reader = self.reader_factory()
            except OcrUnavailable as err:
                self._unavailable = str(err)
                log.warning("Text in photos cannot be read (%s); photos wait for it, and search still finds "
                            "names, folders and tags. 'photosense status' counts what waits.", err)
        return self._reader

    def run(self, *, progress: ProgressCallback | None = None, cancel: threading.Event | None = None,
            batch_size: int = BATCH, limit: int | None = None) -> TextSummary:
        """Read every pending photo (at most *limit*), saving each batch in one transaction; *cancel*
        stops after the batch in flight."""
        started = time.monotonic()
        summary = TextSummary()
        with self._lock:
            model_id = self.ctx.model_id()
            if self.catalog.text_pending_count(model_id):
                with self.ctx.write_lock, self.ctx.writer:
                    summary.reused = self.catalog.copy_text_by_hash(model_id)
            todo = self.catalog.text_pending(model_id, limit)
            if todo:
                reader = self._get_reader()
                if reader is None:
                    summary.unavailable = self._unavailable
                else:
                    self._read_all(reader, todo, summary, progress, cancel, max(1, batch_size), started)
            summary.pending = self.catalog.text_pending_count(model_id)
        summary.seconds = time.monotonic() - started
        return summary

    def _read_all(self, reader: ocr.TextReader, todo: list[tuple[int, str, bytes]], summary: TextSummary,
                  progress: ProgressCallback | None, cancel: threading.Event | None, batch_size: int,
                  started: float) -> None:
        total = len(todo)
        if progress:
            progress(Progress(done=0, total=total, phase=PHASE))
        # a reader says how many photos it reads at once (its sets of models; fakes and older readers: 1)
        with ThreadPoolExecutor(max(1, getattr(reader, "parallel", 1)), thread_name_prefix="photosense-text") as pool:
            for start in range(0, total, batch_size):
                if cancel is not None and cancel.is_set():
                    summary.cancelled = True
                    return
                batch = todo[start:start + batch_size]
                futures = [pool.submit(reader.read_path, path) for _, path, _ in batch]
                try:
                    reads = self._collect(reader, batch, futures, summary)
                finally:
                    for future in futures:
                        future.cancel()  # after a breakdown: what has not started stays pending
                if not self._save(reads, summary, progress, total, start + batch_size, started):
                    return

    def _collect(self, reader: ocr.TextReader, batch: list[tuple[int, str, bytes]], futures: list,
                 summary: TextSummary) -> list[TextRead]:
        """The batch's results in order: each photo's text, or its recorded failure."""
        reads: list[TextRead] = []
        for (photo_id, path, digest), future in zip(batch, futures):
            try:
                result = future.result()
            except OcrUnavailable as err:  # the engine broke down: what is not saved stays pending
                summary.unavailable = str(err)
                log.warning("Text reading stopped: %s", err)
                break
            except Exception as err:  # noqa: BLE001 - a bad file, or the engine's own error: recorded
                reads.append(TextRead(photo_id, digest, engine=reader.engine, error=_reason(err)))
                summary.failed += 1
                log.info("could not read text in %s: %s", paths.display(path), _reason(err))
                continue
            lines = tuple((line.text, line.box, line.confidence) for line in result.lines)
            reads.append(TextRead(photo_id, digest, result.text, lines, reader.engine, result.gated))
            summary.read += 1
            summary.with_text += bool(result.text.strip())
        return reads

    def _save(self, reads: list[TextRead], summary: TextSummary, progress: ProgressCallback | None,
              total: int, done: int, started: float) -> bool:
        """Save a batch in one transaction and report progress; False when reading must stop."""
        if reads:
            with self.ctx.write_lock, self.ctx.writer:
                self.catalog.save_texts(reads)
        if summary.unavailable:
            return False
        if progress:
            done = min(total, done)
            elapsed = time.monotonic() - started
            progress(Progress(done=done, total=total, phase=PHASE, failed=summary.failed, elapsed=elapsed,
                              rate=done / elapsed if elapsed > 0 else 0.0))
        return True


def _reason(err: BaseException) -> str:
    """A failure as recorded for the user."""
    text = str(err).strip() or type(err).__name__
    return text if not isinstance(err, MemoryError) else "the image is too large to read"
