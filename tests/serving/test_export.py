import json
import os
import subprocess
import sys

import pytest

import llama_keras as lk
from tests.fixtures import tiny_causal_lm

PROMPTS = ["The sky", "def add(a, b):", ""]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    lm = tiny_causal_lm(max_coarse_chunks=2)  # coarse levels change during generation
    lm.compile(sampler="greedy")
    lm.generate(["The sky"], max_length=8)  # caches keras-hub's (XLA-only) generate function
    export_dir = str(tmp_path_factory.mktemp("export") / "1")
    lk.serving.export_for_serving(lm, export_dir, max_new_tokens=30)
    return lm, export_dir


def test_only_core_tf_and_tf_text_ops_are_exported(exported):
    _, export_dir = exported
    types = lk.serving.check_servable_ops(export_dir)
    # The walk reaches inside the generation loop's body and the tokenizer.
    assert "While" in types or "StatelessWhile" in types
    assert "SentencepieceOp" in types and "TensorScatterUpdate" in types
    assert not {t for t in types if t.startswith(("Xla", "PyFunc", "EagerPyFunc"))}


def test_op_check_rejects_a_python_callback(tmp_path):
    import tensorflow as tf

    class Callback(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([], tf.float32)])
        def serve(self, x):
            return tf.numpy_function(lambda v: v * 2, [x], tf.float32)

    tf.saved_model.save(Callback(), str(tmp_path))
    with pytest.raises(ValueError, match="PyFunc"):
        lk.serving.check_servable_ops(str(tmp_path))


SERVE = """
import json, sys
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the SentencePiece ops, as TF Serving links them)
model = tf.saved_model.load(sys.argv[1])
serve = model.signatures["serving_default"]
out = serve(prompts=tf.constant(json.loads(sys.argv[2])), max_new_tokens=tf.constant(int(sys.argv[3])))
print(json.dumps([s.decode("utf-8") for s in out["generated"].numpy()]))
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("keras_hub", "llama_keras"))))
"""


def test_fresh_process_with_only_tensorflow_reproduces_greedy_generate(exported):
    lm, export_dir = exported
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", SERVE, export_dir, json.dumps(PROMPTS), "30"],
                            capture_output=True, text=True, env=env, check=True)
    served, imported = (json.loads(line) for line in result.stdout.strip().splitlines()[-2:])
    assert imported == []
    # Each request gets 30 new tokens, whatever else is in the batch.
    expected = [lm.generate([p], max_length=len(lm.preprocessor.tokenizer(p)) + 1 + 30)[0] for p in PROMPTS]
    assert served == expected


def test_export_needs_a_preprocessor(tmp_path):
    lm = tiny_causal_lm()
    lm.preprocessor = None
    with pytest.raises(ValueError, match="preprocessor"):
        lk.serving.export_for_serving(lm, str(tmp_path / "1"))


def test_readme_rest_request_is_answered_by_the_export(exported):
    """The README's `curl` body, converted as TF Serving's REST API converts named inputs (each value to its
    signature input's dtype), gets greedy `generate`'s answer."""
    import tensorflow as tf

    from tests.test_readme import readme_serving_commands

    lm, export_dir = exported
    _, _, curl = readme_serving_commands()
    request = json.loads(curl[curl.index("-d") + 1])["inputs"]
    signature = tf.saved_model.load(export_dir).signatures["serving_default"]
    specs = signature.structured_input_signature[1]
    assert set(request) == set(specs)
    served = signature(**{name: tf.constant(value, specs[name].dtype) for name, value in request.items()})
    prompt, new_tokens = request["prompts"][0], request["max_new_tokens"]
    expected = lm.generate([prompt], max_length=len(lm.preprocessor.tokenizer(prompt)) + 1 + new_tokens)[0]
    assert [s.decode("utf-8") for s in served["generated"].numpy()] == [expected]
