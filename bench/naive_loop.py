"""The baseline: open_clip's README loop (open, preprocess, encode one image at a time)."""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from photosense.core.torch_compat import ensure_torchvision_importable  # noqa: E402

ensure_torchvision_importable()

import open_clip  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

arch, folder = sys.argv[1], Path(sys.argv[2])
device = sys.argv[3] if len(sys.argv) > 3 else "cpu"
model, _, preprocess = open_clip.create_model_and_transforms(arch, pretrained=None)
model.eval().to(device)
files = sorted(folder.glob("*.jpg"))
t0 = time.perf_counter()
for path in files:
    image = preprocess(Image.open(path)).unsqueeze(0).to(device)
    with torch.no_grad(), torch.autocast("cuda", enabled=device.startswith("cuda")):
        features = model.encode_image(image)
        features /= features.norm(dim=-1, keepdim=True)
print(f"{len(files)} images, loop {time.perf_counter() - t0:.2f}s", file=sys.stderr)
