"""Mixed precision: bf16 training tracks float32; softmax, norms and the loss stay float32."""

import contextlib

import keras
import numpy as np
import pytest

import llama_keras as lk


@contextlib.contextmanager
def dtype_policy(name):
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def data():
    ids = np.random.default_rng(0).integers(3, 64, size=(16, 33)).astype("int32")
    ids[:, 1::2] = ids[:, ::2][:, :16]  # learnable: every second token repeats an earlier one
    mask = np.ones_like(ids)
    mask[::4, 20:] = 0
    return lk.data.language_model_dataset(ids, mask, 8, shuffle=False)


def train(policy):
    with dtype_policy(policy):
        keras.utils.set_random_seed(0)
        lm = lk.LLAMACausalLM(lk.LLAMABackbone.from_preset("llama_keras_tiny", vocabulary_size=64))
        lm.compile(optimizer=keras.optimizers.Adam(3e-3), jit_compile=True)
        history = lm.fit(data(), epochs=6, verbose=0).history["loss"]
        return lm, history


def test_bf16_loss_tracks_float32():
    _, float32_losses = train("float32")
    lm, bf16_losses = train("mixed_bfloat16")
    assert float32_losses[-1] < 0.9 * float32_losses[0]  # it learns, so "tracks" means something
    # bf16 keeps 8 bits of mantissa: per-epoch losses agree within 2%.
    np.testing.assert_allclose(bf16_losses, float32_losses, rtol=0.02)
    assert all(w.dtype == "float32" for w in lm.weights)

    inputs = next(iter(data()))[0]
    logits = lm(inputs)  # the tied LM head multiplies by the float32 embeddings: float32 logits
    assert logits.dtype == "float32" and np.isfinite(keras.ops.convert_to_numpy(logits)).all()
    loss = lm.compute_loss(x=inputs, y=next(iter(data()))[1], y_pred=logits)
    assert loss.dtype == "float32"


def test_softmax_and_norms_compute_in_float32():
    with dtype_policy("mixed_bfloat16"):
        scores = keras.ops.cast(keras.random.normal((2, 3, 5)) * 100, "bfloat16")
        probs = lk.layers.utils.masked_softmax(scores, keras.ops.ones((2, 3, 5), "bool"))
        assert probs.dtype == "float32"
        np.testing.assert_allclose(keras.ops.convert_to_numpy(keras.ops.sum(probs, -1)), 1.0, rtol=1e-6)

        block = lk.layers.LLAMADecoderBlock(intermediate_dim=32, num_query_heads=2, num_key_value_heads=1)
        x = np.random.default_rng(0).normal(size=(1, 4, 4096)).astype("float32") + 3.0
        x_bf16 = keras.ops.cast(x, "bfloat16")
        block(x_bf16[:, :, :16], padding_mask=keras.ops.ones((1, 4), "int32"))
        norm = keras.layers.RMSNormalization(epsilon=1e-6)  # the layer the block uses
        out = keras.ops.convert_to_numpy(keras.ops.cast(norm(x_bf16), "float32"))
    assert block.attention_norm.scale.dtype == "float32"
    # Reference: float32 RMS norm of the same bf16 inputs; only the output's bf16 rounding remains.
    exact = keras.ops.convert_to_numpy(keras.ops.cast(x_bf16, "float32"))
    exact = exact / np.sqrt(np.mean(exact**2, axis=-1, keepdims=True) + 1e-6)
    assert np.max(np.abs(out - exact) / np.abs(exact)) <= 2**-8


@pytest.mark.parametrize("policy", ["mixed_float16"])
def test_float16_gets_loss_scaling(policy):
    with dtype_policy(policy):
        lm = lk.LLAMACausalLM(lk.LLAMABackbone.from_preset("llama_keras_tiny", vocabulary_size=64))
        lm.compile(optimizer="adam", jit_compile=False)
        assert isinstance(lm.optimizer, keras.optimizers.LossScaleOptimizer)
        losses = lm.fit(data(), epochs=1, verbose=0).history["loss"]
    assert np.isfinite(losses).all()
