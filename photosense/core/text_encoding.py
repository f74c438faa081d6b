"""Exact shortcuts for open_clip's CLIP text tower: stop at the longest prompt, encode shared prefixes once."""
from __future__ import annotations

import logging
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

# A batch of prompts runs through the tower as one packed sequence: a prefix tree of the prompts'
# tokens, each distinct prefix once ("a photo of red thing." and "a photo of red object." share
# "<start> a photo of red"), every token attending to its ancestors in the tree (its own prompt's
# earlier tokens: the tower is causal, so this is exact) and nothing else. No padding is computed and
# no shared prefix twice: a query's 72 null phrases (core/calibration.py) cost about a third of their
# padded batch. Attention over a packed pass is quadratic in its length, so a big batch is cut into
# passes of at most MAX_PACKED tokens (whole prompts, sorted so that neighbours share prefixes).
MAX_PACKED = 384
# A pass is padded to a multiple of PACK_STEP tokens (pads attend only to themselves): the CPU's
# matrix kernels are compiled per shape, and a new length costs ~12 ms more than a known one, more
# than the padding (a query's null phrases are 230-260 tokens: a handful of lengths recur).
PACK_STEP = 32

def trimmed_encoder(model: Any) -> Any:
    """A text encoder that stops at the longest prompt instead of the full context (77 tokens).

    CLIP's text tower is causal and pools at the end-of-text token, so the padding after it cannot
    change the result; skipping it makes a short query ~5x cheaper, which is most of a search's
    latency on a CPU. Only for the standard open_clip ``CLIP`` class (None otherwise).
    """
    if not _fits(model):
        return None
    from open_clip.transformer import text_global_pool

    def encode(tokens):
        n = int(tokens.argmax(dim=-1).max()) + 1  # the end-of-text token has the highest id
        tokens = tokens[:, :n]
        cast = model.transformer.get_cast_dtype()
        x = model.token_embedding(tokens).to(cast) + model.positional_embedding[:n].to(cast)
        x = model.transformer(x, attn_mask=model.attn_mask[:n, :n])
        x = text_global_pool(model.ln_final(x), tokens, model.text_pool_type)
        return _project(model, x)

    return encode


def shared_prefix_encoder(model: Any) -> Any:
    """The trimmed encoder for one prompt; batches packed into prefix trees (see MAX_PACKED). None if
    the model is not open_clip's CLIP; the trimmed encoder alone if its blocks are not open_clip's plain
    self-attention blocks."""
    trimmed = trimmed_encoder(model)
    blocks = list(getattr(model.transformer, "resblocks", [])) if trimmed is not None else []
    if not blocks or not all(_plain_block(b) for b in blocks):
        return trimmed

    def encode(tokens):
        if len(tokens) < 2 or tokens.device.type != "cpu":  # a GPU runs a padded batch at once
            return trimmed(tokens)
        import torch

        ends = (tokens.argmax(dim=-1) + 1).tolist()
        rows = [r[:n] for r, n in zip(tokens.tolist(), ends)]
        out = [None] * len(rows)
        for tree, members in packed_trees(rows):
            for row, vector in zip(members, _encode_tree(model, blocks, tree, tokens.device)):
                out[row] = vector
        return torch.stack(out)

    return encode


class PrefixTree:
    """Token sequences as a tree of their distinct prefixes: node i is a token at a depth (its position)
    under a parent node (-1 at the root); parents come before their children."""

    def __init__(self) -> None:
        self.tokens: list[int] = []
        self.depths: list[int] = []
        self.parents: list[int] = []
        self.ends: list[int] = []  # each added sequence's last node
        self._children: dict[tuple[int, int], int] = {}

    def __len__(self) -> int:
        return len(self.tokens)

    def cost(self, sequence: list[int]) -> int:
        """How many nodes adding *sequence* would create."""
        node = -1
        for depth, token in enumerate(sequence):
            node = self._children.get((node, token), -2)
            if node == -2:
                return len(sequence) - depth
        return 0

    def add(self, sequence: list[int]) -> None:
        node = -1
        for depth, token in enumerate(sequence):
            child = self._children.get((node, token))
            if child is None:
                child = len(self.tokens)
                self._children[(node, token)] = child
                self.tokens.append(token)
                self.depths.append(depth)
                self.parents.append(node)
            node = child
        self.ends.append(node)

    def ancestry(self) -> np.ndarray:
        """(nodes, nodes) bool: True where the column is the row's ancestor or the row itself."""
        n = len(self.tokens)
        mask = np.zeros((n, n), bool)
        for i, parent in enumerate(self.parents):
            if parent >= 0:
                mask[i, :parent + 1] = mask[parent, :parent + 1]
            mask[i, i] = True
        return mask


