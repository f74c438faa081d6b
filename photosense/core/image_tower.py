"""A model's image tower traced once (TorchScript) and cached, so indexing starts without open_clip.

Importing open_clip costs 1.5 s on 2 cores (torchvision brings ``torch._dynamo``, and timm) and 14-16 s
where ``transformers`` is installed; creating the model costs as much again. Indexing needs none of it
after the first run: only the image tower, its input steps and their numbers. The first full load of a
model traces ``model.visual`` on its device and precision, checks the trace against the model on
another batch size, and saves it with what preprocessing needs (``<cache>/image-towers``). A later
run loads it with torch alone (0.1 s) and checks first that nothing it came from changed: the weights
files (size and time), torch and open_clip, the device and precision. Only models whose image steps
are CLIP's standard ones (``preprocess.standard``) are cached; the text side always loads the model.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from photosense.core.models import RANDOM_WEIGHTS_SEED, ModelSpec

log = logging.getLogger(__name__)

FORMAT = 1  # bump when what is saved changes
MATCH = 0.99999  # the least cosine between trace and model on the check batch


@dataclass(frozen=True)
class Tower:
    """A loaded trace and what feeding it needs."""

    module: Any  # torch.jit.ScriptModule: (N, 3, S, S) normalized input -> (N, D) features
    image_size: int
    dim: int
    mean: np.ndarray
    std: np.ndarray


def _weights(spec: ModelSpec, checkpoint: Path | None) -> list[Path]:
    if spec.kind == "dir" and spec.path is not None:
        return sorted(p for p in spec.path.iterdir() if p.is_file())
    if spec.kind == "file" and spec.path is not None:
        return [spec.path]
    return [checkpoint] if checkpoint is not None else []


def _identity(spec: ModelSpec, device: str, precision: str, weights: list[Path]) -> dict:
    """Everything a trace depends on; a cached trace is used only where this is unchanged."""
    def version(package: str) -> str | None:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return None

    stats = []
    for path in weights:
        st = path.stat()
        stats.append([str(path), st.st_size, st.st_mtime_ns])
    return {"format": FORMAT, "spec": spec.text, "device": device.split(":")[0], "precision": precision,
            "torch": version("torch"), "open_clip": version("open_clip_torch"), "weights": stats,
            "seed": RANDOM_WEIGHTS_SEED if spec.kind == "random" else None}


def _paths(cache_dir: Path, spec: ModelSpec, device: str, precision: str) -> tuple[Path, Path]:
    name = hashlib.sha256(f"{spec.text}|{device.split(':')[0]}|{precision}".encode()).hexdigest()[:16]
    folder = cache_dir / "image-towers"
    return folder / f"{name}.pt", folder / f"{name}.json"


def valid(cache_dir: Path, spec: ModelSpec, device: str, precision: str) -> bool:
    """Whether a cached trace of *spec* on *device* in *precision* exists and is still valid."""
    _, meta_file = _paths(cache_dir, spec, device, precision)
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        weights = [Path(p) for p, _, _ in meta["identity"]["weights"]]
        return meta["identity"] == _identity(spec, device, precision, weights)
    except (OSError, ValueError, KeyError, TypeError):
        return False


def load(cache_dir: Path, spec: ModelSpec, device: str, precision: str) -> Tower | None:
    """The cached trace of *spec*'s image tower on *device* in *precision*, if it is still valid."""
    if spec.kind not in ("dir", "file", "random", "pretrained"):
        return None
    trace, meta_file = _paths(cache_dir, spec, device, precision)
    if not valid(cache_dir, spec, device, precision):
        return None
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        import torch

        with warnings.catch_warnings():  # TorchScript is deprecated in favour of torch.export, which
            warnings.simplefilter("ignore", DeprecationWarning)  # imports torch._dynamo: the cost avoided
            module = torch.jit.load(str(trace), map_location=device).eval()
        return Tower(module, int(meta["image_size"]), int(meta["dim"]),
                     np.asarray(meta["mean"], np.float32), np.asarray(meta["std"], np.float32))
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as err:
        if meta_file.exists():
            log.info("cached image tower for %s not used: %s", spec, err)
        return None


def save(cache_dir: Path, spec: ModelSpec, device: str, precision: str, visual: Any, dtype: Any,
         image_size: int, dim: int, mean: np.ndarray, std: np.ndarray, checkpoint: Path | None) -> bool:
    """Trace *visual* and cache it (best effort: False when it cannot be traced faithfully or saved)."""
    import torch

    trace, meta_file = _paths(cache_dir, spec, device, precision)
    try:
        generator = torch.Generator().manual_seed(0)
        example = torch.randn(2, 3, image_size, image_size, generator=generator).to(device=device, dtype=dtype)
        check = torch.randn(3, 3, image_size, image_size, generator=generator).to(device=device, dtype=dtype)
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", torch.jit.TracerWarning)  # shape checks: the result is compared below
            traced = torch.jit.trace(visual, example, check_trace=False)
            want, got = visual(check).float(), traced(check).float()
        if tuple(got.shape) != (3, dim) or \
                torch.nn.functional.cosine_similarity(want, got, dim=-1).min().item() < MATCH:
            log.info("image tower of %s not cached: its trace differs from the model", spec)
            return False
        identity = _identity(spec, device, precision, _weights(spec, checkpoint))
        trace.parent.mkdir(parents=True, exist_ok=True)
        tmp = trace.with_name(trace.name + f".{os.getpid()}.tmp")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            traced.save(str(tmp))
        os.replace(tmp, trace)
        meta = {"identity": identity, "image_size": image_size, "dim": dim,
                "mean": [float(v) for v in mean], "std": [float(v) for v in std]}
        tmp = meta_file.with_name(meta_file.name + f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(meta), encoding="utf-8")
        os.replace(tmp, meta_file)  # last: a trace without its meta is never used
        return True
    except Exception as err:  # noqa: BLE001 - a cache: tracing can fail for any architecture
        log.info("image tower of %s not cached: %s", spec, err)
        return False
