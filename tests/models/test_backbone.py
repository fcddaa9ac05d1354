import keras_hub
import numpy as np
import pytest
import tensorflow as tf

from llama_keras import LLAMABackbone
from llama_keras.models.presets import backbone_presets
from tests.helpers import assert_close

CONFIG = dict(vocabulary_size=50, num_layers=2, num_query_heads=4, num_key_value_heads=2,
              hidden_dim=32, intermediate_dim=48)


def token_inputs(batch=2, length=30, seed=0, pad_last=4):
    rng = np.random.RandomState(seed)
    mask = np.ones((batch, length), "int32")
    mask[-1, length - pad_last :] = 0
    return {"token_ids": rng.randint(0, 50, (batch, length)).astype("int32"), "padding_mask": mask}


def keras_hub_llama_with_our_weights(ours):
    """A keras-hub `LlamaBackbone` of the same shape holding `ours`' weights."""
    theirs = keras_hub.models.LlamaBackbone(**CONFIG, tie_word_embeddings=True)
    heads, kv_heads, hidden = CONFIG["num_query_heads"], CONFIG["num_key_value_heads"], CONFIG["hidden_dim"]
    dim = hidden // heads
    theirs.token_embedding.embeddings.assign(ours.token_embedding.embedding.embeddings)
    for mine, other in zip(ours.transformer_layers, theirs.transformer_layers):
        attention = other._self_attention_layer
        attention._query_dense.kernel.assign(np.reshape(mine.attention.query_dense.kernel.numpy(), (hidden, heads, dim)))
        attention._key_dense.kernel.assign(np.reshape(mine.attention.key_dense.kernel.numpy(), (hidden, kv_heads, dim)))
        attention._value_dense.kernel.assign(np.reshape(mine.attention.value_dense.kernel.numpy(), (hidden, kv_heads, dim)))
        attention._output_dense.kernel.assign(np.reshape(mine.attention.output_dense.kernel.numpy(), (heads, dim, hidden)))
        other._self_attention_layernorm.scale.assign(mine.attention_norm.scale)
        other._feedforward_layernorm.scale.assign(mine.ffn_norm.scale)
        other._feedforward_gate_dense.kernel.assign(mine.ffn_gate.kernel)
        other._feedforward_intermediate_dense.kernel.assign(mine.ffn_up.kernel)
        other._feedforward_output_dense.kernel.assign(mine.ffn_down.kernel)
    theirs.layer_norm.scale.assign(ours.layer_norm.scale)
    return theirs


def randomise(model, seed=0):
    rng = np.random.RandomState(seed)
    for weight in model.weights:
        if "norm" in weight.path:  # RMSNorm scales near 1, not 0
            weight.assign(1 + 0.1 * rng.randn(*weight.shape))


def test_local_only_full_window_equals_keras_hub_llama():
    ours = LLAMABackbone(**CONFIG, window_size=64, chunk_size=None, adaptive_span=False)
    randomise(ours)
    theirs = keras_hub_llama_with_our_weights(ours)
    inputs = token_inputs()
    valid = inputs["padding_mask"].astype(bool)
    assert_close(np.asarray(ours(inputs))[valid], np.asarray(theirs(inputs))[valid], atol=2e-5)


def test_attention_maps_equal_keras_hub_llama_probabilities():
    ours = LLAMABackbone(**CONFIG, window_size=64, chunk_size=None, adaptive_span=False)
    randomise(ours)
    theirs = keras_hub_llama_with_our_weights(ours)
    recorded = []
    for block in theirs.transformer_layers:  # keep each layer's softmax output
        softmax = block._self_attention_layer._masked_softmax
        block._self_attention_layer._masked_softmax = (
            lambda scores, mask=None, softmax=softmax: recorded.append(softmax(scores, mask)) or recorded[-1])
    inputs = token_inputs()
    theirs(inputs)
    maps = ours.attention_maps(inputs["token_ids"], inputs["padding_mask"])
    assert len(maps) == len(recorded) == CONFIG["num_layers"]
    valid = inputs["padding_mask"].astype(bool)
    for mine, other in zip(maps, recorded):  # [B, H, T, T]; compare the rows of real tokens
        mine, other = np.moveaxis(np.asarray(mine), 1, 2)[valid], np.moveaxis(np.asarray(other), 1, 2)[valid]
        assert_close(mine, other, atol=2e-5)


