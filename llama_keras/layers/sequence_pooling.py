"""SequencePooling: one vector per sequence from the hidden states of its real tokens."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="llama_keras")
class SequencePooling(keras.layers.Layer):
    """`hidden [B, T, D]`, `padding_mask [B, T]` (right-padded) -> `[B, D]`.

    `"last"`: the last real token, the only one a causal model lets see the
    whole sequence (GPT/Llama classifiers in Hugging Face do the same).
    `"mean"`: the average over real tokens.
    """

    def __init__(self, pooling="last", **kwargs):
        super().__init__(**kwargs)
        if pooling not in ("last", "mean"):
            raise ValueError(f"`pooling` must be 'last' or 'mean', got {pooling!r}.")
        self.pooling = pooling

    def call(self, hidden_states, padding_mask):
        mask = ops.cast(padding_mask, hidden_states.dtype)
        if self.pooling == "mean":
            total = ops.sum(hidden_states * mask[:, :, None], axis=1)
            return total / ops.maximum(ops.sum(mask, axis=1, keepdims=True), 1.0)
        last = ops.maximum(ops.sum(ops.cast(padding_mask, "int32"), axis=1) - 1, 0)
        return ops.take_along_axis(hidden_states, last[:, None, None], axis=1)[:, 0]

    def compute_output_shape(self, hidden_states_shape, padding_mask_shape=None):
        return (hidden_states_shape[0], hidden_states_shape[2])

    def get_config(self):
        return {**super().get_config(), "pooling": self.pooling}
