import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from llama_keras.layers import HierarchicalAttention
from llama_keras.layers.chunk_attention import select_chunks
from tests import reference
from tests.helpers import assert_close
from tests.helpers import check_config_round_trip
from tests.helpers import check_jit_equals_eager

HIDDEN = 32


def make_layer(x, randomise_gates=True, **kwargs):
    config = dict(num_query_heads=4, num_key_value_heads=2, window_size=16, chunk_size=8,
                  num_selected_chunks=2, selection_block_size=8)
    config.update(kwargs)
    layer = HierarchicalAttention(**config)
    layer(x)
    rng = np.random.RandomState(1)
    if randomise_gates and len(layer.branches) > 1:
        layer.gate_dense.set_weights([rng.randn(*w.shape).astype("float32") for w in layer.gate_dense.get_weights()])
    if layer.chunk_size:  # move the learned pooling away from identity
        for dense in (layer.chunk_key_dense, layer.chunk_value_dense):
            dense.set_weights([np.eye(layer.head_dim, dtype="float32") + 0.1 * rng.randn(layer.head_dim, layer.head_dim).astype("float32")])
    return layer


def inputs(batch=2, length=37, seed=0, pad_last=5):
    rng = np.random.RandomState(seed)
    x = rng.randn(batch, length, HIDDEN).astype("float32")
    mask = np.ones((batch, length), "int32")
    if pad_last:
        mask[-1, length - pad_last :] = 0
    return x, mask


def test_local_only_with_full_window_equals_plain_causal_gqa_with_rope():
    x, _ = inputs(pad_last=0)
    layer = make_layer(x, window_size=64, chunk_size=None)
    assert layer.branches == ["local"]
    assert_close(layer(x), reference.hierarchical_attention(layer, x))


@pytest.mark.parametrize("length,block", [(37, 8), (50, 16), (9, 4)])
def test_local_band_mask_with_padding_when_length_is_not_a_multiple_of_the_block(length, block):
    x, mask = inputs(length=length, pad_last=4)
    layer = make_layer(x, window_size=11, chunk_size=None, selection_block_size=block)
    assert_close(layer(x, padding_mask=mask), reference.hierarchical_attention(layer, x, mask))


def test_adaptive_span_applies_the_soft_ramp_and_adds_its_loss():
    x, mask = inputs()
    layer = make_layer(x, window_size=12, chunk_size=None, adaptive_span=True, span_ramp=4, span_loss=0.01)
    layer.span_fraction.assign(np.array([1.0, 0.5, 0.2, 0.0], "float32"))
    out = layer(x, padding_mask=mask)
    assert_close(out, reference.hierarchical_attention(layer, x, mask))
    np.testing.assert_allclose(float(layer.losses[-1]), 0.01 * 12 * np.mean([1.0, 0.5, 0.2, 0.0]), rtol=1e-5)


def test_full_selection_equals_attention_over_all_complete_chunks():
    # num_selected_chunks * chunk_size >= T: every complete chunk is selected.
    x, mask = inputs(length=45)
    layer = make_layer(x, num_selected_chunks=8, chunk_size=6, selection_block_size=4, window_size=5)
    assert layer.branches == ["local", "coarse", "selected"]
    assert_close(layer(x, padding_mask=mask), reference.hierarchical_attention(layer, x, mask))


@pytest.mark.parametrize("far_positions", ["rope", "grouped"])
def test_far_positions_rotate_the_coarse_and_selected_branches_as_the_reference(far_positions):
    # Full selection (exact), chunks of chunks from 12 tokens on, padding, positions offset by 1000.
    x, mask = inputs(length=45)
    layer = make_layer(x, num_selected_chunks=8, chunk_size=6, selection_block_size=4, window_size=5,
                       max_coarse_chunks=2, far_positions=far_positions)
    positions = np.broadcast_to(1000 + np.arange(45), (2, 45))
    expected = reference.hierarchical_attention(layer, x, mask, positions)
    assert_close(layer(x, padding_mask=mask, positions=positions), expected)
    # The rotation matters: the content-only reference differs.
    layer.far_positions = "none"
    assert np.abs(reference.hierarchical_attention(layer, x, mask, positions) - expected).max() > 1e-3


@pytest.mark.parametrize("kwargs", [dict(window_size=64, chunk_size=None, adaptive_span=False),
                                    dict(num_selected_chunks=8, chunk_size=6, selection_block_size=4, window_size=5,
                                         max_coarse_chunks=2)])
