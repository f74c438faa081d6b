"""Test helpers: write real image files of every kind PhotoSense must handle."""
from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

TINY_MODEL = "tiny-fashion"
REPO = Path(__file__).resolve().parents[1]


def gradient(width: int = 64, height: int = 48, seed: int = 0) -> Image.Image:
    """A deterministic RGB image with structure (so resizes and rotations are detectable)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    r = (x * 255 // max(width - 1, 1)).astype(np.uint8)
    g = (y * 255 // max(height - 1, 1)).astype(np.uint8)
    b = np.full((height, width), rng.integers(0, 255), dtype=np.uint8)
    return Image.fromarray(np.dstack([r, g, b]), "RGB")


def save(img: Image.Image, path: Path, fmt: str | None = None, **opts) -> Path:
    """Save *img* to *path* (creating folders) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, fmt, **opts)
    return path


def jpeg_bytes(img: Image.Image, **opts) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", **opts)
    return buf.getvalue()


def bomb_png(path: Path, side: int = 20000) -> Path:
    """A valid greyscale PNG of side x side black pixels (20000: 400 MP, 1.2 GB once decoded as RGB)
    that is only ~400 kB: a decompression bomb, written in milliseconds (PIL takes seconds)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = 64
    block = bytes((side + 1) * rows)  # each row: filter byte 0, then black pixels
    first = zlib.compressobj(9)
    head = first.compress(block) + first.flush(zlib.Z_FULL_FLUSH)  # zlib header + the first rows
    raw = zlib.compressobj(9, zlib.DEFLATED, -15)  # (raw deflate: no header)
    raw.compress(block)
    raw.flush(zlib.Z_FULL_FLUSH)
    # after a full flush the compressor forgets its window, so every further block compresses alike
    again = raw.compress(block) + raw.flush(zlib.Z_FULL_FLUSH)
    n_blocks, rest = divmod(side, rows)
    last = zlib.compressobj(9, zlib.DEFLATED, -15)
    tail = last.compress(bytes((side + 1) * rest)) + last.flush()  # the final block
    adler = (((side + 1) * side % 65521) << 16) | 1  # the Adler-32 of that many zero bytes
    idat = head + again * (n_blocks - 1) + tail + struct.pack(">I", adler)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def fashion_images(n: int, seed: int = 0, size: int = 96) -> list[tuple[Image.Image, int]]:
    """*n* Fashion-MNIST test images (upscaled, RGB) with their labels, or skip when not installed."""
    import pytest

    import fashion_mnist as fm

    if not fm.available():
        pytest.skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    split = fm.load("test")
    idx = fm.stratified_indices(split.labels, max(1, n // 10), seed=seed)[:n]
    return [(Image.fromarray(split.images[i], "L").resize((size, size), Image.Resampling.BICUBIC)
             .convert("RGB"), int(split.labels[i])) for i in idx]


def wait_until(predicate: Callable[[], object], timeout: float = 15.0, what: str = "the condition",
               interval: float = 0.02) -> object:
    """Poll *predicate* until it returns something true and return that (no fixed sleeps: as fast as
    the system is); AssertionError naming *what* after *timeout* seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


def count_polling_snapshots(monkeypatch) -> list[str]:
    """Record every first snapshot a polling observer takes (one per watched folder, when its thread
    starts): a file written before that snapshot is part of it and never reported as new, so tests
    wait for it instead of sleeping. Returns the list the watched paths are appended to."""
    from watchdog.observers.polling import PollingEmitter

    taken: list[str] = []
    first_snapshot = PollingEmitter.on_thread_start

    def recorded(self) -> None:
        first_snapshot(self)
        taken.append(self.watch.path)

    monkeypatch.setattr(PollingEmitter, "on_thread_start", recorded)
    return taken


@dataclass
class CliResult:
    """What one CLI command did: its exit status and what it printed (like ``CompletedProcess``)."""

    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str, library: Path | None = None, env: dict | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the real ``photosense`` CLI in a subprocess and capture its output (for what only a real
    process shows: the entry point, signals, the locale, no display; the ``cli`` fixture runs the
    same commands in-process, much faster)."""
    cmd = [sys.executable, "-m", "photosense"]
    if library is not None:
        cmd += ["--library", str(library)]
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=timeout, env=full_env)
