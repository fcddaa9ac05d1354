"""LLAMASegmentPreprocessor: the one packing step every task shares.

Text segments `(a, b, ...)` become one causal sequence `<s> a </s> b </s>`, with
the segment each token belongs to. The classifier packs `(text,)`, the
translation model `(source, target)`, the question answerer `(question, context)`
and the chat template `(history, reply)`; each task only says which segments it
feeds and what its labels are.
"""

import keras
import keras_hub
import tensorflow as tf
import tensorflow_text as tf_text
from keras_hub.src.utils.tensor_utils import preprocessing_function

from llama_keras.models.backbone import LLAMABackbone
from llama_keras.tokenizers.llama_tokenizer import LLAMATokenizer


@keras.saving.register_keras_serializable(package="llama_keras")
class LLAMASegmentPreprocessor(keras_hub.models.Preprocessor):
    """Strings `(a [B], b [B], ...)` -> `{"token_ids", "padding_mask", "segment_ids"} [B, L]` int32.

    Args:
        tokenizer: a `LLAMATokenizer`.
        sequence_length: pad or cut every batch to this length; None pads to the
            longest sequence in the batch and cuts nothing (long documents are
            read whole: the hierarchical attention has no length cap).
        keep_end_of_first_segment: when cutting, drop the *start* of the first
            segment (e.g. the oldest turns of a conversation); otherwise segments
            are cut from the end, the last segment first (keras-hub's "waterfall").
    """

    backbone_cls = LLAMABackbone
    tokenizer_cls = LLAMATokenizer

    def __init__(self, tokenizer, sequence_length=512, keep_end_of_first_segment=False, **kwargs):
        super().__init__(**kwargs)
        if sequence_length is not None and sequence_length < 4:
            raise ValueError(f"`sequence_length` must be None or >= 4, got {sequence_length}.")
        self.tokenizer = tokenizer
        self.sequence_length = sequence_length
        self.keep_end_of_first_segment = keep_end_of_first_segment
        self._graph_functions = {}  # eager calls run these traced TF functions

    def pack(self, segments, length=None):
        """`segments`: a tuple of string tensors `[B]` -> the dict above, padded or
        cut to `length` tokens (default: `self.sequence_length`).

        Always runs TF ops (traced once per input signature when called eagerly),
        so the same code serves `predict`, `tf.data` and the SavedModel export.
        """
        segments = tuple(tf.convert_to_tensor(s, tf.string) for s in segments)
        return self._in_graph(self._pack, segments, self.sequence_length if length is None else length)

    def detokenize(self, token_ids, keep_mask):
        """`token_ids [B, L]` where `keep_mask [B, L]` and not special -> strings `[B]`."""
        return self._in_graph(self._detokenize, tf.convert_to_tensor(token_ids), tf.convert_to_tensor(keep_mask))

    def _in_graph(self, function, *args):
        if tf.inside_function():
            return function(*args)
        if function.__name__ not in self._graph_functions:
            self._graph_functions[function.__name__] = tf.function(function, reduce_retracing=True)
        return self._graph_functions[function.__name__](*args)

    def _detokenize(self, token_ids, keep_mask):
        keep = tf.cast(keep_mask, tf.bool)
        for special in self.tokenizer.special_token_ids:
            keep &= tf.cast(token_ids, tf.int32) != special
        return self.tokenizer.detokenize(tf.ragged.boolean_mask(token_ids, keep))

    def _pack(self, segments, length):
        return self._pack_ids([tf.cast(self.tokenizer(s), tf.int32) for s in segments], length)

    def _pack_ids(self, ids, length):
        """Token ids of each segment (ragged `[B, None]` int32) -> the packed dict."""
        ids = list(ids)
        num_special = len(ids) + 1  # <s>, then </s> after each segment
        if length is not None:
            room = length - num_special
            if self.keep_end_of_first_segment:
                others = sum((s.row_lengths() for s in ids[1:]), tf.zeros_like(ids[0].row_lengths()))
                first_lengths = ids[0].row_lengths()
                first_start = tf.clip_by_value(first_lengths + others - room, 0, first_lengths)
                ids[0] = tf.gather(ids[0], tf.ragged.range(first_start, first_lengths), batch_dims=1)
            ids = tf_text.WaterfallTrimmer(room).trim(ids)  # cuts the last segment first
        batch = ids[0].nrows()
        start = tf.fill([batch, 1], self.tokenizer.start_token_id)
        end = tf.fill([batch, 1], self.tokenizer.end_token_id)
        pieces, segment_ids = [start], [tf.zeros_like(start)]
        for index, segment in enumerate(ids):
            with_end = tf.concat([segment, end], axis=1)
            pieces.append(with_end)
            segment_ids.append(tf.ones_like(with_end) * index)
        token_ids = tf.concat(pieces, axis=1)
        shape = [None, length]
        return {
            "token_ids": token_ids.to_tensor(self.tokenizer.pad_token_id, shape=shape),
            "padding_mask": tf.ones_like(token_ids).to_tensor(0, shape=shape),
            "segment_ids": tf.concat(segment_ids, axis=1).to_tensor(0, shape=shape),
        }

    @preprocessing_function
    def call(self, x, y=None, sample_weight=None):
        """Text `[B]` -> `(packed, y, sample_weight)`. Tasks with several segments
        override this and call `pack` with theirs."""
        return keras.utils.pack_x_y_sample_weight(self.pack((x,)), y, sample_weight)

    def get_config(self):
        config = super().get_config()
        config.update({"sequence_length": self.sequence_length,
                       "keep_end_of_first_segment": self.keep_end_of_first_segment})
        return config

