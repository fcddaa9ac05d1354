"""LLAMACausalLMPreprocessor: strings -> `({"token_ids", "padding_mask"}, next_ids, weights)`."""

import keras
import keras_hub

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
