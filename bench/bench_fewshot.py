"""Few-shot refinement on Fashion-MNIST: top-tag accuracy zero-shot (baseline) vs. after accepting photos.

    python bench/bench_fewshot.py [--shots 10] [--seeds 3]

Builds a temporary library of the 10k test split with the bundled tiny model (a minute or two),
then for two prompt sets (the class names; the same with two classes described badly) applies the
set, accepts SHOTS photos per class, and compares the top-tag accuracy on the other photos
(untagged = wrong). It also prints the ceiling of a linear probe trained on half the library,
which bounds what any few-shot method can gain with these embeddings.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

from common import machine, save_report

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from photosense import Library  # noqa: E402
import fashion_mnist as fm  # noqa: E402
from photosense.core.promptsets import parse  # noqa: E402

SETS = {"class names": fm.class_prompt_set("names"), "weak prompts": fm.class_prompt_set("weak", weak=True)}


def zero_and_few(lib: Library, photos: list, toml: str, shots: int, seed: int) -> tuple[float, float]:
    """(zero-shot, few-shot) top-tag accuracy on the photos that were not labelled."""
    prompt_set = parse(toml, "bench set")
    lib.tags.apply(prompt_set)
    labels = np.array([p.label for p in photos])
    picks = fm.stratified_indices(labels, shots, seed=seed)
    chosen = {str(photos[i].path) for i in picks}
    zero = fm.top_tag_accuracy(lib, photos, prompt_set.name, chosen)
    for c, name in enumerate(fm.CLASS_NAMES):
        lib.tags.accept(f"{prompt_set.name}/{name}", [photos[i].path for i in picks if labels[i] == c],
                        retag=c == len(fm.CLASS_NAMES) - 1)
    few = fm.top_tag_accuracy(lib, photos, prompt_set.name, chosen)
    lib.tags.remove(prompt_set.name)
    return zero, few


def probe_ceiling(lib: Library, photos: list) -> float:
    """Accuracy of a logistic regression trained on half the library (all labels), tested on the rest."""
    import torch

    ids = [lib.photo(p.path).id for p in photos]
    x = torch.from_numpy(lib.vectors().vectors(ids))
    y = torch.tensor([p.label for p in photos])
    perm = torch.randperm(len(ids), generator=torch.Generator().manual_seed(0))
    train, test = perm[: len(ids) // 2], perm[len(ids) // 2:]
    head = torch.nn.Linear(x.shape[1], len(fm.CLASS_NAMES))
    opt = torch.optim.Adam(head.parameters(), lr=1e-2)
    for _ in range(1500):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(head(x[train] * 3), y[train]) + 1e-4 * head.weight.pow(2).sum()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return float((head(x[test] * 3).argmax(1) == y[test]).float().mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shots", type=int, default=10)
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    split = fm.load("test")
    report: dict = {"shots": args.shots, "seeds": args.seeds}
    lines = [f"machine: {machine()}",
             f"Fashion-MNIST test split ({len(split.labels)} photos), tiny-fashion model, {args.shots} accepted "
             f"photos per class, mean of {args.seeds} seeds; accuracy of the best tag on the other photos"]
    with tempfile.TemporaryDirectory() as tmp, Library.open(Path(tmp) / "lib", model="tiny-fashion") as lib:
        photos = fm.write_library(Path(tmp) / "photos", split, np.arange(len(split.labels)))
        lib.index([Path(tmp) / "photos"])
        for name, toml in SETS.items():
            rows = [zero_and_few(lib, photos, toml, args.shots, seed) for seed in range(args.seeds)]
            zero, few = np.mean(rows, axis=0)
            report[name] = {"zero_shot": round(float(zero), 4), "few_shot": round(float(few), 4)}
            lines.append(f"{name:13}  baseline zero-shot {zero:.3f}   few-shot {few:.3f}   "
                         f"({100 * (few - zero):+.1f} points)")
        ceiling = probe_ceiling(lib, photos)
    report["probe_ceiling_5000_labels"] = round(ceiling, 4)
    lines.append(f"ceiling: logistic regression on 5,000 labelled photos reaches {ceiling:.3f}")
    print("\n".join(lines))
    save_report("fewshot", report)


if __name__ == "__main__":
    main()
