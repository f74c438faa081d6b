#!/usr/bin/env python3
"""Zero-shot top-1 accuracy of a model on the Fashion-MNIST test split (10k), through the engine.

    .venv/bin/python tools/eval_tiny_clip.py [--model tiny-fashion]

Images go through the engine's own preprocessing (taken from the model's config) and each class is
one prompt-ensembled text embedding (photosense.core.prompts.DEFAULT_TEMPLATES), as in the CLIP paper.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from photosense.core import config  # noqa: E402
import fashion_mnist as fm  # noqa: E402
from photosense.core.embedder import Embedder, ensemble  # noqa: E402
from photosense.core.prompts import DEFAULT_TEMPLATES, expand  # noqa: E402


def zero_shot(model: str, device: str | None = None) -> tuple[float, float, np.ndarray]:
    """(ensemble accuracy, single-prompt accuracy, confusion matrix) on the test split."""
    from PIL import Image

    test = fm.load("test")
    emb = Embedder(model, config.model_cache_dir(), device=device)
    classes = np.stack([ensemble(emb.encode_texts(expand([name], DEFAULT_TEMPLATES)))
                        for name in fm.CLASS_NAMES])
    single = emb.encode_texts([f"a photo of a {name}." for name in fm.CLASS_NAMES])
    feats = []
    for start in range(0, len(test.images), 500):
        batch = emb.collate([emb.preprocess(Image.fromarray(a, "L").convert("RGB"))
                             for a in test.images[start:start + 500]])
        feats.append(emb.encode_images(batch))
    feats = np.concatenate(feats)
    predicted = (feats @ classes.T).argmax(1)
    confusion = np.zeros((10, 10), dtype=int)
    np.add.at(confusion, (test.labels, predicted), 1)
    return float((predicted == test.labels).mean()), float(((feats @ single.T).argmax(1) == test.labels).mean()), \
        confusion


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="tiny-fashion")
    ap.add_argument("--device")
    args = ap.parse_args()
    t0 = time.time()
    acc, single, confusion = zero_shot(args.model, args.device)
    print("per-class accuracy: " + ", ".join(
        f"{name} {confusion[i, i] / confusion[i].sum():.0%}" for i, name in enumerate(fm.CLASS_NAMES)))
    print(f"single prompt ('a photo of a {{}}.'): {single:.2%}")
    print(f"zero-shot top-1 accuracy on the Fashion-MNIST test split (10,000 images, "
          f"{len(DEFAULT_TEMPLATES)}-template prompt ensemble): {acc:.2%}  [{time.time() - t0:.0f}s]")
    return 0 if acc >= 0.80 else 1


if __name__ == "__main__":
    sys.exit(main())
