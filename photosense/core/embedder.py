"""Image and text encoders: the ``ImageTextEmbedder`` protocol and the open_clip ``Embedder`` (device, precision, lazy load)."""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
from PIL import Image

from photosense.core import image_tower, preprocess, text_encoding, threads
from photosense.core.errors import ModelUnavailable, UsageError
from photosense.core.models import LoadedModel, ModelSpec, build, custom_embedder, geometry, parse_spec

log = logging.getLogger(__name__)

PRECISIONS = ("fp32", "fp16", "bf16")
_DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}
# CLIP models learn their temperature; a model without one gets the value CLIP converges to.
FALLBACK_LOGIT_SCALE = 100.0


@runtime_checkable
class ImageTextEmbedder(Protocol):
    """What indexing, search and tagging need from a model: images and texts into one unit-vector space.

    ``Embedder`` (open_clip, torch) is the real one; the tests' fake follows the same protocol without
    torch. ``preprocess`` runs on decode threads, one image at a time; ``collate`` turns a list of
    its results into the batch ``encode_images`` takes.
    """

    spec: ModelSpec

    @property
    def dim(self) -> int:
        """Embedding width."""

    @property
    def image_size(self) -> int:
        """The input side in pixels (decoders may stop at this size)."""

    @property
    def logit_scale(self) -> float:
        """The softmax temperature the model was trained with (calibration uses it)."""

    @property
    def preferred_batch_size(self) -> int:
        """Images per ``encode_images`` call that suit the device (known before the model loads; it may
        grow once the model has loaded and found a GPU)."""

    def start_loading(self) -> None:
        """Begin loading the model in the background (decoding goes on meanwhile); errors surface on use."""

    @property
    def loading(self) -> bool:
        """True while a load that :meth:`start_loading` began is still running."""

    def preprocess(self, image: Any) -> Any:
        """A PIL RGB image -> one model input."""

    def preprocess_early(self, image: Any) -> Any:
        """Like :meth:`preprocess` but never waits for a model still loading: the result may then be
        provisional, and :meth:`settle` makes it final."""

    def settle(self, item: Any) -> Any:
        """A result of :meth:`preprocess_early` (or a PIL image) -> one model input."""

    def collate(self, items: Sequence[Any]) -> Any:
        """Model inputs from :meth:`preprocess` -> one batch."""

    def encode_images(self, batch: Any) -> np.ndarray:
        """A batch from :meth:`collate` -> (N, D) float32 unit vectors."""

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        """Texts -> (N, D) float32 unit vectors."""


def create_embedder(spec: ModelSpec, cache_dir: Path, device: str | None = None,
                    precision: str | None = None) -> ImageTextEmbedder:
    """The embedder a parsed spec names: a registered custom one (``models.register_embedder``), or open_clip."""
    if spec.kind == "custom":
        return custom_embedder(spec.text)
    return Embedder(spec, cache_dir, device=device, precision=precision)


