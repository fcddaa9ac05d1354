"""Step-level backups, so a killed trainer resumes where it last saved and ends
with the same weights as a run that was never interrupted.

Keras's `BackupAndRestore` restarts an interrupted epoch from its first batch,
which repeats steps (and changes the result); this one also records the global
step, and `fit_resumable` continues the data stream and the epoch from there.
"""

import glob
import json
import math
import os

import keras
from absl import flags

from llama_keras.integrity import file_sha256

flags.DEFINE_integer("save_every_steps", 50, "Back up weights and optimizer state every this many steps "
                     "(and at each epoch end); a killed run resumes from the last backup.", lower_bound=1)

STATE_FILE = "state.json"


class ResumableBackup(keras.callbacks.Callback):
    """Saves weights and optimizer state every `save_every_steps` steps and at each
    epoch end into `backup_dir` (one directory per worker).

    Each save writes `step_<N>.weights.h5`, then `state.json` naming it with its
    SHA-256, each by an atomic rename, then removes older saves: a kill at any
    moment leaves the previous complete backup.
    """

    def __init__(self, backup_dir, save_every_steps=None):
        super().__init__()
        if save_every_steps is not None and save_every_steps < 1:
            raise ValueError(f"`save_every_steps` must be >= 1 or None, got {save_every_steps}.")
        self.backup_dir = backup_dir
        self.save_every_steps = save_every_steps
        self.step = 0

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.save_every_steps and self.step % self.save_every_steps == 0 and _finite(logs):
            self.save()

    def on_epoch_end(self, epoch, logs=None):
        if _finite(logs):
            self.save()

    def save(self):
        os.makedirs(self.backup_dir, exist_ok=True)
        name = f"step_{self.step:09d}.weights.h5"
        path = os.path.join(self.backup_dir, name)
        temporary = os.path.join(self.backup_dir, f"partial_{name}")
        self.model.save_weights(temporary)
        os.replace(temporary, path)
        _write_atomically(os.path.join(self.backup_dir, STATE_FILE),
                          json.dumps({"step": self.step, "weights": name, "sha256": file_sha256(path)}))
        for old in glob.glob(os.path.join(self.backup_dir, "*.weights.h5")):
            if os.path.basename(old) != name:
                os.remove(old)

    def restore(self):
        """Loads the latest backup into `self.model` (built, optimizer compiled) ->
        the global step it was taken at, 0 when there is none."""
        state_path = os.path.join(self.backup_dir, STATE_FILE)
        if not os.path.exists(state_path):
            self.step = 0
            return 0
        try:
            with open(state_path) as f:
                state = json.load(f)
            step, name, digest = int(state["step"]), state["weights"], state["sha256"]
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"Backup state {state_path} is corrupt ({error}); delete {self.backup_dir} "
                             "to start over.") from None
        path = os.path.join(self.backup_dir, os.path.basename(name))
        if not os.path.exists(path):
            raise FileNotFoundError(f"Backup weights {path}, named by {state_path}, are missing; delete "
                                    f"{self.backup_dir} to start over.")
        if file_sha256(path) != digest:
            raise ValueError(f"Backup weights {path} do not match the checksum in {state_path} (truncated or "
                             f"modified); delete {self.backup_dir} to start over.")
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        self.model.load_weights(path)
        self.step = step
        return step


def fit_resumable(model, train_from_step, *, epochs, steps_per_epoch, backup, callbacks=(), **fit_kwargs):
    """`model.fit` that first restores `backup` and continues from its step.

    `train_from_step(step)` returns the training dataset positioned at global
    step `step` (the same batches an uninterrupted run would see from there).
    A resume inside an epoch finishes that epoch's remaining steps, then runs
    whole epochs. Returns `{metric: [value per epoch run]}`.
    """
    backup.set_model(model)
    step = backup.restore()
    if step:
        print(f"Resuming from {backup.backup_dir} at step {step}.")
    callbacks = [*callbacks, backup]
    history = {}
    epoch, steps_done = divmod(step, steps_per_epoch)
    while epoch < epochs:
        # One partial epoch first when resuming mid-epoch; then all the rest in one call.
        last = epoch + 1 if steps_done else epochs
        run = model.fit(train_from_step(epoch * steps_per_epoch + steps_done), initial_epoch=epoch, epochs=last,
                        steps_per_epoch=steps_per_epoch - steps_done, callbacks=callbacks, **fit_kwargs)
        for name, values in run.history.items():
            history.setdefault(name, []).extend(values)
        epoch, steps_done = last, 0
    return history


def _finite(logs):
    """False after a NaN/Inf loss: such weights are never backed up."""
    return math.isfinite(float((logs or {}).get("loss", 0.0)))


def _write_atomically(path, text):
    temporary = path + ".partial"
    with open(temporary, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, path)
