"""A deterministic, torch-free ``ImageTextEmbedder`` for logic tests: it sees colours and reads colour words.

An image's vector is its colour (a soft one-hot over named colours), a little of its 4x4 layout and
a constant "photo" component; a text's vector is the colours it names plus "photo" for generic
words, and a hashed direction for every other word. So "red" finds red photos above the
calibrated cut-off, "a dog" (a word it cannot see) finds nothing, and similar photos are the ones
with the same colour and layout: enough to test indexing, search, tags, albums and sync for real,
in milliseconds, without loading torch.
"""
from __future__ import annotations

import hashlib
import threading
import re
from collections.abc import Sequence

import numpy as np
from PIL import Image

from photosense.core.models import ModelSpec

NAME = "fake-colors"
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30), "green": (30, 180, 40), "blue": (30, 60, 220), "yellow": (240, 230, 40),
    "cyan": (40, 220, 230), "magenta": (220, 40, 200), "orange": (250, 140, 20), "purple": (120, 40, 160),
    "white": (245, 245, 245), "black": (10, 10, 10), "gray": (128, 128, 128), "brown": (120, 70, 30),
}
GENERIC = {"photo", "picture", "image", "something", "snapshot"}
_NAMES = list(COLORS)
_PHOTO, _COLOR0 = 0, 1
_LAYOUT0 = _COLOR0 + len(COLORS)
_WORD0 = _LAYOUT0 + 16
DIM = _WORD0 + 32


def _word_vector(word: str) -> np.ndarray:
    """A fixed pseudo-random direction in the word dimensions (images have none of it)."""
    seed = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
    v = np.random.default_rng(seed).standard_normal(DIM - _WORD0)
    return v / np.linalg.norm(v)


class FakeEmbedder:
    """Follows ``photosense.core.embedder.ImageTextEmbedder``; ``calls`` counts encoded images."""

    spec = ModelSpec(NAME, "custom")
    dim = DIM
    image_size = 32
    logit_scale = 100.0
    preferred_batch_size = 8

    def __init__(self) -> None:
        self.images_encoded = 0
        self.texts_encoded = 0

    loading = False

    def start_loading(self) -> None:
        """Nothing to load."""

    def preprocess(self, image: Image.Image) -> np.ndarray:
        """4x4 RGB thumbnail as float32 (H, W, 3) in 0..255."""
        return np.asarray(image.convert("RGB").resize((4, 4), Image.Resampling.BOX), np.float32)

    def preprocess_early(self, image: Image.Image):
        return image if self.loading else self.preprocess(image)  # as the real one without a config

    def settle(self, item) -> np.ndarray:
        return self.preprocess(item) if isinstance(item, Image.Image) else item

    def collate(self, items: Sequence[np.ndarray]) -> np.ndarray:
        return np.stack(list(items))

    def encode_images(self, batch: np.ndarray) -> np.ndarray:
        batch = np.asarray(batch, np.float32)
        n = len(batch)
        out = np.zeros((n, DIM), np.float32)
        mean = batch.reshape(n, -1, 3).mean(axis=1)  # (N, 3)
        palette = np.array(list(COLORS.values()), np.float32)
        dist2 = ((mean[:, None, :] - palette[None]) ** 2).sum(axis=2)
        soft = np.exp(-(dist2 - dist2.min(axis=1, keepdims=True)) / (2 * 35.0 ** 2))
        out[:, _COLOR0:_LAYOUT0] = soft / np.linalg.norm(soft, axis=1, keepdims=True)
        gray = batch.mean(axis=3).reshape(n, 16)
        gray = gray - gray.mean(axis=1, keepdims=True)
        norms = np.linalg.norm(gray, axis=1, keepdims=True)
        out[:, _LAYOUT0:_WORD0] = 0.3 * np.divide(gray, norms, out=np.zeros_like(gray), where=norms > 0)
        out[:, _PHOTO] = 0.5
        self.images_encoded += n
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIM), np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z]+", text.lower()):
                if word in COLORS:
                    out[row, _COLOR0 + _NAMES.index(word)] += 1.0
                elif word in GENERIC:
                    out[row, _PHOTO] += 0.6
                elif word not in {"a", "an", "the", "of", "in", "on", "with"}:
                    out[row, _WORD0:] += 0.8 * _word_vector(word)
            if not out[row].any():
                out[row, _WORD0:] = _word_vector(text)
        self.texts_encoded += len(texts)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def color_image(name: str, size: int = 48, seed: int = 0) -> Image.Image:
    """A photo of one named colour with a little deterministic texture (so no two are identical)."""
    rng = np.random.default_rng(seed)
    base = np.array(COLORS[name], np.float32)
    noise = rng.normal(0, 12, (size, size, 1)).astype(np.float32)
    y, x = np.mgrid[0:size, 0:size]
    shade = ((x + 2 * y + seed * 7) % size / size * 30 - 15)[..., None].astype(np.float32)
    return Image.fromarray(np.clip(base + noise + shade, 0, 255).astype(np.uint8), "RGB")


OTHER = "fake-colors-b"


class OtherFake(FakeEmbedder):
    """A second model: the same colours, seen in a permuted space (so its vectors are not the first one's)."""

    spec = ModelSpec(OTHER, "custom")
    gate = threading.Event()  # cleared: encoding waits (a switch still running)
    waiting = threading.Event()
    _order = np.random.default_rng(7).permutation(FakeEmbedder.dim)

    def encode_images(self, batch):
        OtherFake.waiting.set()
        assert OtherFake.gate.wait(60), "the test never let the switch go on"
        return super().encode_images(batch)[:, self._order]

    def encode_texts(self, texts):
        return super().encode_texts(texts)[:, self._order]


# -- a fake text reader (the interface of photosense.core.ocr), for the text stage's mechanics ----------

TEXT_KEY = "ocr-truth"  # the PNG text chunk a test photo carries its words in


def text_photo(path, color: str, text: str, seed: int = 0):
    """A PNG photo of one colour whose words (for :class:`FakeReader`) ride in a text chunk."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text(TEXT_KEY, text)
    path.parent.mkdir(parents=True, exist_ok=True)
    color_image(color, seed=seed).save(path, pnginfo=info)
    return path


class FakeReader:
    """Follows ``photosense.core.ocr.TextReader`` without an engine: the words of a photo are the ground
    truth stored in its PNG text chunk (:func:`text_photo`) or given in *texts* (by file name). It opens
    the file for real, so a broken one fails as a real reader would. ``calls`` lists the paths read;
    *delay* (seconds per photo) makes runs long enough to interrupt."""

    engine = "fake-reader"

    def __init__(self, texts: dict[str, str] | None = None, delay: float = 0.0) -> None:
        self.texts = texts or {}
        self.delay = delay
        self.calls: list[str] = []

    def read_path(self, path):
        import os
        import time

        self.calls.append(os.fspath(path))
        if self.delay:
            time.sleep(self.delay)
        with Image.open(path) as image:
            image.load()
            text = self.texts.get(os.path.basename(path), getattr(image, "text", {}).get(TEXT_KEY, ""))
        return self.result(text)

    def read_image(self, image, *, gate: bool = True):
        return self.result(getattr(image, "text", {}).get(TEXT_KEY, ""))

    @staticmethod
    def result(text: str):
        from photosense.core.ocr import TextLine, TextResult

        lines = tuple(TextLine(line, ((0.0, 0.0), (10.0, 0.0), (10.0, 4.0), (0.0, 4.0)), 0.9)
                      for line in text.splitlines() if line.strip())
        return TextResult(lines, gated=not lines)
