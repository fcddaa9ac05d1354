"""Each task trainer runs end to end on its real data (tiny sizes): trains, scores, exports.

They run without XLA (`--nojit_compile`), which halves their fit time (compiling, not
computing, at these sizes); the trainers share that code path with `train_lm.py`,
whose end-to-end test runs it compiled.
"""

import json
import os
import subprocess
import sys

import pytest

from tests.trainers.test_train_lm import ROOT

TINY = ["--preset=llama_keras_tiny", "--num_layers=1", "--hidden_dim=32", "--vocab_size=400", "--batch_size=4",
        "--epochs=1", "--warmup_steps=1", "--nojit_compile"]
TRAINERS = {
    "train_classifier.py": (["--max_examples=200", "--sequence_length=32", "--held_out_fraction=0.1"],
                            "held_out_accuracy", "text", "label"),
    "train_translation.py": (["--max_pairs=200", "--held_out=10", "--sequence_length=48", "--steps_per_epoch=2",
                              "--bleu_examples=2", "--max_new_tokens=4"], "held_out_bleu", "source", "translation"),
    "train_qa.py": (["--vocab_size=600", "--sequence_length=64", "--steps_per_epoch=2", "--eval_tokens=64,256", "--eval_examples=2",
                     "--train_contexts_per_fact=1"], "by_context_tokens", "context", "answer"),
    "train_chat.py": (["--sequence_length=32", "--max_new_tokens=4", "--held_out_every=50", "--steps_per_epoch=4"], "held_out_loss",
                      "messages", "reply"),
}


@pytest.mark.parametrize("trainer", sorted(TRAINERS))
def test_task_trainer_end_to_end(tmp_path, trainer):
    flags, result_key, input_name, output_name = TRAINERS[trainer]
    model_dir, export_dir = tmp_path / "run", tmp_path / "export"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, os.path.join(ROOT, "trainers", trainer), *TINY, *flags,
                             f"--model_dir={model_dir}", f"--export_dir={export_dir}"],
                            capture_output=True, text=True, env=env, timeout=900)
    if result.returncode and "no network or registry?" in result.stderr:
        pytest.skip(f"{trainer}: its data package is out of reach")
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((model_dir / "results.json").read_text())
    assert result_key in results and results["preset"] == "llama_keras_tiny"
    assert (model_dir / "checkpoints" / "epoch_001.weights.h5").exists()
    signature = subprocess.run(
        [sys.executable, "-c", "import sys, tensorflow as tf, tensorflow_text; "
         "s = tf.saved_model.load(sys.argv[1]).signatures['serving_default']; "
         "print(sorted(s.structured_input_signature[1]), sorted(s.structured_outputs))", str(export_dir / "1")],
        capture_output=True, text=True, env=env, check=True).stdout
    assert f"'{input_name}'" in signature and f"'{output_name}'" in signature


def test_task_trainers_refuse_bad_flags(tmp_path):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    for trainer, flag, message in [("train_classifier.py", "--data=imdb", "imdb"),
                                   ("train_translation.py", "--data=europarl", "europarl"),
                                   ("train_qa.py", "--eval_examples=0", "eval_examples"),
                                   ("train_chat.py", "--held_out_every=1", "held_out_every")]:
        result = subprocess.run([sys.executable, os.path.join(ROOT, "trainers", trainer), flag,
                                 f"--model_dir={tmp_path}"], capture_output=True, text=True, env=env, timeout=300)
        assert result.returncode != 0 and message in result.stderr, (trainer, result.stderr[-500:])
