"""Helpers shared by the layers; `_masked_exp` is the one place attention masks are applied."""

import keras
from keras import ops

# Scores below this are "masked": far enough from any real logit, finite in float32.
_MASKED = -1e9


def masked_softmax(scores, mask):
    """Softmax over the last axis of `scores` where `mask` is True; 0 elsewhere.

    Rows with no allowed key give all zeros (never NaN). Computed in float32.
    """
    weights, any_key = _masked_exp(scores, mask)
    return weights * (any_key / ops.maximum(ops.sum(weights, axis=-1), 1e-30))[..., None]


def masked_attention(scores, mask, values, equation, key_weights=None):
    """`masked_softmax(scores, mask)` applied to `values`, reweighted by `key_weights`.

    `scores [..., q, k]`; `mask` and `key_weights` broadcast to it; `equation`
    (e.g. `"bnhgqk,bnkhd->bnqhgd"`) contracts the `[..., q, k]` weights with
    `values`; the output's last axis is the values' own. The exponentials are
    normalised after that product, by `[..., q]` sums, so the `[q, k]` weights
    are written once, not twice. `key_weights` multiply the exponentials before
    the sums (a reweighted softmax). Rows with no allowed key give zeros.
    """
    weights, any_key = _masked_exp(scores, mask)
    if key_weights is not None:
        weights = weights * key_weights
    scale = any_key / ops.maximum(ops.sum(weights, axis=-1), 1e-30)  # [..., q]
    out = ops.einsum(equation, ops.cast(weights, values.dtype), values)
    # The output's axes but the last are the weights' but `k`, perhaps reordered.
    weight_axes, out_axes = equation.split(",")[0], equation.split("->")[1]
    scale = ops.einsum(f"{weight_axes[:-1]}->{out_axes[:-1]}", scale)
    return ops.cast(ops.cast(out, "float32") * scale[..., None], values.dtype)


def _masked_exp(scores, mask):
    """-> float32 `exp(scores - row max)` with masked keys 0, and `[..., q]` 1.0
    where the row has an allowed key, else 0.0 (its weights are then all 1)."""
    scores = ops.where(mask, ops.cast(scores, "float32"), _MASKED)
    row_max = ops.max(scores, axis=-1, keepdims=True)
    # exp(_MASKED - row max) underflows to 0 whenever the row has an allowed key.
    return ops.exp(scores - row_max), ops.cast(row_max[..., 0] > _MASKED / 2, "float32")


def ceil_div(a, b):
    """`ceil(a / b)` for Python ints and integer tensors alike."""
    return -(-a // b)


def clone_initializer(initializer):
    """A fresh copy of a Keras initializer, one per weight (as keras-hub does)."""
    return keras.initializers.get(keras.initializers.serialize(initializer))
