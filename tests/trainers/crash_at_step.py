"""Runs trainers/train_lm.py and kills itself with SIGKILL right after global step
`--crash_at_step` (before that step's backup): a crash mid-epoch, for the tests."""

import os
import signal
import sys

from absl import app
from absl import flags

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from tests.trainers.crash import CrashAtStep  # noqa: E402
from trainers import common  # noqa: E402
from trainers import train_lm  # noqa: E402

flags.DEFINE_integer("crash_at_step", None, "Global step after which the process SIGKILLs itself.")


def kill_this_process():
    os.kill(os.getpid(), signal.SIGKILL)


def with_crash(training_callbacks):
    def callbacks(*args, **kwargs):
        return [*training_callbacks(*args, **kwargs), CrashAtStep(flags.FLAGS.crash_at_step, kill_this_process)]
    return callbacks


if __name__ == "__main__":
    common.training_callbacks = with_crash(common.training_callbacks)
    app.run(train_lm.main)