def packed_trees(rows: list[list[int]], limit: int | None = None) -> list[tuple[PrefixTree, list[int]]]:
    """(tree, the row numbers it holds, in the order of its ``ends``) covering every row once; each
    tree has at most *limit* (MAX_PACKED) nodes unless one row alone is longer."""
    limit = MAX_PACKED if limit is None else limit
    trees: list[tuple[PrefixTree, list[int]]] = []
    for i in sorted(range(len(rows)), key=lambda i: rows[i]):
        if not trees or (len(trees[-1][0]) + trees[-1][0].cost(rows[i]) > limit and trees[-1][1]):
            trees.append((PrefixTree(), []))
        tree, members = trees[-1]
        tree.add(rows[i])
        members.append(i)
    return trees


def _encode_tree(model: Any, blocks: list, tree: PrefixTree, device: Any) -> Any:
    """The projected features at each of *tree*'s sequence ends, in order."""
    import torch
    import torch.nn.functional as F

    cast = model.transformer.get_cast_dtype()
    pad = -len(tree) % PACK_STEP
    tokens = torch.as_tensor(tree.tokens + [0] * pad, device=device)[None]
    depths = torch.as_tensor(tree.depths + [0] * pad, device=device)
    ancestry = tree.ancestry()
    if pad:
        ancestry = np.pad(ancestry, (0, pad))
        ancestry[len(tree):, len(tree):] = np.eye(pad, dtype=bool)
    mask = torch.as_tensor(ancestry, device=device)[None, None]
    x = model.token_embedding(tokens).to(cast) + model.positional_embedding.to(cast)[depths][None]
    for block in blocks:
        qkv = F.linear(block.ln_1(x), block.attn.in_proj_weight, block.attn.in_proj_bias)
        q, k, v = _heads(qkv, block.attn.num_heads)
        attended = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        x = x + block.ls_1(block.attn.out_proj(_merge(attended)[None]))
        x = x + block.ls_2(block.mlp(block.ln_2(x)))
    return _project(model, model.ln_final(x[0, torch.as_tensor(tree.ends, device=device)]))


