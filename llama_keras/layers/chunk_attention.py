"""Coarse attention over compressed chunks and fine attention into selected chunks.

The past is cut into chunks of `c` tokens. Each chunk is summarised by the mean
of its (unrotated) keys and values, which the caller passes through a learned
linear map. The coarse branch attends to these summaries; far into a long input
it uses chunks of chunks (level `l` summarises `c * 2^l` tokens), so a query
never sees more than about `max_coarse_chunks` summaries and the cost stays
linear in `T`. The selected branch lets each query block pick the top-`n`
complete chunks by coarse attention probability and attends to their raw tokens
(MoBA / NSA).
"""

from keras import ops

from llama_keras.layers.utils import ceil_div
from llama_keras.layers.utils import masked_attention
from llama_keras.layers.utils import masked_softmax

COARSE_SCORES = "bnqhgd,bnmhd->bnhgqm"
COARSE_OUTPUT = "bnhgqm,bnmhd->bnqhgd"
SELECTION_SCORES = "bnhgd,bmhd->bnhgm"
SELECTED_SCORES = "bnqhgd,bnhkd->bnhgqk"
SELECTED_OUTPUT = "bnhgqk,bnhkd->bnqhgd"


def summarize_chunks(k, v, valid, chunk_size):
    """Mean key and value of each chunk, padding excluded.

    `k [B, T_pad, Hkv, d]`, `v [B, T_pad, Hkv, e]`, `valid [B, T_pad]` (`T_pad` a
    multiple of `c`) -> `k_mean [B, N, Hkv, d]`, `v_mean [B, N, Hkv, e]`, `counts [B, N]` (valid tokens per chunk).
    """
    batch, _, heads = ops.shape(k)[:3]
    weights = ops.cast(valid, k.dtype)
    counts = ops.sum(ops.reshape(weights, (batch, -1, chunk_size)), axis=-1)
    denominator = ops.maximum(counts, 1.0)[:, :, None, None]

    def mean(x):
        x = ops.reshape(x * weights[:, :, None, None], (batch, -1, chunk_size, heads, ops.shape(x)[-1]))
        return ops.sum(x, axis=2) / denominator

    return mean(k), mean(v), counts


def coarse_levels(k_chunks, v_chunks, counts, num_levels, level_size):
    """Summaries of chunks of `c * 2^l` tokens for levels `l < num_levels`.

    Summary `s` of level `l` is the mean over the tokens of chunks
    `[s * 2^l, (s + 1) * 2^l)`: a count-weighted mean of those chunk means, read
    off prefix sums over chunks in float32 (one set of ops for any number of
    levels). Each level keeps only its first `level_size` summaries: a query
    block uses the finest level at which its past fits in `max_coarse_chunks`
    summaries (`block_level`), so no block needs more.

    `[B, N, Hkv, d]` x2, `[B, N]` -> `[B, L, S, Hkv, d]` x2, `[B, L, S]`.
    """
    num_chunks = ops.shape(counts)[1]
    width = 2 ** ops.arange(num_levels, dtype="int32")[:, None]  # chunks per summary, [L, 1]
    # Clipping the summary index first keeps `start` within int32 at any level.
    summary = ops.minimum(ops.arange(level_size, dtype="int32")[None, :], ceil_div(num_chunks, width))
    start = ops.minimum(summary * width, num_chunks)  # [L, S]
    end = ops.minimum(start + width, num_chunks)

    def level_sums(x):  # float32 [B, N, ...] -> [B, L, S, ...]: the sum over each summary's chunks
        prefix = ops.pad(ops.cumsum(x, axis=1), [(0, 0), (1, 0)] + [(0, 0)] * (len(x.shape) - 2))
        return ops.take(prefix, end, axis=1) - ops.take(prefix, start, axis=1)

    weights = ops.cast(counts, "float32")
    level_counts = level_sums(weights)
    denominator = ops.maximum(level_counts, 1.0)[..., None, None]

    def level_means(x):  # [B, N, Hkv, d] chunk means -> [B, L, S, Hkv, d] summary means, in x's dtype
        sums = level_sums(ops.cast(x, "float32") * weights[:, :, None, None])
        return ops.cast(sums / denominator, x.dtype)

    return level_means(k_chunks), level_means(v_chunks), ops.cast(level_counts, counts.dtype)


