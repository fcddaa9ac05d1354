import keras
import numpy as np
import pytest

import llama_keras as lk
from tests.fixtures import tokenizer_proto
from tests.helpers import endless_batches

CONVERSATIONS = [
    [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi there."},
     {"role": "user", "content": "What is green?"}, {"role": "assistant", "content": "The grass is green."}],
    [{"role": "user", "content": "What is blue?"}, {"role": "assistant", "content": "The sky is blue."}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is yellow?"},
     {"role": "assistant", "content": "The sun."}],
]


def tiny_chat_lm(sequence_length=48):
    tokenizer = lk.LLAMATokenizer(proto=tokenizer_proto())
    backbone = lk.LLAMABackbone.from_preset("llama_keras_tiny", vocabulary_size=tokenizer.vocabulary_size())
    preprocessor = lk.LLAMASeq2SeqLMPreprocessor(tokenizer, sequence_length, keep_end_of_first_segment=True)
    return lk.LLAMAChatLM(backbone, preprocessor)


def test_template_and_one_example_per_assistant_turn():
    examples = lk.models.chat_examples(CONVERSATIONS)
    assert examples["source"] == ["User: Hello", "User: Hello\nAssistant: Hi there.\nUser: What is green?",
                                  "User: What is blue?", "System: Be brief.\nUser: What is yellow?"]
    assert examples["target"] == ["Hi there.", "The grass is green.", "The sky is blue.", "The sun."]


def test_long_histories_lose_their_oldest_turns_in_training_and_the_reply_keeps_the_loss():
    chat_lm = tiny_chat_lm(sequence_length=32)
    history = "\n".join(f"User: turn {i}" for i in range(40)) + "\nUser: What is blue?"
    (inputs, labels, weights) = chat_lm.preprocessor({"source": [history], "target": ["The sky is blue."]})
    tokenizer = chat_lm.preprocessor.tokenizer
    kept = tokenizer.detokenize(np.asarray(inputs["token_ids"][0][weights[0] == 0][1:]))
    assert kept.endswith("What is blue?") and "turn 0" not in kept
    reply = tokenizer.detokenize(np.asarray(labels[0][weights[0] == 1][:-1]))
    assert reply == "The sky is blue."


def test_learns_the_replies_and_chats_with_a_history_longer_than_the_training_length():
    chat_lm = tiny_chat_lm()
    chat_lm.compile(optimizer=keras.optimizers.Adam(1e-2), sampler="greedy")
    batches, steps = endless_batches(lk.models.chat_examples(CONVERSATIONS), batch_size=4)
    history = chat_lm.fit(batches, steps_per_epoch=steps, epochs=60, verbose=0)
    assert history.history["loss"][-1] < 0.1 * history.history["loss"][0]
    assert chat_lm.chat(CONVERSATIONS[1][:1]) == "The sky is blue."
    assert chat_lm.chat(CONVERSATIONS[0][:3]) == "The grass is green."
    long_history = [{"role": "user", "content": f"Filler turn {i}."} for i in range(30)] + CONVERSATIONS[1][:1]
    assert len(chat_lm.preprocessor.tokenizer(lk.models.format_history(long_history))) > 4 * 48
    assert isinstance(chat_lm.chat(long_history, max_new_tokens=8), str)


@pytest.mark.parametrize("messages, match", [
    ([], "non-empty list"),
    ([{"role": "robot", "content": "x"}], "Message 0"),
    ([{"role": "user", "content": 3}], "Message 0"),
    ([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}], "last message"),
])
def test_bad_messages_get_clear_errors(messages, match):
    with pytest.raises(ValueError, match=match):
        tiny_chat_lm().chat(messages)


def test_a_chat_preprocessor_must_keep_the_end_of_the_history():
    tokenizer = lk.LLAMATokenizer(proto=tokenizer_proto())
    backbone = lk.LLAMABackbone.from_preset("llama_keras_tiny", vocabulary_size=tokenizer.vocabulary_size())
    with pytest.raises(ValueError, match="keep_end_of_first_segment"):
        lk.LLAMAChatLM(backbone, lk.LLAMASeq2SeqLMPreprocessor(tokenizer, 32))
