"""HierarchicalAttention: GQA with a local window, a coarse chunk level and selected chunks.

Forward pass for `x [B, T, D]` (see DESIGN.md section 2):

    q, k, v   = projections of x           [B, T, Hq, d], [B, T, Hkv, d] x2
    local     = sliding window of `w` over RoPE(q), RoPE(k)      (local_attention.py)
    coarse    = attention to summaries of complete chunks        (chunk_attention.py)
    selected  = attention to the raw tokens of the top-n chunks  (chunk_attention.py)
    o         = sum_b sigmoid(x W_g)_b * branch_b, then the output projection

Each block of `selection_block_size` queries picks its chunks and its coarse
level; the local branch runs in blocks of about the window. A static input
longer than `query_tokens_per_step` is processed a group of blocks at a time
(`keras.ops.map`), so peak memory stays bounded at a million tokens.
"""

import math

import keras
from keras import ops

from llama_keras.layers.chunk_attention import block_level
from llama_keras.layers.chunk_attention import coarse_attention
from llama_keras.layers.chunk_attention import coarse_attention_step
from llama_keras.layers.chunk_attention import coarse_levels
from llama_keras.layers.chunk_attention import select_chunks
from llama_keras.layers.chunk_attention import selected_attention
from llama_keras.layers.chunk_attention import selected_attention_step
from llama_keras.layers.chunk_attention import summarize_chunks
from llama_keras.layers.local_attention import local_attention
from llama_keras.layers.local_attention import local_attention_step
from llama_keras.layers.rotary_embedding import RotaryEmbedding
from llama_keras.layers.utils import ceil_div
from llama_keras.layers.utils import clone_initializer


FAR_POSITIONS = ("none", "rope", "grouped")

# Coarse levels built when the length is only known at run time: level 23 covers
# 2^23 * max_coarse_chunks * chunk_size tokens, beyond any input that fits in memory.
_MAX_LEVELS = 24


