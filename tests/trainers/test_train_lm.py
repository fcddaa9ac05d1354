import os
import subprocess
import sys

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

    # A second run, in bf16, exports the next version and reuses the run's tokenizer.
    again = run_trainer(*TINY, "--epochs=1", f"--model_dir={tmp_path / 'run2'}", f"--export_dir={export_dir}",
                        f"--tokenizer={model_dir / 'tokenizer.model'}", "--mixed_precision=mixed_bfloat16")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "mixed_bfloat16" in again.stdout
    assert (export_dir / "2" / "saved_model.pb").exists()


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