def test_attention_map_shows_the_weights_each_branch_mixes(kwargs):
    x, mask = inputs(length=45)
    layer = make_layer(x, **kwargs)
    maps = np.asarray(layer.attention_map(x, padding_mask=mask))  # [B, Hq, T, T]
    one_hot = np.broadcast_to(np.eye(45)[None, :, None, :], (2, 45, layer.num_key_value_heads, 45))
    expected = reference.hierarchical_attention(layer, x, mask, values=one_hot)  # [B, T, Hq, T]
    assert_close(maps, np.transpose(expected, (0, 2, 1, 3)))
    assert np.all(np.triu(maps, k=1) == 0) and np.all(maps[-1, :, :, -5:] == 0)  # causal, padding unread
    if layer.branches == ["local"]:  # one branch, no gate: each row is a distribution
        np.testing.assert_allclose(maps[0].sum(-1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("length", [70, 200])
def test_coarse_level_uses_chunks_of_chunks_far_into_the_input(length):
    # max 2 summaries of 8 tokens: blocks from 16 on see chunks of 16, from 32
    # on chunks of 32, ... (levels 0..4 at 200 tokens).
    x, mask = inputs(length=length)
    layer = make_layer(x, num_selected_chunks=0, max_coarse_chunks=2)
    assert_close(layer(x, padding_mask=mask), reference.hierarchical_attention(layer, x, mask))


def test_processing_in_steps_equals_processing_at_once():
    x, mask = inputs(length=100)
    layer = make_layer(x)
    stepped = HierarchicalAttention.from_config({**layer.get_config(), "query_tokens_per_step": 16})
    stepped(x)
    stepped.set_weights(layer.get_weights())
    assert_close(stepped(x, padding_mask=mask), layer(x, padding_mask=mask))


@pytest.mark.parametrize("kwargs", [
    dict(chunk_size=None),
    dict(num_selected_chunks=0),
    dict(num_selected_chunks=1, adaptive_span=True),
    dict(num_selected_chunks=2, max_coarse_chunks=2, query_tokens_per_step=16),
])
def test_causality_perturbing_the_future_never_changes_the_past(kwargs):
    x, mask = inputs(length=60)
    layer = make_layer(x, **kwargs)
    base = np.asarray(layer(x, padding_mask=mask))
    for t in (0, 7, 8, 30, 58):
        changed = x.copy()
        changed[:, t + 1 :] += np.random.RandomState(t).randn(*changed[:, t + 1 :].shape) * 3
        out = np.asarray(layer(changed, padding_mask=mask))
        assert_close(out[:, : t + 1], base[:, : t + 1], atol=1e-5)
        assert not np.allclose(out[:, t + 1 :], base[:, t + 1 :])


@pytest.mark.parametrize("block", [1, 8])
def test_partial_selection_attends_to_the_reference_top_chunks(block):
    # 2 of up to 30 chunks per block (or per query), with padding.
    x, mask = inputs(length=120, pad_last=7)
    layer = make_layer(x, window_size=6, chunk_size=4, num_selected_chunks=2, selection_block_size=block,
                       max_coarse_chunks=2)
    assert_close(layer(x, padding_mask=mask), reference.hierarchical_attention(layer, x, mask))


def test_selection_picks_the_chunk_that_the_query_matches():
    # Chunk 1 holds a key that every query matches strongly: each block that can
    # see it must pick it, and nothing that is not complete before the block.
    rng = np.random.RandomState(0)
    k_chunks = rng.randn(1, 8, 1, 8).astype("float32") * 0.1
    q_first = np.ones((1, 8, 1, 2, 8), "float32")
    k_chunks[0, 1, 0] = 5.0
    counts = np.full((1, 8), 4.0, "float32")
    indices, picked = select_chunks(q_first, k_chunks, counts, np.arange(8) * 4, 4, 2)
    indices, picked = np.asarray(indices)[0, :, 0], np.asarray(picked)[0, :, 0]
    # Block 0 sees no complete chunk, block 1 only chunk 0, block 2 chunks {0, 1}.
    assert not picked[0].any()
    assert list(indices[1][picked[1]]) == [0]
    assert sorted(indices[2][picked[2]]) == [0, 1]
    for block in range(3, 8):  # chunk 1 always among the two picks, all picks eligible
        chosen = indices[block][picked[block]]
        assert 1 in chosen and len(chosen) == 2 and all((c + 1) * 4 <= block * 4 for c in chosen)


@settings(max_examples=16)
@given(
    length=st.integers(1, 70), window=st.integers(1, 40), chunk=st.sampled_from([2, 4, 6, 8]),
    block=st.sampled_from([2, 4, 8, 16]), kv_heads=st.sampled_from([1, 2, 4]), padded=st.integers(0, 5),
    most=st.sampled_from([1, 3, 1000]),
)
def test_randomised_shapes_match_the_naive_reference(length, window, chunk, block, kv_heads, padded, most):
    x, mask = inputs(batch=2, length=length, pad_last=min(padded, length - 1))
    selected = -(-length // chunk)  # enough chunks to select all: exact reference
    layer = make_layer(x, num_key_value_heads=kv_heads, window_size=window, chunk_size=chunk,
                       num_selected_chunks=selected, selection_block_size=block, max_coarse_chunks=most)
    assert_close(layer(x, padding_mask=mask), reference.hierarchical_attention(layer, x, mask))


def test_jit_compile_equals_eager_and_config_round_trips():
    x, mask = inputs(length=40)
    layer = make_layer(x, adaptive_span=True)
    check_jit_equals_eager(layer, x, padding_mask=mask)
    check_config_round_trip(layer, x, padding_mask=mask)


def test_single_token_and_all_padding_rows_give_finite_outputs():
    x, _ = inputs(length=1, pad_last=0)
    layer = make_layer(x)
    assert_close(layer(x), reference.hierarchical_attention(layer, x))
    x, mask = inputs(length=20, pad_last=0)
    mask[0] = 0
    out = np.asarray(layer(x, padding_mask=mask))
    assert np.isfinite(out).all()
    assert_close(out[1], reference.hierarchical_attention(layer, x, mask)[1])


@pytest.mark.parametrize("kwargs,message", [
    (dict(num_query_heads=6, num_key_value_heads=4), "multiple of `num_key_value_heads`"),
    (dict(num_query_heads=4, num_key_value_heads=2, window_size=0), "window_size"),
    (dict(num_query_heads=4, num_key_value_heads=2, chunk_size=-3), "chunk_size"),
    (dict(num_query_heads=4, num_key_value_heads=2, num_selected_chunks=-1), "num_selected_chunks"),
    (dict(num_query_heads=4, num_key_value_heads=2, far_positions="alibi"), "far_positions"),
])
def test_bad_configuration_raises_a_clear_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        HierarchicalAttention(**kwargs)


def test_bad_input_shape_raises_a_clear_value_error():
    layer = HierarchicalAttention(4, 2)
    with pytest.raises(ValueError, match=r"\[B, T, D\]"):
        layer(np.zeros((3, 32), "float32"))
    with pytest.raises(ValueError, match="multiple of `num_query_heads`"):
        HierarchicalAttention(4, 2)(np.zeros((1, 3, 30), "float32"))


@pytest.mark.parametrize("prefix,block,far_positions", [
    (0, 8, "none"), (1, 8, "none"), (13, 8, "none"), (33, 8, "none"), (13, 1, "none"), (13, 8, "rope"),
    (33, 1, "grouped")])
def test_cached_decoding_equals_the_full_forward_pass_at_every_step(prefix, block, far_positions):
    # Window 10, chunks of 4, selection blocks of 8 (local blocks of 16) or per query,
    # coarse levels change at 24 and 48 (blocks of 8): steps cross window, chunk, block
    # and level boundaries.
    x, _ = inputs(length=70, pad_last=0)
    layer = make_layer(x, window_size=10, chunk_size=4, num_selected_chunks=2, selection_block_size=block,
                       max_coarse_chunks=3, adaptive_span=True, far_positions=far_positions)
    layer.span_fraction.assign(np.array([1.0, 0.5, 0.7, 0.9], "float32"))
    full = np.asarray(layer(x))
    out, cache = layer.prefill(x, prefix)
    assert_close(np.asarray(out)[:, :prefix], full[:, :prefix])
    for t in range(prefix, 70):
        step, cache = layer.decode(x[:, t : t + 1], cache, t)
        assert_close(np.asarray(step)[:, 0], full[:, t])


@settings(max_examples=8)
@given(
    length=st.integers(2, 48), prefix=st.integers(0, 47), window=st.integers(1, 20), chunk=st.sampled_from([2, 3, 4, 8]),
    selected=st.integers(0, 3), block=st.sampled_from([2, 4, 8]), most=st.sampled_from([1, 2, 1000]),
    kv_heads=st.sampled_from([1, 2, 4]),
)
def test_randomised_cached_decoding_equals_the_full_forward_pass(length, prefix, window, chunk, selected, block,
                                                                 most, kv_heads):
    prefix = min(prefix, length - 1)
    x, _ = inputs(length=length, pad_last=0)
    layer = make_layer(x, num_key_value_heads=kv_heads, window_size=window, chunk_size=chunk,
                       num_selected_chunks=selected, selection_block_size=block, max_coarse_chunks=most)
    full = np.asarray(layer(x))
    out, cache = layer.prefill(x, prefix)
    assert_close(np.asarray(out)[:, :prefix], full[:, :prefix])
    for t in range(prefix, length):
        step, cache = layer.decode(x[:, t : t + 1], cache, t)
        assert_close(np.asarray(step)[:, 0], full[:, t])


def test_no_op_materialises_a_length_by_length_tensor():
    length = 512  # every branch on; the padded length is 512 too
    layer = HierarchicalAttention(4, 2, window_size=64, chunk_size=16, num_selected_chunks=2,
                                  selection_block_size=32, max_coarse_chunks=4)
    x = np.zeros((1, length, HIDDEN), "float32")
    layer(x)
    graph = tf.function(layer).get_concrete_function(tf.TensorSpec(x.shape, tf.float32)).graph
    shapes = [output.shape for op in graph.get_operations() for output in op.outputs if output.shape.rank]
    assert shapes  # the walk saw the ops
    for shape in shapes:
        assert sum(1 for dim in shape if dim is not None and dim >= length) <= 1, shape
