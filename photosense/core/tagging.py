"""Zero-shot tagging with prompt sets, refined few-shot by accepted and rejected photos (the tags live in the catalog)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from photosense.core import fewshot
from photosense.core.calibration import DEFAULT_TAG_THRESHOLD, Calibrator
from photosense.core.catalog import MANUAL_SET, Tag
from photosense.core.embedder import ImageTextEmbedder, ensemble
from photosense.core.prompts import DEFAULT_TEMPLATES, expand
from photosense.core.promptsets import PromptSet, parse

__all__ = ["MANUAL_SET", "Tag", "SetModel", "build", "label_vectors", "stored_sets", "refine"]


@dataclass
class SetModel:
    """A prompt set turned into vectors: label and negative embeddings, background, thresholds."""

    set_id: int
    prompt_set: PromptSet
    labels: np.ndarray  # (K, D)
    negatives: np.ndarray  # (M, D), all labels' negatives
    background: np.ndarray  # (B, D)
    thresholds: np.ndarray  # (K,)
    probe: fewshot.Probe | None = None

    @property
    def names(self) -> list[str]:
        return [lab.name for lab in self.prompt_set.labels]

    def logits(self, calibrator: Calibrator, images: np.ndarray) -> np.ndarray:
        """Zero-shot logits: labels, then negatives, then the background class."""
        cols = [images @ self.labels.T]
        if len(self.negatives):
            cols.append(images @ self.negatives.T)
        cols.append((images @ self.background.T).max(axis=1, keepdims=True))
        return np.concatenate(cols, axis=1) * calibrator.scale

    def scores(self, calibrator: Calibrator, images: np.ndarray) -> np.ndarray:
        """(N, K) calibrated label scores (zero-shot, plus the few-shot correction once there is one)."""
        logits = self.logits(calibrator, images)
        if self.probe is not None:
            logits[:, :len(self.labels)] += self.probe.logits(images)
        z = np.exp(logits - logits.max(axis=1, keepdims=True))
        return (z / z.sum(axis=1, keepdims=True))[:, :len(self.labels)]

    def tags_from(self, ids: np.ndarray, scores: np.ndarray) -> list[tuple[int, str, float]]:
        """(photo id, label, score) for every score of *scores* (rows: *ids*) at or above its label's threshold."""
        names = self.names
        rows, cols = np.nonzero(scores >= self.thresholds[None, :])
        return [(int(ids[r]), names[c], float(scores[r, c])) for r, c in zip(rows, cols)]


def judged_prompts(prompt_lists: Sequence[Sequence[str]]) -> list[str]:
    """The prompts :func:`label_vectors` asks the calibrator about: those of lists with more than one."""
    return [p for prompts in prompt_lists if len(prompts) > 1 for p in prompts]


def label_vectors(embedder: ImageTextEmbedder, prompt_lists: Sequence[Sequence[str]],
                  templates: Sequence[str], calibrator: Calibrator | None = None) -> np.ndarray:
    """One embedding per prompt list: the normalized mean over its prompts x templates (CLIP prompt
    ensembling), all encoded in one batch. With *calibrator*, a prompt the model embeds like a generic
    word (``Calibrator.generic_prompts``: too generic, or words it does not know) is left out of its list's
    mean unless every prompt of the list is: its direction is arbitrary, and averaging it in would
    pull the label away from what its other prompts name."""
    templates = templates or DEFAULT_TEMPLATES
    texts = [[expand([p], templates) for p in prompts] for prompts in prompt_lists]
    flat = [t for group in texts for prompt in group for t in prompt]
    if not flat:
        return np.empty((0, embedder.dim), np.float32)
    judged = judged_prompts(prompt_lists) if calibrator is not None else []
    generic = dict(zip(judged, calibrator.generic_prompts(judged))) if judged else {}
    encoded = embedder.encode_texts(flat)
    out, at = [], 0
    for prompts, group in zip(prompt_lists, texts):
        rows = []
        for prompt_texts in group:
            rows.append(encoded[at:at + len(prompt_texts)])
            at += len(prompt_texts)
        kept = [r for r, p in zip(rows, prompts) if not generic.get(p, False)]
        out.append(ensemble(np.concatenate(kept or rows)))
    return np.stack(out)


def build(set_id: int, prompt_set: PromptSet, embedder: ImageTextEmbedder, calibrator: Calibrator) -> SetModel:
    """Embed a prompt set's labels, negatives and background."""
    templates = prompt_set.templates or DEFAULT_TEMPLATES
    labels = label_vectors(embedder, [lab.prompts for lab in prompt_set.labels], templates, calibrator)
    negatives = label_vectors(embedder, [[n] for lab in prompt_set.labels for n in lab.negatives], templates)
    extra = label_vectors(embedder, [[b] for b in prompt_set.background], templates)
    thresholds = np.array([DEFAULT_TAG_THRESHOLD if lab.threshold is None else lab.threshold
                           for lab in prompt_set.labels], dtype=np.float32)
    names = [text for lab in prompt_set.labels for text in (lab.name, *lab.prompts)]
    return SetModel(set_id, prompt_set, labels, negatives, calibrator.background(labels, extra, texts=names),
                    thresholds)


# -- stored sets and few-shot examples ---------------------------------------------------------

def stored_sets(sources: Sequence[tuple[int, str, str]]) -> list[tuple[int, PromptSet]]:
    """(id, parsed set) of the library's stored prompt sets, from ``Catalog.prompt_set_sources()``."""
    return [(i, parse(src, f"prompt set '{name}' (stored in the library)")) for i, name, src in sources]


def refine(examples: Sequence[tuple[int, str, bool]], model: SetModel, calibrator: Calibrator, vectors_of,
           embedded=None) -> None:
    """Fit the few-shot probe from the set's accepted/rejected photos (*examples*: photo id, label,
    rejected, from ``Catalog.tag_examples``; ``vectors_of(ids)`` -> (N, D)); with *embedded* (a
    container of ids), photos without an embedding yet are left out."""
    index = {name: k for k, name in enumerate(model.names)}
    labelled = [(pid, index[label], not rejected) for pid, label, rejected in examples if label in index]
    if embedded is not None:
        labelled = [e for e in labelled if e[0] in embedded]
    # an accepted photo raises its label against all others (one softmax); a rejected one only
    # lowers its own label, since it says nothing about which other label is right
    if len(labelled) < fewshot.MIN_EXAMPLES:
        model.probe = None
        return
    ids = sorted({pid for pid, _, _ in labelled})
    row = {pid: r for r, pid in enumerate(ids)}
    images = vectors_of(ids)
    model.probe = fewshot.fit(images, model.logits(calibrator, images), len(model.labels),
                              [fewshot.Example(row[p], k, a) for p, k, a in labelled])
