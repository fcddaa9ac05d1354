"""LLAMACausalLMPreprocessor: strings -> `({"token_ids", "padding_mask"}, next_ids, weights)`."""

import keras
import keras_hub
import tensorflow as tf
from keras_hub.src.utils.tensor_utils import preprocessing_function

from llama_keras.models.backbone import LLAMABackbone
from llama_keras.tokenizers.llama_tokenizer import LLAMATokenizer


@keras.saving.register_keras_serializable(package="llama_keras")
class LLAMACausalLMPreprocessor(keras_hub.models.CausalLMPreprocessor):
    """keras-hub's causal-LM preprocessing with `LLAMATokenizer`: adds `<s>` and
    `</s>`, pads to `sequence_length` with id 0 and shifts targets by one.

    `sequence_length` is the training length; `generate(max_length=...)` may ask
    for more, since the model has no length cap.
    """

    backbone_cls = LLAMABackbone
    tokenizer_cls = LLAMATokenizer

    @preprocessing_function
    def call(self, x, y=None, sample_weight=None, sequence_length=None):
        """Strings `[B]` -> `({"token_ids", "padding_mask"} [B, L], next_ids [B, L], weights [B, L])`.

        The mask and weights are int32, not keras-hub's bool: `tf.distribute`
        cannot all-reduce bool tensors (see `distribution_fix.py`).
        """
        (inputs, next_ids, weights) = super().call(x, y, sample_weight, sequence_length)
        inputs = {**inputs, "padding_mask": tf.cast(inputs["padding_mask"], tf.int32)}
        return inputs, next_ids, tf.cast(weights, tf.int32)
