"""Checks every layer and model gets (config round-trip, jit equals eager, save/load), and a data helper."""

import math
import os

import keras
import numpy as np
import tensorflow as tf


def assert_close(actual, expected, atol=1e-5, rtol=1e-4):
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), atol=atol, rtol=rtol)


def endless_batches(x, y=None, batch_size=8, seed=0):
    """`(x, y)` -> (an endless, reshuffled `tf.data` of batches, batches per epoch).

    `fit(dataset, steps_per_epoch=...)` keeps one iterator across epochs. A new
    iterator over data mapped through a task's preprocessor costs ~0.6 s here:
    at one or two steps an epoch, most of a tiny test's time.
    """
    size = len(tf.nest.flatten(x)[0])
    dataset = tf.data.Dataset.from_tensor_slices(x if y is None else (x, y))
    return dataset.shuffle(size, seed=seed).batch(batch_size).repeat(), math.ceil(size / batch_size)


def check_config_round_trip(layer, *args, **kwargs):
    """`from_config(get_config())` with the same weights gives the same output."""
    expected = layer(*args, **kwargs)
    clone = layer.__class__.from_config(layer.get_config())
    clone(*args, **kwargs)
    clone.set_weights(layer.get_weights())
    assert_close(clone(*args, **kwargs), expected, atol=1e-6)


def check_jit_equals_eager(layer, *args, **kwargs):
    """XLA compiles the layer and matches eager execution."""
    eager = layer(*args, **kwargs)
    compiled = tf.function(lambda *a: layer(*a, **kwargs), jit_compile=True)(*args)
    assert_close(compiled, eager, atol=1e-5)


def check_save_and_load(model, inputs, tmp_path):
    """`model.save` then `keras.saving.load_model(safe_mode=True)` reproduces outputs."""
    path = os.path.join(tmp_path, "model.keras")
    expected = model.predict(inputs, verbose=0)
    model.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    assert_close(restored.predict(inputs, verbose=0), expected, atol=1e-6)
    return restored
