import keras
import numpy as np
import pytest

import llama_keras as lk
from tests.fixtures import tokenizer_proto
from tests.helpers import assert_close
from tests.helpers import endless_batches

PAIRS = [("The sky is blue.", "El cielo es azul."), ("The grass is green.", "La hierba es verde."),
         ("The sun is yellow.", "El sol es amarillo."), ("Here we go.", "Allá vamos.")]


def tiny_translator(sequence_length=32, **kwargs):
    tokenizer = lk.LLAMATokenizer(proto=tokenizer_proto())
    backbone = lk.LLAMABackbone.from_preset("llama_keras_tiny", vocabulary_size=tokenizer.vocabulary_size(),
                                            **kwargs)
    return lk.LLAMASeq2SeqLM(backbone, lk.LLAMASeq2SeqLMPreprocessor(tokenizer, sequence_length))


def test_training_inputs_and_loss_weights_as_built_by_hand():
    translator = tiny_translator(sequence_length=24)
    tokenize = translator.preprocessor.tokenizer
    source, target = PAIRS[0]
    sequence = [1] + list(tokenize(source)) + [2] + list(tokenize(target)) + [2]
    (inputs, labels, weights) = translator.preprocessor({"source": [source], "target": [target]})
    n = len(sequence) - 1
    np.testing.assert_array_equal(inputs["token_ids"][0, :n], sequence[:-1])
    np.testing.assert_array_equal(labels[0, :n], sequence[1:])
    first_target_label = len(tokenize(source)) + 1  # the label after the separator
    expected = np.zeros(24, "int32")
    expected[first_target_label:n] = 1  # target tokens and its closing </s>, nothing from the source
    np.testing.assert_array_equal(weights[0], expected)
    np.testing.assert_array_equal(inputs["padding_mask"][0], (np.arange(24) < n).astype("int32"))


def test_prefix_lm_is_causal():
    """Changing the target from position t on never changes the logits before t."""
    translator = tiny_translator(max_coarse_chunks=2)
    ids = np.random.RandomState(0).randint(3, translator.backbone.vocabulary_size, (1, 40)).astype("int32")
    changed = ids.copy()
    changed[0, 25:] = np.random.RandomState(1).randint(3, translator.backbone.vocabulary_size, 15)
    mask = np.ones_like(ids)
    before = np.asarray(translator({"token_ids": ids, "padding_mask": mask}))
    after = np.asarray(translator({"token_ids": changed, "padding_mask": mask}))
    assert_close(after[0, :25], before[0, :25], atol=1e-6)
    assert np.abs(after[0, 25:] - before[0, 25:]).max() > 1e-3


def test_learns_to_translate_the_pairs_and_generate_returns_only_the_target():
    translator = tiny_translator()
    translator.compile(optimizer=keras.optimizers.Adam(1e-2), sampler="greedy")
    sources, targets = (list(column) for column in zip(*PAIRS))
    batches, steps = endless_batches({"source": sources, "target": targets}, batch_size=4)
    history = translator.fit(batches, steps_per_epoch=steps, epochs=60, verbose=0)
    assert history.history["loss"][-1] < 0.1 * history.history["loss"][0]
    assert translator.generate(sources, max_length=32) == targets
    assert translator.generate(sources[0], max_length=32) == targets[0]
    assert isinstance(translator.generate([""], max_length=32)[0], str)  # empty source: defined output


def test_config_save_load_and_bad_input(tmp_path):
    translator = tiny_translator()
    translator.compile(sampler="greedy")
    path = str(tmp_path / "translator.keras")
    translator.save(path)
    restored = keras.saving.load_model(path)
    assert isinstance(restored, lk.LLAMASeq2SeqLM) and restored.preprocessor.sequence_length == 32
    restored.compile(sampler="greedy")
    assert restored.generate(["The sky"], max_length=20) == translator.generate(["The sky"], max_length=20)
    with pytest.raises(ValueError, match="source"):
        translator.fit({"text": ["a"]}, verbose=0)
    with pytest.raises(ValueError, match="sequence_length"):
        lk.LLAMASeq2SeqLMPreprocessor(translator.preprocessor.tokenizer, None)
    with pytest.raises(ValueError, match="prompts as text"):
        translator.generate([3, 4])
