"""Model input in two halves: PIL resizing on the decode threads (uint8 out, no torch), then one batched
convert-and-normalize where the model runs, instead of per-image tensor ops in every decode thread."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

_TO_TENSOR = {"ToTensor", "MaybeToTensor"}


@dataclass(frozen=True)
class SplitPreprocess:
    """The image steps of a torchvision ``Compose`` (resize, crop, mode) and its final ``Normalize``."""

    image_steps: tuple[Callable[[Any], Any], ...]
    mean: np.ndarray  # (3,) float32
    std: np.ndarray

    def __call__(self, image: Image.Image) -> np.ndarray:
        """A PIL image -> (H, W, 3) uint8, exactly what ``ToTensor`` would have read."""
        for step in self.image_steps:
            image = step(image)
        if image.mode != "RGB":
            image = image.convert("RGB")
        return np.asarray(image, dtype=np.uint8)


def split(transform: Any) -> SplitPreprocess | None:
    """Split open_clip's preprocessing when it is image steps + ToTensor + Normalize (every standard
    model); None for anything else (its per-image transform is then used as it is)."""
    steps = list(getattr(transform, "transforms", ()))
    names = [type(s).__name__ for s in steps]
    if len(steps) < 2 or names[-1] != "Normalize" or names[-2] not in _TO_TENSOR:
        return None
    if any(n in _TO_TENSOR or n == "Normalize" or n == "Lambda" for n in names[:-2]):
        return None  # tensor ops before ToTensor would see a PIL image here
    norm = steps[-1]
    mean, std = np.asarray(norm.mean, np.float32).reshape(-1), np.asarray(norm.std, np.float32).reshape(-1)
    if mean.size not in (1, 3) or std.size not in (1, 3):
        return None
    return SplitPreprocess(tuple(steps[:-2]), np.resize(mean, 3), np.resize(std, 3))


def standard(size: int) -> Callable[[Image.Image], np.ndarray]:
    """CLIP's standard image steps in PIL alone (shortest side to *size*, bicubic; centre crop; RGB), as
    torchvision's ``Resize``/``CenterCrop`` compute them: decoding can resize while the model (and the
    torch import its own transform needs) still loads. The embedder checks it against the model's own."""
    def run(image: Image.Image) -> np.ndarray:
        w, h = image.size
        if (w, h) != (size, size) and min(w, h) != size:
            new_w, new_h = (size, int(size * h / w)) if w <= h else (int(size * w / h), size)
            image = image.resize((new_w, new_h), Image.Resampling.BICUBIC)
            w, h = new_w, new_h
        if (w, h) != (size, size):
            left, top = int(round((w - size) / 2.0)), int(round((h - size) / 2.0))
            image = image.crop((left, top, left + size, top + size))
        if image.mode != "RGB":
            image = image.convert("RGB")
        return np.asarray(image, dtype=np.uint8)

    return run


def stack(items: Sequence[np.ndarray]) -> np.ndarray:
    """(N, H, W, 3) uint8 from :meth:`SplitPreprocess.__call__` results."""
    return np.stack(list(items))


def normalized(batch: Any, mean: np.ndarray, std: np.ndarray, device: str, dtype: Any) -> Any:
    """(N, H, W, 3) uint8 tensor -> (N, 3, H, W) model input on *device*: ToTensor's /255 and Normalize,
    done once per batch (on the GPU when the model is there), in float32, then cast to *dtype*."""
    import torch

    x = batch.to(device, non_blocking=True).permute(0, 3, 1, 2).to(torch.float32)
    m = torch.as_tensor(mean * 255.0, device=device).view(1, 3, 1, 1)
    s = torch.as_tensor(std * 255.0, device=device).view(1, 3, 1, 1)
    return ((x - m) / s).to(dtype).contiguous()
