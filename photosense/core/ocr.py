"""Read the words in photos: a cheap text-detector gate, then PP-OCR detection and recognition (ONNX)."""
from __future__ import annotations

import math
import os
import queue
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from photosense.core.errors import ImageError, OcrUnavailable, UsageError
from photosense.core.media import open_image

__all__ = ["GATE_SIDE", "OCR_MAX_SIDE", "OcrUnavailable", "TextLine", "TextReader", "TextResult",
           "create_reader", "engine_status"]

# Long side of the image the full detector and the recognizer see. A 12 MP JPEG decodes straight to
# 2000x1500 (DCT scale 1/2), a 1920x1080 screenshot is read at full size, and RapidOCR's own bound is 2000.
OCR_MAX_SIDE = 2000
# Long side of the gate's downscale: the detector runs on this first, and only where it finds text do the
# full-size detector and the recognizer run (chosen on the tuning split: docs/text-search.md).
GATE_SIDE = 640
TEXT_SCORE = 0.5  # recognizer confidence below which a line is dropped (RapidOCR's default)
# Where the gate found text, the full-size detector looks only there: each gate box grown by its own
# height (at least REGION_MARGIN_MIN gate pixels) on every side, overlapping regions merged; when they
# cover more than REGION_SHARE_MAX of the picture (a screenshot, a document) it looks everywhere.
REGION_MARGIN_MIN = 16
REGION_SHARE_MAX = 0.5
# On a CPU a reader holds up to PARALLEL_MAX sets of models, each using cores / sets threads, and reads
# that many photos at once: the networks parallelize poorly on these small images, and a photo decodes
# while another is in the detector. On 2 cores, reading 40 camera JPEGs without text took 74.6 ms a
# photo with two single-threaded sets against 104.3 ms with one two-threaded set.
PARALLEL_MAX = 4

# The PP-OCRv4 recognizer (trained mostly on Chinese) often drops the space between Latin words:
# "breakfastMARKET", "30592Woman", "WINDOWHead". Put it back where the case says a new word starts:
# lower->Upper, and before a Capitalized word that follows a digit or an upper-case run.
_LOST_SPACE = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[0-9A-Z])(?=[A-Z][a-z]{2})")
# It also runs words, codes and numbers together ("B5C-12295008665182417V5U-62"). The recognizer emits
# each character at a column of its 48 px high line (CTC, 8 px a column), so the gap between two
# characters is about the mean of their widths, plus the space where one was. A gap becomes a space
# when it is at least WORD_GAP_MIN columns and, measured in those widths (_advance: a generic
# sans-serif's, in em), WORD_GAP_RATIO times the line's median. Chosen on dev seeds 7, 11 and 99 of
# the end-to-end word search (tools/eval_text_search.py; distinctive word found first) and the OCR
# tuning split (tools/eval_ocr.py; word recall): without it 84.4 / 89.2 / 84.4 % and 0.888; with it
# 92.2 / 92.6 / 93.9 % and 0.915. A fixed 6 columns split big sign lettering ("DOCTO R", recall on
# signs 1.00 -> 0.60); a multiple of the raw median still split a wide last letter ("syste m").
WORD_GAP_MIN = 5
WORD_GAP_RATIO = 1.5

_PACKAGE = "rapidocr_onnxruntime"
_INSTALL = ("install it with `bash tools/install.sh` (or `pip install 'rapidocr_onnxruntime>=1.4.4,<2'` "
            "into PhotoSense's environment; it carries the PP-OCR models, nothing is downloaded)")


@dataclass(frozen=True)
class TextLine:
    """One line of text found in a photo."""

    text: str
    box: tuple[tuple[float, float], ...]  # 4 corners, pixels of the upright full-size image
    confidence: float  # 0..1


