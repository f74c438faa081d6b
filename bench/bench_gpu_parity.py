#!/usr/bin/env python3
"""CUDA check: embeddings on the GPU in fp16 against the CPU in fp32, for the same images.

    python bench/bench_gpu_parity.py   # needs a CUDA GPU
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from common import camera_photos, machine, save_report


def main() -> int:
    import torch

    from photosense.core import config
    from photosense.core.embedder import Embedder
    from photosense.core.media import open_image

    if not torch.cuda.is_available():
        print("no CUDA GPU here")
        return 2
    print(f"machine: {machine()}")
    files = sorted(camera_photos(32).glob("*.jpg"))[:32]
    report = {}
    # Random ViT-B-32 weights go through a file so both devices get the same ones
    # (seeding alone does not make two separately built models identical).
    import open_clip
    from safetensors.torch import save_file

    weights = Path(tempfile.mkdtemp()) / "vit-b-32-random.safetensors"
    save_file({k: v.contiguous() for k, v in open_clip.create_model("ViT-B-32").state_dict().items()}, str(weights))
    for spec in ("tiny-fashion", f"ViT-B-32:{weights}"):
        cpu = Embedder(spec, config.model_cache_dir(), device="cpu", precision="fp32")
        gpu = Embedder(spec, config.model_cache_dir())  # auto: cuda, fp16
        gpu.load()
        images = [open_image(f, min_side=cpu.image_size).image for f in files]
        batch = cpu.collate([cpu.preprocess(i) for i in images])
        a, b = cpu.encode_images(batch), gpu.encode_images(batch)
        texts = ["a photo of a dog.", "a sneaker", "sunset over the sea"]
        ta, tb = cpu.encode_texts(texts), gpu.encode_texts(texts)
        x = torch.randn(256, 3, gpu.image_size, gpu.image_size)
        gpu.encode_images(x)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(10):
            gpu.encode_images(x)
        torch.cuda.synchronize()
        rate = 2560 / (time.perf_counter() - t0)
        key = "ViT-B-32 (random weights)" if spec.endswith(".safetensors") else spec
        report[key] = {"device": gpu.device, "precision": gpu.precision,
                        "image_cos_min": float((a * b).sum(1).min()), "text_cos_min": float((ta * tb).sum(1).min()),
                        "model_only_img_s_batch256": rate}
        print(key, report[key], flush=True)
    print(f"written to {save_report('gpu_parity', report)}")
    ok = all(r["image_cos_min"] >= 0.99 and r["text_cos_min"] >= 0.99 for r in report.values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
