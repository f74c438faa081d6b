"""Shared benchmark helpers: synthetic camera photos, synthetic libraries, timing and reporting."""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))  # fashion_mnist: test and tool data, not shipped


def machine() -> str:
    """One line naming the machine the figures came from."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import torch

    gpu = f", GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ""
    return (f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM{gpu}; Python {platform.python_version()}, "
            f"torch {torch.__version__}")


def _camera_photo(args: tuple[Path, int, int, int]) -> None:
    path, seed, width, height = args
    from PIL import Image

    rng = np.random.default_rng(seed)
    # low-frequency structure (sky, walls, faces at a distance) plus sensor-like fine noise:
    # decodes like a real 12 MP camera JPEG (about 2-4 MB at quality 90)
    base = Image.fromarray(rng.integers(0, 255, (height // 50, width // 50, 3), dtype=np.uint8))
    smooth = np.asarray(base.resize((width, height), Image.Resampling.BICUBIC), dtype=np.int16)
    noise = rng.integers(-12, 13, (height, width, 3), dtype=np.int16)
    Image.fromarray(np.clip(smooth + noise, 0, 255).astype(np.uint8)).save(path, "JPEG", quality=90)


def camera_photos(count: int, width: int = 4000, height: int = 3000) -> Path:
    """A folder of *count* distinct camera-sized JPEGs (made once, kept in bench/out)."""
    folder = OUT / f"camera-{width}x{height}"
    folder.mkdir(parents=True, exist_ok=True)
    todo = [(folder / f"IMG_{i:04d}.jpg", i, width, height) for i in range(count)
            if not (folder / f"IMG_{i:04d}.jpg").exists()]
    if todo:
        print(f"writing {len(todo)} synthetic {width}x{height} JPEGs to {folder} (once)…", flush=True)
        with ProcessPoolExecutor(os.cpu_count()) as pool:
            list(pool.map(_camera_photo, todo, chunksize=4))
    return folder


def clustered_vectors(n: int, dim: int = 512, clusters: int = 1000, seed: int = 0,
                      spread: float = 0.6) -> np.ndarray:
    """Unit vectors around random centres (photo embeddings cluster; uniform noise would flatter recall)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        x = centres[rng.integers(0, clusters, m)] + spread * rng.standard_normal((m, dim), dtype=np.float32) \
            / np.sqrt(dim)
        out[start:start + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def run(cmd: list[str], env: dict | None = None) -> tuple[float, subprocess.CompletedProcess]:
    """Wall time of a whole process."""
    t0 = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    elapsed = time.perf_counter() - t0
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{result.stderr[-3000:]}")
    return elapsed, result


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def save_report(name: str, data: dict) -> Path:
    """Write bench/out/NAME.json (the README's figures are copied from these)."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **data}, indent=2) + "\n")
    return path