@dataclass(frozen=True)
class TextResult:
    """What a photo says: its lines in reading order, or nothing (and whether the gate skipped it)."""

    lines: tuple[TextLine, ...]
    gated: bool  # True: the cheap gate saw no text, recognition did not run

    @property
    def text(self) -> str:
        """The lines in reading order joined by newlines ("" when none)."""
        return "\n".join(line.text for line in self.lines)


def _import_engine() -> Any:
    """The rapidocr_onnxruntime module, or OcrUnavailable saying exactly what is missing."""
    try:
        import rapidocr_onnxruntime
    except ImportError as err:
        if (getattr(err, "name", None) or "").split(".")[0] == _PACKAGE:
            detail = f"the {_PACKAGE} package is not installed"
        else:  # e.g. OpenCV's libGL.so.1 or onnxruntime missing
            detail = f"a library it needs failed to load ({err})"
        raise OcrUnavailable(f"Text recognition (OCR) is not available: {detail}; {_INSTALL}. "
                             "Until then photos are found by their look, names and tags only.") from None
    except OSError as err:  # a shared library of OpenCV or onnxruntime is missing
        raise OcrUnavailable(f"Text recognition (OCR) is not available: a system library failed to load "
                             f"({err}); {_INSTALL}.") from None
    return rapidocr_onnxruntime


def _engine_name(module: Any) -> str:
    try:
        version = metadata.version(_PACKAGE)
    except metadata.PackageNotFoundError:  # pragma: no cover - imported from a source tree
        version = "unknown"
    return f"rapidocr-onnxruntime {version} PP-OCRv4"


def _model_paths(module: Any) -> dict[str, Path]:
    root = Path(module.__file__).resolve().parent
    paths = {"Det": root / "models" / "ch_PP-OCRv4_det_infer.onnx",
             "Cls": root / "models" / "ch_ppocr_mobile_v2.0_cls_infer.onnx",
             "Rec": root / "models" / "ch_PP-OCRv4_rec_infer.onnx"}
    missing = [p.name for p in paths.values() if not p.is_file()]
    if missing:
        raise OcrUnavailable(f"Text recognition (OCR) is not available: the {_PACKAGE} package has no "
                             f"{', '.join(missing)} (a damaged install); reinstall it: {_INSTALL}.")
    return paths


def engine_status() -> tuple[bool, str]:
    """(True, engine name) when OCR can run here, else (False, the reason and what to install)."""
    try:
        module = _import_engine()
        _model_paths(module)
    except OcrUnavailable as err:
        return False, str(err)
    return True, _engine_name(module)


def _cuda_available() -> bool:
    import onnxruntime

    return "CUDAExecutionProvider" in onnxruntime.get_available_providers()


