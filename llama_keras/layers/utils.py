"""Helpers shared by the layers; `masked_softmax` is the one place masks are applied."""

import keras
from keras import ops

# Scores below this are "masked": far enough from any real logit, finite in float32.
_MASKED = -1e9


def masked_softmax(scores, mask):
    """Softmax over the last axis of `scores` where `mask` is True; 0 elsewhere.

    Rows with no allowed key give all zeros (never NaN), so a branch that has
    nothing to look at contributes nothing. Computed in float32.
    """
    scores = ops.where(mask, ops.cast(scores, "float32"), _MASKED)
    # Written out rather than `ops.softmax`: TF's Softmax kernel stops at rank 5.
    exps = ops.exp(scores - ops.max(scores, axis=-1, keepdims=True)) * ops.cast(mask, "float32")
    return exps / ops.maximum(ops.sum(exps, axis=-1, keepdims=True), 1e-30)


def ceil_div(a, b):
    """`ceil(a / b)` for Python ints and integer tensors alike."""
    return -(-a // b)


def clone_initializer(initializer):
    """A fresh copy of a Keras initializer, one per weight (as keras-hub does)."""
    return keras.initializers.get(keras.initializers.serialize(initializer))
