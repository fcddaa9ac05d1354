"""A callback that crashes training right after a given global step, before that step's backup."""

import keras


class CrashAtStep(keras.callbacks.Callback):
    def __init__(self, step, crash):
        super().__init__()
        self.step, self.crash, self.seen = step, crash, 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.step:
            self.crash()
