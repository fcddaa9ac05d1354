"""LLAMADecoderBlock: pre-norm RMSNorm -> attention -> RMSNorm -> SwiGLU, with residuals."""

import keras
from keras import ops

from llama_keras.layers.hierarchical_attention import HierarchicalAttention
from llama_keras.layers.utils import clone_initializer


@keras.saving.register_keras_serializable(package="llama_keras")
class LLAMADecoderBlock(keras.layers.Layer):
    """One LLaMA block. `x [B, T, D] -> [B, T, D]`.

        h   = x + attention(rms_norm(x))
        out = h + down(silu(gate(rms_norm(h))) * up(rms_norm(h)))

    `attention_config` is a dict of `HierarchicalAttention` arguments (window,
    chunks, RoPE...) beyond the head counts.
    Call args as `HierarchicalAttention`: `padding_mask [B, T]`, `positions [B, T]`.
    """

    def __init__(self, intermediate_dim, num_query_heads, num_key_value_heads,
                 layer_norm_epsilon=1e-6, dropout=0.0, kernel_initializer="glorot_uniform",
                 attention_config=None, **kwargs):
        super().__init__(**kwargs)
        self.intermediate_dim = intermediate_dim
        self.num_query_heads = num_query_heads
        self.num_key_value_heads = num_key_value_heads
        self.layer_norm_epsilon = layer_norm_epsilon
        self.dropout = dropout
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.attention_config = dict(attention_config or {})
        self.attention = HierarchicalAttention(
            num_query_heads, num_key_value_heads, kernel_initializer=clone_initializer(self.kernel_initializer),
            dtype=self.dtype_policy, name="attention", **self.attention_config,
        )

    def build(self, input_shape):
        hidden_dim = input_shape[-1]

        def dense(units, name):
            return keras.layers.Dense(units, use_bias=False,
                                      kernel_initializer=clone_initializer(self.kernel_initializer),
                                      dtype=self.dtype_policy, name=name)

        def norm(name):
            return keras.layers.RMSNormalization(epsilon=self.layer_norm_epsilon,
                                                 dtype=self.dtype_policy, name=name)

        self.attention_norm, self.ffn_norm = norm("attention_norm"), norm("ffn_norm")
        self.ffn_gate = dense(self.intermediate_dim, "ffn_gate")
        self.ffn_up = dense(self.intermediate_dim, "ffn_up")
        self.ffn_down = dense(hidden_dim, "ffn_down")
        self.dropout_layer = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)
        for layer in (self.attention_norm, self.ffn_norm, self.attention, self.ffn_gate, self.ffn_up):
            layer.build(input_shape)
        self.ffn_down.build(tuple(input_shape[:-1]) + (self.intermediate_dim,))

    def call(self, x, padding_mask=None, positions=None, training=None):
        attended = self.attention(self.attention_norm(x), padding_mask=padding_mask, positions=positions)
        return self._feedforward(x, attended, training)

    def prefill(self, x, prefix_length):
        """Cached decoding: see `HierarchicalAttention.prefill`. -> (`[B, L, D]`, cache)."""
        attended, cache = self.attention.prefill(self.attention_norm(x), prefix_length)
        return self._feedforward(x, attended), cache

    def decode(self, x, cache, index):
        """Cached decoding: see `HierarchicalAttention.decode`. -> (`[B, 1, D]`, cache)."""
        attended, cache = self.attention.decode(self.attention_norm(x), cache, index)
        return self._feedforward(x, attended), cache

    def _feedforward(self, x, attended, training=None):
        x = x + self.dropout_layer(attended, training=training)
        h = self.ffn_norm(x)
        ffn = self.ffn_down(ops.silu(self.ffn_gate(h)) * self.ffn_up(h))
        return x + self.dropout_layer(ffn, training=training)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "intermediate_dim": self.intermediate_dim,
                "num_query_heads": self.num_query_heads,
                "num_key_value_heads": self.num_key_value_heads,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "dropout": self.dropout,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "attention_config": self.attention_config,
            }
        )
        return config

    def compute_output_shape(self, input_shape):
        return input_shape
