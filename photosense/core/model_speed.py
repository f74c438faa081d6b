"""How fast a model embeds images on this machine: measured once per model and device, then remembered."""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from photosense.core import config
from photosense.core.models import ModelSpec, parse_spec

log = logging.getLogger(__name__)

BATCH = 8  # images per timed call: enough to reach the steady speed of a small model on a CPU
MIN_SECONDS = 0.5  # timed calls repeat for at least this long (fast models would be timed by noise)
CACHE_NAME = "model-speed.json"


def cache_path() -> Path:
    return config.cache_dir() / CACHE_NAME


def remembered(device: str) -> dict[str, float]:
    """Speeds measured before on this machine (images per second, by model name) for *device*."""
    try:
        data = json.loads(cache_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {name: float(v) for name, v in data.get(device, {}).items() if isinstance(v, (int, float))}


def measure(name: str, device: str = "cpu") -> float:
    """Images per second for the model *name* (a bundled name or ARCH:TAG) on *device*, timed on random
    inputs with the architecture's own layers (weights do not change the speed, so nothing downloads)."""
    import torch

    from photosense.core.embedder import default_precision
    from photosense.core.models import _open_clip, build, geometry

    spec = parse_spec(name, verify=False)
    if spec.kind == "dir":
        model = build(spec, config.model_cache_dir()).model
    else:
        model = _open_clip().create_model(spec.arch)
    dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[default_precision(device)]
    model.to(device=device, dtype=dtype).eval()
    side = (geometry(ModelSpec(spec.text, spec.kind, spec.arch, spec.tag, spec.path)) or (224, 0))[0]
    batch = torch.rand(BATCH, 3, side, side, device=device, dtype=dtype)
    with torch.inference_mode():
        model.encode_image(batch)  # warm-up at the timed shape: kernels chosen, memory allocated
        runs, start = 0, time.perf_counter()
        while runs < 1 or (time.perf_counter() - start < MIN_SECONDS and runs < 50):
            model.encode_image(batch)
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            runs += 1
        speed = runs * BATCH / max(time.perf_counter() - start, 1e-9)
    _remember(device, name, speed)
    return speed


def _remember(device: str, name: str, speed: float) -> None:
    path = cache_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    data.setdefault(device, {})[name] = round(speed, 2)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        tmp.replace(path)
    except OSError as err:  # a read-only cache costs a re-measure next time, nothing else
        log.debug("could not remember model speeds: %s", err)
