"""SpanHead: start and end logits over the context's tokens."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="llama_keras")
class SpanHead(keras.layers.Layer):
    """`hidden [B, L, D]`, `context_mask [B, L]` -> logits `[B, 2, L]` (row 0: start,
    row 1: end), float32, and -1e9 outside the context, so a softmax over positions
    only ever picks context tokens."""

    def __init__(self, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.dense = keras.layers.Dense(2, kernel_initializer=self.kernel_initializer, dtype=self.dtype_policy,
                                        name="span_logits")

    def build(self, hidden_states_shape, context_mask_shape=None):
        self.dense.build(hidden_states_shape)

    def call(self, hidden_states, context_mask):
        logits = ops.cast(self.dense(hidden_states), "float32")
        logits = ops.where(ops.cast(context_mask, "bool")[:, :, None], logits, -1e9)
        return ops.transpose(logits, (0, 2, 1))

    def compute_output_shape(self, hidden_states_shape, context_mask_shape=None):
        return (hidden_states_shape[0], 2, hidden_states_shape[1])

    def get_config(self):
        return {**super().get_config(),
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer)}
