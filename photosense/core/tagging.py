"""Zero-shot tagging with prompt sets, refined few-shot by accepted/rejected photos; tags in the catalog."""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from photosense.core import fewshot
from photosense.core.calibration import DEFAULT_TAG_THRESHOLD, Calibrator
from photosense.core.catalog import Catalog
from photosense.core.embedder import Embedder, ensemble
from photosense.core.prompts import DEFAULT_TEMPLATES, expand
from photosense.core.promptsets import PromptSet, parse
from photosense.core.store import chunks, rows

MANUAL_SET = "manual"  # holds labels a user accepts that no prompt set defines


@dataclass(frozen=True)
class Tag:
    """A photo's tag: its set, label, calibrated score (None for a manual tag without one) and source."""

    set: str
    label: str
    score: float | None
    source: str  # "auto" | "manual"
    rejected: bool = False

    def to_json(self) -> dict:
        """The CLI's JSON form."""
        return {"set": self.set, "label": self.label,
                "score": None if self.score is None else round(float(self.score), 4), "source": self.source}


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


def label_vectors(embedder: Embedder, prompt_lists: Sequence[Sequence[str]],
                  templates: Sequence[str]) -> np.ndarray:
    """One embedding per prompt list: the normalized mean over its prompts x templates (CLIP prompt
    ensembling), all encoded in one batch."""
    templates = templates or DEFAULT_TEMPLATES
    texts = [expand(prompts, templates) for prompts in prompt_lists]
    if not texts:
        return np.empty((0, embedder.dim), np.float32)
    encoded = embedder.encode_texts([t for group in texts for t in group])
    bounds = np.cumsum([0] + [len(group) for group in texts])
    return np.stack([ensemble(encoded[a:b]) for a, b in zip(bounds[:-1], bounds[1:])])


def build(set_id: int, prompt_set: PromptSet, embedder: Embedder, calibrator: Calibrator) -> SetModel:
    """Embed a prompt set's labels, negatives and background."""
    templates = prompt_set.templates or DEFAULT_TEMPLATES
    labels = label_vectors(embedder, [lab.prompts for lab in prompt_set.labels], templates)
    negatives = label_vectors(embedder, [[n] for lab in prompt_set.labels for n in lab.negatives], templates)
    extra = label_vectors(embedder, [[b] for b in prompt_set.background], templates)
    thresholds = np.array([DEFAULT_TAG_THRESHOLD if lab.threshold is None else lab.threshold
                           for lab in prompt_set.labels], dtype=np.float32)
    return SetModel(set_id, prompt_set, labels, negatives, calibrator.background(labels, extra), thresholds)


# -- catalog access ---------------------------------------------------------------------------

def save_set(catalog: Catalog, prompt_set: PromptSet) -> int:
    """Add or replace a prompt set (by name); returns its id. Tags of removed labels go, manual ones stay."""
    with catalog.transaction() as db:
        db.execute("INSERT INTO prompt_sets(name, source, updated_at) VALUES(?, ?, ?) ON CONFLICT(name) "
                   "DO UPDATE SET source = excluded.source, updated_at = excluded.updated_at",
                   (prompt_set.name, prompt_set.source, time.time()))
        set_id = db.execute("SELECT id FROM prompt_sets WHERE name = ?", (prompt_set.name,)).fetchone()[0]
        names = [lab.name for lab in prompt_set.labels]
        db.execute(f"DELETE FROM tags WHERE set_id = ? AND source = 'auto' AND label NOT IN "
                   f"({','.join('?' * len(names))})", (set_id, *names))
    return set_id


def manual_set_id(catalog: Catalog) -> int:
    """The id of the built-in set for labels no prompt set defines."""
    with catalog.transaction() as db:
        db.execute("INSERT INTO prompt_sets(name, source, updated_at) VALUES(?, NULL, ?) "
                   "ON CONFLICT(name) DO NOTHING", (MANUAL_SET, time.time()))
        return db.execute("SELECT id FROM prompt_sets WHERE name = ?", (MANUAL_SET,)).fetchone()[0]


