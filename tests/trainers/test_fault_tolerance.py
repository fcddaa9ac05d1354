"""A trainer killed with SIGKILL mid-epoch resumes and ends where an uninterrupted run ends."""

import json
import os
import signal
import subprocess
import sys

import h5py
import numpy as np

from tests.trainers.test_train_lm import ROOT
from tests.trainers.test_train_lm import TINY

# 2 epochs x 4 steps, a backup every 3 steps and at each epoch end: saves at 3, 4, 6, 8.
RUN = [*TINY, "--epochs=2", "--steps_per_epoch=4", "--save_every_steps=3", "--nojit_compile"]


def run(script, *flags):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, script, *flags], capture_output=True, text=True, env=env, timeout=900)


def weights(path):
    arrays = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, item: arrays.__setitem__(name, item[()]) if isinstance(item, h5py.Dataset) else None)
    return arrays


def test_killed_mid_epoch_resumes_to_the_uninterrupted_result(tmp_path, tokenizer_file):
    trainer = os.path.join(ROOT, "trainers", "train_lm.py")
    crasher = os.path.join(ROOT, "tests", "trainers", "crash_at_step.py")
    # Training only (export has its own tests): `--noexport` writes no SavedModel.
    common = [*RUN, f"--tokenizer={tokenizer_file}", "--noexport", f"--export_dir={tmp_path / 'export'}"]

    straight = run(trainer, *common, f"--model_dir={tmp_path / 'straight'}")
    assert straight.returncode == 0, straight.stderr[-3000:]

    crashed = run(crasher, *common, f"--model_dir={tmp_path / 'crashed'}", "--crash_at_step=7")
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-3000:]
    state = json.loads((tmp_path / "crashed" / "backup" / "worker_0" / "state.json").read_text())
    assert state["step"] == 6  # step 7 was lost, as promised: at most --save_every_steps

    resumed = run(trainer, *common, f"--model_dir={tmp_path / 'crashed'}")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "Resuming from" in resumed.stdout and "at step 6" in resumed.stdout

    expected = weights(tmp_path / "straight" / "backup" / "worker_0" / "step_000000008.weights.h5")
    actual = weights(tmp_path / "crashed" / "backup" / "worker_0" / "step_000000008.weights.h5")
    assert not (tmp_path / "export").exists()
    assert expected.keys() == actual.keys() and any(k.startswith("optimizer") for k in expected)
    for name in expected:
        np.testing.assert_allclose(actual[name], expected[name], rtol=1e-5, atol=1e-6, err_msg=name)
