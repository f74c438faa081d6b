#!/usr/bin/env python3
"""Train the bundled ``tiny-fashion`` (or ``tiny-fashion-wide``) CLIP on the Fashion-MNIST train split.

    .venv/bin/python tools/train_tiny_clip.py [--epochs 4] [--out resources/models/tiny-fashion]
    .venv/bin/python tools/train_tiny_clip.py --arch wide --vocab wide --seed 2027 --epochs 12 \
        --negatives 128 --out resources/models/tiny-fashion-wide

A standard open_clip ``CLIP`` (ViT image tower, transformer text tower) trained from scratch
with the symmetric contrastive loss of the CLIP paper on captions made from several templates
and synonyms of each class (with --negatives, also captions that match no image). Fixed seed,
CPU only (tiny-fashion: about 6 minutes an epoch on 2 cores; the wide one about 35 s). Only
the train split is used; the zero-shot figure printed at the end is on the 10k test split.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from photosense.core.torch_compat import ensure_torchvision_importable  # noqa: E402

ensure_torchvision_importable()

import open_clip  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

import caption_vocab as vocab  # noqa: E402
import fashion_mnist as fm  # noqa: E402
from photosense.core import prompts  # noqa: E402

IMAGE_SIZE = 32
MODEL_CFG = {
    "embed_dim": 128,
    "vision_cfg": {"image_size": IMAGE_SIZE, "layers": 4, "width": 128, "head_width": 32,
                   "patch_size": 4, "mlp_ratio": 2.0},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 64, "heads": 4,
                 "layers": 3, "mlp_ratio": 2.0},
}
# tiny-fashion-wide: 8-pixel patches (16 tokens instead of 64) and a narrower, shallower image
# tower: about 6x less compute a step, so that training stays within minutes on 2 shared cores.
WIDE_MODEL_CFG = {
    "embed_dim": 128,
    "vision_cfg": {"image_size": IMAGE_SIZE, "layers": 3, "width": 96, "head_width": 32,
                   "patch_size": 8, "mlp_ratio": 2.0},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 64, "heads": 4,
                 "layers": 3, "mlp_ratio": 2.0},
}
ARCHS = {"tiny": MODEL_CFG, "wide": WIDE_MODEL_CFG}
# With the wide vocabulary, this share of the darkest and lightest thirds of the images get a
# caption with a shade word ("a dark coat"); the rest get a plain one.
SHADE_SHARE = 0.35
VAL_SEED = 99  # which train images --val holds out
NEGATIVE_POOL = 40000  # distinct negative captions tokenized once; each batch draws --negatives of them

# Training captions: more phrasings than the engine's default ensemble, so that the text tower
# learns that the wording around a noun does not change what it names.
TRAIN_TEMPLATES = (
    "{}", "a {}", "a {}.", "the {}", "a photo of a {}.", "a photo of the {}.", "a picture of a {}.",
    "a close-up photo of a {}.", "a good photo of a {}.", "an image of a {}.",
    "a black and white photo of a {}.", "a low resolution photo of a {}.",
    "a product photo of a {}.", "a grayscale picture of the {}.", "a small photo of a {}.",
    "a photo of my {}.", "a {} on a plain background.",
)


def caption(template: str, label: str) -> str:
    """Fill a training template, fixing the article ("a ankle boot" -> "an ankle boot")."""
    return re.sub(r"\b([Aa]) (?=[aeiouAEIOU])", lambda m: m.group(1) + "n ", template.format(label))


def zero_shot_accuracy(model, tokenizer, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Top-1 accuracy with one prompt-ensembled classifier row per class (engine's templates)."""
    model.eval()
    with torch.inference_mode():
        rows = []
        for name in fm.CLASS_NAMES:
            t = model.encode_text(tokenizer(prompts.expand([name])))
            t = F.normalize(t, dim=-1).mean(0)
            rows.append(F.normalize(t, dim=0))
        classifier = torch.stack(rows)
        correct = 0
        for i in range(0, len(images), 1000):
            v = F.normalize(model.encode_image(images[i:i + 1000]), dim=-1)
            correct += (v @ classifier.T).argmax(1).eq(labels[i:i + 1000]).sum().item()
    model.train()
    return correct / len(images)