def stored_sets(catalog: Catalog) -> list[tuple[int, PromptSet]]:
    """Every prompt set of the library that tags automatically (the manual set has no prompts)."""
    return [(i, parse(src, f"prompt set '{name}' (stored in the library)"))
            for i, name, src in rows(catalog, "SELECT id, name, source FROM prompt_sets "
                                              "WHERE source IS NOT NULL ORDER BY name")]


def examples(catalog: Catalog, model: SetModel) -> list[tuple[int, int, bool]]:
    """(photo id, label index, accepted) of the set's manually accepted and rejected photos."""
    index = {name: k for k, name in enumerate(model.names)}
    found = rows(catalog, "SELECT photo_id, label, rejected FROM tags WHERE set_id = ? AND source = 'manual'",
                 (model.set_id,))
    return [(pid, index[label], not rejected) for pid, label, rejected in found if label in index]


def refine(catalog: Catalog, model: SetModel, calibrator: Calibrator, vectors_of, embedded=None) -> None:
    """Fit the few-shot probe from the set's accepted/rejected photos (``vectors_of(ids)`` -> (N, D));
    with *embedded* (a container of ids), photos without an embedding yet are left out."""
    labelled = examples(catalog, model)
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


def write_auto_tags(catalog: Catalog, model: SetModel, ids: np.ndarray, scores: np.ndarray) -> int:
    """Replace the set's automatic tags of photos *ids* by those scoring at least their label's
    threshold; manual accepts and rejects are never touched. Returns the number of tags written."""
    names = model.names
    hit_rows, hit_cols = np.nonzero(scores >= model.thresholds[None, :])
    now = time.time()
    items = [(int(ids[r]), model.set_id, names[c], float(scores[r, c]), now) for r, c in zip(hit_rows, hit_cols)]
    with catalog.transaction() as db:
        for part in chunks([int(i) for i in ids]):
            db.execute(f"DELETE FROM tags WHERE set_id = ? AND source = 'auto' AND photo_id IN "
                       f"({','.join('?' * len(part))})", (model.set_id, *part))
        db.executemany("INSERT INTO tags(photo_id, set_id, label, score, source, rejected, updated_at) "
                       "VALUES(?, ?, ?, ?, 'auto', 0, ?) ON CONFLICT(photo_id, set_id, label) DO NOTHING", items)
    return len(items)


def tags_of(catalog: Catalog, photo_ids: Sequence[int], include_rejected: bool = False) -> dict[int, list[Tag]]:
    """Tags per photo id, best score first (rejected ones only when asked)."""
    out: dict[int, list[Tag]] = {int(i): [] for i in photo_ids}
    for part in chunks(list(out)):
        for pid, name, label, score, source, rejected in rows(
                catalog, f"SELECT t.photo_id, s.name, t.label, t.score, t.source, t.rejected FROM tags t "
                         f"JOIN prompt_sets s ON s.id = t.set_id WHERE t.photo_id IN ({','.join('?' * len(part))})",
                part):
            if rejected and not include_rejected:
                continue
            out[pid].append(Tag(name, label, score, source, bool(rejected)))
    for tags in out.values():
        tags.sort(key=lambda t: (t.rejected, -(t.score if t.score is not None else 2.0), t.set, t.label))
    return out


def set_manual(catalog: Catalog, set_id: int, label: str, photo_ids: Sequence[int], accepted: bool,
               scores: dict[int, float] | None = None) -> None:
    """Record the user's accept (or reject) of *label* on photos; it overrides any automatic tag."""
    now = time.time()
    scores = scores or {}
    with catalog.transaction() as db:
        for pid in photo_ids:
            old = db.execute("SELECT score FROM tags WHERE photo_id = ? AND set_id = ? AND label = ?",
                             (pid, set_id, label)).fetchone()
            score = scores.get(pid, old[0] if old else None)
            db.execute("INSERT INTO tags(photo_id, set_id, label, score, source, rejected, updated_at) "
                       "VALUES(?, ?, ?, ?, 'manual', ?, ?) ON CONFLICT(photo_id, set_id, label) DO UPDATE SET "
                       "source = 'manual', rejected = excluded.rejected, score = excluded.score, "
                       "updated_at = excluded.updated_at", (pid, set_id, label, score, int(not accepted), now))
