"""TaskServer: the `tf.Module` that a task's SavedModel is written from."""

import tensorflow as tf


def serving_function(*input_signature):
    """`tf.function` decorator for a serving signature. Traced without AutoGraph:
    serving code writes its control flow as `tf.cond` / `tf.while_loop`, and
    converting the model's Python code would only cost export time."""
    return tf.function(input_signature=list(input_signature), autograph=False)


class _Hidden:
    """Holds an object out of SavedModel tracking: the model's own cached
    `tf.function`s (e.g. keras-hub's `generate_function`, which uses XLA-only
    ops) must not be written."""

    def __init__(self, value):
        self.value = value


class TaskServer(tf.Module):
    """Tracks a task's weights and its tokenizer (so no resource is left
    untracked) and, in subclasses, only the serving functions."""

    def __init__(self, task):
        super().__init__()
        if task.preprocessor is None:
            raise ValueError(f"Serving a {type(task).__name__} needs its preprocessor (its tokenizer).")
        self._task = _Hidden(task)
        self.weights = [w.value for w in task.weights]
        self.tokenizer = task.preprocessor.tokenizer

    @property
    def task(self):
        return self._task.value

    def signatures(self):
        """`{signature name: tf.function with an input_signature}`."""
        raise NotImplementedError
