import keras
import numpy as np
import pytest

from llama_keras import LLAMAModel
from tests.helpers import assert_close
from tests.helpers import check_save_and_load

SMALL = dict(vocab_size=20, embedding_dim=32, num_heads=4, dff=48, input_length=24,
             window_size=8, chunk_size=4, num_selected_chunks=2, selection_block_size=4)


def copy_task(batch=64, length=24, seed=0):
    """Next-token prediction on sequences that repeat their first half: the second
    half is predictable only by attending 12 tokens back."""
    rng = np.random.RandomState(seed)
    half = rng.randint(1, 20, (batch, length // 2))
    tokens = np.concatenate([half, half], axis=1).astype("int32")
    return tokens[:, :-1], tokens[:, 1:]


def test_seed_api_learns_to_copy_from_beyond_its_local_window():
    # Window 8, copy distance 12: only the chunk branches can carry the token.
    model = LLAMAModel(**SMALL)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), jit_compile=True,
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    x, y = copy_task(batch=256)
    history = model.fit(x, y, epochs=15, batch_size=32, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.75 * losses[0]
    logits = model.predict(x[:64], verbose=0)
    assert logits.shape == (64, 23, 20)
    accuracy = np.mean(np.argmax(logits[:, 12:], -1) == y[:64, 12:])
    assert accuracy > 0.5  # chance is 1/19


def test_jit_compiled_training_runs_and_matches_eager_predictions():
    model = LLAMAModel(**SMALL)
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=True)
    x, y = copy_task(batch=8)
    model.fit(x, y, epochs=1, verbose=0)
    assert_close(model.predict(x, verbose=0), model(x), atol=1e-4)


def test_inputs_longer_than_input_length_run():
    model = LLAMAModel(**SMALL)
    tokens = np.random.RandomState(0).randint(0, 20, (1, 10 * SMALL["input_length"]))
    logits = model.predict(tokens, verbose=0)
    assert logits.shape == (1, 240, 20) and np.isfinite(logits).all()


def test_save_and_load_with_safe_mode(tmp_path):
    model = LLAMAModel(**SMALL, adaptive_span=True, pad_token_id=0)
    x, _ = copy_task(batch=3)
    restored = check_save_and_load(model, x, tmp_path)
    assert restored.get_config() == model.get_config()


def test_padding_tokens_are_never_attended_to():
    model = LLAMAModel(**SMALL, pad_token_id=0)
    x, _ = copy_task(batch=2)
    padded = np.concatenate([x, np.zeros((2, 7), "int32")], axis=1)
    # Right padding: real positions are unaffected by what follows (causality),
    # and a different pad content would be the same padding.
    assert_close(model(padded)[:, :23], model(x), atol=1e-5)


def test_bad_input_gets_a_clear_error():
    model = LLAMAModel(**SMALL)
    with pytest.raises(ValueError, match="integers"):
        model(np.zeros((2, 5), "float32"))
    with pytest.raises(ValueError, match=r"\[batch, length\]"):
        model(np.zeros((5,), "int32"))
    with pytest.raises(ValueError, match="input_length"):
        LLAMAModel(**{**SMALL, "input_length": 0})
    with pytest.raises(ValueError, match="num_key_value_heads"):
        LLAMAModel(**SMALL, num_key_value_heads=3)