def create_reader(device: str | None = None, threads: int | None = None,
                  gate_side: int = GATE_SIDE, parallel: int | None = None) -> TextReader:
    """A ready TextReader. Raises OcrUnavailable.

    *device*: None (CUDA when onnxruntime-gpu sees a GPU, else CPU), "cpu", "cuda" (or "cuda:N": the
    provider's first GPU is used) or "mps" (no ONNX GPU there: CPU). *threads*: CPU threads per model
    call; *parallel*: sets of models, i.e. photos read at once (default: on a CPU, up to PARALLEL_MAX
    sets sharing the cores; on a GPU one set using every core). *gate_side*: the gate's downscale
    (tools/eval_ocr.py compares sizes)."""
    module = _import_engine()
    paths = _model_paths(module)
    if device is not None and device not in ("cpu", "mps") and not device.startswith("cuda"):
        raise UsageError(f"unknown OCR device {device!r}: use 'cpu' or 'cuda'")
    wants_cuda = device is not None and device.startswith("cuda")
    if wants_cuda and not _cuda_available():
        raise OcrUnavailable("OCR on the GPU needs onnxruntime's CUDA provider: install `onnxruntime-gpu` "
                             "in place of `onnxruntime` (with CUDA and cuDNN), or use the CPU")
    use_cuda = wants_cuda or (device is None and _cuda_available())
    cores = os.cpu_count() or 1
    if parallel is None:
        parallel = 1 if use_cuda or threads else min(PARALLEL_MAX, cores)
    threads = threads or max(1, cores // max(1, parallel))
    return TextReader(module, paths, use_cuda, threads, _engine_name(module), gate_side, parallel)


class _Models:
    """One set of PP-OCR networks (ONNX sessions); used by one call at a time."""

    def __init__(self, config: dict) -> None:
        from rapidocr_onnxruntime.ch_ppocr_cls import TextClassifier
        from rapidocr_onnxruntime.ch_ppocr_det import TextDetector
        from rapidocr_onnxruntime.ch_ppocr_rec import TextRecognizer

        # one detector session serves the gate (on its downscale) and the full-size pass
        self.detector = TextDetector(config["Det"])
        self.classifier = TextClassifier(config["Cls"])  # turns upside-down lines the right way up
        self.recognizer = TextRecognizer(config["Rec"])


class TextReader:
    """Reads the text of photos. Thread-safe: one reader may be shared by *parallel* threads, each call
    taking one of its *parallel* sets of models (each using *threads* cores); more calls wait for a set.

    ``read_path`` decodes the file small for the gate and decodes it again at OCR size only when the gate
    fires, so a photo without text costs a reduced decode plus one small detector pass."""

    engine: str
    device: str
    parallel: int  # calls that run at once: read this many photos in parallel to use every set

    def __init__(self, module: Any, paths: dict[str, Path], use_cuda: bool, threads: int | None,
                 engine: str, gate_side: int = GATE_SIDE, parallel: int = 1) -> None:
        from rapidocr_onnxruntime.ch_ppocr_det.utils import DetPreProcess
        from rapidocr_onnxruntime.main import DEFAULT_CFG_PATH, RapidOCR
        from rapidocr_onnxruntime.utils import read_yaml

        config = read_yaml(str(DEFAULT_CFG_PATH))
        n = threads or os.cpu_count() or 1
        for part in ("Det", "Cls", "Rec"):
            config[part].update(model_path=str(paths[part]), use_cuda=use_cuda,
                                intra_op_num_threads=n, inter_op_num_threads=1)
        self.parallel = max(1, parallel)
        self._free: queue.SimpleQueue[_Models] = queue.SimpleQueue()
        first = _Models(config)
        for models in [first] + [_Models(config) for _ in range(self.parallel - 1)]:
            self._free.put(models)
        self._enlarge_to = int(config["Det"]["limit_side_len"])  # small images: short side up to 736 px
        self._preprocess = DetPreProcess
        self._sorted_boxes = RapidOCR.sorted_boxes
        self._crop = RapidOCR.get_crop_img_list
        providers = first.detector.infer.session.get_providers()
        self.device = "cuda" if "CUDAExecutionProvider" in providers else "cpu"
        self.engine = engine
        self.gate_side = gate_side

    @contextmanager
    def _models(self) -> Iterator[_Models]:
        models = self._free.get()
        try:
            yield models
        finally:
            self._free.put(models)

    # -- public ---------------------------------------------------------------------------------
    def read_path(self, path: str | os.PathLike[str], *, gate: bool = True) -> TextResult:
        """Decode *path* (EXIF-upright, bombs refused), gate it, and read it. Raises ImageError.
        *gate*=False decodes once at OCR size and reads every photo (the gate's baseline)."""
        if not gate:
            decoded = open_image(path, min_side=OCR_MAX_SIDE * 3 // 4)
            return self._read(_fit(decoded.image, OCR_MAX_SIDE), (decoded.width, decoded.height), gated=False)
        small = open_image(path, min_side=math.ceil(self.gate_side * 3 / 4))
        full_size = (small.width, small.height)
        gate_image = _fit(small.image, self.gate_side)
        found = self._gate_boxes(gate_image)
        if len(found) == 0:
            return TextResult((), gated=True)
        if small.image.size == full_size and max(full_size) <= OCR_MAX_SIDE:
            image = small.image  # already the whole picture
        else:
            short, long = sorted(full_size)
            image = open_image(path, min_side=math.ceil(short * min(1.0, OCR_MAX_SIDE / long))).image
        image = _fit(image, OCR_MAX_SIDE)
        return self._read(image, full_size, gated=False, regions=_regions(found, gate_image.size, image.size))

    def read_image(self, image: Image.Image, *, gate: bool = True) -> TextResult:
        """Read an upright image already in memory; boxes are in its pixels. *gate*=False reads it
        whether or not the gate would have fired (the baseline the gate is measured against)."""
        if image.mode != "RGB":
            image = image.convert("RGB")
        if min(image.size) < 1:
            raise ImageError("empty image (0 pixels)")
        full_size = image.size
        ocr_image = _fit(image, OCR_MAX_SIDE)
        if not gate:
            return self._read(ocr_image, full_size, gated=False)
        gate_image = _fit(image, self.gate_side)
        found = self._gate_boxes(gate_image)
        if len(found) == 0:
            return TextResult((), gated=True)
        return self._read(ocr_image, full_size, gated=False,
                          regions=_regions(found, gate_image.size, ocr_image.size))

    def gate_fires(self, image: Image.Image) -> bool:
        """Whether the gate sees text in *image* (upright, any size): the gate alone, for measuring it."""
        return len(self._gate_boxes(_fit(image.convert("RGB"), self.gate_side))) > 0

    # -- internals ------------------------------------------------------------------------------
    def _gate_boxes(self, image: Image.Image) -> np.ndarray:
        bgr = _bgr(image)
        with self._models() as models:
            return self._detect(models.detector, bgr, "max", self.gate_side)

    def _detect(self, det: Any, bgr: np.ndarray, limit_type: str, side: int) -> np.ndarray:
        """Text boxes in *bgr*'s pixels; the network sees it resized by RapidOCR's rule (*limit_type*
        "max": long side at most *side*; "min": short side at least *side*), to a multiple of 32."""
        tensor = self._preprocess(side, limit_type, det.mean, det.std)(bgr)
        if tensor is None:
            return np.zeros((0, 4, 2), np.float32)
        boxes, _ = det.postprocess_op(det.infer(tensor)[0], bgr.shape[:2])
        return det.filter_tag_det_res(boxes, bgr.shape[:2]) if len(boxes) else np.zeros((0, 4, 2), np.float32)

    def _read(self, image: Image.Image, full_size: tuple[int, int], gated: bool,
              regions: list[tuple[int, int, int, int]] | None = None) -> TextResult:
        """Detect (everywhere, or only in *regions* of *image*), classify and recognize."""
        bgr = _bgr(image)
        short, long = sorted(image.size)
        with self._models() as models:
            det = models.detector
            if short < self._enlarge_to and long * self._enlarge_to / short <= 2 * OCR_MAX_SIDE:
                boxes = self._detect(det, bgr, "min", self._enlarge_to)  # small image: enlarged, as RapidOCR does
            elif regions is not None:  # only where the gate saw text, at the same scale as the whole
                found = []
                for x0, y0, x1, y1 in regions:
                    part = self._detect(det, np.ascontiguousarray(bgr[y0:y1, x0:x1]), "max", OCR_MAX_SIDE)
                    found.append(part + np.array([x0, y0], np.float32) if len(part) else part)
                boxes = np.concatenate(found) if found else np.zeros((0, 4, 2), np.float32)
            else:  # big enough, or a strip so thin that enlarging it would explode: as it is
                boxes = self._detect(det, bgr, "max", OCR_MAX_SIDE)
            if len(boxes) == 0:
                return TextResult((), gated=gated)
            boxes = self._sorted_boxes(boxes)
            crops = self._crop(None, bgr, boxes)
            crops, _, _ = models.classifier(crops)
            recognized, _ = models.recognizer(crops, return_word_box=True)
        sx, sy = full_size[0] / image.width, full_size[1] / image.height
        lines = []
        for box, rec in zip(boxes, recognized):
            text, score = _LOST_SPACE.sub(" ", _respaced(str(rec[0]), rec[2]).strip()), float(rec[1])
            if not text or score < TEXT_SCORE:
                continue
            corners = tuple((round(float(x) * sx, 1), round(float(y) * sy, 1)) for x, y in box)
            lines.append(TextLine(text, corners, min(1.0, max(0.0, score))))
        return TextResult(tuple(lines), gated=gated)


def _respaced(text: str, word_box: list) -> str:
    """*text* with a space put back between characters that lie a word gap apart (WORD_GAP_MIN,
    WORD_GAP_RATIO) in the recognizer's output (*word_box*: RapidOCR's ``return_word_box`` record,
    whose third item holds every character's column, grouped in words)."""
    columns = [c for word in word_box[2] for c in word] if len(word_box) > 2 else []
    if len(columns) != len(text) or len(text) < 3:  # not one column per character: leave it as read
        return text
    pairs = [(gap, gap / ((_advance(a) + _advance(b)) / 2), b, a.isspace() or b.isspace())
             for gap, a, b in zip(np.diff(columns).tolist(), text, text[1:])]
    inside = [relative for _, relative, _, spaced in pairs if not spaced]
    if not inside:
        return text
    cut = WORD_GAP_RATIO * float(np.median(inside))
    out = text[:1]
    for gap, relative, after, spaced in pairs:
        if not spaced and gap >= WORD_GAP_MIN and relative >= cut:
            out += " "
        out += after
    return out


def _advance(ch: str) -> float:
    """A character's rough width in em (a generic sans-serif): enough to tell a wide gap from a wide letter."""
    if ch in "ijlI!|.,:;'`":
        return 0.28
    if ch in "ftr()[]-/":
        return 0.4
    if ch in "mwMW":
        return 0.85
    return 0.7 if ch.isupper() else 0.58


def _regions(boxes: np.ndarray, gate_size: tuple[int, int],
             size: tuple[int, int]) -> list[tuple[int, int, int, int]] | None:
    """Rectangles of an image of *size* around the gate's *boxes* (found at *gate_size*), grown and
    merged; None when they cover so much of it that detecting everywhere costs about the same."""
    sx, sy = size[0] / gate_size[0], size[1] / gate_size[1]
    rects = []
    for box in boxes:
        (x0, y0), (x1, y1) = box.min(axis=0), box.max(axis=0)
        m = max(REGION_MARGIN_MIN, float(y1 - y0))
        rects.append([max(0, int((x0 - m) * sx)), max(0, int((y0 - m) * sy)),
                      min(size[0], math.ceil((x1 + m) * sx)), min(size[1], math.ceil((y1 + m) * sy))])
    merged = True
    while merged:  # merge overlapping rectangles until none overlap (a few dozen at most)
        merged = False
        for i in range(len(rects)):
            for j in range(len(rects) - 1, i, -1):
                a, b = rects[i], rects[j]
                if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                    rects[i] = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
                    del rects[j]
                    merged = True
    area = sum((r[2] - r[0]) * (r[3] - r[1]) for r in rects)
    if area > REGION_SHARE_MAX * size[0] * size[1]:
        return None
    return [(r[0], r[1], r[2], r[3]) for r in rects]


def _fit(image: Image.Image, side: int) -> Image.Image:
    """*image* scaled down so its long side is at most *side* (never enlarged)."""
    long = max(image.size)
    if long <= side:
        return image
    scale = side / long
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)


def _bgr(image: Image.Image) -> np.ndarray:
    """PIL RGB to the contiguous BGR uint8 array the PaddleOCR models were trained on."""
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8)[:, :, ::-1])
