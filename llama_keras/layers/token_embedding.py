"""Tied token embedding, optionally factorised (vocab x E, then E x D)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="llama_keras")
class TokenEmbedding(keras.layers.Layer):
    """`token_ids [B, T] -> [B, T, D]`; with `reverse=True`, `[B, T, D] -> logits [B, T, V]`.

    Input and output embeddings share one `keras.layers.ReversibleEmbedding`
    (separate output weights with `tie_weights=False`).
    When `embedding_dim < hidden_dim` the table is `V x E` and a shared `E x D`
    projection maps up on the way in and down (its transpose) on the way out, so
    a large vocabulary costs `V * E` parameters instead of `V * D`.
    """

    def __init__(self, vocabulary_size, hidden_dim, embedding_dim=None, tie_weights=True,
                 embeddings_initializer="uniform", **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size
        self.hidden_dim = hidden_dim
        self.embedding_dim = embedding_dim or hidden_dim
        self.tie_weights = tie_weights
        if self.embedding_dim > hidden_dim:
            raise ValueError(
                f"`embedding_dim` ({self.embedding_dim}) must not exceed `hidden_dim` ({hidden_dim})."
            )
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)
        self.embedding = keras.layers.ReversibleEmbedding(
            vocabulary_size, self.embedding_dim, tie_weights=tie_weights,
            embeddings_initializer=self.embeddings_initializer,
            dtype=self.dtype_policy, name="embedding",
        )
        self.factorised = self.embedding_dim < hidden_dim

    def build(self, input_shape=None):
        self.embedding.build()
        if self.factorised:
            self.projection = self.add_weight(
                name="projection", shape=(self.embedding_dim, self.hidden_dim),
                initializer="glorot_uniform",
            )

    def call(self, inputs, reverse=False):
        if reverse:
            if self.factorised:
                inputs = ops.matmul(inputs, ops.transpose(ops.cast(self.projection, inputs.dtype)))
            return self.embedding(inputs, reverse=True)
        x = self.embedding(inputs)
        if self.factorised:
            x = ops.matmul(x, ops.cast(self.projection, x.dtype))
        return x

    def compute_output_spec(self, inputs, reverse=False):
        if reverse:
            shape = tuple(inputs.shape[:-1]) + (self.vocabulary_size,)
        else:
            shape = tuple(inputs.shape) + (self.hidden_dim,)
        return keras.KerasTensor(shape, dtype=self.compute_dtype)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "hidden_dim": self.hidden_dim,
                "embedding_dim": self.embedding_dim,
                "tie_weights": self.tie_weights,
                "embeddings_initializer": keras.initializers.serialize(self.embeddings_initializer),
            }
        )
        return config
