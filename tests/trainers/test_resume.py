"""ResumableBackup and fit_resumable on a small Keras model, in process."""

import json
import os
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.trainers.crash import CrashAtStep
from tests.trainers.test_train_lm import ROOT

sys.path.insert(0, ROOT)
from trainers import resume  # noqa: E402


def regression(seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.1), "mse")
    return model


def batches(step):
    """Batch k is a pure function of k, like the trainers' `train.skip(step)`."""
    return tf.data.Dataset.range(step, 10**6).map(
        lambda k: (tf.fill([2, 3], tf.cast(k % 5, tf.float32)), tf.fill([2, 1], tf.cast(k % 3, tf.float32))))


class Crash(Exception):
    pass


def crash():
    raise Crash()


def test_crash_mid_epoch_resumes_to_the_uninterrupted_weights(tmp_path):
    straight = regression()
    resume.fit_resumable(straight, batches, epochs=3, steps_per_epoch=4,
                         backup=resume.ResumableBackup(str(tmp_path / "straight"), 3), verbose=0)

    # Backups at steps 3, 4 (epoch end) and 6; the crash comes after step 7, before its callbacks end.
    with pytest.raises(Crash):
        resume.fit_resumable(regression(), batches, epochs=3, steps_per_epoch=4, callbacks=[CrashAtStep(7, crash)],
                             backup=resume.ResumableBackup(str(tmp_path / "crashed"), 3), verbose=0)
    requested = []
    model = regression(seed=1)  # other initial weights: everything must come from the backup
    history = resume.fit_resumable(model, lambda step: requested.append(step) or batches(step), epochs=3,
                                   steps_per_epoch=4, backup=resume.ResumableBackup(str(tmp_path / "crashed"), 3),
                                   verbose=0)
    assert requested == [6, 8]  # the 2 steps left of epoch 2, then epoch 3 whole
    assert len(history["loss"]) == 2
    assert int(model.optimizer.iterations) == 12
    for actual, expected in zip(model.get_weights(), straight.get_weights()):
        np.testing.assert_allclose(actual, expected, rtol=1e-6)


def trained_backup(tmp_path):
    backup = resume.ResumableBackup(str(tmp_path), save_every_steps=2)
    resume.fit_resumable(regression(), batches, epochs=1, steps_per_epoch=2, backup=backup, verbose=0)
    return tmp_path / "step_000000002.weights.h5"


def restore_into_fresh_model(tmp_path):
    backup = resume.ResumableBackup(str(tmp_path))
    backup.set_model(regression())
    return backup.restore()


def test_truncated_weights_name_the_file(tmp_path):
    path = trained_backup(tmp_path)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match=f"{path}.*checksum"):
        restore_into_fresh_model(tmp_path)


def test_modified_weights_name_the_file(tmp_path):
    path = trained_backup(tmp_path)
    data = bytearray(path.read_bytes())
    data[-20] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=f"{path}.*modified"):
        restore_into_fresh_model(tmp_path)


def test_missing_weights_name_the_file(tmp_path):
    path = trained_backup(tmp_path)
    os.remove(path)
    with pytest.raises(FileNotFoundError, match=str(path)):
        restore_into_fresh_model(tmp_path)


def test_corrupt_state_names_the_file(tmp_path):
    trained_backup(tmp_path)
    (tmp_path / "state.json").write_text('{"step": 2, "weig')
    with pytest.raises(ValueError, match=f"{tmp_path / 'state.json'} is corrupt"):
        restore_into_fresh_model(tmp_path)


def test_no_backup_starts_at_step_zero(tmp_path):
    assert restore_into_fresh_model(tmp_path) == 0


def test_non_finite_loss_is_never_backed_up(tmp_path):
    backup = resume.ResumableBackup(str(tmp_path), save_every_steps=1)
    backup.set_model(regression())
    backup.on_train_batch_end(0, {"loss": 1.0})
    backup.on_train_batch_end(1, {"loss": float("nan")})
    backup.on_epoch_end(0, {"loss": float("inf")})
    assert json.loads((tmp_path / "state.json").read_text())["step"] == 1
