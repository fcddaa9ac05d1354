"""Blocked sliding-window causal attention: O(T * (w + b)), never a `[T, T]` tensor.

Queries come in blocks of `b`. Block `i` looks at its own keys and those of the
`P = ceil((w - 1) / b)` blocks before it, and a band mask keeps, for a query at
index `t`, the keys `t - w < j <= t`.
"""

from keras import ops

from llama_keras.layers.utils import ceil_div
from llama_keras.layers.utils import masked_attention

SCORES = "bnqhgd,bnkhd->bnhgqk"
OUTPUT = "bnhgqk,bnkhd->bnqhgd"


def num_previous_blocks(window, block_size):
    """Blocks before a query block that hold keys of its window."""
    return ceil_div(window - 1, block_size)


def window_blocks(x, block_ids, block_size, previous_blocks):
    """Keys of each requested block's window.

    `x [B, T_pad, ...]` (`T_pad` a multiple of `b`), `block_ids [n]` ->
    `[B, n, (P + 1) * b, ...]`: blocks `i - P .. i` side by side, zero-filled
    before the sequence start.
    """
    tail = tuple(ops.shape(x)[2:])
    batch = ops.shape(x)[0]
    padding = [(0, 0), (previous_blocks * block_size, 0)] + [(0, 0)] * len(tail)
    blocks = ops.reshape(ops.pad(x, padding), (batch, -1, block_size) + tail)
    parts = [ops.take(blocks, block_ids + s, axis=1) for s in range(previous_blocks + 1)]
    return ops.concatenate(parts, axis=2)


def local_attention(q, k, v, key_valid, block_ids, window, block_size, span=None, span_ramp=1.0):
    """Causal attention to the last `window` keys, including the query's own.

    Args:
        q: `[B, n, b, Hkv, G, d]`, scaled and rotated queries of blocks `block_ids`.
        k, v: `[B, T_pad, Hkv, d]`, rotated keys and values of the whole sequence.
        key_valid: `[B, T_pad]` bool, False at padding.
        block_ids: `[n]` int32, which query blocks `q` holds.
        span: optional `[Hkv, G]` learned span `z` per query head (adaptive
            span): weights are multiplied by `clip((R + z - dist) / R, 0, 1)`
            and renormalised, with `R = span_ramp`.

    Returns `[B, n, b, Hkv, G, d]`.
    """
    previous = num_previous_blocks(window, block_size)
    keys = window_blocks(k, block_ids, block_size, previous)
    values = window_blocks(v, block_ids, block_size, previous)
    valid = window_blocks(key_valid, block_ids, block_size, previous)  # [B, n, K]

    block_start = block_ids * block_size  # [n]
    query_index = block_start[:, None] + ops.arange(block_size)[None, :]  # [n, b]
    key_index = block_start[:, None] - previous * block_size + ops.arange((previous + 1) * block_size)[None, :]
    dist = query_index[:, :, None] - key_index[:, None, :]  # [n, b, K]
    band = (dist >= 0) & (dist < window)
    mask = band[None, :, None, None, :, :] & valid[:, :, None, None, None, :]

    ramp = None
    if span is not None:
        dist = ops.cast(dist, "float32")[None, :, None, None, :, :]
        ramp = ops.clip((span_ramp + span[None, None, :, :, None, None] - dist) / span_ramp, 0.0, 1.0)
    scores = ops.einsum(SCORES, q, keys)  # [B, n, Hkv, G, b, K]
    return masked_attention(scores, mask, values, OUTPUT, ramp)


def local_attention_step(q, ring_k, ring_v, position, span=None, span_ramp=1.0):
    """One decoding step of `local_attention` over a ring buffer of the last `w` keys.

    `q [B, Hkv, G, d]` (rotated, scaled) at `position`; `ring_k, ring_v
    [B, w, Hkv, d]` with slot `i` holding position `p_i = t - ((t - i) mod w)`
    (Mistral's rolling buffer) -> `[B, Hkv, G, d]`.
    """
    window = ops.shape(ring_k)[1]
    slot_position = position - (position - ops.arange(window)) % window  # [w]
    ramp = None
    if span is not None:
        dist = ops.cast(position - slot_position, "float32")
        ramp = ops.clip((span_ramp + span[None, :, :, None] - dist) / span_ramp, 0.0, 1.0)
    scores = ops.einsum("bhgd,bkhd->bhgk", q, ring_k)
    return masked_attention(scores, slot_position >= 0, ring_v, "bhgk,bkhd->bhgd", ramp)