@keras.saving.register_keras_serializable(package="llama_keras")
class HierarchicalAttention(keras.layers.Layer):
    """Hierarchical, adaptive grouped-query attention. `x [B, T, D] -> [B, T, D]`.

    Args:
        num_query_heads, num_key_value_heads: GQA heads; the first must be a
            multiple of the second. Head size is `D / num_query_heads`.
        window_size: local window `w`; the effective window is `min(w, T)`.
        adaptive_span: learn a span `z_h <= w` per head (Sukhbaatar et al. 2019),
            with soft ramp `span_ramp` and `span_loss * mean(z)` added as a loss.
        chunk_size: tokens per chunk `c`; None turns the coarse and selected
            branches off.
        num_selected_chunks: chunks each query block attends to in full; 0 turns
            the selected branch off.
        selection_block_size: queries that share one selection (made by the
            block's first query) and one coarse level. 1 selects per query
            (best retrieval; selection costs `O(T^2 / c)`); larger blocks cost
            `O(T^2 / (b c))`.
        max_coarse_chunks: a query block sees at most about this many chunk
            summaries: past `max_coarse_chunks * chunk_size` tokens it uses
            chunks of chunks (`c * 2^l` tokens), so the cost stays linear in `T`.
        query_tokens_per_step: static inputs longer than this are processed in
            groups of this many query tokens. None: always all at once.
        far_positions: positions on the coarse and selected branches (the
            local branch always uses RoPE). "none": no rotation (content only),
            so their distances never leave the range seen in training; "rope":
            the local branch's RoPE, scaling included (PI / NTK / YaRN);
            "grouped": RoPE at `position // chunk_size` (Self-Extend's grouped
            positions, one position per chunk).
        rope_*: see `RotaryEmbedding`.

    Call args: `x [B, T, D]`, `padding_mask [B, T]` (1 = token, 0 = padding),
    `positions [B, T]` (absolute positions for RoPE; default `0..T-1`).
    """

    def __init__(
        self,
        num_query_heads,
        num_key_value_heads,
        window_size=256,
        adaptive_span=False,
        span_ramp=32,
        span_loss=2e-6,
        chunk_size=32,
        num_selected_chunks=4,
        selection_block_size=64,
        max_coarse_chunks=64,
        query_tokens_per_step=16384,
        far_positions="none",
        rope_max_wavelength=10000.0,
        rope_scaling="none",
        rope_scaling_factor=1.0,
        rope_original_length=2048,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        _check_positive(num_query_heads=num_query_heads, num_key_value_heads=num_key_value_heads,
                        window_size=window_size, span_ramp=span_ramp,
                        selection_block_size=selection_block_size, max_coarse_chunks=max_coarse_chunks)
        if num_query_heads % num_key_value_heads:
            raise ValueError(
                f"`num_query_heads` ({num_query_heads}) must be a multiple of "
                f"`num_key_value_heads` ({num_key_value_heads})."
            )
        if chunk_size is not None:
            _check_positive(chunk_size=chunk_size)
        if num_selected_chunks < 0:
            raise ValueError(f"`num_selected_chunks` must be >= 0, got {num_selected_chunks}.")
        if query_tokens_per_step is not None:
            _check_positive(query_tokens_per_step=query_tokens_per_step)
        if far_positions not in FAR_POSITIONS:
            raise ValueError(f"`far_positions` must be one of {FAR_POSITIONS}, got {far_positions!r}.")
        self.num_query_heads = num_query_heads
        self.num_key_value_heads = num_key_value_heads
        self.window_size = window_size
        self.adaptive_span = adaptive_span
        self.span_ramp = span_ramp
        self.span_loss = span_loss
        self.chunk_size = chunk_size
        self.num_selected_chunks = num_selected_chunks if chunk_size else 0
        self.selection_block_size = selection_block_size
        self.max_coarse_chunks = max_coarse_chunks
        self.query_tokens_per_step = query_tokens_per_step
        self.far_positions = far_positions
        self.rope_max_wavelength = rope_max_wavelength
        self.rope_scaling = rope_scaling
        self.rope_scaling_factor = rope_scaling_factor
        self.rope_original_length = rope_original_length
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

        self.branches = ["local"]
        if chunk_size:
            self.branches.append("coarse")
        if self.num_selected_chunks:
            self.branches.append("selected")
        self.rotary = RotaryEmbedding(
            max_wavelength=rope_max_wavelength, scaling=rope_scaling,
            scaling_factor=rope_scaling_factor, original_length=rope_original_length,
            dtype=self.dtype_policy, name="rotary",
        )

    def build(self, input_shape):
        hidden_dim = input_shape[-1]
        if hidden_dim is None or hidden_dim % self.num_query_heads:
            raise ValueError(
                f"The hidden size ({hidden_dim}) must be a multiple of "
                f"`num_query_heads` ({self.num_query_heads})."
            )
        self.head_dim = hidden_dim // self.num_query_heads
        heads, kv_heads, dim = self.num_query_heads, self.num_key_value_heads, self.head_dim

        def dense(units, name, **kwargs):
            kwargs.setdefault("kernel_initializer", clone_initializer(self.kernel_initializer))
            return keras.layers.Dense(units, dtype=self.dtype_policy, name=name, **kwargs)

        self.query_dense = dense(heads * dim, "query", use_bias=False)
        self.key_dense = dense(kv_heads * dim, "key", use_bias=False)
        self.value_dense = dense(kv_heads * dim, "value", use_bias=False)
        self.output_dense = dense(hidden_dim, "attention_output", use_bias=False)
        for layer in (self.query_dense, self.key_dense, self.value_dense):
            layer.build(input_shape)
        self.output_dense.build(tuple(input_shape[:-1]) + (heads * dim,))
        if self.chunk_size:
            # Learned pooling: mean of the chunk, then a linear map (identity at init).
            self.chunk_key_dense = dense(dim, "chunk_key", use_bias=False, kernel_initializer="identity")
            self.chunk_value_dense = dense(dim, "chunk_value", use_bias=False, kernel_initializer="identity")
            self.chunk_key_dense.build((None, dim))
            self.chunk_value_dense.build((None, dim))
        if len(self.branches) > 1:
            self.gate_dense = dense(heads * len(self.branches), "gate", kernel_initializer="zeros")
            self.gate_dense.build(input_shape)
        if self.adaptive_span:
            self.span_fraction = self.add_weight(
                name="span_fraction", shape=(heads,), initializer="ones", trainable=True
            )

    def span_lengths(self):
        """Learned span `z [Hq]` in tokens (the window when adaptive span is off)."""
        if not self.adaptive_span:
            return ops.full((self.num_query_heads,), float(self.window_size))
        return self.window_size * ops.clip(ops.cast(self.span_fraction, "float32"), 0.0, 1.0)

    def call(self, x, padding_mask=None, positions=None):
        """`x [B, T, D]` -> `[B, T, D]`."""
        if len(x.shape) != 3:
            raise ValueError(f"Expected `x` of shape [B, T, D], got shape {x.shape}.")
        batch, length = ops.shape(x)[0], ops.shape(x)[1]
        valid = ops.ones((batch, length), "bool") if padding_mask is None else ops.cast(padding_mask, "bool")
        if positions is None:
            positions = ops.arange(length)[None, :]
        q, k, v, q_rotated, k_rotated = self._project(x, ops.broadcast_to(positions, (batch, length)))
        out = self._attend(x, q, k, v, q_rotated, k_rotated, valid)
        if self.adaptive_span and self.span_loss:
            self.add_loss(self.span_loss * ops.mean(self.span_lengths()))
        return self.output_dense(out)

    def _project(self, x, positions):
        """-> `q` (scaled), `k` of the coarse and selected branches (rotated as
        `far_positions` says), `v`, and the local branch's RoPE-rotated `q`, `k`:
        `[B, T, H*, d]`."""
        batch, length = ops.shape(x)[0], ops.shape(x)[1]
        heads, kv_heads, dim = self.num_query_heads, self.num_key_value_heads, self.head_dim
        q = ops.reshape(self.query_dense(x), (batch, length, heads, dim)) * ops.cast(dim**-0.5, x.dtype)
        k = ops.reshape(self.key_dense(x), (batch, length, kv_heads, dim))
        v = ops.reshape(self.value_dense(x), (batch, length, kv_heads, dim))
        q_rotated, k_rotated = self.rotary(q, positions), self.rotary(k, positions)
        if self.far_positions == "rope":
            q, k = q_rotated, k_rotated
        elif self.far_positions == "grouped" and self.chunk_size:
            grouped = positions // self.chunk_size
            q, k = self.rotary(q, grouped), self.rotary(k, grouped)
        return q, k, v, q_rotated, k_rotated

    def _gates(self, x):
        """`[B, T, D]` -> `[B, T, Hkv, G, branches]`, or None with a single branch."""
        if len(self.branches) == 1:
            return None
        shape = (ops.shape(x)[0], ops.shape(x)[1], self.num_key_value_heads,
                 self.num_query_heads // self.num_key_value_heads, len(self.branches))
        return ops.reshape(ops.sigmoid(self.gate_dense(x)), shape)

    def _span(self):
        """Adaptive span `[Hkv, G]` in tokens, or None."""
        if not self.adaptive_span:
            return None
        return ops.reshape(self.span_lengths(), (self.num_key_value_heads, -1))

    def attention_map(self, x, padding_mask=None):
        """Where each query reads from, for inspecting short samples (it is O(T^2)).

        `x [B, T, D]` -> `[B, Hq, T(query), T(key)]`: the gated sum of the three
        branches' weights, a chunk summary's weight spread evenly over its tokens
        (the value projections left out). Runs the layer's own branches on values
        that are one-hot position vectors, so it shows exactly what `call` mixes.
        """
        batch, length = ops.shape(x)[0], ops.shape(x)[1]
        valid = ops.ones((batch, length), "bool") if padding_mask is None else ops.cast(padding_mask, "bool")
        positions = ops.broadcast_to(ops.arange(length)[None, :], (batch, length))
        q, k, _, q_rotated, k_rotated = self._project(x, positions)
        one_hot = ops.broadcast_to(ops.eye(length, dtype=x.dtype)[None, :, None, :],
                                   (batch, length, self.num_key_value_heads, length))
        weights = self._attend(x, q, k, one_hot, q_rotated, k_rotated, valid, project_chunk_values=False)
        return ops.transpose(ops.reshape(weights, (batch, length, self.num_query_heads, length)), (0, 2, 1, 3))

    def _attend(self, x, q, k, v, q_rotated, k_rotated, valid, project_chunk_values=True):
        """The three branches over a whole sequence -> `[B, T, Hq * e]` (before the output
        projection) for values `v [B, T, Hkv, e]`."""
        batch, length = ops.shape(x)[0], ops.shape(x)[1]
        heads, kv_heads, dim = self.num_query_heads, self.num_key_value_heads, self.head_dim
        groups = heads // kv_heads
        block, chunk = self.selection_block_size, self.chunk_size
        static_length = x.shape[1]
        window = self.window_size if static_length is None else max(1, min(self.window_size, static_length))
        # The local branch runs in blocks of about the window (at most 64), a whole number of
        # selection blocks: small selection blocks do not multiply its key gathers.
        local_block = block * ceil_div(min(window, 64), block)
        sub_blocks = local_block // block

        # Static lengths above `query_tokens_per_step` are processed in groups of local blocks.
        in_steps = self.query_tokens_per_step is not None and static_length is not None and (
            static_length > self.query_tokens_per_step)
        blocks_per_step = max(1, (self.query_tokens_per_step or local_block) // local_block)
        multiple = math.lcm(local_block, chunk or 1, blocks_per_step * local_block if in_steps else 1)

        # Pad T to a multiple of the block and chunk sizes; padding is never a valid key.
        extra = (-length) % multiple

        def pad(t):
            return ops.pad(t, [(0, 0), (0, extra)] + [(0, 0)] * (len(t.shape) - 2))

        q, k, v, q_rotated, k_rotated, valid = map(pad, (q, k, v, q_rotated, k_rotated, valid))
        padded_length = length + extra
        num_blocks = padded_length // local_block

        def blocked(t):  # [B, T_pad, ...] -> [B, nb, b_local, ...]
            return ops.reshape(t, (batch, num_blocks, local_block) + tuple(t.shape[2:]))

        def merged(t):  # [B, n * sub_blocks, b, ...] -> [B, n, b_local, ...]
            return ops.reshape(t, (batch, -1, local_block) + tuple(t.shape[3:]))

        def grouped(t):  # [B, T_pad, Hq, d] -> [B, nb, b_local, Hkv, G, d]
            return blocked(ops.reshape(t, (batch, padded_length, kv_heads, groups, dim)))

        q_blocks, q_rotated_blocks = grouped(q), grouped(q_rotated)
        span = self._span()
        if chunk:
            k_mean, v_mean, counts = summarize_chunks(k, v, valid, chunk)
            k_chunks = self.chunk_key_dense(k_mean)
            v_chunks = self.chunk_value_dense(v_mean) if project_chunk_values else v_mean
            num_levels = self._num_levels(static_length)
            level_k, level_v, level_counts = coarse_levels(
                k_chunks, v_chunks, counts, num_levels, self._level_size())
        gates = self._gates(x)
        if gates is not None:
            gate_blocks = blocked(pad(gates))

        def attend(block_ids):  # local block ids [n] -> [B, n, b_local, Hkv, G, e]
            def take(t):
                return ops.take(t, block_ids, axis=1)

            outputs = [local_attention(take(q_rotated_blocks), k_rotated, v, valid, block_ids,
                                       window, local_block, span, float(self.span_ramp))]
            if chunk:
                # Coarse level and selection are per selection block.
                selection_ids = ops.reshape(block_ids[:, None] * sub_blocks + ops.arange(sub_blocks), (-1,))
                q_selection = ops.reshape(take(q_blocks), (batch, -1, block, kv_heads, groups, dim))
                query_index = selection_ids[:, None] * block + ops.arange(block)[None, :]
                levels = block_level(selection_ids * block, chunk, self.max_coarse_chunks, num_levels)
                outputs.append(merged(coarse_attention(q_selection, level_k, level_v, level_counts, levels,
                                                       query_index, chunk)))
            if self.num_selected_chunks:
                indices, picked = select_chunks(q_selection[:, :, 0], k_chunks, counts, selection_ids * block,
                                                chunk, self.num_selected_chunks)
                outputs.append(merged(selected_attention(q_selection, k, v, valid, indices, picked, chunk)))
            return _mix(outputs, None if gates is None else take(gate_blocks))

        block_ids = ops.arange(num_blocks, dtype="int32")
        if in_steps:
            steps = ops.map(attend, ops.reshape(block_ids, (-1, blocks_per_step)))  # [S, B, n, ...]
            out = ops.moveaxis(steps, 0, 1)
        else:
            out = attend(block_ids)
        return ops.reshape(out, (batch, padded_length, heads * ops.shape(v)[-1]))[:, :length]

    # === Cached decoding ===
    # State per layer: a ring buffer of the last `w` rotated keys and values (the
    # local branch), raw keys and values of every position (to read selected
    # chunks), projected chunk summaries (selection), the coarse levels' running
    # sums, and the current block's selection. A step costs O(w + T/c + n c).

    def prefill(self, x, prefix_length):
        """Runs the first `prefix_length` positions of `x [B, L, D]` (the rest is
        room for generation) -> (`[B, L, D]`, cache for `decode`)."""
        batch, length = ops.shape(x)[0], ops.shape(x)[1]
        kv_heads, dim = self.num_key_value_heads, self.head_dim
        positions = ops.broadcast_to(ops.arange(length)[None, :], (batch, length))
        valid = positions < prefix_length
        q, k, v, q_rotated, k_rotated = self._project(x, positions)
        out = self.output_dense(self._attend(x, q, k, v, q_rotated, k_rotated, valid))

        last = prefix_length - 1
        window = self.window_size
        slot_position = last - (last - ops.arange(window)) % window  # [w]
        slot_position = ops.clip(slot_position, 0, length - 1)
        cache = {"ring_k": ops.take(k_rotated, slot_position, axis=1),
                 "ring_v": ops.take(v, slot_position, axis=1)}
        if not self.chunk_size:
            return out, cache
        chunk = self.chunk_size
        room = ceil_div(length, chunk) * chunk - length  # raw caches hold whole chunks
        keep = ops.cast(valid, k.dtype)[:, :, None, None]
        cache["k"] = ops.pad(k * keep, [(0, 0), (0, room), (0, 0), (0, 0)])
        cache["v"] = ops.pad(v * keep, [(0, 0), (0, room), (0, 0), (0, 0)])
        k_mean, v_mean, counts = summarize_chunks(cache["k"], cache["v"], ops.pad(valid, [(0, 0), (0, room)]), chunk)
        complete = (ops.arange(ops.shape(counts)[1]) + 1) * chunk <= prefix_length
        counts = counts * ops.cast(complete, counts.dtype)[None, :]
        cache["chunk_k"] = self.chunk_key_dense(k_mean) * ops.cast(counts > 0, k.dtype)[:, :, None, None]
        cache["chunk_counts"] = counts
        level_k, level_v, level_counts = coarse_levels(
            k_mean, v_mean, counts, self._num_levels(x.shape[1]), self._level_size())
        sums = ops.cast(level_counts, k.dtype)[..., None, None]
        cache.update(level_k=level_k * sums, level_v=level_v * sums, level_counts=level_counts)
        if self.num_selected_chunks:
            # The current block's selection, made by its first query if that is in the prefix.
            start = (prefix_length // self.selection_block_size) * self.selection_block_size
            first_query = ops.take(q, ops.minimum(start, length - 1), axis=1)
            indices, picked = select_chunks(
                ops.reshape(first_query, (batch, 1, kv_heads, -1, dim)), cache["chunk_k"], counts,
                ops.reshape(start, (1,)), chunk, self.num_selected_chunks)
            cache["selected"] = indices[:, 0]
            cache["picked"] = picked[:, 0] & (start < prefix_length)
        return out, cache

    def decode(self, x, cache, index):
        """One token `x [B, 1, D]` at position `index` -> (`[B, 1, D]`, updated cache)."""
        batch = ops.shape(x)[0]
        kv_heads, dim = self.num_key_value_heads, self.head_dim
        groups = self.num_query_heads // kv_heads
        index = ops.cast(index, "int32")
        q, k, v, q_rotated, k_rotated = self._project(x, ops.broadcast_to(ops.reshape(index, (1, 1)), (batch, 1)))
        q, q_rotated = (ops.reshape(t, (batch, kv_heads, groups, dim)) for t in (q, q_rotated))
        cache = dict(cache)

        window = ops.shape(cache["ring_k"])[1]
        slot = (ops.arange(window) == index % window)[None, :, None, None]
        cache["ring_k"] = ops.where(slot, k_rotated, cache["ring_k"])
        cache["ring_v"] = ops.where(slot, v, cache["ring_v"])
        outputs = [local_attention_step(q_rotated, cache["ring_k"], cache["ring_v"], index,
                                        self._span(), float(self.span_ramp))]
        if self.chunk_size:
            chunk, block = self.chunk_size, self.selection_block_size
            cache = self._record(cache, k[:, 0], v[:, 0], index)
            block_start = index - index % block
            num_levels = ops.shape(cache["level_counts"])[1]
            level = block_level(ops.reshape(block_start, (1,)), chunk, self.max_coarse_chunks, num_levels)[0]
            level_counts = ops.take(cache["level_counts"], level, axis=1)  # [B, S]
            mean = ops.maximum(level_counts, 1.0)[:, :, None, None]

            def summaries(sums, dense):
                return dense(ops.take(sums, level, axis=1) / mean)

            outputs.append(coarse_attention_step(
                q, summaries(cache["level_k"], self.chunk_key_dense),
                summaries(cache["level_v"], self.chunk_value_dense), level_counts, level, index, chunk))
            if self.num_selected_chunks:
                # A new block selects its chunks with its first query, this one.
                def select():
                    indices, picked = select_chunks(
                        q[:, None], cache["chunk_k"], cache["chunk_counts"], ops.reshape(index, (1,)),
                        chunk, self.num_selected_chunks)
                    return indices[:, 0], picked[:, 0]

                cache["selected"], cache["picked"] = ops.cond(
                    index % block == 0, select, lambda: (cache["selected"], cache["picked"]))
                outputs.append(selected_attention_step(q, cache["k"], cache["v"], cache["selected"],
                                                       cache["picked"], chunk))
        gates = self._gates(x)
        out = _mix(outputs, None if gates is None else gates[:, 0])
        return self.output_dense(ops.reshape(out, (batch, 1, -1))), cache

    def _record(self, cache, k, v, index):
        """Writes raw `k, v [B, Hkv, d]` at `index`; a chunk that ends there gets its
        summary and joins every coarse level's running sums."""
        cache = dict(cache)
        batch, chunk = ops.shape(k)[0], self.chunk_size

        def rows(position):  # scatter indices of (every batch row, position)
            return ops.stack([ops.arange(batch), ops.full((batch,), position, dtype="int32")], axis=1)

        cache["k"] = ops.scatter_update(cache["k"], rows(index), k)
        cache["v"] = ops.scatter_update(cache["v"], rows(index), v)

        chunk_index = index // chunk
        completes = ops.cast((index + 1) % chunk == 0, k.dtype)
        start, size = (0, chunk_index * chunk, 0, 0), (batch, chunk) + tuple(k.shape[1:])
        k_sum = ops.sum(ops.slice(cache["k"], start, size), axis=1) * completes  # [B, Hkv, d]
        v_sum = ops.sum(ops.slice(cache["v"], start, size), axis=1) * completes
        summary = ops.where(completes > 0, self.chunk_key_dense(k_sum / chunk),
                            ops.take(cache["chunk_k"], chunk_index, axis=1))
        cache["chunk_k"] = ops.scatter_update(cache["chunk_k"], rows(chunk_index), summary)
        count = ops.take(cache["chunk_counts"], chunk_index, axis=1) + completes * chunk
        cache["chunk_counts"] = ops.scatter_update(cache["chunk_counts"], rows(chunk_index), count)

        num_levels, level_size = ops.shape(cache["level_counts"])[1:3]
        entry = chunk_index // 2 ** ops.arange(num_levels)  # the chunk's entry at each level
        joins = ops.cast(ops.arange(level_size)[None, :] == entry[:, None], k.dtype) * completes  # [Lv, S]
        cache["level_k"] = cache["level_k"] + joins[None, :, :, None, None] * k_sum[:, None, None]
        cache["level_v"] = cache["level_v"] + joins[None, :, :, None, None] * v_sum[:, None, None]
        cache["level_counts"] = cache["level_counts"] + joins[None] * chunk
        return cache

    def _level_size(self):
        """Summaries kept per coarse level: a block's past at its level, plus the block."""
        return self.max_coarse_chunks + ceil_div(self.selection_block_size, self.chunk_size)

    def _num_levels(self, length):
        """Coarse levels a sequence of `length` tokens needs (a fixed cap when unknown)."""
        if length is None:
            return _MAX_LEVELS
        span = ceil_div(length, self.max_coarse_chunks * self.chunk_size)
        return max(1, (span - 1).bit_length() + 1)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_query_heads": self.num_query_heads,
                "num_key_value_heads": self.num_key_value_heads,
                "window_size": self.window_size,
                "adaptive_span": self.adaptive_span,
                "span_ramp": self.span_ramp,
                "span_loss": self.span_loss,
                "chunk_size": self.chunk_size,
                "num_selected_chunks": self.num_selected_chunks,
                "selection_block_size": self.selection_block_size,
                "max_coarse_chunks": self.max_coarse_chunks,
                "query_tokens_per_step": self.query_tokens_per_step,
                "far_positions": self.far_positions,
                "rope_max_wavelength": self.rope_max_wavelength,
                "rope_scaling": self.rope_scaling,
                "rope_scaling_factor": self.rope_scaling_factor,
                "rope_original_length": self.rope_original_length,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            }
        )
        return config

    def compute_output_shape(self, input_shape):
        return input_shape


def _mix(outputs, gates):
    """Gated sum of branch outputs `[..., Hkv, G, d]` with gates `[..., Hkv, G, branches]`."""
    if gates is None:
        return outputs[0]
    return sum(out * gates[..., i : i + 1] for i, out in enumerate(outputs))


def _check_positive(**values):
    for name, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"`{name}` must be a positive integer, got {value!r}.")
