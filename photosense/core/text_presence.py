"""Whether a decoded photo could hold text at all: an edge count, cheap enough to run on every photo.

The indexer runs it on the small decode it already made for the model (a 12 MP JPEG: 500x375), so a
photo that plainly has no text never costs the text stage a second decode and a text detector. It only
ever says "no text" where no small block of the picture has many letter-like edges, in brightness or in
one of the two colour-difference channels (text that differs from its background only in hue):

- a stroke edge: a step of at least ``STEP`` between neighbouring pixels followed within ``STROKE_MAX``
  pixels by the opposite step (the two sides of a thin stroke, even of faint text);
- a hard edge: a step of at least ``HARD_STEP`` (the sides of a stroke too wide to pair: big lettering).

Smooth shading, blur and fine sensor grain have neither. Everything else (text, but also foliage,
fabric, gravel, any sharp outline) goes on to the text stage's own detector, which decides. Chosen on
the OCR tuning split and checked against the detector gate on held-out images and real photos
(docs/text-search.md).
"""
from __future__ import annotations

import numpy as np
from PIL import Image

__all__ = ["CHECK_MIN_SIDE", "ENGINE", "might_have_text", "stroke_score"]

STEP = 32  # of 255: a stroke edge's least step between neighbouring pixels
STROKE_MAX = 6  # px: the opposite step must follow within this (a stroke at most this wide)
HARD_STEP = 64  # of 255: a step this sharp counts on its own
BLOCK = 16  # px: edges are counted per block of BLOCK x BLOCK
EDGES_MIN = 10  # edges in one block from which it might hold text (tuning split: text 53+, plain 0-6 and 0-20)
# The scales the constants were chosen at: a 12 MP JPEG decoded at DCT scale 1/8 (500x375) and a 1080p
# screenshot reduced to 960x540. While the check runs, the indexer decodes photos with a shorter side of
# at least CHECK_MIN_SIDE (whatever the model's input size), and the check first box-reduces a decode
# whose long side exceeds CHECK_MAX_LONG towards that (a 48 MP photo: 1000x750, 1/8), never taking the
# shorter side below CHECK_MIN_SIDE (a panorama), then looks again at half of it while that half's long
# side still reaches HALF_FROM (500x375 for the 48 MP photo): the photo is text-free only when every
# scale says so.
CHECK_MIN_SIDE = 375
CHECK_MAX_LONG = 1000
HALF_FROM = 375
# Smaller images are never called text-free: the text stage's detector decides.
SMALLEST = 64
# What the catalog records as the "engine" of a photo this check found text-free.
ENGINE = "photosense stroke check 1"


def _soon(mask: np.ndarray, axis: int) -> np.ndarray:
    """True where *mask* holds 1 to STROKE_MAX pixels further along *axis* (ORs of doubling shifts)."""
    out = np.zeros_like(mask)
    ahead = [slice(None)] * 2
    here = [slice(None)] * 2
    ahead[axis], here[axis] = slice(1, None), slice(None, -1)
    out[tuple(here)] = mask[tuple(ahead)]
    span = 1
    while span < STROKE_MAX:
        k = min(span, STROKE_MAX - span)
        ahead[axis], here[axis] = slice(k, None), slice(None, -k)
        out[tuple(here)] |= out[tuple(ahead)]
        span += k
    return out


def _block_max(plane: np.ndarray, need: int | None = None) -> int:
    """The most stroke and hard edges in one BLOCK x BLOCK block of *plane* (2-D uint8), both directions.
    With *need*: a plane with fewer than *need* such edges in all returns that total at once (no block
    can reach *need*), the usual case for a photo without text."""
    g = plane.astype(np.int16)
    h, w = g.shape
    if h < 2 or w < 2:
        return 0
    bh, bw = -(-h // BLOCK), -(-w // BLOCK)  # the last row and column of blocks may be partial
    found = []
    for axis in (1, 0):
        d = np.diff(g, axis=axis)
        up, down = d >= STEP, d <= -STEP
        edges = (up & _soon(down, axis)) | (down & _soon(up, axis)) | (d >= HARD_STEP) | (d <= -HARD_STEP)
        found.append(edges)
    if need is not None:
        total = sum(int(np.count_nonzero(e)) for e in found)
        if total < need:
            return total
    counts = np.zeros((bh, bw), np.int32)
    for e in found:
        padded = np.zeros((bh * BLOCK, bw * BLOCK), bool)
        padded[:e.shape[0], :e.shape[1]] = e
        counts += padded.reshape(bh, BLOCK, bw, BLOCK).sum(axis=(1, 3), dtype=np.int32)
    return int(counts.max())


def stroke_score(image: Image.Image, stop_at: int | None = None) -> int:
    """The most stroke and hard edges in one block, over brightness and colour difference and the check's
    scales; 0 for an image with no sharp detail. With *stop_at*, returns as soon as the count reaches it."""
    best = 0
    for scaled in _scales(image.convert("YCbCr") if image.mode != "L" else image):
        for plane in scaled.split():
            best = max(best, _block_max(np.asarray(plane), stop_at))
            if stop_at is not None and best >= stop_at:
                return best
    return best


def _scales(image: Image.Image) -> list[Image.Image]:
    """The image at the scales the check looks at (see CHECK_MAX_LONG)."""
    # never below the tuned scale on the shorter side (a panorama keeps its 1/8 decode)
    factor = max(1, min(-(-max(image.size) // CHECK_MAX_LONG), min(image.size) // CHECK_MIN_SIDE))
    first = image.reduce(factor) if factor > 1 else image
    out = [first]
    if max(first.size) // 2 >= HALF_FROM:
        out.append(first.reduce(2))
    return out


def might_have_text(image: Image.Image) -> bool:
    """False only when *image* (upright, as decoded) surely holds no text a detector could find."""
    if min(image.size) < SMALLEST:
        return True
    return stroke_score(image, stop_at=EDGES_MIN) >= EDGES_MIN
