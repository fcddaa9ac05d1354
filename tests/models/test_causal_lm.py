import keras
import numpy as np
import pytest

from tests.fixtures import SENTENCES
from tests.fixtures import tiny_causal_lm
from tests.helpers import assert_close
from tests.helpers import endless_batches

# Tiny preset: window 16, chunks of 8, blocks of 8; max_coarse_chunks=2 makes the
# coarse level change at 16, 32, 64 tokens.
BOUNDARY_CROSSING = dict(max_coarse_chunks=2, adaptive_span=True)


def random_ids(lm, batch, length, seed=0):
    vocabulary = lm.backbone.vocabulary_size
    return np.random.RandomState(seed).randint(3, vocabulary, (batch, length)).astype("int32")


@pytest.mark.parametrize("prefix", [1, 9, 30])
def test_cached_logits_equal_the_full_forward_pass_at_every_step(prefix):
    lm = tiny_causal_lm(**BOUNDARY_CROSSING)
    for block in lm.backbone.transformer_layers:  # spans inside the window
        block.attention.span_fraction.assign(np.linspace(0.4, 1.0, 4).astype("float32"))
    ids = random_ids(lm, 2, 80)
    full = np.asarray(lm({"token_ids": ids, "padding_mask": np.ones_like(ids)}))
    _, cache = lm._build_cache(ids, prefix)
    for t in range(prefix, 80):
        logits, _, cache = lm.call_with_cache(ids[:, t : t + 1], cache, t)
        assert_close(np.asarray(logits)[:, 0], full[:, t], atol=2e-5)


def naive_greedy(lm, ids, lengths, max_length):
    """Greedy decoding by a full forward pass per token, no cache."""
    ids = ids.copy()
    for t in range(min(lengths), max_length):
        logits = np.asarray(lm({"token_ids": ids, "padding_mask": np.ones_like(ids)}))
        for row, length in enumerate(lengths):
            if t >= length:
                ids[row, t] = np.argmax(logits[row, t - 1])
    return ids


def test_greedy_generate_equals_a_naive_argmax_loop_with_ragged_prompts():
    lm = tiny_causal_lm(**BOUNDARY_CROSSING)
    lm.preprocessor = None
    lm.compile(sampler="greedy")
    lengths = [5, 23]
    ids = random_ids(lm, 2, 70)
    mask = np.zeros_like(ids)
    for row, length in enumerate(lengths):
        ids[row, length:] = 0
        mask[row, :length] = 1
    generated = lm.generate({"token_ids": ids, "padding_mask": mask}, stop_token_ids=None)
    np.testing.assert_array_equal(np.asarray(generated["token_ids"]), naive_greedy(lm, ids, lengths, 70))


@pytest.mark.parametrize("sampler", ["greedy", "top_k", "top_p", "beam"])
def test_generate_strings_with_keras_hub_samplers_beyond_the_training_length(sampler):
    lm = tiny_causal_lm(sequence_length=16)
    lm.compile(sampler=sampler)
    long_prompt = " ".join(SENTENCES)
    prompt_tokens = len(lm.preprocessor.tokenizer(long_prompt))
    assert prompt_tokens > 6 * 16
    outputs = lm.generate([long_prompt, "The sky"], max_length=prompt_tokens + 20)
    assert len(outputs) == 2
    assert outputs[0].startswith(long_prompt) and outputs[1].startswith("The sky")


def test_fit_on_raw_strings_lowers_the_loss():
    lm = tiny_causal_lm()
    lm.compile(optimizer=keras.optimizers.Adam(1e-2), sampler="greedy")
    batches, steps = endless_batches(SENTENCES * 8, batch_size=8)
    history = lm.fit(batches, steps_per_epoch=steps, epochs=25, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    # After fitting, the model continues a memorised sentence.
    assert "The sky is blue" in lm.generate(["The grass is green. The sky"], max_length=24)[0]


@pytest.mark.parametrize("prompt", ["", "   ", "\n\t", b"\xff\xfe invalid utf-8"])
def test_empty_whitespace_and_invalid_utf8_prompts_give_a_defined_output(prompt):
    lm = tiny_causal_lm()
    lm.compile(sampler="greedy")
    output = lm.generate([prompt], max_length=12)
    assert isinstance(output[0], str)


def test_max_length_shorter_than_the_prompt_returns_the_truncated_prompt():
    lm = tiny_causal_lm()
    lm.compile(sampler="greedy")
    prompt = SENTENCES[0]
    output = lm.generate([prompt], max_length=6)
    assert prompt.startswith(output[0])


def test_save_and_load_the_causal_lm(tmp_path):
    lm = tiny_causal_lm()
    path = str(tmp_path / "lm.keras")
    lm.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    ids = random_ids(lm, 1, 20)
    inputs = {"token_ids": ids, "padding_mask": np.ones_like(ids)}
    assert_close(restored(inputs), lm(inputs), atol=1e-6)
    lm.compile(sampler="greedy")
    restored.compile(sampler="greedy")
    assert restored.generate(["The sky"], max_length=12) == lm.generate(["The sky"], max_length=12)
