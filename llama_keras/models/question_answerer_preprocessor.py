"""LLAMAQuestionAnswererPreprocessor: `{"question", "context"}` -> `<s> question </s> context </s>`
with the context's tokens marked and tied to their place in the text."""

import keras
import tensorflow as tf
from keras_hub.src.utils.tensor_utils import preprocessing_function

from llama_keras.models.segment_preprocessor import LLAMASegmentPreprocessor


@keras.saving.register_keras_serializable(package="llama_keras")
class LLAMAQuestionAnswererPreprocessor(LLAMASegmentPreprocessor):
    """Extractive QA on the shared segment packer. The question comes first, so that
    in a causal model every context token has read it.

    `x = {"question": [B], "context": [B]}`, labels `y [B, 2]`: the answer's
    `[start, end)` character offsets in the context -> `({"token_ids", "padding_mask",
    "context_mask"} [B, L], token positions [B, 2] (first and last answer token),
    sample weights [B, 2])`; the weights are 0 where cutting to `sequence_length` lost the
    answer. `sequence_length=None` reads contexts whole.
    """

    @preprocessing_function
    def call(self, x, y=None, sample_weight=None):
        question, context = _question_and_context(x)
        packed = self.pack_with_offsets(question, context)
        inputs = {key: packed[key] for key in ("token_ids", "padding_mask", "context_mask")}
        if y is None:
            return keras.utils.pack_x_y_sample_weight(inputs, None, sample_weight)
        positions, found = self._in_graph(self._answer_positions, packed, tf.convert_to_tensor(context, tf.string),
                                          tf.convert_to_tensor(y))
        weights = tf.cast(found, tf.float32)
        if sample_weight is not None:
            weights *= tf.cast(sample_weight, tf.float32)
        weights = tf.stack([weights, weights], axis=1)  # one per position label
        return inputs, positions, weights

    def pack_with_offsets(self, question, context):
        """-> the packed dict plus `context_mask [B, L]` and `byte_starts`, `byte_ends [B, L]`:
        each context token's bytes in the (UTF-8-repaired) context."""
        return self._in_graph(self._pack_with_offsets, tf.convert_to_tensor(question, tf.string),
                              tf.convert_to_tensor(context, tf.string), self.sequence_length)

    def _pack_with_offsets(self, question, context, length):
        context_ids, starts, ends = self.tokenizer.tokenize_with_offsets(context)
        packed = self._pack_ids([tf.cast(self.tokenizer(question), tf.int32), context_ids], length)
        mask = packed["padding_mask"]
        prefix = tf.reduce_sum(tf.cast(packed["segment_ids"] == 0, tf.int32) * mask, axis=1)  # <s> q </s>
        kept = tf.reduce_sum(packed["segment_ids"], axis=1) - 1  # context tokens left after cutting
        positions = tf.range(tf.shape(mask)[1])[None, :]
        index = positions - prefix[:, None]
        context_mask = tf.cast((index >= 0) & (index < kept[:, None]), tf.int32)
        # Dense offsets with one spare column, so that rows without tokens still gather.
        starts, ends = (tf.pad(offsets.to_tensor(0), [[0, 0], [0, 1]]) for offsets in (starts, ends))
        index = tf.clip_by_value(index, 0, tf.shape(starts)[1] - 1)
        in_context = tf.cast(context_mask, tf.int64)
        return {**packed, "context_mask": context_mask,
                "byte_starts": tf.gather(starts, index, batch_dims=1) * in_context,
                "byte_ends": tf.gather(ends, index, batch_dims=1) * in_context}

    def _answer_positions(self, packed, context, char_spans):
        """Character `[start, end)` in the context -> (first, last) token positions `[B, 2]`, found `[B]`."""
        context = self.tokenizer.repair(context)
        char_spans = tf.cast(char_spans, tf.int32)
        zeros = tf.zeros_like(char_spans[:, 0])
        byte_start = tf.strings.length(tf.strings.substr(context, zeros, char_spans[:, 0], unit="UTF8_CHAR"))
        byte_end = tf.strings.length(tf.strings.substr(context, zeros, char_spans[:, 1], unit="UTF8_CHAR"))
        in_context = tf.cast(packed["context_mask"], tf.bool)
        byte_starts, byte_ends = packed["byte_starts"], packed["byte_ends"]
        covers = in_context & (byte_ends > tf.cast(byte_start, tf.int64)[:, None]) & (
            byte_starts < tf.cast(byte_end, tf.int64)[:, None])
        positions = tf.range(tf.shape(in_context)[1])[None, :]
        first = tf.reduce_min(tf.where(covers, positions, tf.int32.max), axis=1)
        last = tf.reduce_max(tf.where(covers, positions, -1), axis=1)
        # Found only if the answer's last byte is still inside the kept context.
        kept_end = tf.reduce_max(tf.where(in_context, byte_ends, 0), axis=1)
        found = (last >= 0) & (char_spans[:, 1] > char_spans[:, 0]) & (kept_end >= tf.cast(byte_end, tf.int64))
        return tf.stack([tf.where(found, first, 0), tf.where(found, last, 0)], axis=1), found


def _question_and_context(x):
    if not isinstance(x, dict) or not {"question", "context"} <= set(x):
        raise ValueError("Expected `x` as {'question': texts, 'context': texts}, got "
                         + (f"keys {sorted(x)}" if isinstance(x, dict) else type(x).__name__) + ".")
    return x["question"], x["context"]
