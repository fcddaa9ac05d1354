"""Coarse attention over compressed chunks and fine attention into selected chunks.

The past is cut into chunks of `c` tokens. Each chunk is summarised by the mean
of its (unrotated) keys and values, which the caller passes through a learned
linear map. The coarse branch attends to these summaries; for long inputs it
pools groups of `g` chunks into one (chunks of chunks) so that at most
`max_coarse_chunks` summaries exist and the cost stays linear in `T`. The
selected branch lets each query block pick the top-`n` complete chunks by its
coarse attention probabilities and attends to their raw tokens (MoBA / NSA).
"""

from keras import ops

from llama_keras.layers.utils import ceil_div
from llama_keras.layers.utils import masked_softmax

COARSE_SCORES = "bnqhgd,bmhd->bnhgqm"
COARSE_OUTPUT = "bnhgqm,bmhd->bnqhgd"
SELECTION_SCORES = "bnhgd,bmhd->bnhgm"
SELECTED_SCORES = "bnqhgd,bnhkd->bnhgqk"
SELECTED_OUTPUT = "bnhgqk,bnhkd->bnqhgd"


def summarize_chunks(k, v, valid, chunk_size):
    """Mean key and value of each chunk, padding excluded.

    `k, v [B, T_pad, Hkv, d]`, `valid [B, T_pad]` (`T_pad` a multiple of `c`)
    -> `k_mean, v_mean [B, N, Hkv, d]`, `counts [B, N]` (valid tokens per chunk).
    """
    batch, _, heads, dim = ops.shape(k)
    weights = ops.cast(valid, k.dtype)
    counts = ops.sum(ops.reshape(weights, (batch, -1, chunk_size)), axis=-1)
    denominator = ops.maximum(counts, 1.0)[:, :, None, None]

    def mean(x):
        x = ops.reshape(x * weights[:, :, None, None], (batch, -1, chunk_size, heads, dim))
        return ops.sum(x, axis=2) / denominator

    return mean(k), mean(v), counts


def coarse_group_size(num_chunks, max_coarse_chunks):
    """Chunks pooled per coarse summary: 1 up to `max_coarse_chunks` chunks."""
    if isinstance(num_chunks, int):
        return max(1, ceil_div(num_chunks, max_coarse_chunks))
    return ops.maximum(1, ceil_div(num_chunks, max_coarse_chunks))


def pool_chunks(k_chunks, v_chunks, counts, group):
    """Count-weighted mean of `group` consecutive chunk summaries.

    `[B, N, Hkv, d]` x2, `[B, N]` -> `[B, ceil(N / g), Hkv, d]` x2, `[B, ceil(N / g)]`.
    The mean of a group of chunk means, weighted by their token counts, is the
    mean over all the group's tokens, so this is compression one level up.
    """
    if isinstance(group, int) and group == 1:
        return k_chunks, v_chunks, counts
    batch, num_chunks, heads, dim = ops.shape(k_chunks)
    extra = ceil_div(num_chunks, group) * group - num_chunks
    counts = ops.pad(counts, [(0, 0), (0, extra)])
    weights = counts[:, :, None, None]
    pooled_counts = ops.sum(ops.reshape(counts, (batch, -1, group)), axis=-1)
    denominator = ops.maximum(pooled_counts, 1.0)[:, :, None, None]

    def pool(x):
        x = ops.pad(x, [(0, 0), (0, extra), (0, 0), (0, 0)]) * weights
        return ops.sum(ops.reshape(x, (batch, -1, group, heads, dim)), axis=2) / denominator

    return pool(k_chunks), pool(v_chunks), pooled_counts


def coarse_attention(q, k_coarse, v_coarse, coarse_counts, query_index, coarse_size):
    """Each query attends to the summaries of coarse chunks that end at or before it.

    `q [B, n, b, Hkv, G, d]`, `k_coarse, v_coarse [B, M, Hkv, d]`,
    `coarse_counts [B, M]`, `query_index [n, b]`, `coarse_size` = tokens per
    coarse chunk -> `[B, n, b, Hkv, G, d]` (zero where no chunk is complete yet).
    """
    chunk_end = (ops.arange(ops.shape(k_coarse)[1]) + 1) * coarse_size  # [M]
    complete = chunk_end[None, None, :] <= query_index[:, :, None] + 1  # [n, b, M]
    nonempty = coarse_counts > 0  # [B, M]
    mask = complete[None, :, None, None, :, :] & nonempty[:, None, None, None, None, :]
    probs = masked_softmax(ops.einsum(COARSE_SCORES, q, k_coarse), mask)
    return ops.einsum(COARSE_OUTPUT, ops.cast(probs, v_coarse.dtype), v_coarse)


