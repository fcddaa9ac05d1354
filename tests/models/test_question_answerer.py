import keras
import numpy as np
import pytest

import llama_keras as lk
from tests.fixtures import tokenizer_proto
from tests.helpers import check_save_and_load
from tests.helpers import endless_batches

FILLER = "The grass is green. The sky is blue. "


def tiny_question_answerer(sequence_length=None, **kwargs):
    tokenizer = lk.LLAMATokenizer(proto=tokenizer_proto())
    backbone = lk.LLAMABackbone.from_preset("llama_keras_tiny", vocabulary_size=tokenizer.vocabulary_size(),
                                            **kwargs)
    return lk.LLAMAQuestionAnswerer(backbone, lk.LLAMAQuestionAnswererPreprocessor(tokenizer, sequence_length))


def key_questions(count, seed, filler_repeats=2):
    """'What is the pass key?' over filler with 'The pass key is <digits>.' at a random depth."""
    rng = np.random.RandomState(seed)
    questions, contexts, spans = [], [], []
    for _ in range(count):
        key = str(rng.randint(10000, 99999))
        depth = rng.randint(0, filler_repeats + 1)
        context = FILLER * depth + f"The pass key is {key}. " + FILLER * (filler_repeats - depth)
        start = context.index(key)
        questions.append("What is the pass key?")
        contexts.append(context)
        spans.append([start, start + len(key)])
    return {"question": questions, "context": contexts}, np.array(spans)


def test_labels_point_at_the_answer_tokens_and_cut_answers_weigh_nothing():
    qa = tiny_question_answerer(sequence_length=24)
    x = {"question": ["Which?", "Which?"], "context": ["Ünïcödé 71432 here", FILLER * 3 + "71432"]}
    spans = np.array([[8, 13], [len(FILLER) * 3, len(FILLER) * 3 + 5]])
    inputs, positions, weights = qa.preprocessor(x, spans)
    tokenizer = qa.preprocessor.tokenizer
    first, last = np.asarray(positions[0])
    pieces = tokenizer.detokenize(np.asarray(inputs["token_ids"][0, first : last + 1]))
    assert pieces.strip() == "71432"
    assert np.all(np.asarray(inputs["context_mask"][0, first : last + 1]) == 1)
    np.testing.assert_array_equal(weights, [[1, 1], [0, 0]])  # the second answer was cut off


def test_learns_to_find_the_key_and_answers_far_longer_contexts():
    qa = tiny_question_answerer(sequence_length=64)
    qa.compile(optimizer=keras.optimizers.Adam(3e-3))
    x, spans = key_questions(64, seed=0)
    batches, steps = endless_batches(x, spans, batch_size=8)
    history = qa.fit(batches, steps_per_epoch=steps, epochs=15, verbose=0)
    assert history.history["loss"][-1] < 0.3 * history.history["loss"][0]
    qa.preprocessor = lk.LLAMAQuestionAnswererPreprocessor(qa.preprocessor.tokenizer, None)
    x, spans = key_questions(10, seed=1, filler_repeats=6)  # ~4x the training length
    found = qa.answer(x)
    expected = [c[a:b] for c, (a, b) in zip(x["context"], spans)]
    assert np.mean([p == e for p, e in zip(found["answer"], expected)]) >= 0.8  # chance: ~0
    for answer, context, start, end in zip(found["answer"], x["context"], found["start"], found["end"]):
        assert 0 <= start <= end <= len(context) and context[start:end] == answer


def test_spans_never_leave_the_context_or_end_before_they_start():
    qa = tiny_question_answerer()  # untrained: arbitrary logits
    x, _ = key_questions(6, seed=2)
    x["question"][0] = "What is the pass key? " * 5  # question longer than the context
    x["context"][0] = "Key 42."
    found = qa.answer(x)
    for answer, context, start, end in zip(found["answer"], x["context"], found["start"], found["end"]):
        assert 0 <= start <= end <= len(context)
        assert context[start:end] == answer
        assert len(qa.preprocessor.tokenizer(answer)) <= qa.max_answer_tokens + 1


def test_bad_input_gets_clear_errors():
    qa = tiny_question_answerer()
    with pytest.raises(ValueError, match="Empty context"):
        qa.answer({"question": ["Why?"], "context": [" "]})
    with pytest.raises(ValueError, match="'context' is missing"):
        qa.answer({"question": ["Why?"]})
    with pytest.raises(ValueError, match="list of strings"):
        qa.answer({"question": [1], "context": ["a"]})
    x = {"question": ["What is the pass key, please, tell me?"], "context": ["42"]}
    qa.answer(x)  # whole contexts: answered
    qa.preprocessor = lk.LLAMAQuestionAnswererPreprocessor(qa.preprocessor.tokenizer, sequence_length=8)
    with pytest.raises(ValueError, match="No context token is left"):  # the swapped preprocessor is used
        qa.answer(x)


def test_save_and_load(tmp_path):
    qa = tiny_question_answerer()
    qa.compile()
    x, _ = key_questions(2, seed=3)
    restored = check_save_and_load(qa, x, tmp_path)
    assert restored.answer(x) == qa.answer(x)
