"""Exact shortcuts for open_clip's CLIP text tower: stop at the longest prompt, encode shared prefixes once."""
from __future__ import annotations

import logging
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

# A batch is split into groups of prompts that share at least MIN_PREFIX tokens (the start token
# included: "a photo of red thing." and "a photo of red object." share 5) and each group's prefix runs
# through the tower once; only the rest of each prompt runs per prompt, attending to the prefix's keys
# and values. The tower is causal, so this is exact. It pays when the shared tokens are a large part
# of the batch: a query's null phrases (core/calibration.py) are 72 prompts in 3 templates with
# about 60 % of their tokens shared. Batches under MIN_BATCH prompts, or where less than MIN_SHARED
# of the tokens would be saved, take the trimmed path.
MIN_PREFIX = 4
MIN_BATCH = 8
MIN_SHARED = 0.3


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
    """The trimmed encoder, plus shared prefixes encoded once (see MIN_PREFIX); None if the model's
    blocks are not open_clip's plain self-attention blocks."""
    trimmed = trimmed_encoder(model)
    blocks = list(getattr(model.transformer, "resblocks", [])) if trimmed is not None else []
    if not blocks or not all(_plain_block(b) for b in blocks):
        return trimmed

    def encode(tokens):
        ends = (tokens.argmax(dim=-1) + 1).cpu().numpy()
        if len(tokens) < MIN_BATCH:
            return trimmed(tokens)
        groups = prefix_groups(tokens.cpu().numpy(), ends)
        saved = sum((len(rows) - 1) * length for rows, length in groups)
        if saved < MIN_SHARED * ends.sum():
            return trimmed(tokens)
        return _encode_grouped(model, blocks, tokens, ends, groups)

    return encode


def prefix_groups(tokens: np.ndarray, ends: np.ndarray) -> list[tuple[np.ndarray, int]]:
    """(rows, prefix length) groups covering every row: rows that share their first *length* tokens
    (at least MIN_PREFIX, and short of each row's end-of-text token); rows sharing less stand alone
    with all but their last token as the prefix."""
    width = int(ends.max())
    order = np.lexsort(tokens[:, :width].T[::-1])  # sorted rows: long shared prefixes become neighbours
    groups: list[tuple[list[int], int]] = []
    for row in order.tolist():
        if groups:
            rows, length = groups[-1]
            differs = tokens[rows[0], :width] != tokens[row, :width]
            common = int(np.argmax(differs)) if differs.any() else width
            joined = min(length, common, int(ends[row]) - 1)
            # a group never gives up prefix tokens its members already share, except to pair a lone row
            if joined >= MIN_PREFIX and (joined == length or len(rows) == 1):
                rows.append(row)
                groups[-1] = (rows, joined)
                continue
        groups.append(([row], int(ends[row]) - 1))
    return [(np.asarray(rows), length) for rows, length in groups]


def _encode_grouped(model: Any, blocks: list, tokens: Any, ends: np.ndarray,
                    groups: list[tuple[np.ndarray, int]]) -> Any:
    import torch
    import torch.nn.functional as F

    device = tokens.device
    cast = model.transformer.get_cast_dtype()
    lengths = [length for _, length in groups]
    width_p = max(lengths)
    prefixes = torch.zeros((len(groups), width_p), dtype=tokens.dtype, device=device)
    group_of = np.empty(len(tokens), np.int64)
    prefix_len = np.empty(len(tokens), np.int64)
    for g, (rows, length) in enumerate(groups):
        prefixes[g, :length] = tokens[int(rows[0]), :length]
        group_of[rows], prefix_len[rows] = g, length
    rest = ends - prefix_len  # tokens after the prefix, the end-of-text token last
    width_s = int(rest.max())
    columns = np.minimum(prefix_len[:, None] + np.arange(width_s)[None, :], tokens.shape[1] - 1)
    suffixes = torch.gather(tokens, 1, torch.as_tensor(columns, device=device))
    where = torch.as_tensor(columns, device=device)

    # masks (True = may attend): a prefix sees its own earlier tokens; a suffix token sees its row's
    # prefix (not the padding after it) and its own earlier tokens
    keys_p = torch.arange(width_p, device=device)
    own_prefix = torch.as_tensor(prefix_len, device=device)[:, None] > keys_p[None, :]
    causal_s = torch.ones((width_s, width_s), dtype=torch.bool, device=device).tril()
    mask_s = torch.cat([own_prefix[:, None, :].expand(-1, width_s, -1),
                        causal_s[None].expand(len(tokens), -1, -1)], dim=2)[:, None]
    rows_to_group = torch.as_tensor(group_of, device=device)

    x_p = model.token_embedding(prefixes).to(cast) + model.positional_embedding[:width_p].to(cast)
    x_s = model.token_embedding(suffixes).to(cast) + model.positional_embedding.to(cast)[where]
    # prefixes and suffixes go through each linear layer as one matrix (the weights are read once a
    # layer, which is most of the cost of small batches); only attention treats them apart
    cut = x_p.shape[0] * width_p
    x = torch.cat([x_p.reshape(cut, -1), x_s.reshape(-1, x_s.shape[-1])])
    for block in blocks:
        heads = block.attn.num_heads
        qkv = F.linear(block.ln_1(x), block.attn.in_proj_weight, block.attn.in_proj_bias)
        q_p, k_p, v_p = _heads(qkv[:cut].view(len(groups), width_p, -1), heads)
        q_s, k_s, v_s = _heads(qkv[cut:].view(len(tokens), width_s, -1), heads)
        out_p = F.scaled_dot_product_attention(q_p, k_p, v_p, is_causal=True)
        keys = torch.cat([k_p[rows_to_group], k_s], dim=2)
        values = torch.cat([v_p[rows_to_group], v_s], dim=2)
        out_s = F.scaled_dot_product_attention(q_s, keys, values, attn_mask=mask_s)
        attended = torch.cat([_merge(out_p), _merge(out_s)])
        x = x + block.ls_1(block.attn.out_proj(attended))
        x = x + block.ls_2(block.mlp(block.ln_2(x)))
    x_s = model.ln_final(x[cut:].view(len(tokens), width_s, -1))
    pooled = x_s[torch.arange(len(tokens), device=device), torch.as_tensor(rest - 1, device=device)]
    return _project(model, pooled)


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
