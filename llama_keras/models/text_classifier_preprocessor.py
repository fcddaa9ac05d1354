"""LLAMATextClassifierPreprocessor: text -> `<s> text </s>` (the shared segment packer)."""

import keras
from keras_hub.src.utils.tensor_utils import preprocessing_function

from llama_keras.models.segment_preprocessor import LLAMASegmentPreprocessor


@keras.saving.register_keras_serializable(package="llama_keras")
class LLAMATextClassifierPreprocessor(LLAMASegmentPreprocessor):
    """Strings `[B]` (+ integer labels) -> `({"token_ids", "padding_mask"} [B, L], labels)`.

    `sequence_length=None` reads every document whole (padded to the longest in
    the batch); an integer keeps each document's first tokens.
    """

    @preprocessing_function
    def call(self, x, y=None, sample_weight=None):
        packed = self.pack((x,))
        del packed["segment_ids"]  # one segment
        return keras.utils.pack_x_y_sample_weight(packed, y, sample_weight)
