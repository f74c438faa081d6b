"""The indexing pipeline: pending photos -> parallel decode (bounded read-ahead) -> batched embedding -> catalog + vectors."""
from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass, field

import numpy as np

from photosense.core import changes, duplicates, paths, text_presence, video
from photosense.core.catalog import FRAME_BASE, Catalog, Photo, PhotoMeta, TextRead
from photosense.core.embedder import ImageTextEmbedder
from photosense.core.errors import ImageError, PhotoSenseError
from photosense.core.media import FileVanished, open_image
from photosense.core.scanner import partial_hash
from photosense.core.vectors import VectorIndex

log = logging.getLogger(__name__)

READ_AHEAD_BATCHES = 3  # rclip's figure: enough to hide decode jitter, small enough to bound memory
# A decoded video holds up to video.MAX_FRAMES frames (~17 MB at 224 px), so read-ahead counts videos
# apart: at most this many wait decoded, whatever the batch size.
VIDEOS_IN_FLIGHT = 2
SAVE_EVERY_S = 60.0  # the vector graph is saved at least this often during long runs


@dataclass
class Progress:
    """Where an indexing run stands; sent to the progress callback after every batch."""

    done: int
    total: int
    phase: str = "indexing"  # "scanning" while folders are walked, then "indexing"
    failed: int = 0
    reused: int = 0
    elapsed: float = 0.0
    rate: float = 0.0  # photos per second, recent
    current: str | None = None

    @property
    def eta(self) -> float | None:
        """Seconds left at the current rate."""
        if self.rate <= 0:
            return None
        return max(0.0, (self.total - self.done) / self.rate)


@dataclass
class IndexStats:
    """What one indexing run did."""

    indexed: int = 0
    reused: int = 0
    failed: int = 0
    vanished: int = 0
    skipped: int = 0
    seconds: float = 0.0
    cancelled: bool = False
    failures: list[tuple[str, str]] = field(default_factory=list)
    embedded_ids: list[int] = field(default_factory=list)  # photos that got an embedding in this run


@dataclass
class _Ready:
    photo: Photo
    digest: bytes
    meta: PhotoMeta
    tensors: list  # a photo's model input (or its reduced image, decoded while the model loaded); one
    # upright PIL frame per sampled moment for a video
    times: list[float] | None = None  # a video's moments, in seconds
    duration: float | None = None
    signature: tuple[np.ndarray, float] | None = None  # a photo's perceptual hashes and sharpness
    text_free: bool = False  # the stroke check saw nothing a text detector could find (no text stage)


@dataclass
class _Reuse:
    photo: Photo
    digest: bytes
    source_id: int


@dataclass
class _Failed:
    photo: Photo
    reason: str
    size: int | None = None
    mtime_ns: int | None = None


@dataclass
class _Vanished:
    photo: Photo


ProgressCallback = Callable[[Progress], None]


def default_workers() -> int:
    """Decode threads: one per core (Pillow and FFmpeg release the GIL while decoding and resizing, and the
    threads do no torch work), 2 to 32. On a 16-core GPU machine 16 decoded 1.5x more photos/s than 8."""
    return max(2, min(32, os.cpu_count() or 2))


def _preprocess_early(embedder: ImageTextEmbedder, image):
    """``embedder.preprocess_early`` (embedders written before it: the image itself while loading)."""
    early = getattr(embedder, "preprocess_early", None)
    if early is not None:
        return early(image)
    return image if embedder.loading else embedder.preprocess(image)


def _settle(embedder: ImageTextEmbedder, item):
    """``embedder.settle`` (embedders written before it: a PIL image is preprocessed now)."""
    settle = getattr(embedder, "settle", None)
    if settle is not None:
        return settle(item)
    return embedder.preprocess(item) if hasattr(item, "getbands") else item


def _signature(image, path: str) -> tuple[np.ndarray, float] | None:
    """The perceptual hashes and sharpness of a decoded photo (None if they cannot be made: they are
    then made later, from the file, when duplicates are looked for)."""
    try:
        return duplicates.signature_of_image(image)
    except Exception as err:  # noqa: BLE001 - a hash must never cost the photo its embedding
        log.debug("no perceptual hash for %s: %s", paths.display(path), err)
        return None