def test_causality_of_the_whole_stack_with_every_branch_on():
    backbone = LLAMABackbone(**CONFIG, window_size=8, chunk_size=4, num_selected_chunks=2,
                             selection_block_size=4, max_coarse_chunks=4)
    inputs = token_inputs(length=40, pad_last=0)
    base = np.asarray(backbone(inputs))
    for t in (3, 16, 30):
        changed = {k: v.copy() for k, v in inputs.items()}
        changed["token_ids"][:, t + 1 :] = (changed["token_ids"][:, t + 1 :] + 7) % 50
        out = np.asarray(backbone(changed))
        assert_close(out[:, : t + 1], base[:, : t + 1], atol=1e-5)
        assert not np.allclose(out[:, t + 1 :], base[:, t + 1 :])


def test_jit_compile_equals_eager_on_the_whole_backbone():
    backbone = LLAMABackbone.from_preset("llama_keras_tiny")
    inputs = token_inputs(length=45)
    compiled = tf.function(backbone, jit_compile=True)
    assert_close(compiled(inputs), backbone(inputs), atol=1e-5)


def test_factorised_embedding_is_tied_and_smaller():
    backbone = LLAMABackbone(**{**CONFIG, "vocabulary_size": 1000}, embedding_dim=8)
    full = LLAMABackbone(**{**CONFIG, "vocabulary_size": 1000})
    assert backbone.token_embedding.embedding.embeddings.shape == (1000, 8)
    assert backbone.count_params() < full.count_params() - 1000 * (32 - 8) + 8 * 32 + 1
    hidden = backbone(token_inputs())
    logits = backbone.token_embedding(hidden, reverse=True)
    table = np.asarray(backbone.token_embedding.embedding.embeddings)
    projection = np.asarray(backbone.token_embedding.projection)
    assert_close(logits, np.asarray(hidden) @ projection.T @ table.T, atol=1e-5)


def test_presets_build_and_save_to_preset_round_trips(tmp_path):
    assert {"llama_keras_tiny", "llama_keras_small", "llama_keras_base", "llama_keras_7b"} <= set(backbone_presets)
    backbone = LLAMABackbone.from_preset("llama_keras_tiny")
    inputs = token_inputs(length=33)
    inputs["token_ids"] %= backbone.vocabulary_size
    expected = np.asarray(backbone(inputs))
    backbone.save_to_preset(str(tmp_path / "preset"))
    restored = LLAMABackbone.from_preset(str(tmp_path / "preset"))
    assert restored.get_config() == backbone.get_config()
    assert_close(restored(inputs), expected, atol=0)
    assert LLAMABackbone.from_preset("llama_keras_tiny", window_size=4).attention_config["window_size"] == 4


def test_far_positions_reach_every_layer_and_round_trip():
    backbone = LLAMABackbone(**CONFIG, far_positions="grouped")
    assert {block.attention.far_positions for block in backbone.transformer_layers} == {"grouped"}
    restored = LLAMABackbone.from_config(backbone.get_config())
    assert {block.attention.far_positions for block in restored.transformer_layers} == {"grouped"}


def test_small_preset_is_a_cpu_demo_size():
    assert 10e6 <= LLAMABackbone.from_preset("llama_keras_small").count_params() <= 30e6


def test_7b_preset_has_llama_2_7b_shapes():
    config = backbone_presets["llama_keras_7b"]["config"]
    assert (config["num_layers"], config["hidden_dim"], config["intermediate_dim"], config["num_query_heads"]) == (
        32, 4096, 11008, 32)


def test_unknown_preset_names_the_known_ones():
    with pytest.raises(ValueError, match="llama_keras_tiny"):
        LLAMABackbone.from_preset("llama_keras_huge")