def to_model_input(images_u8: np.ndarray, mean: float, std: float) -> torch.Tensor:
    """(N,28,28) uint8 -> (N,3,S,S) normalized floats, resized the way open_clip preprocesses."""
    x = torch.from_numpy(np.array(images_u8)).float().div_(255).unsqueeze(1)
    x = F.interpolate(x, size=(IMAGE_SIZE, IMAGE_SIZE), mode="bicubic", antialias=True,
                      align_corners=False).clamp_(0, 1)
    return ((x - mean) / std).expand(-1, 3, -1, -1).contiguous()


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random shift by up to 2 px, horizontal flip, and contrast jitter."""
    n = x.shape[0]
    padded = F.pad(x, (2, 2, 2, 2), mode="replicate")
    dx, dy = torch.randint(0, 5, (2,), generator=gen).tolist()
    x = padded[:, :, dy:dy + IMAGE_SIZE, dx:dx + IMAGE_SIZE]
    flip = torch.rand(n, generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    scale = 1 + 0.2 * (torch.rand(n, 1, 1, 1, generator=gen) - 0.5)
    return x * scale


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=ROOT / "resources" / "models" / "tiny-fashion")
    ap.add_argument("--arch", choices=sorted(ARCHS), default="tiny", help="model size (default: tiny-fashion's)")
    ap.add_argument("--vocab", choices=("classes", "wide"), default="classes",
                    help="captions: class names and a few synonyms (tiny-fashion), or tools/caption_vocab.py")
    ap.add_argument("--negatives", type=int, default=0, metavar="K",
                    help="add K captions that match no image to every batch (tools/caption_vocab.py "
                         "negative_captions): texts every image must rank below its own caption")
    ap.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (timing runs)")
    ap.add_argument("--val", type=int, default=0, metavar="N",
                    help="hold out N train images (stratified, fixed seed) and print the zero-shot accuracy on "
                         "them after every epoch (choose the training length on these, never on the test split)")
    args = ap.parse_args()
    model_cfg = ARCHS[args.arch]

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(args.seed)

    train, test = fm.load("train"), fm.load("test")
    val = None
    if args.val and args.val < len(fm.CLASS_NAMES):
        raise SystemExit(f"--val holds out the same number of images of each class: at least {len(fm.CLASS_NAMES)}")
    if args.val:
        picked = fm.stratified_indices(train.labels, args.val // len(fm.CLASS_NAMES), VAL_SEED)
        rest = np.setdiff1d(np.arange(len(train.labels)), picked)
        val = fm.Split(train.images[picked], train.labels[picked])
        train = fm.Split(train.images[rest], train.labels[rest])
    mean = float(train.images.mean() / 255)
    std = float(train.images.std() / 255)
    x_train = to_model_input(train.images, mean, std)
    y_train = torch.from_numpy(train.labels)
    x_test = to_model_input(test.images, mean, std)
    y_test = torch.from_numpy(test.labels)
    if val is not None:
        x_val, y_val = to_model_input(val.images, mean, std), torch.from_numpy(val.labels)

    model = open_clip.model.CLIP(**model_cfg)
    tokenizer = open_clip.get_tokenizer("ViT-B-32", context_length=model_cfg["text_cfg"]["context_length"])
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{args.out.name}: {n_params / 1e6:.2f} M parameters, mean={mean:.4f} std={std:.4f}")

    # Every caption is tokenized once; a batch draws one per image. caption_tokens[shade][class]:
    # shade 0 = plain captions, 1 = dark, 2 = light (the wide vocabulary only).
    if args.vocab == "wide":
        captions = [[vocab.plain_captions(c) for c in range(len(fm.CLASS_NAMES))]]
        captions += [[vocab.shade_captions(c, s) for c in range(len(fm.CLASS_NAMES))] for s in ("dark", "light")]
        shade = torch.from_numpy(vocab.shades(train.images))
    else:
        captions = [[[caption(t, s) for s in fm.SYNONYMS[c] for t in TRAIN_TEMPLATES]
                     for c in range(len(fm.CLASS_NAMES))]]
        shade = torch.zeros(len(y_train), dtype=torch.int64)
    negatives = vocab.negative_captions(NEGATIVE_POOL, args.seed) if args.negatives else []
    too_long = [c for c in [*(c for group in captions for cls in group for c in cls), *negatives]
                if len(tokenizer.encode(c)) + 2 > model_cfg["text_cfg"]["context_length"]]
    if too_long:
        raise SystemExit(f"captions longer than the context: {too_long[:5]}")
    caption_tokens = [[tokenizer(c) for c in group] for group in captions]
    negative_tokens = tokenizer(negatives) if negatives else None
    # negatives are drawn from their own generator: the batches and augmentations stay those of the
    # same seed without them
    negative_gen = torch.Generator().manual_seed(args.seed + 1)
    print(f"{sum(len(c) for group in captions for c in group)} distinct captions", flush=True)

    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embedding" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "embedding" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.98))
    steps_per_epoch = len(x_train) // args.batch
    total = steps_per_epoch * args.epochs
    warmup = min(200, total // 10)

    def lr_at(step: int) -> float:
        if step < warmup:
            return args.lr * (step + 1) / warmup
        return 0.5 * args.lr * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))

    model.train()
    step, t0 = 0, time.time()
    for epoch in range(args.epochs):
        order = torch.randperm(len(x_train), generator=gen)
        for b in range(steps_per_epoch):
            idx = order[b * args.batch:(b + 1) * args.batch]
            images = augment(x_train[idx], gen)
            pick = torch.randint(0, 1 << 30, (len(idx),), generator=gen)
            if len(caption_tokens) > 1:
                shaded = torch.where(torch.rand(len(idx), generator=gen) < SHADE_SHARE, shade[idx], 0)
            else:
                shaded = torch.zeros(len(idx), dtype=torch.int64)  # draws nothing: tiny-fashion as it was
            texts = torch.stack([caption_tokens[s][c][p % len(caption_tokens[s][c])]
                                 for s, c, p in zip(shaded.tolist(), y_train[idx].tolist(), pick.tolist())])
            for group in opt.param_groups:
                group["lr"] = lr_at(step)
            if negative_tokens is not None:  # texts no image may pick, after the batch's own captions
                drawn = torch.randint(0, len(negative_tokens), (args.negatives,), generator=negative_gen)
                texts = torch.cat([texts, negative_tokens[drawn]])
            image_f, all_text_f, logit_scale = model(images, texts)
            text_f = all_text_f[:len(idx)]
            # the CLIP paper's symmetric loss: image -> text over every text, text -> image for the captions
            target = torch.arange(len(idx))
            loss = (F.cross_entropy(logit_scale * image_f @ all_text_f.T, target)
                    + F.cross_entropy(logit_scale * text_f @ image_f.T, target)) / 2
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                model.logit_scale.clamp_(0, math.log(100))  # the paper's clip at 100
            step += 1
            if step == args.max_steps:
                print(f"stopped after {step} steps: {time.time() - t0:.1f}s", flush=True)
                return 0
            if step % 50 == 0 or step == 5:
                print(f"epoch {epoch + 1} step {step}/{total} loss {loss.item():.3f} "
                      f"T={1 / logit_scale.item():.4f} {time.time() - t0:.0f}s", flush=True)
        if val is not None:
            print(f"epoch {epoch + 1}: zero-shot top-1 on the {len(y_val)} held-out train images "
                  f"{zero_shot_accuracy(model, tokenizer, x_val, y_val):.2%}", flush=True)
    acc = zero_shot_accuracy(model, tokenizer, x_test, y_test)

    args.out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(args.out / "open_clip_model.safetensors"),
              metadata={"format": "pt", "trained_on": "fashion-mnist train split", "seed": str(args.seed)})
    config = {
        "model_cfg": model_cfg,
        "preprocess_cfg": {"size": IMAGE_SIZE, "mean": [round(mean, 4)] * 3, "std": [round(std, 4)] * 3,
                           "interpolation": "bicubic", "resize_mode": "shortest"},
    }
    (args.out / "open_clip_config.json").write_text(json.dumps(config, indent=2) + "\n")
    print(f"saved {args.out} ({n_params / 1e6:.2f} M parameters, {time.time() - t0:.0f}s)")
    print(f"zero-shot top-1 accuracy on the Fashion-MNIST test split (prompt ensemble): {acc:.2%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