def _heads(qkv: Any, heads: int) -> tuple[Any, Any, Any]:
    batch, length, width = qkv.shape
    q, k, v = qkv.view(batch, length, 3, heads, width // 3 // heads).permute(2, 0, 3, 1, 4).unbind(0)
    return q, k, v


def _merge(attended: Any) -> Any:
    """(batch, heads, length, size) -> (batch * length, heads * size)."""
    batch, heads, length, size = attended.shape
    return attended.transpose(1, 2).reshape(batch * length, heads * size)


def _fits(model: Any) -> bool:
    from open_clip.model import CLIP

    return type(model) is CLIP and model.text_pool_type == "argmax" and model.attn_mask is not None


def _plain_block(block: Any) -> bool:
    """open_clip's ResidualAttentionBlock with one packed self-attention projection (no cross-attention)."""
    attn = getattr(block, "attn", None)
    return (attn is not None and getattr(attn, "in_proj_weight", None) is not None
            and getattr(attn, "_qkv_same_embed_dim", False) and not hasattr(block, "ln_1_kv")
            and all(hasattr(block, name) for name in ("ln_1", "ln_2", "mlp", "ls_1", "ls_2")))


def _project(model: Any, x: Any) -> Any:
    projection = model.text_projection
    return projection(x) if callable(projection) and not hasattr(projection, "shape") else x @ projection


def verified(loaded: Any) -> Any:
    """The fastest exact encoder that reproduces the model's own ``encode_text`` on a probe (a batch
    with shared prefixes, and two unrelated prompts); None when neither shortcut fits."""
    import torch

    probe_texts = [f"{t} {w}." for t in ("a photo of red", "a picture of red") for w in
                   ("thing", "object", "dog", "t-shirt", "sunset over the sea", "x")] + \
                  ["a photo of a dog on the beach.", "sunset"]
    probe = loaded.tokenizer(probe_texts)
    device = next(loaded.model.parameters()).device
    for make in (shared_prefix_encoder, trimmed_encoder):
        encode = make(loaded.model)
        if encode is None:
            continue
        with torch.inference_mode():
            full = loaded.model.encode_text(probe.to(device)).float()
            try:
                fast = encode(probe.to(device)).float()
            except Exception as err:  # an architecture this shortcut does not fit
                log.debug("%s unavailable: %s", make.__name__, err)
                continue
        cos = torch.nn.functional.cosine_similarity(full, fast, dim=-1).min().item()
        if cos > 0.9999:
            return encode
        log.debug("%s differs from encode_text (cosine %.6f): not used", make.__name__, cos)
    return None


def word_cached_tokenizer(tokenizer: Any) -> Any:
    """open_clip's ``SimpleTokenizer`` with each word's tokens remembered: a search's null phrases are
    75 prompts made of a dozen distinct words, and cleaning and splitting each prompt (ftfy, regex)
    costs ~40 us. Exact for printable ASCII, where no cleaning step and no token crosses a space;
    other texts (and other tokenizers: None) take the tokenizer's own path."""
    from open_clip.tokenizer import SimpleTokenizer

    clean = getattr(getattr(tokenizer, "clean_fn", None), "__name__", None)
    if type(tokenizer) is not SimpleTokenizer or getattr(tokenizer, "reduction_fn", None) is not None \
            or clean not in ("_clean_lower", "_clean_whitespace"):
        return None
    import torch

    words: dict[str, list[int]] = {}
    sot, eot, width = tokenizer.sot_token_id, tokenizer.eot_token_id, tokenizer.context_length

    def encode(text: str) -> list[int]:
        if "&" in text or not (text.isascii() and text.isprintable()):  # entities: ftfy looks at the whole text
            return tokenizer.encode(text)
        out: list[int] = []
        for word in text.split():
            ids = words.get(word)
            if ids is None:
                ids = tokenizer.encode(word)
                if len(words) < 100_000:  # a bound for a long-running app: ~10 MB
                    words[word] = ids
            out += ids
        return out

    def tokenize(texts: str | list[str]) -> Any:
        texts = [texts] if isinstance(texts, str) else texts
        result = torch.zeros(len(texts), width, dtype=torch.long)
        for i, text in enumerate(texts):
            tokens = [sot, *encode(text), eot]
            if len(tokens) > width:
                tokens = tokens[:width]
                tokens[-1] = eot
            result[i, :len(tokens)] = torch.tensor(tokens)
        return result

    return tokenize


def verified_tokenizer(loaded: Any) -> Any:
    """:func:`word_cached_tokenizer` where it reproduces the model's own tokenizer on a probe, else that
    tokenizer."""
    fast = word_cached_tokenizer(loaded.tokenizer)
    if fast is None:
        return loaded.tokenizer
    probe = ["a photo of red thing.", "It's  my DOG's toy!", "invoice 4471 -- gate B12", "Tom &amp; Jerry",
             "<b> caf&Atilde;&copy;", "a < b &amp;amp;amp;",
             "IMG_2041.jpg", "  spaced\tout  ", "café crème", "word " * 90]
    if all((fast([t]) == loaded.tokenizer([t])).all() for t in probe):
        return fast
    log.debug("the word-cached tokenizer differs from the model's: not used")
    return loaded.tokenizer
