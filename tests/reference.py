"""Naive NumPy references: full `[T, T]` masks, loops over chunks, no blocking.

Written from the formulas in DESIGN.md, independently of the package code.
"""

import math

import numpy as np


def rope_frequencies(head_dim, base=10000.0):
    return base ** (-np.arange(0, head_dim, 2) / head_dim)


def rope(x, positions, theta, factor=1.0):
    """`x [B, T, H, d]`, `positions [B, T]`, `theta [d/2]`: rotate-half RoPE."""
    half = x.shape[-1] // 2
    angles = positions[:, :, None, None] * theta  # [B, T, 1, d/2]
    cos, sin = np.cos(angles) * factor, np.sin(angles) * factor
    x1, x2 = x[..., :half], x[..., half:]
    return np.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)


def attention(q, k, v, mask, multiplier=None):
    """`q [B, T, Hq, d]`, `k, v [B, S, Hkv, d]`, `mask [B, Hq|1, T, S]` -> `[B, T, Hq, d]`.

    Rows with no allowed key are zero. `multiplier` (e.g. an adaptive-span
    ramp) reweights probabilities, which are then renormalised.
    """
    groups = q.shape[2] // k.shape[2]
    k, v = np.repeat(k, groups, axis=2), np.repeat(v, groups, axis=2)
    scores = np.einsum("bthd,bshd->bhts", q, k) / math.sqrt(q.shape[-1])
    scores = np.where(mask, scores, -np.inf)
    top = np.max(scores, axis=-1, keepdims=True)
    exps = np.where(mask, np.exp(scores - np.where(np.isfinite(top), top, 0.0)), 0.0)
    probs = exps / np.maximum(exps.sum(-1, keepdims=True), 1e-30)
    if multiplier is not None:
        probs = probs * multiplier
        probs = probs / (probs.sum(-1, keepdims=True) + 1e-9)
    return np.einsum("bhts,bshd->bthd", probs, v)


