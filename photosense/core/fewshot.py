"""Few-shot refinement (the CLIP paper's linear probe): a logistic-regression correction to zero-shot logits."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# A set is refined once its labels hold this many accepted or rejected photos in all.
MIN_EXAMPLES = 4
# L2 pull of the probe's weights towards zero, i.e. towards the zero-shot classifier it corrects:
# with few examples the prior dominates, with many the data does (a MAP estimate, not a switch).
PRIOR_STRENGTH = 0.3
STEPS = 150


@dataclass(frozen=True)
class Example:
    """One labelled photo: its row in the training matrix, the label index, accepted (True) or rejected."""

    row: int
    label: int
    accepted: bool


@dataclass(frozen=True)
class Probe:
    """A learned correction ``x @ weights.T + bias`` added to the zero-shot logits of a set's labels."""

    weights: np.ndarray  # (K, D)
    bias: np.ndarray  # (K,)

    def logits(self, images: np.ndarray) -> np.ndarray:
        """(N, K) corrections for unit image vectors."""
        return images @ self.weights.T + self.bias


def fit(images: np.ndarray, prior_logits: np.ndarray, n_labels: int, examples: list[Example],
        prior_strength: float = PRIOR_STRENGTH, steps: int = STEPS) -> Probe | None:
    """Fit a probe on labelled photos: *images* (N, D) and their zero-shot logits *prior_logits*
    (N, K + extra: the set's K labels first, then competitors and background); None when too few.

    Accepted photos maximize log p(label), rejected ones log(1 - p(label)), where p is the softmax
    of ``prior_logits`` plus the correction on the first K columns.
    """
    if len(examples) < MIN_EXAMPLES:
        return None
    import torch

    k = n_labels
    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
    prior = torch.from_numpy(np.ascontiguousarray(prior_logits, dtype=np.float32))
    rows = torch.tensor([e.row for e in examples])
    labels = torch.tensor([e.label for e in examples])
    accepted = torch.tensor([e.accepted for e in examples])
    w = torch.zeros((k, x.shape[1]), requires_grad=True)
    b = torch.zeros(k, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=0.5, max_iter=steps, line_search_fn="strong_wolfe")
    n_labels = prior.shape[1]

    def loss_fn():
        opt.zero_grad()
        correction = x[rows] @ w.T + b
        pad = torch.zeros((len(rows), n_labels - k))
        logp = torch.log_softmax(prior[rows] + torch.cat([correction, pad], dim=1), dim=1)
        chosen = logp[torch.arange(len(rows)), labels]
        # log(1 - p) computed stably from log p
        rejected = torch.log1p(-chosen.exp().clamp(max=1 - 1e-6))
        data = -torch.where(accepted, chosen, rejected).mean()
        loss = data + prior_strength * (w.pow(2).sum() + b.pow(2).sum()) / len(rows)
        loss.backward()
        return loss

    opt.step(loss_fn)
    return Probe(w.detach().numpy().astype(np.float32), b.detach().numpy().astype(np.float32))
