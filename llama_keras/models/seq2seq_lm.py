"""LLAMASeq2SeqLM: translation (or any text-to-text task) as a prefix LM on the decoder."""

import keras

from llama_keras.models.causal_lm import LLAMACausalLM
from llama_keras.models.seq2seq_lm_preprocessor import LLAMASeq2SeqLMPreprocessor


@keras.saving.register_keras_serializable(package="llama_keras")
class LLAMASeq2SeqLM(LLAMACausalLM):
    """`fit({"source": [...], "target": [...]})`; `generate(["source text"])` -> the target text.

    The causal decoder reads `<s> source </s>` and continues with the target until
    `</s>`: one model, one cache, and the hierarchical attention lets the source be
    far longer than the training length. Loss falls on target tokens only.
    """

    preprocessor_cls = LLAMASeq2SeqLMPreprocessor

    def generate(self, inputs, max_length=None, stop_token_ids="auto"):
        """Sources -> targets (the prompt is never echoed)."""
        return super().generate(inputs, max_length=max_length, stop_token_ids=stop_token_ids, strip_prompt=True)