def available_device(requested: str | None = None) -> str:
    """``cuda``, then Apple ``mps``, then ``cpu``; an explicit request is checked, not trusted."""
    import torch

    if requested and requested != "auto":
        kind = requested.split(":")[0]
        if kind == "cuda" and not torch.cuda.is_available():
            raise UsageError(f"--device {requested}: no CUDA GPU is usable here (torch "
                             f"{torch.__version__}, built {'with' if torch.version.cuda else 'without'} CUDA).")
        if kind == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise UsageError(f"--device {requested}: Apple MPS is not available on this machine.")
        if kind not in ("cuda", "mps", "cpu"):
            raise UsageError(f"--device {requested}: expected auto, cpu, cuda, cuda:N or mps.")
        return requested
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def cpu_has_fast_bf16() -> bool:
    """True when the CPU computes bf16 natively (AVX512-BF16 or AMX); elsewhere bf16 is emulated and slow."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def default_precision(device: str) -> str:
    """fp16 on CUDA; bf16 on CPUs with native support (embeddings keep cosine >= 0.99 to fp32); else fp32."""
    if device.startswith("cuda"):
        return "fp16"
    if device == "cpu" and cpu_has_fast_bf16():
        return "bf16"
    return "fp32"


class Embedder:
    """Encodes images and texts into L2-normalized float32 vectors with one open_clip model (an ``ImageTextEmbedder``)."""

    def __init__(self, spec: ModelSpec | str, cache_dir: Path, device: str | None = None,
                 precision: str | None = None) -> None:
        self.spec = spec if isinstance(spec, ModelSpec) else parse_spec(spec)
        self._cache_dir = cache_dir
        self.requested_device = device
        self._requested_precision = precision
        if precision is not None and precision not in PRECISIONS:
            raise UsageError(f"Unknown precision '{precision}'; use one of {', '.join(PRECISIONS)}.")
        self._lock = threading.Lock()
        self._loaded: LoadedModel | None = None
        self._loader: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._load_error: BaseException | None = None
        self._geometry = geometry(self.spec)  # known from the config: decoding need not wait for the load
        self._encode_text: Any = None
        self._tokenize: Any = None
        self._text_lock = threading.Lock()
        self._standard: bool | None = None  # does preprocess.standard match the model's image steps?
        self._split: preprocess.SplitPreprocess | None = None
        self._tower: image_tower.Tower | None = None  # the cached image tower, until the model loads
        self._caching: threading.Thread | None = None
        self._tower_checked = False  # _cache_tower has run
        self._load_done = threading.Event()
        self.device = "cpu"
        self.precision = "fp32"
        self._dtype: Any = None

    # -- loading ----------------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        """True once the model is in memory."""
        return self._loaded is not None

    @property
    def images_ready(self) -> bool:
        """True once photos can be encoded: the model, or its cached image tower, is in memory."""
        return self._loaded is not None or self._tower is not None

    def start_loading(self) -> None:
        """Load the model on a background thread (imports, weights, device: seconds), so that files are
        decoded meanwhile; a failure is raised by the next call that needs the model."""
        with self._start_lock:  # not self._lock: the load holds that one for seconds
            if self._loaded is not None or self._tower is not None or self._loader is not None:
                return
            threads.numpy_blas_single_threaded()  # before the decode threads' hashes, not after the load
            self._load_done = threading.Event()  # set when it ends: waiting needs no started thread
            self._loader = threading.Thread(target=self._load_in_background, name="photosense-model-load")
            try:
                self._loader.start()
            except BaseException:  # no thread to be had: nothing waits for one that never ran
                self._load_done.set()
                self._loader = None
                raise

    @property
    def loading(self) -> bool:
        """True while the background load runs (encoding now would wait for it)."""
        return self._loader is not None and not self._load_done.is_set()

    def _load_in_background(self) -> None:
        try:
            if not self._load_tower():  # indexing then needs nothing else until the text side is asked for
                self.load()
        except BaseException as err:  # noqa: BLE001 - kept for the caller that needs the model
            self._load_error = err
        finally:
            self._load_done.set()

    def _load_tower(self) -> bool:
        """Take the model's cached image tower (``core.image_tower``), if there is a valid one."""
        import torch

        threads.numpy_blas_single_threaded()
        device = available_device(self.requested_device)
        precision = self._requested_precision or default_precision(device)
        try:
            tower = image_tower.load(self._cache_dir, self.spec, device, precision)
        except Exception as err:  # noqa: BLE001 - never fatal: the model itself loads
            log.info("cached image tower of %s not used: %s", self.spec, err)
            tower = None
        if tower is None:
            return False
        with self._lock:
            if self._loaded is None:
                self.device, self.precision = device, precision
                self._dtype = getattr(torch, _DTYPES[precision])
                self._tower = tower
                log.info("model %s: its cached image tower on %s (%s)", self.spec, device, precision)
        return True

    def _await_loader(self) -> None:
        """Wait for a background load to end; raise its error here."""
        loader = self._loader
        if loader is not None and loader is not threading.current_thread():
            self._load_done.wait()
            with self._start_lock:
                error, self._load_error, self._loader = self._load_error, None, None
            if error is not None:
                raise error

    def _image_tower(self) -> image_tower.Tower | None:
        """The cached image tower while the model itself is not loaded (after any background load)."""
        if self._loaded is not None:
            return None
        self._await_loader()
        return self._tower if self._loaded is None else None

    def load(self) -> LoadedModel:
        """Load the model once (thread-safe); later calls return the same model."""
        if self._loaded is not None:
            return self._loaded
        self._await_loader()
        if self._loaded is not None:
            return self._loaded
        with self._lock:
            if self._loaded is None:
                import torch

                threads.numpy_blas_single_threaded()  # its spinning pool would slow torch's on few cores
                device = available_device(self.requested_device)
                precision = self._requested_precision or default_precision(device)
                loaded = build(self.spec, self._cache_dir)
                dtype = getattr(torch, _DTYPES[precision])
                try:
                    loaded.model.to(device=device, dtype=dtype)
                except Exception as err:  # e.g. CUDA out of memory
                    raise ModelUnavailable(f"Could not run the model '{self.spec}' on {device} ({precision}): "
                                           f"{err}. Try --device cpu.") from err
                self.device, self.precision, self._dtype = device, precision, dtype
                self._split = preprocess.split(loaded.preprocess)
                log.info("model %s on %s (%s), %d-d embeddings", self.spec, device, precision, loaded.dim)
                if self._geometry is not None and self._geometry != (loaded.image_size, loaded.dim):
                    log.warning("model %s: its config said %s, the model has %s", self.spec, self._geometry,
                                (loaded.image_size, loaded.dim))
                self._loaded = loaded
                self._tower = None  # the model serves images now: no second copy of its weights
        return self._loaded

    def _cache_tower(self) -> None:
        """Trace and cache the image tower for the next process, on a thread of its own: once, in a process
        that encodes photos with the model (one that only encodes text never needs it)."""
        loaded = self._loaded
        with self._start_lock:
            if self._tower_checked:
                return
            self._tower_checked = True
        try:
            if loaded is None or self._caching is not None or self._split is None \
                    or not self._standard_holds():  # a process using the tower resizes with preprocess.standard
                return
            if image_tower.known(self._cache_dir, self.spec, self.device, self.precision):
                return
            with self._start_lock:
                if self._caching is not None:
                    return
                weights = image_tower.weights_of(self.spec, loaded.checkpoint)
                self._caching = threading.Thread(  # not a daemon: the process's end waits for the write
                    target=image_tower.save, name="photosense-tower-cache", daemon=False,
                    args=(self._cache_dir, self.spec, self.device, self.precision, loaded.model.visual,
                          self._dtype, loaded.image_size, loaded.dim, self._split.mean, self._split.std, weights))
                self._caching.start()
        except Exception as err:  # noqa: BLE001 - a cache never fails the load
            log.info("image tower of %s not cached: %s", self.spec, err)

    @property
    def dim(self) -> int:
        """Embedding width (from the model's config when it says, without loading the model)."""
        if self._loaded is None and self._tower is not None:
            return self._tower.dim
        if self._loaded is not None or self._geometry is None:
            return self.load().dim
        return self._geometry[1]

    @property
    def image_size(self) -> int:
        """The model's input side in pixels (from its config when it says, without loading the model)."""
        if self._loaded is None and self._tower is not None:
            return self._tower.image_size
        if self._loaded is not None or self._geometry is None:
            return self.load().image_size
        return self._geometry[0]

    @property
    def logit_scale(self) -> float:
        """The model's learned softmax temperature (exp of ``logit_scale``, capped at 100 as in CLIP)."""
        raw = getattr(self.load().model, "logit_scale", None)
        if raw is None:
            return FALLBACK_LOGIT_SCALE
        return float(min(float(np.exp(float(raw.detach().float().cpu().reshape(-1)[0]))), 100.0))

    @property
    def preferred_batch_size(self) -> int:
        """Larger on GPUs, where a batch is nearly free. Decided without loading the model or importing
        torch (seconds, better spent decoding while the model loads in the background): until the model
        has loaded, only an explicit ``cuda`` device counts as a GPU."""
        ready = self._loaded is not None or self._tower is not None
        device = self.device if ready else (self.requested_device or "cpu")
        return 128 if device.startswith("cuda") else 32

    # -- encoding ---------------------------------------------------------------------------

    def preprocess(self, image) -> Any:
        """PIL RGB image -> the model's input as its config prescribes: (H, W, 3) uint8 after the resize
        and crop (the standard pipeline; normalized per batch by :meth:`encode_images`), else the
        transform's own (C, H, W) float tensor."""
        tower = self._image_tower()
        if tower is not None:  # cached only for models whose steps are the standard ones
            return preprocess.standard(tower.image_size)(image)
        loaded = self.load()
        return self._split(image) if self._split is not None else loaded.preprocess(image)

    def preprocess_early(self, image) -> Any:
        """:meth:`preprocess`, except while the model loads: then the PIL image is kept, with CLIP's
        standard steps applied to it at the size the config gives (``preprocess.standard``), so decode
        threads never wait for the load and little is left to do once it ends."""
        if not self.loading:
            return self.preprocess(image)
        size = self._geometry[0] if self._geometry is not None else None
        return _Provisional(image, preprocess.standard(size)(image) if size else None, size)

    def settle(self, item) -> Any:
        """A :meth:`preprocess_early` result or a PIL image -> the model input :meth:`preprocess` gives."""
        if isinstance(item, _Provisional):
            if item.standard is not None and self._standard_holds() and item.size == self.image_size:
                return item.standard
            return self.preprocess(item.image)
        return self.preprocess(item) if isinstance(item, Image.Image) else item

    def _standard_holds(self) -> bool:
        """Whether the model's own image steps are exactly ``preprocess.standard`` (checked once)."""
        if self._image_tower() is not None:
            return True  # a tower is cached only for such models
        self.load()
        if self._standard is None:
            ok = self._split is not None
            if ok:
                rng = np.random.default_rng(0)
                standard = preprocess.standard(self.image_size)
                for w, h in ((500, 375), (375, 500), (301, 299), (self.image_size, self.image_size + 1)):
                    probe = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
                    ok = ok and np.array_equal(standard(probe), self._split(probe))
            if not ok:
                log.info("model %s: its image steps are not CLIP's standard ones; photos decoded while it "
                         "loaded are resized again", self.spec)
            self._standard = ok
        return self._standard

    def collate(self, items: Sequence[Any]) -> Any:
        """Results of :meth:`preprocess` -> one batch (pinned for a fast copy to a GPU)."""
        import torch

        batch = (torch.from_numpy(preprocess.stack(items)) if isinstance(items[0], np.ndarray)
                 else torch.stack(list(items)))
        return batch.pin_memory() if self.device.startswith("cuda") else batch

    def encode_images(self, batch) -> np.ndarray:
        """A (N, C, H, W) tensor from :meth:`preprocess` -> (N, D) unit vectors."""
        import torch

        tower = self._image_tower()
        if tower is not None:
            with torch.inference_mode():
                x = preprocess.normalized(batch, tower.mean, tower.std, self.device, self._dtype)
                try:
                    return self._normalized(image_tower.run(tower, x))
                except Exception as err:  # noqa: BLE001 - a cache must never stop indexing: the model instead
                    log.warning("the cached image tower of %s failed (%s); loading the model", self.spec, err)
                    image_tower.forget(self._cache_dir, self.spec, self.device, self.precision)
                    self._tower = None
        encode = self.load().model.encode_image
        self._cache_tower()
        with torch.inference_mode():
            if batch.dtype == torch.uint8:  # (N, H, W, 3) from the split preprocessing
                x = preprocess.normalized(batch, self._split.mean, self._split.std, self.device, self._dtype)
            else:
                x = batch.to(self.device, dtype=self._dtype, non_blocking=True)
            return self._normalized(encode(x))

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        """Texts -> (N, D) unit vectors."""
        import torch

        tokenize, encode = self._text_side()
        with torch.inference_mode():
            return self._normalized(encode(tokenize(list(texts)).to(self.device)))

    def _text_side(self) -> tuple[Any, Any]:
        """The tokenizer and the fastest exact text encoder, chosen on first use (their checks run the
        text tower, and indexing needs neither: ~0.5 s less before the first batch)."""
        loaded = self.load()
        with self._text_lock:
            if self._encode_text is None:
                loaded.tokenizer  # noqa: B018 - made here: its own errors (a tokenizer not found) are its own
                try:
                    self._tokenize = text_encoding.verified_tokenizer(loaded)
                    self._encode_text = text_encoding.verified(loaded) or loaded.model.encode_text
                except Exception as err:  # e.g. CUDA out of memory
                    raise ModelUnavailable(f"Could not run the text side of the model '{self.spec}' on "
                                           f"{self.device} ({self.precision}): {err}. Try --device cpu.") from err
            return self._tokenize, self._encode_text

    @staticmethod
    def _normalized(features) -> np.ndarray:
        import torch

        features = features.float()
        features = features / features.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        return features.cpu().numpy().astype(np.float32, copy=False)


@dataclass(frozen=True)
class _Provisional:
    """A photo decoded while the model loaded: its reduced image, and CLIP's standard steps applied to it."""

    image: Any
    standard: np.ndarray | None
    size: int | None = None  # the side the config gave (the loaded model's is checked before use)


def ensemble(vectors: np.ndarray) -> np.ndarray:
    """Mean of unit vectors, re-normalized: one embedding for a prompt ensemble (CLIP paper)."""
    mean = vectors.mean(axis=0)
    return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)


def encode_ensembles(embedder: ImageTextEmbedder, groups: dict) -> dict:
    """key -> the ensembled vector of its prompts, every prompt of every group encoded in one batch
    (prompts that share a prefix then share its cost: ``core.text_encoding``)."""
    groups = {key: prompts for key, prompts in groups.items() if prompts}
    if not groups:
        return {}
    encoded = embedder.encode_texts([q for prompts in groups.values() for q in prompts])
    out, at = {}, 0
    for key, prompts in groups.items():
        out[key] = ensemble(encoded[at:at + len(prompts)])
        at += len(prompts)
    return out
