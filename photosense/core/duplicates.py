"""Duplicates and bursts (Qt-free): perceptual signatures, pair confirmation, grouping and the keeper.

How a group is found
--------------------
- **Exact**: items with the same partial content hash (size, first MiB, last KiB); where that hash does
  not cover the whole file, the whole-file hash must agree too.
- **Near**: the candidates are each photo's neighbours in embedding space whose cosine is at least
  ``CANDIDATE_COSINE``, found through an inverted file over the stored embeddings (:func:`neighbour_pairs`:
  a coarse k-means partition, each photo compared with the members of its ``PROBES`` nearest cells;
  never all pairs). The library's hnswlib index answers one query at a time under its lock at ef >= 200,
  about 1.2 ms a query on 2 cores, so 2 minutes for 100k photos; a partition pass takes seconds and
  finds the same pairs (``bench/bench_duplicates.py`` checks both). A candidate is confirmed by signals the embedding does not
  give: the perceptual hash (``HASH_NEAR`` bits at most), the aspect ratio (at most a ``MAX_CROP`` crop
  apart) and the capture time (equal, or unknown on one side). Confirmed pairs are merged by average
  linkage: two clusters join only when at least ``LINKAGE`` of their cross pairs are confirmed, so one
  lookalike cannot chain two groups together.
- **Burst**: photos taken at most ``BURST_GAP_S`` apart (chained), CLIP neighbours or time neighbours,
  similar by the embedding and not unrelated by the hash (``HASH_BURST``). A burst is a stack: it is
  never offered to the trash.
- **Videos**: the same duration (``VIDEO_DURATION_TOLERANCE``) and at least ``VIDEO_FRAME_SHARE`` of the
  sampled moments matching a moment of the other clip at the same time (``CANDIDATE_COSINE``).

The thresholds, and where they come from
----------------------------------------
- The perceptual hash is a DCT hash (pHash): a 64x64 grey reduction, its 16x16 lowest frequencies
  without the mean, one bit per coefficient above their median: 255 bits. Besides the whole frame, each
  photo has hashes of 18 windows: 95 % and 97.5 % of the frame at 3x3 offsets, so a copy cropped by up
  to 5 % is compared with the window that frames it alike. A pair is compared 37 ways (frame with frame,
  and each frame with the other's windows), and the smallest distance counts.
- Why 255 bits and not the usual 63 (8x8): lookalikes (what the embedding proposes) share the lowest
  frequencies. On reference sets of centred objects on black (a worst case: the Fashion-MNIST
  *training* split and the bundled demo samples; the quality test uses the test split), 1 % of
  different items of one class came within 8 of 63 bits (13 %), where transformed copies reach 8 too:
  no threshold separates them. With 255 bits the same lookalikes stayed at 42 bits or more (16 %), and
  every copy (re-encoded, resized, cropped 2-5 %, EXIF-rotated, converted, brightened, filtered) within
  32 (12.5 %, crops after the window search; the others within 24).
- ``HASH_NEAR = 36``: the middle of that gap, 14 % of the bits. For unrelated photos (fair coins,
  Binomial(255, 1/2), mean 127.5, sigma 8) passing would take 11 sigma; the risk is lookalikes, and the
  gap measured above is the margin against them.
- A burst moves, so its hash only has to rule out "unrelated": ``HASH_BURST = 95``, 4 sigma below an
  unrelated pair's mean (1 unrelated pair in 30,000 passes by chance); the capture time and the
  embedding carry the rest. Reference bursts (3-6 px shifts) stayed within 74.
- ``MAX_CROP = 0.05`` is "a few percent": more than 5 % off a side is a new framing, a photo to keep.
  Two copies' aspect ratios then differ by at most a factor 1 / 0.95, plus one pixel of rounding.
- ``CANDIDATE_COSINE = 0.90`` only gates candidates: copies stay far above it in CLIP models (the
  bundled tiny model kept every copy of the reference set above 0.94); what is not a copy is rejected by
  the hash, so the gate is set for recall.
- ``BURST_GAP_S = 5``: burst and bracketing modes shoot several frames a second, a person re-shooting
  a scene a few seconds apart; a longer pause starts another moment.
- Videos: a re-encode or a format change keeps the duration to a frame or two (2 %, at least 0.5 s);
  trims and edits are other videos. ``VIDEO_FRAME_SHARE = 0.8`` lets a few moments differ (a fade,
  a re-encoded scene cut) while several moments must agree.
"""
from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from photosense.core.media import open_image