def select_chunks(block_query, k_chunks, counts, block_start, chunk_size, num_selected):
    """Top-`n` complete chunks per query block and KV head.

    A block's score for a chunk is the coarse attention probability of the
    block's *first* query, summed over the query heads of each KV group: every
    query of the block is at or after it, so selection stays causal (and a
    decoder can make it when the block starts). Only chunks that end at or
    before the block's first query, and hold a valid token, can be picked.

    `block_query [B, n, Hkv, G, d]`, `k_chunks [B, N, Hkv, d]`, `counts [B, N]`,
    `block_start [n]` -> `indices [B, n, Hkv, num_selected]` (int32, within
    `[0, N)`) and `picked [B, n, Hkv, num_selected]` (bool, False where fewer
    chunks than `num_selected` were eligible).
    """
    num_chunks = ops.shape(k_chunks)[1]
    chunk_end = (ops.arange(num_chunks) + 1) * chunk_size  # [N]
    eligible = (chunk_end[None, :] <= block_start[:, None])[None] & (counts > 0)[:, None, :]  # [B, n, N]
    probs = masked_softmax(
        ops.einsum(SELECTION_SCORES, block_query, k_chunks), eligible[:, :, None, None, :]
    )
    scores = ops.where(eligible[:, :, None, :], ops.sum(probs, axis=3), -1.0)  # [B, n, Hkv, N]
    # `num_selected` always-ineligible columns, so top_k works when N < num_selected.
    filler = -ops.ones(ops.shape(scores)[:-1] + (num_selected,), dtype=scores.dtype)
    best, indices = ops.top_k(ops.concatenate([scores, filler], axis=-1), num_selected, sorted=False)
    indices = ops.minimum(ops.cast(indices, "int32"), num_chunks - 1)
    return indices, best >= 0.0


def selected_attention(q, k, v, key_valid, indices, picked, chunk_size):
    """Each query block attends to the raw tokens of its selected chunks.

    `q [B, n, b, Hkv, G, d]`, `k, v [B, T_pad, Hkv, d]` (unrotated),
    `key_valid [B, T_pad]`, `indices, picked [B, n, Hkv, s]` from
    `select_chunks` -> `[B, n, b, Hkv, G, d]`.
    """
    batch, _, heads, dim = ops.shape(k)
    num_blocks, num_selected = ops.shape(indices)[1], ops.shape(indices)[3]
    num_chunks = ops.shape(k)[1] // chunk_size

    # Flatten (batch, head, chunk) so one gather fetches every block's chunks.
    def by_chunk(x):  # [B, T_pad, Hkv, ...] -> [B * Hkv * N, c, ...]
        x = ops.reshape(x, (batch, num_chunks, chunk_size, heads) + tuple(ops.shape(x)[3:]))
        x = ops.moveaxis(x, 3, 1)
        return ops.reshape(x, (-1, chunk_size) + tuple(ops.shape(x)[4:]))

    head_offset = (ops.arange(batch)[:, None] * heads + ops.arange(heads)[None, :]) * num_chunks
    flat_indices = indices + head_offset[:, None, :, None]  # [B, n, Hkv, s]

    def gather(x):  # -> [B, n, Hkv, s * c, ...]
        x = ops.take(x, flat_indices, axis=0)
        return ops.reshape(x, (batch, num_blocks, heads, num_selected * chunk_size) + tuple(ops.shape(x)[5:]))

    keys, values = gather(by_chunk(k)), gather(by_chunk(v))
    valid = ops.broadcast_to(key_valid[:, :, None], (batch, ops.shape(key_valid)[1], heads))
    valid = gather(by_chunk(valid)) & ops.repeat(picked, chunk_size, axis=-1)  # [B, n, Hkv, s * c]
    probs = masked_softmax(ops.einsum(SELECTED_SCORES, q, keys), valid[:, :, :, None, None, :])
    return ops.einsum(SELECTED_OUTPUT, ops.cast(probs, v.dtype), values)
