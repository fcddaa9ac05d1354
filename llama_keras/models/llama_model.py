"""LLAMAModel: the seed-style API, token ids `[B, T]` -> next-token logits `[B, T, V]`."""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from llama_keras.models.backbone import LLAMABackbone
from llama_keras.models.distribution_fix import DistributedTrainingFix


@keras.saving.register_keras_serializable(package="llama_keras")
class LLAMAModel(DistributedTrainingFix, keras.Model):
    """A causal language model in one constructor call.

    ```python
    model = LLAMAModel(vocab_size=10000, embedding_dim=512, num_heads=8, dff=2048, input_length=40)
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    ```

    Args:
        vocab_size, embedding_dim (= hidden size), num_heads, dff (SwiGLU width).
        input_length: the training length. It is not a cap: longer inputs run,
            and RoPE scaling (`rope_scaling_type`) extends from this length.
        num_layers: decoder blocks (default 2).
        pad_token_id: positions holding this id are padding (never attended to);
            None means every position is a token.
        **backbone_kwargs: any other `LLAMABackbone` argument
            (`num_key_value_heads`, `window_size`, `chunk_size`, ...).
    """

    def __init__(self, vocab_size, embedding_dim, num_heads, dff, input_length,
                 num_layers=2, pad_token_id=None, **kwargs):
        backbone_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k not in ("name", "dtype", "trainable")}
        super().__init__(**kwargs)
        if not isinstance(input_length, int) or input_length < 1:
            raise ValueError(f"`input_length` must be a positive integer, got {input_length!r}.")
        backbone_kwargs.setdefault("rope_pretraining_sequence_length", input_length)
        self.backbone = LLAMABackbone(
            vocabulary_size=vocab_size, num_layers=num_layers, num_query_heads=num_heads,
            hidden_dim=embedding_dim, intermediate_dim=dff, dtype=kwargs.get("dtype"),
            **backbone_kwargs,
        )
        self.vocab_size = vocab_size
        self.embedding_dim = embedding_dim
        self.num_heads = num_heads
        self.dff = dff
        self.input_length = input_length
        self.num_layers = num_layers
        self.pad_token_id = pad_token_id
        self.backbone_kwargs = backbone_kwargs
        self.build((None, input_length))

    def predict(self, x, *args, **kwargs):
        """Logits `[B, T, V]` for token ids `[B, T]`; ids are checked against the vocabulary first
        (an out-of-range id would otherwise read a clamped embedding under XLA)."""
        if x is None:
            raise ValueError("`predict` needs token ids of shape [batch, length], got None.")
        # Arrays are checked whole here; datasets and generators get `call`'s dtype and rank checks.
        if isinstance(x, (np.ndarray, list, tuple, tf.Tensor)):
            ids = np.asarray(x)
            if ids.dtype.kind not in "iu":
                raise ValueError(f"`token_ids` must be integers, got dtype {ids.dtype}.")
            if ids.ndim != 2:
                raise ValueError(f"`token_ids` must have shape [batch, length], got shape {ids.shape}.")
            bad = ids[(ids < 0) | (ids >= self.vocab_size)]
            if bad.size:
                raise ValueError(f"Token id {bad.flat[0]} is outside the vocabulary [0, {self.vocab_size}).")
        return super().predict(x, *args, **kwargs)

    def call(self, token_ids, training=None):
        if len(token_ids.shape) != 2:
            raise ValueError(f"`token_ids` must have shape [batch, length], got shape {token_ids.shape}.")
        if "int" not in str(token_ids.dtype):
            raise ValueError(f"`token_ids` must be integers, got dtype {token_ids.dtype}.")
        token_ids = ops.cast(token_ids, "int32")
        if self.pad_token_id is None:
            padding_mask = ops.ones_like(token_ids)
        else:
            padding_mask = ops.cast(ops.not_equal(token_ids, self.pad_token_id), "int32")
        hidden = self.backbone({"token_ids": token_ids, "padding_mask": padding_mask}, training=training)
        return self.backbone.token_embedding(hidden, reverse=True)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocab_size": self.vocab_size,
                "embedding_dim": self.embedding_dim,
                "num_heads": self.num_heads,
                "dff": self.dff,
                "input_length": self.input_length,
                "num_layers": self.num_layers,
                "pad_token_id": self.pad_token_id,
                **self.backbone_kwargs,
            }
        )
        return config