CANDIDATE_COSINE = 0.90
HASH_NEAR = 36
# When the capture times cannot confirm a pair (neither or only one photo has one: scans, exports,
# conversions that drop EXIF), only the hash separates a copy from a lookalike. On the Fashion-MNIST
# *training* split (10,000 photos without dates, 3.2 million candidate pairs of different items), 705
# pairs came within 36 bits, 214 within 32 and 28 within 24, while every reference copy that is not a
# crop stays within 24: so 24 here (a crop of an undated photo is then kept as a photo of its own).
HASH_NEAR_UNDATED = 24
HASH_BURST = 95
MAX_CROP = 0.05
LINKAGE = 0.5
BURST_GAP_S = 5.0
NEIGHBOURS = 16  # k of a video moment's kNN query
CELL_SIZE = 256  # photos per cell of the inverted file, on average
PROBES = 3  # cells each photo is compared with: its nearest, and the next ones for pairs across a border
VIDEO_DURATION_TOLERANCE = (0.02, 0.5)  # (share, seconds): the larger of the two
VIDEO_FRAME_SHARE = 0.8
VIDEO_MOMENT_S = 1.0  # moments of two clips are the same moment when this close in time

SIGNATURE_SIDE = 128  # the small decode that hashes and sharpness are computed on
_HASH_SIDE, _HASH_BLOCK = 64, 16
WORDS = _HASH_BLOCK * _HASH_BLOCK // 64  # uint64 words a hash
WINDOWS: tuple[tuple[float, float, float], ...] = tuple(
    (scale, ox, oy) for scale in (0.95, 0.975) for ox in (0.0, 0.5, 1.0) for oy in (0.0, 0.5, 1.0))
HASHES = 1 + len(WINDOWS)
CAPTURE_FORMATS = frozenset({".jpg", ".jpeg", ".jpe", ".heic", ".heif", ".hif", ".tif", ".tiff", ".dng",
                             ".mov", ".mp4", ".m4v", ".3gp"})
REENCODE_SHARE = 0.8  # a copy with less than this share of the best bytes per pixel is a re-encode

_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], np.uint8)