def _text_free(image, path: str) -> bool:
    """Whether the stroke check says a decoded photo surely holds no text (False when it cannot tell)."""
    try:
        return not text_presence.might_have_text(image)
    except Exception as err:  # noqa: BLE001 - the check must never cost the photo its embedding
        log.debug("no text check for %s: %s", paths.display(path), err)
        return False


class Indexer:
    """Embeds pending photos of one model and stores the results (catalog first, then vectors)."""

    def __init__(self, catalog: Catalog, vectors: VectorIndex, embedder: ImageTextEmbedder, model_id: int,
                 workers: int | None = None, batch_size: int | None = None,
                 vanish_grace_s: float | None = None, check_text: bool = False) -> None:
        self.catalog = catalog
        self.vectors = vectors
        self.embedder = embedder
        self.model_id = model_id
        self.workers = workers or default_workers()
        self.batch_size = batch_size
        # a vanished photo's row is kept this long (as in live sync); None: changes.VANISH_GRACE_S, read now
        self.vanish_grace_s = changes.VANISH_GRACE_S if vanish_grace_s is None else vanish_grace_s
        self._known_hashes: dict[bytes, int] = {}
        # check each decoded photo for possible text (core.text_presence): one that surely has none is
        # recorded as read, so the text stage never decodes it again or runs its detector on it
        self.check_text = check_text

    def run(self, photos: Sequence[Photo], progress: ProgressCallback | None = None,
            cancel: threading.Event | None = None) -> IndexStats:
        """Index *photos*; returns when done or, after the batch in flight, when *cancel* is set."""
        stats = IndexStats()
        started = time.monotonic()
        if not photos:
            return stats
        # The model loads lazily, on the first photo that needs decoding: a run that only
        # meets copies of known photos does no model work at all. The device's batch size may grow
        # once the model has loaded (a GPU found), so it is asked for each time.
        self._known_hashes = self.catalog.embedded_by_hash(self.model_id)
        total = len(photos)
        report = Progress(done=0, total=total)
        rate_window: deque[tuple[float, int]] = deque(maxlen=20)
        last_save = time.monotonic()

        ready: list[_Ready] = []
        reuse: list[_Reuse] = []
        failed: list[_Failed] = []
        vanished: list[_Vanished] = []
        gone: list[Photo] = []  # vanished, waiting out the grace before their rows go
        last_gone = 0.0
        settling = False

        def cancelled() -> bool:
            return cancel is not None and cancel.is_set()

        def batch() -> int:
            return self.batch_size or self.embedder.preferred_batch_size

        def flush(final: bool = False) -> None:
            nonlocal last_save, last_gone
            if ready:
                self._store(ready, batch())
                for r in ready:
                    self._known_hashes.setdefault(r.digest, r.photo.id)
                stats.indexed += len(ready)
                stats.embedded_ids += [r.photo.id for r in ready]
            if reuse:
                self.catalog.copy_indexed(self.model_id, [(r.photo.id, r.digest, r.source_id) for r in reuse])
                self.catalog.copy_frames(self.model_id, [(r.photo.id, r.source_id) for r in reuse
                                                         if r.photo.is_video])
                reused = self.catalog.vector_ids_of(self.model_id, [r.photo.id for r in reuse])
                for ids, matrix in self.catalog.iter_vectors(self.model_id, self.vectors.dim, ids=reused):
                    self.vectors.add(ids, matrix)
                stats.reused += len(reuse)
                stats.embedded_ids += [r.photo.id for r in reuse]
            if failed:
                self.catalog.record_failures([(f.photo.id, paths.to_db(f.photo.path), f.size, f.mtime_ns,
                                               f.reason) for f in failed])
                stats.failed += len(failed)
                stats.failures += [(f.photo.path, f.reason) for f in failed]
            if vanished and settling:  # still gone after the grace
                self.catalog.delete_photos([v.photo.id for v in vanished])
                stats.vanished += len(vanished)
            elif vanished:
                gone.extend(v.photo for v in vanished)
                last_gone = time.monotonic()
            done_now = len(ready) + len(reuse) + len(failed) + (len(vanished) if settling else 0)
            for bucket in (ready, reuse, failed, vanished):
                bucket.clear()
            now = time.monotonic()
            report.done += done_now
            report.failed, report.reused = stats.failed, stats.reused
            report.elapsed = now - started
            rate_window.append((now, report.done))
            t0, d0 = rate_window[0]
            report.rate = (report.done - d0) / (now - t0) if now > t0 else report.done / max(report.elapsed, 1e-9)
            if final or now - last_save > SAVE_EVERY_S:
                self.vectors.save()
                last_save = now
            if progress:
                progress(report)

        pending: list[tuple[Future, bool]] = []  # (decode, is a video), oldest first
        # Longest first: a video decodes on one thread for seconds, so the largest start at once
        # (next to the photos) rather than leaving one long clip to finish alone at the end.
        videos = deque(sorted((p for p in photos if p.is_video), key=lambda p: -p.size))
        stills = deque(p for p in photos if not p.is_video)
        with ThreadPoolExecutor(self.workers, thread_name_prefix="photosense-decode") as pool:
            def top_up() -> None:
                while len(pending) < batch() * READ_AHEAD_BATCHES and not (cancel and cancel.is_set()):
                    if videos and sum(v for _, v in pending) < VIDEOS_IN_FLIGHT:
                        pending.append((pool.submit(self._prepare, videos.popleft()), True))
                    elif stills:
                        pending.append((pool.submit(self._prepare, stills.popleft()), False))
                    else:
                        return

            def next_done():
                """The oldest finished decode (waiting for the first to finish): a long video in
                decoding never holds up the photos and clips decoded after it."""
                done = next((p for p in pending if p[0].done()), None)
                if done is None:
                    wait_for([f for f, _ in pending], return_when=FIRST_COMPLETED)
                    done = next(p for p in pending if p[0].done())
                pending.remove(done)
                return done[0].result()

            top_up()
            try:
                while pending:
                    item = next_done()
                    top_up()
                    {_Ready: ready, _Reuse: reuse, _Failed: failed, _Vanished: vanished}[type(item)].append(item)
                    report.current = item.photo.path
                    inputs = sum(len(r.tensors) for r in ready)
                    # while the model loads, decoding goes on (up to the read-ahead) instead of waiting
                    if ((inputs >= batch() and not (self.embedder.loading and inputs < batch() * READ_AHEAD_BATCHES))
                            or len(reuse) + len(failed) + len(vanished) >= batch()):
                        flush()
                        if cancel is not None and cancel.is_set():
                            break  # decoded-but-unsaved photos stay pending for the next run
                for future, _ in pending:
                    future.cancel()
            except BaseException:
                # a fatal error (the model cannot load, the disk is full): stop decoding, keep what is saved
                for future, _ in pending:
                    future.cancel()
                raise
            if gone and not cancelled():
                # Editors save by deleting the file and renaming a new one into place: like live sync,
                # a vanished photo keeps its row (id, tags, albums) for the grace period, then is
                # indexed if its file is back or removed if not. (Cancelled: they stay pending.)
                flush()
                wait = self.vanish_grace_s - (time.monotonic() - last_gone)
                if wait > 0:
                    if cancel is not None:
                        cancel.wait(wait)
                    else:
                        time.sleep(wait)
                if not cancelled():
                    settling = True
                    for photo in gone:
                        item = self._prepare(photo)
                        {_Ready: ready, _Reuse: reuse, _Failed: failed, _Vanished: vanished}[type(item)].append(item)
                        report.current = photo.path
                        if sum(len(r.tensors) for r in ready) >= batch():
                            flush()
            flush(final=True)
        stats.cancelled = bool(cancel and cancel.is_set()) and report.done < total
        stats.seconds = time.monotonic() - started
        return stats

    def _prepare(self, photo: Photo):
        """Runs on a decode thread: stat, hash, reuse or decode + preprocess."""
        try:
            st = os.stat(photo.path)
        except FileNotFoundError:
            return _Vanished(photo)
        except OSError as err:
            return _Failed(photo, f"cannot read the file: {err.strerror or err}")
        try:
            digest = partial_hash(photo.path, st.st_size)
        except FileNotFoundError:
            return _Vanished(photo)
        except OSError as err:
            return _Failed(photo, f"cannot read the file: {err.strerror or err}", st.st_size, st.st_mtime_ns)
        source = self._known_hashes.get(digest)
        if source is not None and source != photo.id:
            return _Reuse(photo, digest, source)
        # The model loads in the background from the first file that needs it, while this and the
        # other threads decode (its input size is known from its config). Outside the try: a model
        # that cannot load is fatal for the run, never a broken photo.
        self.embedder.start_loading()
        min_side = self.embedder.image_size
        try:
            if photo.is_video:
                info, frames = video.sample_frames(photo.path, min_side=min_side)
                if not frames:
                    return _Failed(photo, "no frame of the video could be decoded", st.st_size, st.st_mtime_ns)
                meta = PhotoMeta(info.width, info.height)
                # frames are preprocessed when they are encoded: a decoded video never waits here for
                # the model, and small frames hold a third of the memory of model inputs
                return _Ready(photo, digest, meta, [f.image for f in frames], [f.t for f in frames], info.duration)
            # at least the size the perceptual hashes (and the text check, when it runs) are made at: one
            # decode for all (an 8 MP JPEG then decodes at 1/4 instead of 1/8: 25 instead of 20 ms here)
            decoded = open_image(photo.path, min_side=max(min_side, duplicates.SIGNATURE_SIDE,
                                                          text_presence.CHECK_MIN_SIDE if self.check_text else 0))
            # while the model loads, decode threads never wait for its transform (they sat idle for
            # the whole load): the result is provisional, made final when it is encoded
            tensor = _preprocess_early(self.embedder, decoded.image)
        except FileVanished:
            return _Vanished(photo)
        except PhotoSenseError:
            raise  # the model could not load: fatal for the run, not a broken photo
        except ImageError as err:
            return _Failed(photo, str(err), st.st_size, st.st_mtime_ns)
        except Exception as err:  # a decoder bug must cost one photo, never the run
            log.exception("unexpected error decoding %s", paths.display(photo.path))
            return _Failed(photo, f"unexpected decoder error ({type(err).__name__}: {err})",
                           st.st_size, st.st_mtime_ns)
        meta = PhotoMeta(decoded.width, decoded.height, decoded.taken_at, decoded.camera)
        return _Ready(photo, digest, meta, [tensor], signature=_signature(decoded.image, photo.path),
                      text_free=self.check_text and _text_free(decoded.image, photo.path))

    def _store(self, ready: list[_Ready], batch_size: int) -> None:
        """Encode the inputs of decoded photos and videos in model batches, then store them: the catalog
        first (one transaction), then the vector index (fp16-rounded, as the catalog keeps them)."""
        inputs = [_settle(self.embedder, t) for r in ready for t in r.tensors]
        encoded = np.concatenate([self.embedder.encode_images(self.embedder.collate(inputs[i:i + batch_size]))
                                  for i in range(0, len(inputs), batch_size)])
        rounded = encoded.astype(np.float16).astype(np.float32)
        photos, videos, starts, at = [], [], [], 0
        for r in ready:
            (videos if r.times is not None else photos).append(r)
            starts.append(at)
            at += len(r.tensors)
        start_of = {id(r): s for r, s in zip(ready, starts)}
        if photos:
            rows = [start_of[id(r)] for r in photos]
            self.catalog.save_indexed(self.model_id, [(r.photo.id, r.digest, r.meta, encoded[i])
                                                      for r, i in zip(photos, rows)])
            self.vectors.add([r.photo.id for r in photos], rounded[rows])
            signed = [(r.photo.id, r.digest, r.signature[0].astype("<u8").tobytes(), r.signature[1])
                      for r in photos if r.signature is not None]
            if signed:  # duplicates and stacks read them: no second decode of these photos later
                self.catalog.save_signatures(signed)
            if self.check_text:  # text-free photos are read: nothing for the text stage to do
                self.catalog.save_text_checks(
                    [TextRead(r.photo.id, r.digest, engine=text_presence.ENGINE, gated=True)
                     for r in photos if r.text_free],
                    [(r.photo.id, r.digest) for r in photos if not r.text_free], text_presence.ENGINE)
        if videos:
            spans = [range(start_of[id(r)], start_of[id(r)] + len(r.tensors)) for r in videos]
            frame_ids = self.catalog.save_videos(self.model_id, [
                (r.photo.id, r.digest, r.meta, r.duration, [(t, encoded[i]) for t, i in zip(r.times, span)])
                for r, span in zip(videos, spans)])
            self.vectors.add([FRAME_BASE + f for ids in frame_ids for f in ids],
                             rounded[[i for span in spans for i in span]])
