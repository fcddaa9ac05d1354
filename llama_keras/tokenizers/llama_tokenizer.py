"""LLAMATokenizer: keras-hub's SentencePiece tokenizer with LLaMA's special tokens."""

import importlib.util
import os

import keras
import keras_hub
import numpy as np
import tensorflow as tf


@keras.saving.register_keras_serializable(package="llama_keras")
class LLAMATokenizer(keras_hub.tokenizers.SentencePieceTokenizer):
    """Strings -> token ids (`tf.string [B]` -> ragged int `[B, None]`) and back.

    `proto` is a SentencePiece model (path or serialized bytes) with `<s>` and
    `</s>`, as `train_tokenizer` writes and LLaMA/Mistral ship; padding uses id 0
    (`<unk>`), as in keras-hub's Llama. Tokenization runs in the TF graph
    (TF Text's SentencePiece op), so it exports into a SavedModel. Bytes that are
    not valid UTF-8 become U+FFFD instead of failing the request.
    """

    def __init__(self, proto=None, **kwargs):
        self._add_special_token("<s>", "start_token")
        self._add_special_token("</s>", "end_token")
        self.pad_token_id = 0
        super().__init__(proto=proto, **kwargs)

    def tokenize(self, inputs):
        if inputs is None or isinstance(inputs, (bool, int, float, np.number)):
            raise TypeError(f"LLAMATokenizer takes text (str, bytes, lists or string tensors of them), "
                            f"got {type(inputs).__name__}.")
        if self._use_tf_workflow() or isinstance(inputs, tf.Tensor):
            inputs = self.repair(inputs)
        else:
            inputs = _valid_text(inputs)
        return super().tokenize(inputs)

    def tokenize_with_offsets(self, inputs):
        """TF graph only: strings `[B]` -> `(ids, starts, ends)`, ragged `[B, None]`: each
        token's byte span in the text (after invalid UTF-8 became U+FFFD, as `repair`
        returns it)."""
        self._check_vocabulary()
        self._maybe_initialized_tf()
        ids, starts, ends = self._sentence_piece.tokenize_with_offsets(self.repair(inputs))
        return tf.cast(ids, tf.int32), starts, ends

    @staticmethod
    def repair(inputs):
        """String tensor -> the same with invalid UTF-8 replaced by U+FFFD."""
        return tf.strings.unicode_transcode(tf.convert_to_tensor(inputs, tf.string), "UTF-8", "UTF-8",
                                            errors="replace")


def _valid_text(inputs):
    """Python strings, bytes or arrays of them -> `str`s, invalid UTF-8 replaced."""
    if isinstance(inputs, bytes):
        return inputs.decode("utf-8", errors="replace")
    if isinstance(inputs, (list, tuple)):
        return [_valid_text(item) for item in inputs]
    if isinstance(inputs, np.ndarray):
        return _valid_text(inputs.tolist())
    return inputs


def mistral_vocabulary():
    """Path of the 32k SentencePiece model that PyPI's `mistral-common` ships.

    Raises a clear error naming the install command when the package is missing.
    """
    spec = importlib.util.find_spec("mistral_common")
    if spec is None:
        raise ImportError(
            "The 32k Mistral vocabulary comes with the `mistral-common` package: "
            "`pip install mistral-common` (or `pip install llama_keras[data]`)."
        )
    path = os.path.join(os.path.dirname(spec.origin), "data", "tokenizer.model.v1")
    if not os.path.exists(path):
        raise FileNotFoundError(f"`mistral-common` is installed but {path} is missing.")
    return path
