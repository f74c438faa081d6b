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
import uuid
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


def weights_of(spec: ModelSpec, checkpoint: Path | None) -> list[Path]:
    """The files a model's weights came from (a directory model: every file in it)."""
    if spec.kind == "dir" and spec.path is not None:
        return sorted(p for p in spec.path.iterdir() if p.is_file())  # a file added later counts too
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
    return {"format": FORMAT, "spec": spec.text, "device": device, "precision": precision,
            "torch": version("torch"), "open_clip": version("open_clip_torch"), "timm": version("timm"),
            "photosense": version("photosense"), "weights": stats,
            "seed": RANDOM_WEIGHTS_SEED if spec.kind == "random" else None}


def _paths(cache_dir: Path, spec: ModelSpec, device: str, precision: str) -> tuple[Path, Path]:
    name = hashlib.sha256(f"{spec.text}|{device}|{precision}".encode()).hexdigest()[:16]
    folder = cache_dir / "image-towers"
    return folder / f"{name}.pt", folder / f"{name}.json"


def _current(spec: ModelSpec, device: str, precision: str, meta: dict) -> bool:
    """Whether *meta* was written for what *spec* is now (its weights re-read: a dir may have new files)."""
    if spec.kind in ("dir", "file"):
        weights = weights_of(spec, None)
    else:
        weights = [Path(p) for p, _, _ in meta["identity"]["weights"]]
    return meta["identity"] == _identity(spec, device, precision, weights)


def _meta(cache_dir: Path, spec: ModelSpec, device: str, precision: str) -> dict | None:
    """The cache entry's record when it is current (a trace, or the note that none can be made)."""
    _, meta_file = _paths(cache_dir, spec, device, precision)
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        return meta if _current(spec, device, precision, meta) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def known(cache_dir: Path, spec: ModelSpec, device: str, precision: str) -> bool:
    """Whether this model was already traced, or found untraceable, as it is now (no need to try again)."""
    return _meta(cache_dir, spec, device, precision) is not None


def valid(cache_dir: Path, spec: ModelSpec, device: str, precision: str) -> bool:
    """Whether a cached trace of *spec* on *device* in *precision* exists and is still valid."""
    meta = _meta(cache_dir, spec, device, precision)
    return meta is not None and not meta.get("untraceable")


def forget(cache_dir: Path, spec: ModelSpec, device: str, precision: str) -> None:
    """Remove the cache entry (it failed to load or to run): the next full load makes a new one."""
    for path in _paths(cache_dir, spec, device, precision)[::-1]:
        path.unlink(missing_ok=True)


def run(tower: Tower, x: Any) -> Any:
    """The tower on a batch, as the check before saving ran it: TorchScript's profiling executor would
    otherwise re-plan (and on a GPU fuse, which rounds differently) for each new batch size."""
    import torch

    with torch.jit.optimized_execution(False):
        return tower.module(x)


def load(cache_dir: Path, spec: ModelSpec, device: str, precision: str) -> Tower | None:
    """The cached trace of *spec*'s image tower on *device* in *precision*, if it is still valid."""
    if spec.kind not in ("dir", "file", "random", "pretrained"):
        return None
    meta = _meta(cache_dir, spec, device, precision)
    if meta is None or meta.get("untraceable"):
        return None
    trace, _ = _paths(cache_dir, spec, device, precision)
    try:
        import torch

        extra = {"identity.json": ""}
        with warnings.catch_warnings():  # TorchScript is deprecated in favour of torch.export, which
            warnings.simplefilter("ignore", DeprecationWarning)  # imports torch._dynamo: the cost avoided
            module = torch.jit.load(str(trace), map_location=device, _extra_files=extra).eval()
        if json.loads(extra["identity.json"] or "null") != meta["identity"]:  # written by another process
            raise ValueError("the trace and its record do not match")
        return Tower(module, int(meta["image_size"]), int(meta["dim"]),
                     np.asarray(meta["mean"], np.float32), np.asarray(meta["std"], np.float32))
    except Exception as err:  # noqa: BLE001 - a damaged cache only costs the model's load
        log.info("cached image tower for %s not used: %s", spec, err)
        forget(cache_dir, spec, device, precision)
        return None


def save(cache_dir: Path, spec: ModelSpec, device: str, precision: str, visual: Any, dtype: Any,
         image_size: int, dim: int, mean: np.ndarray, std: np.ndarray, weights: list[Path]) -> bool:
    """Trace *visual* and cache it (best effort: False when it cannot be traced faithfully or saved;
    a model that cannot be traced faithfully is noted, so later processes do not try again)."""
    import torch

    trace, meta_file = _paths(cache_dir, spec, device, precision)
    temporary = []
    try:
        identity = _identity(spec, device, precision, weights)  # the files as they were when the model loaded
        generator = torch.Generator().manual_seed(0)
        checks = [torch.randn(n, 3, image_size, image_size, generator=generator).to(device=device, dtype=dtype)
                  for n in (2, 3, 1, 3)]
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", torch.jit.TracerWarning)  # shape checks: the result is compared below
            traced = torch.jit.trace(visual, checks[0], check_trace=False)
            tower = Tower(traced, image_size, dim, mean, std)
            agree = all(tuple(run(tower, x).shape) == (len(x), dim) and torch.nn.functional.cosine_similarity(
                visual(x).float(), run(tower, x).float(), dim=-1).min().item() >= MATCH for x in checks[1:])
        trace.parent.mkdir(parents=True, exist_ok=True)
        meta = {"identity": identity, "image_size": image_size, "dim": dim,
                "mean": [float(v) for v in mean], "std": [float(v) for v in std]}
        if not agree:
            log.info("image tower of %s not cached: its trace differs from the model", spec)
            meta = {"identity": identity, "untraceable": True}
        else:
            tmp = trace.with_name(f"{trace.name}.{uuid.uuid4().hex}.tmp")
            temporary.append(tmp)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                traced.save(str(tmp), _extra_files={"identity.json": json.dumps(identity)})
            os.replace(tmp, trace)
        tmp = meta_file.with_name(f"{meta_file.name}.{uuid.uuid4().hex}.tmp")
        temporary.append(tmp)
        tmp.write_text(json.dumps(meta), encoding="utf-8")
        os.replace(tmp, meta_file)  # last: a trace without its record is never used
        return agree
    except Exception as err:  # noqa: BLE001 - a cache: tracing can fail for any architecture
        log.info("image tower of %s not cached: %s", spec, err)
        try:  # noted, so that later processes do not try again (until something it depends on changes)
            meta_file.write_text(json.dumps({"identity": _identity(spec, device, precision, weights),
                                             "untraceable": True}), encoding="utf-8")
        except (OSError, ValueError):
            pass
        return False
    finally:
        for tmp in temporary:
            tmp.unlink(missing_ok=True)