def hierarchical_attention(layer, x, padding_mask=None, positions=None, values=None):
    """Reference output of a built `HierarchicalAttention` with RoPE scaling "none".

    Coarse and selected branches see `q, k` as `layer.far_positions` says: unrotated
    ("none"), rotated at the token's position ("rope") or at its chunk's index ("grouped").

    Selected branch: the raw tokens of the chunks that `selected_chunks` picks
    for the query's block. With `values [B, T, Hkv, e]`: mixes
    those instead of the layer's values (chunk means not projected) and returns
    the gated mix before the output projection, `[B, T, Hq, e]`.
    """
    w = {v.path.split("/")[-2] + "/" + v.name: np.asarray(v) for v in layer.weights}
    batch, length, _ = x.shape
    heads, kv_heads, dim = layer.num_query_heads, layer.num_key_value_heads, layer.head_dim
    valid = np.ones((batch, length), bool) if padding_mask is None else padding_mask.astype(bool)
    if positions is None:
        positions = np.broadcast_to(np.arange(length), (batch, length))
    q = (x @ w["query/kernel"]).reshape(batch, length, heads, dim)
    k = (x @ w["key/kernel"]).reshape(batch, length, kv_heads, dim)
    v = (x @ w["value/kernel"]).reshape(batch, length, kv_heads, dim) if values is None else values
    theta = rope_frequencies(dim, layer.rope_max_wavelength)
    t = np.arange(length)
    dist = t[:, None] - t[None, :]
    key_ok = valid[:, None, None, :]

    window = min(layer.window_size, length)
    local_mask = ((dist >= 0) & (dist < window))[None, None] & key_ok
    multiplier = None
    if layer.adaptive_span:
        z = layer.window_size * np.clip(np.asarray(layer.span_fraction), 0, 1)
        multiplier = np.clip((layer.span_ramp + z[None, :, None, None] - dist) / layer.span_ramp, 0, 1)
    branches = [attention(rope(q, positions, theta), rope(k, positions, theta), v, local_mask, multiplier)]
    far = {"none": None, "rope": positions, "grouped": positions // (layer.chunk_size or 1)}[layer.far_positions]
    if far is not None:
        q, k = rope(q, far, theta), rope(k, far, theta)

    if layer.chunk_size:
        # A query's block start decides the level: the finest chunk size c * 2^l
        # at which the past up to the block start fits in max_coarse_chunks chunks.
        c, b, most = layer.chunk_size, layer.selection_block_size, layer.max_coarse_chunks
        span = -(-((t // b) * b + 1) // (most * c))
        level = np.array([math.ceil(math.log2(s)) for s in span])
        coarse = np.zeros(q.shape[:3] + v.shape[3:])
        for lv in np.unique(level):
            size = c * 2**lv
            ck, cv, ends, ok = [], [], [], []
            for start in range(0, length, size):
                members = valid[:, start : start + size].astype(float)[:, :, None, None]
                count = members.sum(1)
                ck.append((k[:, start : start + size] * members).sum(1) / np.maximum(count, 1))
                cv.append((v[:, start : start + size] * members).sum(1) / np.maximum(count, 1))
                ends.append(start + size)
                ok.append(count[:, 0, 0] > 0)
            ck = np.stack(ck, 1) @ w["chunk_key/kernel"]
            cv = np.stack(cv, 1) if values is not None else np.stack(cv, 1) @ w["chunk_value/kernel"]
            visible = (np.array(ends)[None, :] <= t[:, None] + 1)[None, None] & np.stack(ok, 1)[:, None, None, :]
            coarse[:, level == lv] = attention(q, ck, cv, visible)[:, level == lv]
        branches.append(coarse)
    if layer.num_selected_chunks:
        c, b = layer.chunk_size, layer.selection_block_size
        groups = heads // kv_heads
        chunk_of = t // c
        picked = np.zeros((batch, heads, length, length), bool)
        for row in range(batch):
            def chunk_key(i, h):  # projected mean key of chunk i, None if it holds no token
                members = valid[row, i * c : (i + 1) * c]
                if not members.any():
                    return None
                return k[row, i * c : (i + 1) * c][members, h].mean(0) @ w["chunk_key/kernel"]

            for start in range(0, length, b):
                for h in range(kv_heads):
                    first_query = q[row, start, h * groups : (h + 1) * groups] / math.sqrt(dim)
                    chosen = selected_chunks(first_query, lambda i: chunk_key(i, h), start // c,
                                             layer.num_selected_chunks)
                    picked[row, h * groups : (h + 1) * groups, start : start + b] = np.isin(chunk_of, chosen)
        branches.append(attention(q, k, v, picked & key_ok))

    out = branches[0]
    if len(branches) > 1:
        gates = 1 / (1 + np.exp(-(x @ w["gate/kernel"] + w["gate/bias"])))
        gates = gates.reshape(batch, length, heads, len(branches))
        out = sum(branch * gates[..., i : i + 1] for i, branch in enumerate(branches))
    if values is not None:
        return out
    return out.reshape(batch, length, heads * dim) @ w["attention_output/kernel"]


def selected_chunks(first_query, chunk_key, complete, num_selected):
    """Chunks a query block attends to in full: the top `n` by attention probability.

    `first_query [G, d]` (scaled), the block's first query; `chunk_key(i)` -> the
    projected mean key `[d]` of chunk `i`, or None when it holds no token;
    `complete`: chunks that end before the block. A chunk's score is its softmax
    probability among those chunks, summed over the `G` heads.
    """
    keys = [(i, chunk_key(i)) for i in range(complete)]
    keys = [(i, key) for i, key in keys if key is not None]
    if not keys:
        return []
    logits = first_query @ np.stack([key for _, key in keys], axis=1)  # [G, K]
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    scores = (probs / probs.sum(axis=1, keepdims=True)).sum(axis=0)
    return [keys[j][0] for j in np.argsort(-scores, kind="stable")[:num_selected]]
