import json
import os
import re
import subprocess
import sys
import time
import urllib.request

import pytest
from tensorboard.backend.event_processing import event_accumulator

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = ["--preset=llama_keras_tiny", "--max_documents=24", "--vocab_size=400", "--sequence_length=32",
        "--batch_size=4", "--epochs=2", "--steps_per_epoch=3", "--validation_steps=2",
        "--validation_fraction=0.2", "--max_new_tokens=8", "--warmup_steps=2"]


def run_trainer(*flags):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, os.path.join(ROOT, "trainers", "train_lm.py"), *flags],
                          capture_output=True, text=True, env=env, timeout=900)


def test_trains_logs_checkpoints_and_exports_end_to_end(tmp_path):
    model_dir, export_dir = tmp_path / "run", tmp_path / "saved_models" / "lm"
    result = run_trainer(*TINY, f"--model_dir={model_dir}", f"--export_dir={export_dir}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "validation loss by epoch:" in result.stdout and "Sample:" in result.stdout
    assert (model_dir / "tokenizer.model").exists()
    assert sorted(os.listdir(model_dir / "checkpoints")) == ["epoch_001.weights.h5", "epoch_002.weights.h5"]
    assert (export_dir / "1" / "saved_model.pb").exists()

    summaries = event_accumulator.EventAccumulator(str(model_dir / "logs" / "train_summaries"))
    summaries.Reload()
    scalars = set(summaries.Tags()["scalars"]) | set(summaries.Tags()["tensors"])
    assert {"tokens_per_second", "learning_rate", "perplexity", "val_perplexity", "sample_generation"} <= scalars
    assert any(tag.startswith("learned_span/") for tag in scalars)
    check_tensorboard_serves(model_dir / "logs")

    # A second run, in bf16 (without XLA: the first run compiled), exports the next version
    # and reuses the run's tokenizer.
    again = run_trainer(*TINY, "--epochs=1", f"--model_dir={tmp_path / 'run2'}", f"--export_dir={export_dir}",
                        f"--tokenizer={model_dir / 'tokenizer.model'}", "--mixed_precision=mixed_bfloat16",
                        "--nojit_compile")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "mixed_bfloat16" in again.stdout
    assert (export_dir / "2" / "saved_model.pb").exists()


def check_tensorboard_serves(log_dir):
    """Starts a real TensorBoard server on `log_dir` (127.0.0.1, a free port) and reads
    every dashboard's tags through its HTTP API, then stops it."""
    server = subprocess.Popen(
        [sys.executable, "-c", "import sys; from tensorboard import program; tb = program.TensorBoard(); "
         "tb.configure(argv=[None, '--logdir', sys.argv[1], '--host', '127.0.0.1', '--port', '0', "
         "'--load_fast', 'false', '--reload_interval', '1']); tb.main()", str(log_dir)],
        stderr=subprocess.PIPE, text=True)
    try:
        url = None
        while url is None:
            line = server.stderr.readline()
            assert line, "TensorBoard exited before serving"
            url = re.search(r"at (http://127\.0\.0\.1:\d+/)", line)
        url = url.group(1)

        def get(path, body=None):
            data = None if body is None else json.dumps(body).encode()
            request = urllib.request.Request(url + path, data=data, headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())

        deadline = time.time() + 120
        while "train_summaries" not in get("data/runs") and time.time() < deadline:
            time.sleep(1)  # the first reload reads the event files
        assert {"train", "validation", "train_summaries"} <= set(get("data/runs"))
        assert "epoch_loss" in get("data/plugin/scalars/tags")["train"]
        scalars = get("data/plugin/scalars/tags")["train_summaries"]
        assert {"tokens_per_second", "learning_rate", "perplexity"} <= set(scalars)
        assert "sample_generation" in get("data/plugin/text/tags")["train_summaries"]
        images = get("data/plugin/images/tags")["train_summaries"]
        assert {"attention_map/layer_0", "attention_map/layer_1"} <= set(images)
        assert get("data/plugin/graphs/info")["train_summaries"]["run_graph"]
        experiment = get("data/plugin/hparams/experiment", {"experimentName": ""})
        assert {"sequence_length", "batch_size"} <= {h["name"] for h in experiment["hparamInfos"]}
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.parametrize("flag,message", [
    ("--tokenizer=/no/such/file.model", "no such file"),
    ("--data=wikipedia", "wikipedia"),
    ("--strategy=tpu", "--strategy=tpu needs --tpu"),
    ("--mixed_precision=float8", "float8"),
    ("--save_every_steps=0", "save_every_steps"),
    ("--sequence_length=0", "sequence_length"),
    ("--batch_size=-1", "batch_size"),
    ("--steps_per_epoch=0", "steps_per_epoch"),
    ("--vocab_size=10", "vocab_size"),
    ("--validation_fraction=1.5", "validation_fraction"),
    ("--learning_rate=nan", "learning_rate"),
    ("--preset=llama_keras_huge", "Unknown preset"),
])
def test_bad_flags_fail_with_a_clear_message(tmp_path, flag, message):
    result = run_trainer(*TINY, flag, f"--model_dir={tmp_path}")
    assert result.returncode != 0
    assert message in result.stderr
