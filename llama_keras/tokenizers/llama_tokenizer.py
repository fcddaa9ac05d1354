"""LLAMATokenizer: keras-hub's SentencePiece tokenizer with LLaMA's special tokens."""

import importlib.util
import os

import keras
import keras_hub


@keras.saving.register_keras_serializable(package="llama_keras")
class LLAMATokenizer(keras_hub.tokenizers.SentencePieceTokenizer):
    """Strings -> token ids (`tf.string [B]` -> ragged int `[B, None]`) and back.

    `proto` is a SentencePiece model (path or serialized bytes) with `<s>` and
    `</s>`, as `train_tokenizer` writes and LLaMA/Mistral ship; padding uses id 0
    (`<unk>`), as in keras-hub's Llama. Tokenization runs in the TF graph
    (TF Text's SentencePiece op), so it exports into a SavedModel.
    """

    def __init__(self, proto=None, **kwargs):
        self._add_special_token("<s>", "start_token")
        self._add_special_token("</s>", "end_token")
        self.pad_token_id = 0
        super().__init__(proto=proto, **kwargs)


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