def _dct_matrix(n: int) -> np.ndarray:
    k = np.arange(n)[:, None]
    x = np.arange(n)[None, :]
    m = np.cos(np.pi * (2 * x + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    m[0] /= np.sqrt(2.0)
    return m.astype(np.float64)


_DCT = _dct_matrix(_HASH_SIDE)


def _phash(pixels: np.ndarray) -> np.ndarray:
    """255-bit DCT hash (WORDS uint64) of a 64x64 grey array."""
    coeffs = (_DCT @ pixels @ _DCT.T)[:_HASH_BLOCK, :_HASH_BLOCK].ravel()[1:]
    bits = coeffs > np.median(coeffs)
    return np.packbits(np.concatenate([[False], bits])).view(">u8").astype(np.uint64)


def signature_of_image(image: Image.Image) -> tuple[np.ndarray, float]:
    """(perceptual hashes: the frame then every window, (HASHES, WORDS) uint64; sharpness) of an upright image."""
    gray = image.convert("L")
    width, height = gray.size
    side = (_HASH_SIDE, _HASH_SIDE)
    out = [_phash(np.asarray(gray.resize(side, Image.Resampling.BOX), np.float64))]
    for scale, ox, oy in WINDOWS:
        w, h = width * scale, height * scale
        x0, y0 = (width - w) * ox, (height - h) * oy
        window = gray.resize(side, Image.Resampling.BOX, box=(x0, y0, x0 + w, y0 + h))
        out.append(_phash(np.asarray(window, np.float64)))
    return np.asarray(out, np.uint64), sharpness(gray)


def signature_of_file(path: str | os.PathLike[str]) -> tuple[np.ndarray, float]:
    """:func:`signature_of_image` of a photo file, from a small decode (raises ImageError)."""
    return signature_of_image(open_image(path, min_side=SIGNATURE_SIDE).image)


def sharpness(gray: Image.Image) -> float:
    """Variance of the Laplacian on a SIGNATURE_SIDE square reduction (higher: sharper)."""
    a = np.asarray(gray.convert("L").resize((SIGNATURE_SIDE, SIGNATURE_SIDE), Image.Resampling.BOX), np.float64)
    lap = 4 * a[1:-1, 1:-1] - a[:-2, 1:-1] - a[2:, 1:-1] - a[1:-1, :-2] - a[1:-1, 2:]
    return float(lap.var())


def hash_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Smallest Hamming distance between signatures a and b, (..., HASHES, WORDS) uint64 each: frame to
    frame, and each frame to the other's windows."""
    a = np.asarray(a, np.uint64)
    b = np.asarray(b, np.uint64)
    best = _bits(a[..., :1, :] ^ b).min(axis=-1)
    if a.shape[-2] > 1:
        best = np.minimum(best, _bits(b[..., :1, :] ^ a[..., 1:, :]).min(axis=-1))
    return best.astype(np.int64)


def _bits(x: np.ndarray) -> np.ndarray:
    """Set bits of (..., WORDS) uint64 -> (...); word by word, which NumPy does far faster than a sum
    over a short last axis (a burst's half a million pairs: 0.86 -> 0.1 s)."""
    if hasattr(np, "bitwise_count"):  # NumPy 2: a popcount instruction
        counts = np.bitwise_count(x)
        total = counts[..., 0].astype(np.uint16)
        for word in range(1, counts.shape[-1]):
            total += counts[..., word]
        return total
    return _POPCOUNT[np.ascontiguousarray(x).view(np.uint8)].reshape(*x.shape[:-1], 8 * x.shape[-1]).sum(axis=-1)


# -- candidates -----------------------------------------------------------------------------------

class Embedded:
    """Unit vectors of photos in one matrix (float16 or float32), looked up by photo id (as float32)."""

    def __init__(self, ids: np.ndarray, matrix: np.ndarray) -> None:
        self.ids, self.matrix = ids, matrix
        self._row = {i: n for n, i in enumerate(ids.tolist())}

    def __getitem__(self, photo_id: int) -> np.ndarray:
        return self.matrix[self._row[photo_id]].astype(np.float32)

    def __iter__(self) -> Iterator[int]:
        return iter(self._row)

    def __len__(self) -> int:
        return len(self._row)


def neighbour_pairs(vectors: np.ndarray, min_cosine: float = CANDIDATE_COSINE, cell_size: int = CELL_SIZE,
                    probes: int = PROBES, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows (a, b, cosine), a < b, of unit *vectors* whose cosine is at least *min_cosine*, found through an
    inverted file: rows are put in the cell of their nearest k-means centre, and each row is compared
    with the members of its *probes* nearest cells (a pair across a border is found from either side).
    float16 *vectors* stay float16 (half the memory): the rows a step needs are made float32 for it."""
    x = vectors if vectors.dtype == np.float16 else np.ascontiguousarray(vectors, np.float32)

    def f32(rows: np.ndarray) -> np.ndarray:
        return rows.astype(np.float32, copy=False)

    n = len(x)
    cells = max(1, n // cell_size)
    probes = min(probes, cells)
    rng = np.random.default_rng(seed)
    if cells == 1:
        top = np.zeros((n, 1), np.int64)
    else:
        sample = f32(x[rng.choice(n, min(n, 40 * cells), replace=False)])
        centres = sample[rng.choice(len(sample), cells, replace=False)].copy()
        for _ in range(8):  # Lloyd's iterations on a sample (spherical k-means)
            nearest = np.argmax(sample @ centres.T, axis=1)
            sums = np.zeros_like(centres)
            np.add.at(sums, nearest, sample)
            norms = np.linalg.norm(sums, axis=1, keepdims=True)
            centres = np.where(norms > 0, sums / np.maximum(norms, 1e-12), centres)
        top = np.empty((n, probes), np.int64)
        for start in range(0, n, 16384):
            sims = f32(x[start:start + 16384]) @ centres.T
            part = np.argpartition(-sims, probes - 1, axis=1)[:, :probes]
            order = np.argsort(-np.take_along_axis(sims, part, axis=1), axis=1)
            top[start:start + 16384] = np.take_along_axis(part, order, axis=1)
    members = np.argsort(top[:, 0], kind="stable")
    bounds = np.searchsorted(top[:, 0][members], np.arange(cells + 1))
    probing = np.argsort(top.ravel(), kind="stable")
    probe_bounds = np.searchsorted(top.ravel()[probing], np.arange(cells + 1))
    found_a, found_b, found_cos = [], [], []
    for c in range(cells):
        inside = members[bounds[c]:bounds[c + 1]]
        queries = probing[probe_bounds[c]:probe_bounds[c + 1]] // probes
        if not len(inside) or not len(queries):
            continue
        sims = f32(x[queries]) @ f32(x[inside]).T
        qi, mi = np.nonzero(sims >= min_cosine)
        a, b = queries[qi], inside[mi]
        keep = a != b
        found_a.append(np.minimum(a, b)[keep])
        found_b.append(np.maximum(a, b)[keep])
        found_cos.append(sims[qi, mi][keep])
    if not found_a:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float32)
    a, b, cos = np.concatenate(found_a), np.concatenate(found_b), np.concatenate(found_cos)
    key = a * n + b
    _, first = np.unique(key, return_index=True)
    return a[first], b[first], cos[first].astype(np.float32)


# -- items and pairs ------------------------------------------------------------------------------

@dataclass
class Item:
    """What grouping knows of a library item."""

    id: int
    path: str
    width: int | None
    height: int | None
    size: int
    taken: float | None = None  # capture time, epoch seconds
    camera: str | None = None
    mtime_ns: int = 0
    kind: str = "photo"
    duration: float | None = None
    signature: np.ndarray | None = None
    sharpness: float | None = None
    precise: bool = False  # the capture time has the camera's fraction of a second (EXIF SubSecTime)

    @property
    def pixels(self) -> int:
        return (self.width or 0) * (self.height or 0)

    @property
    def suffix(self) -> str:
        return os.path.splitext(self.path)[1].lower()


def aspect_compatible(a: Item, b: Item) -> bool:
    """True when one frame can be the other cropped by at most MAX_CROP on a side (or resized)."""
    if not (a.width and a.height and b.width and b.height):
        return True  # unknown: no evidence either way
    slack = -math.log(1 - MAX_CROP) + 1.0 / min(a.width, a.height, b.width, b.height)
    return abs(math.log(a.width / a.height) - math.log(b.width / b.height)) <= slack


def _resolution(a: Item, b: Item) -> float:
    """How finely two capture times can be told apart: a millisecond when both carry the camera's
    fraction of a second, else a second (burst frames a fraction apart then look simultaneous)."""
    return 0.001 if a.precise and b.precise else 1.0


def same_moment(a: Item, b: Item) -> bool:
    """Copies of one shot carry its capture time, or none (a conversion may drop it)."""
    return a.taken is None or b.taken is None or abs(a.taken - b.taken) < _resolution(a, b)


def near_pair(a: Item, b: Item, cosine: float) -> bool:
    """Two photos are copies of one shot: the embedding, the hash, the frame and the time agree. Without
    two capture times that agree, the hash alone must tell a copy from a lookalike: the stricter bar."""
    if cosine < CANDIDATE_COSINE or a.signature is None or b.signature is None:
        return False
    bar = HASH_NEAR if a.taken is not None and b.taken is not None else HASH_NEAR_UNDATED
    return (same_moment(a, b) and aspect_compatible(a, b)
            and int(hash_distance(a.signature, b.signature)) <= bar)


def near_edges(items: dict[int, Item], pairs: dict[tuple[int, int], float],
               chunk: int = 65536) -> list[tuple[int, int, int]]:
    """(a, b, hash distance) of the candidate *pairs* that :func:`near_pair` accepts, decided for all at
    once: a burst of 1,000 look-alikes is half a million pairs (5.7 s one by one, a fraction in arrays)."""
    if not pairs:
        return []
    keys = np.array(list(pairs), np.int64).reshape(-1, 2)
    ids = np.array(list(items), np.int64)
    order = np.argsort(ids)
    a = order[np.searchsorted(ids, keys[:, 0], sorter=order)]
    b = order[np.searchsorted(ids, keys[:, 1], sorter=order)]
    listed = [items[i] for i in ids.tolist()]
    signed = np.array([x.signature is not None for x in listed])
    taken = np.array([np.nan if x.taken is None else x.taken for x in listed], np.float64)
    precise = np.array([x.precise for x in listed])
    w = np.array([x.width or 0 for x in listed], np.float64)
    h = np.array([x.height or 0 for x in listed], np.float64)
    dated = ~np.isnan(taken[a]) & ~np.isnan(taken[b])
    resolution = np.where(precise[a] & precise[b], 0.001, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        same = ~dated | (np.abs(taken[a] - taken[b]) < resolution)  # same_moment
        sized = (w[a] > 0) & (h[a] > 0) & (w[b] > 0) & (h[b] > 0)
        slack = -math.log(1 - MAX_CROP) + 1.0 / np.minimum(np.minimum(w[a], h[a]), np.minimum(w[b], h[b]))
        aspect = ~sized | (np.abs(np.log(w[a] / h[a]) - np.log(w[b] / h[b])) <= slack)  # aspect_compatible
    cosine = np.fromiter(pairs.values(), np.float64, len(pairs))
    todo = np.nonzero((cosine >= CANDIDATE_COSINE) & signed[a] & signed[b] & same & aspect)[0]
    if not len(todo):
        return []
    blank = np.zeros((HASHES, WORDS), np.uint64)
    signatures = np.stack([blank if x.signature is None else np.asarray(x.signature, np.uint64) for x in listed])
    bar = np.where(dated, HASH_NEAR, HASH_NEAR_UNDATED)
    out: list[tuple[int, int, int]] = []
    for start in range(0, len(todo), chunk):
        part = todo[start:start + chunk]
        distance = hash_distance(signatures[a[part]], signatures[b[part]])
        kept = part[distance <= bar[part]]
        out += zip(keys[kept, 0].tolist(), keys[kept, 1].tolist(), distance[distance <= bar[part]].tolist())
    return out


def burst_pair(a: Item, b: Item, cosine: float) -> bool:
    """Two photos of one burst: shot apart (a fraction of a second to BURST_GAP_S), alike, same frame shape."""
    if a.taken is None or b.taken is None or not _resolution(a, b) <= abs(a.taken - b.taken) <= BURST_GAP_S:
        return False
    if cosine < CANDIDATE_COSINE or not aspect_compatible(a, b):
        return False
    return a.signature is None or b.signature is None or int(hash_distance(a.signature, b.signature)) <= HASH_BURST


def video_pair(a_times: np.ndarray, a_vectors: np.ndarray, a_duration: float | None,
               b_times: np.ndarray, b_vectors: np.ndarray, b_duration: float | None) -> bool:
    """Two clips are copies: the same duration and most moments alike at the same time (both ways)."""
    if a_duration is None or b_duration is None or not len(a_times) or not len(b_times):
        return False
    share, seconds = VIDEO_DURATION_TOLERANCE
    if abs(a_duration - b_duration) > max(seconds, share * max(a_duration, b_duration)):
        return False
    cos = np.asarray(a_vectors, np.float32) @ np.asarray(b_vectors, np.float32).T
    near_in_time = np.abs(np.asarray(a_times)[:, None] - np.asarray(b_times)[None, :]) <= VIDEO_MOMENT_S
    alike = np.where(near_in_time, cos, -1.0) >= CANDIDATE_COSINE
    return bool(alike.any(axis=1).mean() >= VIDEO_FRAME_SHARE and alike.any(axis=0).mean() >= VIDEO_FRAME_SHARE)


# -- grouping -------------------------------------------------------------------------------------

class _Sets:
    """Union-find with member lists."""

    def __init__(self, ids: Iterable[int]) -> None:
        self.parent = {i: i for i in ids}
        self.members = {i: [i] for i in self.parent}

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if len(self.members[ra]) < len(self.members[rb]):
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.members[ra] += self.members.pop(rb)

    def groups(self) -> list[list[int]]:
        return [sorted(m) for m in self.members.values() if len(m) > 1]


def average_linkage(edges: Sequence[tuple[int, int, float]], linked: Callable[[int, int], bool],
                    share: float = LINKAGE) -> list[list[int]]:
    """Clusters from confirmed pairs (a, b, strength: lower is stronger), strongest first: two clusters
    join when at least *share* of their cross pairs are *linked*."""
    sets = _Sets({i for a, b, _ in edges for i in (a, b)})
    for a, b, _ in sorted(edges, key=lambda e: (e[2], e[0], e[1])):
        ra, rb = sets.find(a), sets.find(b)
        if ra == rb:
            continue
        left, right = sets.members[ra], sets.members[rb]
        if len(left) * len(right) > 1:
            agree = sum(linked(x, y) for x in left for y in right)
            if agree < share * len(left) * len(right):
                continue
        sets.union(a, b)
    return sets.groups()


def chains(edges: Iterable[tuple[int, int]]) -> list[list[int]]:
    """Connected components of pairs (bursts chain: each shot near the next)."""
    edges = list(edges)
    sets = _Sets({i for e in edges for i in e})
    for a, b in edges:
        sets.union(a, b)
    return sets.groups()


@dataclass
class Group:
    """A duplicate group or a burst: its kind, member ids (keeper first) and the suggested keeper."""

    kind: str  # "exact" | "near" | "burst"
    ids: list[int]
    keeper: int
    chosen: bool = False  # the keeper is the user's choice
    extra: dict = field(default_factory=dict)


def keeper_key(item: Item, group: Sequence[Item]) -> tuple:
    """Why an item is the better one to keep, largest first: resolution, an original (a capture format,
    not re-encoded: its bytes per pixel near the group's best), sharpness, metadata, then the older file."""
    pixels = max(item.pixels, 1)
    bpp = item.size / pixels
    peers = [g.size / max(g.pixels, 1) for g in group if g.pixels == item.pixels and g.suffix == item.suffix]
    original = (item.suffix in CAPTURE_FORMATS, bpp >= REENCODE_SHARE * max(peers, default=bpp))
    metadata = (item.taken is not None) + (item.camera is not None)
    return (item.pixels, original, round(item.sharpness or 0.0, 1), metadata, -item.mtime_ns, -len(item.path),
            -item.id)


def choose_keeper(group: Sequence[Item], chosen: dict[int, float] | None = None) -> tuple[int, bool]:
    """(keeper id, whether the user chose it): the member the user chose last, else the best by
    :func:`keeper_key`."""
    picked = [(chosen[g.id], g.id) for g in group if chosen and g.id in chosen]
    if picked:
        return max(picked)[1], True
    return max(group, key=lambda g: keeper_key(g, group)).id, False


def make_group(kind: str, members: Sequence[Item], chosen: dict[int, float] | None = None) -> Group:
    """A group with its keeper first, then the others by keeper preference."""
    keeper, by_user = choose_keeper(members, chosen)
    rest = sorted((m for m in members if m.id != keeper), key=lambda m: keeper_key(m, members), reverse=True)
    return Group(kind, [keeper] + [m.id for m in rest], keeper, by_user)
