"""Every task head's SavedModel: only servable ops, and a fresh process with only
TensorFlow (+ TF Text) reproduces the task's in-Python output."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import llama_keras as lk
from tests.models.test_chat_lm import CONVERSATIONS
from tests.models.test_chat_lm import tiny_chat_lm
from tests.models.test_question_answerer import key_questions
from tests.models.test_question_answerer import tiny_question_answerer
from tests.models.test_seq2seq_lm import tiny_translator
from tests.models.test_text_classifier import tiny_classifier

SERVE = """
import json, sys
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the SentencePiece ops, as TF Serving links them)
serve = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
specs = serve.structured_input_signature[1]
outputs = serve(**{k: tf.constant(v, specs[k].dtype) for k, v in json.loads(sys.argv[2]).items()})
print(json.dumps({k: v.numpy().tolist() for k, v in outputs.items()}, default=lambda b: b.decode("utf-8")))
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("keras_hub", "llama_keras"))))
"""


def serve_in_fresh_process(export_dir, inputs):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", SERVE, export_dir, json.dumps(inputs)],
                            capture_output=True, text=True, env=env, check=True)
    served, imported = (json.loads(line) for line in result.stdout.strip().splitlines()[-2:])
    assert imported == []
    return served


def test_classifier_export(tmp_path):
    classifier = tiny_classifier(sequence_length=None)
    texts = ["The sky is blue.", "", "Fun!" * 200, "Ünïcödé 🙂"]
    export_dir = lk.serving.export_for_serving(classifier, str(tmp_path / "1"), class_names=["neg", "pos"])
    types = lk.serving.check_servable_ops(export_dir)
    assert "SentencepieceOp" in types
    served = serve_in_fresh_process(export_dir, {"text": texts})
    expected = keras_softmax(classifier.predict(texts, verbose=0))
    np.testing.assert_allclose(served["probabilities"], expected, atol=1e-5)
    assert served["label"] == [["neg", "pos"][i] for i in expected.argmax(axis=-1)]
    assert serve_in_fresh_process(export_dir, {"text": []}) == {"label": [], "probabilities": []}
    with pytest.raises(ValueError, match="class names"):
        lk.serving.export_for_serving(classifier, str(tmp_path / "2"), class_names=["only one"])


def test_translation_export(tmp_path):
    translator = tiny_translator(max_coarse_chunks=2)
    translator.compile(sampler="greedy")
    sources = ["The sky is blue.", "", "def add(a, b):" * 3]
    export_dir = lk.serving.export_for_serving(translator, str(tmp_path / "1"), max_new_tokens=12)
    served = serve_in_fresh_process(export_dir, {"source": sources})
    tokenizer = translator.preprocessor.tokenizer
    expected = [translator.generate([s], max_length=len(tokenizer(s)) + 2 + 12)[0] for s in sources]
    assert served == {"translation": expected}


def test_question_answerer_export(tmp_path):
    qa = tiny_question_answerer()
    x, _ = key_questions(3, seed=0)
    x["context"][1] = "Ünïcödé 🙂 " + x["context"][1]
    export_dir = lk.serving.export_for_serving(qa, str(tmp_path / "1"))
    served = serve_in_fresh_process(export_dir, x)
    expected = qa.answer(x)
    assert served["answer"] == expected["answer"]
    assert (served["start"], served["end"]) == (expected["start"], expected["end"])
    np.testing.assert_allclose(served["score"], expected["score"], rtol=1e-5)
    empty = serve_in_fresh_process(export_dir, {"context": [""], "question": ["Why?"]})
    assert empty["answer"] == [""] and empty["start"] == [0]  # defined output, where answer() raises


def test_chat_export(tmp_path):
    chat_lm = tiny_chat_lm()
    chat_lm.compile(sampler="greedy")
    conversations = [CONVERSATIONS[0][:3], CONVERSATIONS[2][:2]]
    export_dir = lk.serving.export_for_serving(chat_lm, str(tmp_path / "1"), max_new_tokens=10)
    requests = [json.dumps(m, ensure_ascii=False) for m in conversations] + ["{not json", "[]"]
    served = serve_in_fresh_process(export_dir, {"messages": requests})
    assert served["reply"][:2] == [chat_lm.chat(m, max_new_tokens=10) for m in conversations]
    assert served["reply"][2:] == ["", ""] and served["error"][0] == "" and "JSON array" in served["error"][2]


@pytest.mark.parametrize("messages", [
    CONVERSATIONS[0][:3],
    [{"role": "user", "content": 'Quotes "x", backslash \\ then n: \\n, tab\t, slash /, newline\nend 🙂'}],
    [{"content": "Key order swapped", "role": "user"}],
])
def test_json_messages_are_read_as_python_json_reads_them(messages):
    import tensorflow as tf

    from llama_keras.serving.chat_server import history_from_json

    request = json.dumps(messages, ensure_ascii=False, indent=1 if len(messages) > 1 else None)
    history, valid = history_from_json(tf.constant([request]))
    assert bool(valid[0])
    assert history[0].numpy().decode("utf-8") == lk.models.format_history(json.loads(request))


def keras_softmax(logits):
    exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


def test_unknown_tasks_are_refused(tmp_path):
    with pytest.raises(TypeError, match="No serving export for"):
        lk.serving.export_for_serving(object(), str(tmp_path / "1"))
