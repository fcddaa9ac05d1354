"""The trainer under tf.distribute: 2 logical CPUs, and 2 worker processes on loopback."""

import json
import os
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest

from tests.trainers.test_fault_tolerance import RUN
from tests.trainers.test_fault_tolerance import weights
from tests.trainers.test_train_lm import ROOT

TRAINER = os.path.join(ROOT, "trainers", "train_lm.py")


def final_weights(model_dir, worker=0):
    return weights(model_dir / "backup" / f"worker_{worker}" / "step_000000008.weights.h5")


def run_trainer(*flags, env=None):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    return subprocess.run([sys.executable, TRAINER, *RUN, *flags], capture_output=True, text=True, env=env,
                          timeout=900)


def test_mirrored_on_two_cpus_matches_one_device(tmp_path, tokenizer_file):
    flags = [f"--tokenizer={tokenizer_file}", "--noexport", f"--export_dir={tmp_path / 'export'}"]
    one = run_trainer(*flags, f"--model_dir={tmp_path / 'one'}")
    assert one.returncode == 0, one.stderr[-3000:]
    two = run_trainer(*flags, f"--model_dir={tmp_path / 'two'}", "--strategy=mirrored", "--logical_cpus=2")
    assert two.returncode == 0, two.stderr[-3000:]
    assert "2 replica(s)" in two.stdout

    # Same global batch of 4 (2 per replica): the same losses and weights, up to the
    # order of float32 sums across replicas.
    one_loss = json.loads((tmp_path / "one" / "logs" / "final_metrics.json").read_text())
    two_loss = json.loads((tmp_path / "two" / "logs" / "final_metrics.json").read_text())
    for name in ("final_loss", "final_val_loss"):
        assert two_loss[name] == pytest.approx(one_loss[name], rel=1e-5), name
    expected, actual = final_weights(tmp_path / "one"), final_weights(tmp_path / "two")
    for name in expected:
        np.testing.assert_allclose(actual[name], expected[name], rtol=1e-4, atol=1e-5, err_msg=name)


def test_odd_global_batch_is_refused(tmp_path):
    result = run_trainer("--strategy=mirrored", "--logical_cpus=2", "--batch_size=3", f"--model_dir={tmp_path}")
    assert result.returncode != 0 and "multiple of the 2 replicas" in result.stderr


def test_multi_worker_needs_tf_config(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    result = subprocess.run([sys.executable, TRAINER, *RUN, "--strategy=multi_worker", f"--model_dir={tmp_path}"],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode != 0 and "TF_CONFIG" in result.stderr


def loopback_only_namespace():
    """`unshare` into a fresh network namespace whose only interface is loopback, or None."""
    unshare, ip = shutil.which("unshare"), shutil.which("ip")
    if not (unshare and ip):
        return None
    probe = subprocess.run([unshare, "--map-root-user", "--net", "sh", "-c", f"{ip} link set lo up"],
                           capture_output=True)
    return [unshare, "--map-root-user", "--net"] if probe.returncode == 0 else None


def test_two_workers_on_loopback_end_with_identical_weights(tmp_path, tokenizer_file):
    namespace = loopback_only_namespace()
    if namespace is None:
        pytest.skip("needs `unshare --net` (user namespaces) so the workers' gRPC servers, which TF binds to "
                    "every interface, are reachable on loopback only")
    cluster = {"worker": ["127.0.0.1:20001", "127.0.0.1:20002"]}
    flags = [*RUN, "--strategy=multi_worker", f"--tokenizer={tokenizer_file}", f"--model_dir={tmp_path / 'run'}",
             f"--export_dir={tmp_path / 'export'}"]
    logs = [tmp_path / f"worker_{i}.log" for i in range(2)]
    script = "ip link set lo up\n" + "".join(
        f"TF_CONFIG='{json.dumps({'cluster': cluster, 'task': {'type': 'worker', 'index': i}})}' "
        f"{sys.executable} {TRAINER} {' '.join(flags)} > {logs[i]} 2>&1 &\n" for i in range(2)
    ) + "wait %1 && wait %2\n"
    # The shell and both workers form one process group, killed whatever happens.
    shell = subprocess.Popen([*namespace, "sh", "-c", script], env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
                             start_new_session=True)
    try:
        returncode = shell.wait(timeout=900)
    finally:
        if shell.poll() is None:
            os.killpg(shell.pid, signal.SIGKILL)
            shell.wait()
    assert returncode == 0, "\n".join(log.read_text()[-2000:] for log in logs)

    chief, other = final_weights(tmp_path / "run", 0), final_weights(tmp_path / "run", 1)
    for name in chief:
        np.testing.assert_array_equal(other[name], chief[name], err_msg=name)
    # Only the chief wrote logs, checkpoints and the export.
    assert (tmp_path / "run" / "checkpoints" / "epoch_002.weights.h5").exists()
    assert (tmp_path / "export" / "1" / "saved_model.pb").exists()
    assert "SavedModel for TF Serving" in logs[0].read_text()
    assert "SavedModel for TF Serving" not in logs[1].read_text()
