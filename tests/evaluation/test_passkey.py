import re

import numpy as np
import pytest

import llama_keras as lk
from llama_keras.evaluation import passkey
from tests.fixtures import tokenizer_proto


@pytest.fixture
def tokenizer():
    return lk.LLAMATokenizer(proto=tokenizer_proto())


@pytest.mark.parametrize("length", [256, 1024, 4096])
@pytest.mark.parametrize("depth", [0.0, 0.3, 1.0])
def test_prompt_has_the_requested_length_and_key_depth(tokenizer, length, depth):
    prompt, before = passkey.passkey_prompt(tokenizer, length, depth, 31337)
    assert prompt.startswith(passkey.INTRO) and prompt.endswith(passkey.QUESTION)
    assert "The pass key is 31337. Remember it. 31337 is the pass key." in prompt
    one_filler = len(tokenizer(passkey.FILLER))
    assert abs(len(tokenizer(prompt)) - length) <= one_filler
    repeats = prompt.count(passkey.FILLER)
    assert before == round(repeats * depth)
    # The key line sits after exactly `before` filler repeats.
    assert prompt[: prompt.index("The pass key is 31337")].count(passkey.FILLER) == before


def test_a_model_that_copies_the_key_scores_100_and_a_random_one_near_0(tokenizer):
    samples = passkey.passkey_samples(tokenizer, 512, 50, seed=0)
    keys = [key for _, key, _ in samples]
    assert np.allclose([d for _, _, d in samples], np.linspace(0, 1, 50))
    assert all(1 <= k <= 50000 for k in keys) and len(set(keys)) > 45
    copied = [" " + re.search(r"The pass key is (\d+)\.", prompt).group(1) + ". Done." for prompt, _, _ in samples]
    assert passkey.passkey_accuracy(copied, keys) == 1.0
    rng = np.random.RandomState(1)
    random = [f" {rng.randint(1, 50001)}" for _ in samples]
    assert passkey.passkey_accuracy(random, keys) <= 0.04
    assert passkey.passkey_accuracy([" no number"] * 50, keys) == 0.0
    with pytest.raises(ValueError, match="depth"):
        passkey.passkey_prompt(tokenizer, 512, 1.5, 1)