def block_level(block_start, chunk_size, max_coarse_chunks, num_levels):
    """Finest level `l` with `block_start + 1 <= max_coarse_chunks * c * 2^l`.

    Depends only on where the block starts, so the model gives every prefix of
    a sequence the same outputs (cached decoding stays exact). `[n] -> [n]`.
    """
    span = ceil_div(ops.cast(block_start, "int32") + 1, max_coarse_chunks * chunk_size)  # >= 1
    level = ops.zeros_like(span)
    for boundary in range(num_levels - 1):
        level += ops.cast(span > 2**boundary, "int32")
    return level


def coarse_attention(q, level_k, level_v, level_counts, levels, query_index, chunk_size):
    """Each query attends to the summaries, at its block's level, of chunks that
    end at or before it.

    `q [B, n, b, Hkv, G, d]`, `level_k, level_v [B, L, S, Hkv, d]`,
    `level_counts [B, L, S]` from `coarse_levels`, `levels [n]` from
    `block_level`, `query_index [n, b]` -> `[B, n, b, Hkv, G, d]` (zero where no
    chunk is complete yet).
    """
    keys, values = ops.take(level_k, levels, axis=1), ops.take(level_v, levels, axis=1)
    counts = ops.take(level_counts, levels, axis=1)  # [B, n, S]
    size = chunk_size * ops.take(2 ** ops.arange(ops.shape(level_k)[1]), levels)  # [n]
    chunk_end = (ops.arange(ops.shape(level_k)[2]) + 1)[None, :] * size[:, None]  # [n, S]
    complete = chunk_end[:, None, :] <= query_index[:, :, None] + 1  # [n, b, S]
    mask = complete[None, :, None, None, :, :] & (counts > 0)[:, :, None, None, None, :]
    return masked_attention(ops.einsum(COARSE_SCORES, q, keys), mask, values, COARSE_OUTPUT)


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
    return masked_attention(ops.einsum(SELECTED_SCORES, q, keys), valid[:, :, :, None, None, :], values,
                            SELECTED_OUTPUT)


def coarse_attention_step(q, level_k, level_v, level_counts, level, position, chunk_size):
    """One decoding step of `coarse_attention`.

    `q [B, Hkv, G, d]` at `position`, `level_k, level_v [B, S, Hkv, d]` (the
    projected summaries of the query's block level `level`), `level_counts
    [B, S]` -> `[B, Hkv, G, d]`.
    """
    chunk_end = (ops.arange(ops.shape(level_k)[1]) + 1) * (chunk_size * 2**level)
    mask = (chunk_end[None, :] <= position + 1) & (level_counts > 0)  # [B, S]
    scores = ops.einsum("bhgd,bmhd->bhgm", q, level_k)
    return masked_attention(scores, mask[:, None, None, :], level_v, "bhgm,bmhd->bhgd")


def selected_attention_step(q, k_cache, v_cache, indices, picked, chunk_size):
    """One decoding step of `selected_attention`.

    `q [B, Hkv, G, d]`, `k_cache, v_cache [B, L, Hkv, d]` (unrotated),
    `indices, picked [B, Hkv, s]` -> `[B, Hkv, G, d]`.
    """
    batch, length, heads, dim = ops.shape(k_cache)
    positions = indices[..., None] * chunk_size + ops.arange(chunk_size)  # [B, Hkv, s, c]
    rows = (ops.arange(batch)[:, None, None, None] * length + positions) * heads
    rows = ops.reshape(rows + ops.arange(heads)[None, :, None, None], (batch, heads, -1))

    def gather(cache):  # -> [B, Hkv, s * c, d]
        return ops.take(ops.reshape(cache, (-1, dim)), rows, axis=0)

    valid = ops.repeat(picked, chunk_size, axis=-1)[:, :, None, :]  # [B, Hkv, 1, s * c]
    scores = ops.einsum("bhgd,bhkd->bhgk", q, gather(k_cache))
    return masked_attention(scores, valid, gather(v_cache), "bhgk,bhkd->bhgd")
