"""LLAMAQuestionAnswerer: extractive answers, spans of long contexts."""

import keras
import keras_hub
import numpy as np
import tensorflow as tf

from llama_keras.layers.span_head import SpanHead
from llama_keras.models.backbone import LLAMABackbone
from llama_keras.models.distribution_fix import DistributedTrainingFix
from llama_keras.models.question_answerer_preprocessor import LLAMAQuestionAnswererPreprocessor
from llama_keras.models.span_decoding import best_spans


@keras.saving.register_keras_serializable(package="llama_keras")
class LLAMAQuestionAnswerer(DistributedTrainingFix, keras_hub.models.Task):
    """`{"question", "context"}` -> start/end logits `[B, 2, L]` over the context's tokens;
    `answer()` returns the best span as text.

    `fit(x, y)` takes `y [B, 2]`, the answers' `[start, end)` character offsets in
    the contexts. Contexts may be far longer than the training length (the
    preprocessor reads them whole with `sequence_length=None`).

    Args:
        backbone: an `LLAMABackbone`.
        preprocessor: an `LLAMAQuestionAnswererPreprocessor`.
        max_answer_tokens: longest span `answer()` returns.
    """

    backbone_cls = LLAMABackbone
    preprocessor_cls = LLAMAQuestionAnswererPreprocessor

    def __init__(self, backbone, preprocessor=None, max_answer_tokens=30, **kwargs):
        self.backbone = backbone
        self.preprocessor = preprocessor
        self.span_head = SpanHead(keras.initializers.RandomNormal(stddev=0.02), dtype=backbone.dtype_policy,
                                  name="span_head")
        inputs = {**backbone.input, "context_mask": keras.Input(shape=(None,), dtype="int32", name="context_mask")}
        hidden_states = backbone({"token_ids": inputs["token_ids"], "padding_mask": inputs["padding_mask"]})
        super().__init__(inputs=inputs, outputs=self.span_head(hidden_states, inputs["context_mask"]), **kwargs)
        self.max_answer_tokens = max_answer_tokens
        self._answer_function = None
        self._answer_function_preprocessor = None

    def compile(self, optimizer="auto", loss="auto", *, metrics="auto", **kwargs):
        """Defaults: AdamW(5e-5); cross-entropy of the start and of the end position; their accuracy."""
        optimizer = keras.optimizers.AdamW(5e-5) if optimizer == "auto" else optimizer
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True) if loss == "auto" else loss
        metrics = [keras.metrics.SparseCategoricalAccuracy(name="position_accuracy")] if metrics == "auto" else metrics
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    def answer(self, inputs):
        """`{"question": texts, "context": texts}` -> `{"answer": [str], "start": [int],
        "end": [int], "score": [float]}`; `start`/`end` are character offsets in the context."""
        if self.preprocessor is None:
            raise ValueError("`answer()` needs the model's preprocessor.")
        question, context = (_texts(inputs, key) for key in ("question", "context"))
        empty = [i for i, text in enumerate(context) if not text.strip()]
        if empty:
            raise ValueError(f"Empty context at rows {empty}: there is nothing to answer from.")
        if self._answer_function is None or self._answer_function_preprocessor != id(self.preprocessor):
            # Traced anew when the preprocessor is swapped (e.g. for one that reads contexts whole).
            self._answer_function = tf.function(self.answer_graph, reduce_retracing=True)
            self._answer_function_preprocessor = id(self.preprocessor)
        found = self._answer_function(tf.constant(question), tf.constant(context))
        if not np.all(np.isfinite(found["score"].numpy())):
            rows = np.flatnonzero(~np.isfinite(found["score"].numpy())).tolist()
            raise ValueError(f"No context token is left at rows {rows}: the question fills the preprocessor's "
                             f"sequence_length={self.preprocessor.sequence_length}.")
        return {"answer": [a.decode("utf-8") for a in found["answer"].numpy()],
                **{key: found[key].numpy().tolist() for key in ("start", "end", "score")}}

    def answer_graph(self, question, context):
        """In-graph `answer()` (shared with the SavedModel): strings `[B]` -> answers `[B]`, character
        `start`, `end` `[B]` int32, `score [B]` (-inf where no context token was left)."""
        packed = self.preprocessor.pack_with_offsets(question, context)
        inputs = {key: packed[key] for key in ("token_ids", "padding_mask", "context_mask")}
        logits = self(inputs, training=False)
        first, last, score = best_spans(logits[:, 0], logits[:, 1], packed["context_mask"] > 0,
                                        self.max_answer_tokens)
        byte_start = tf.gather(packed["byte_starts"], first, batch_dims=1)
        byte_end = tf.gather(packed["byte_ends"], last, batch_dims=1)
        context = self.preprocessor.tokenizer.repair(context)
        text = tf.strings.substr(context, tf.cast(byte_start, tf.int32), tf.cast(byte_end - byte_start, tf.int32))
        stripped = tf.strings.strip(text)  # SentencePiece pieces carry the space before a word
        leading = tf.strings.length(text) - tf.strings.length(tf.strings.regex_replace(text, r"^\s+", ""))
        byte_start = tf.cast(byte_start, tf.int32) + leading
        found = score > float("-inf")
        start = tf.strings.length(tf.strings.substr(context, tf.zeros_like(byte_start), byte_start),
                                  unit="UTF8_CHAR")
        answer = tf.where(found, stripped, "")
        end = start + tf.strings.length(answer, unit="UTF8_CHAR")
        return {"answer": answer, "start": tf.where(found, start, 0), "end": tf.where(found, end, 0),
                "score": score}

    def get_config(self):
        return {**super().get_config(), "max_answer_tokens": self.max_answer_tokens}


def _texts(inputs, key):
    if not isinstance(inputs, dict) or key not in inputs:
        raise ValueError(f"`answer()` takes {{'question': texts, 'context': texts}}; {key!r} is missing.")
    values = inputs[key]
    values = [values] if isinstance(values, (str, bytes)) else list(values)
    if not values or not all(isinstance(v, (str, bytes)) for v in values):
        raise ValueError(f"{key!r} must be a string or a non-empty list of strings.")
    return [v.decode("utf-8", errors="replace") if isinstance(v, bytes) else v for v in values]
