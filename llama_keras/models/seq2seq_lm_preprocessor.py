"""LLAMASeq2SeqLMPreprocessor: `{"source", "target"}` -> `<s> source </s> target </s>`, loss on the target."""

import keras
from keras import ops
from keras_hub.src.utils.tensor_utils import preprocessing_function

from llama_keras.models.segment_preprocessor import LLAMASegmentPreprocessor


@keras.saving.register_keras_serializable(package="llama_keras")
class LLAMASeq2SeqLMPreprocessor(LLAMASegmentPreprocessor):
    """Translation as a prefix LM, on the shared segment packer.

    Training: `{"source": [B], "target": [B]}` -> `({"token_ids", "padding_mask"} [B, L],
    next_ids [B, L], weights [B, L])`; weights are 1 only where the next token belongs
    to the target (its last one is `</s>`), so the source is context, never a label.
    Generation: sources `[B]` -> the prompt `<s> source </s>`, padded to `max_length`.
    Sources too long for `sequence_length` keep their first tokens.
    """

    def __init__(self, tokenizer, sequence_length=256, **kwargs):
        if sequence_length is None:
            raise ValueError("`sequence_length` must be an integer: it bounds the source and the generation.")
        super().__init__(tokenizer, sequence_length, **kwargs)

    @preprocessing_function
    def call(self, x, y=None, sample_weight=None):
        if not isinstance(x, dict) or set(x) != {"source", "target"}:
            raise ValueError(f"Expected `x` as {{'source': texts, 'target': texts}}, got {type(x).__name__}"
                             + (f" with keys {sorted(x)}" if isinstance(x, dict) else "") + ".")
        packed = self.pack((x["source"], x["target"]), length=self.sequence_length + 1)
        token_ids, padding_mask = packed["token_ids"], packed["padding_mask"]
        weights = padding_mask[:, 1:] * ops.cast(packed["segment_ids"][:, 1:] == 1, "int32")
        inputs = {"token_ids": token_ids[:, :-1], "padding_mask": padding_mask[:, :-1]}
        return inputs, token_ids[:, 1:], weights

    def generate_preprocess(self, x, sequence_length=None):
        packed = self.pack((x,), length=sequence_length)
        return {"token_ids": packed["token_ids"], "padding_mask": packed["padding_mask"]}

    @preprocessing_function
    def generate_postprocess(self, x):
        return self.detokenize(x["token_ids"], x["padding_mask"])
