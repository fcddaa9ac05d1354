"""LLAMATextClassifier: the backbone, pooled, then a linear layer over the classes."""

import keras
import keras_hub
import numpy as np

from llama_keras.layers.sequence_pooling import SequencePooling
from llama_keras.models.backbone import LLAMABackbone
from llama_keras.models.distribution_fix import DistributedTrainingFix
from llama_keras.models.text_classifier_preprocessor import LLAMATextClassifierPreprocessor


@keras.saving.register_keras_serializable(package="llama_keras")
class LLAMATextClassifier(DistributedTrainingFix, keras_hub.models.TextClassifier):
    """Text `[B]` -> class logits `[B, num_classes]` (keras-hub's `TextClassifier` contract:
    `fit((texts, labels))`, `predict(texts)`, `compile()` defaults).

    Args:
        backbone: an `LLAMABackbone` (e.g. one pretrained by `LLAMACausalLM`).
        num_classes: number of labels.
        preprocessor: an `LLAMATextClassifierPreprocessor`, or None for token ids.
        pooling: `"last"` (the final `</s>`, which saw the whole text) or `"mean"`.
        activation: None for logits, or `"softmax"`.
        dropout: dropout on the pooled vector.
    """

    backbone_cls = LLAMABackbone
    preprocessor_cls = LLAMATextClassifierPreprocessor

    def __init__(self, backbone, num_classes, preprocessor=None, pooling="last", activation=None, dropout=0.0,
                 **kwargs):
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f"`num_classes` must be an integer >= 2, got {num_classes!r}.")
        self.backbone = backbone
        self.preprocessor = preprocessor
        self.pooler = SequencePooling(pooling, dtype=backbone.dtype_policy, name="pooler")
        self.output_dropout = keras.layers.Dropout(dropout, dtype=backbone.dtype_policy, name="output_dropout")
        self.output_dense = keras.layers.Dense(
            num_classes, activation=activation, kernel_initializer=keras.initializers.RandomNormal(stddev=0.02),
            dtype=backbone.dtype_policy, name="logits")

        inputs = backbone.input
        hidden_states = backbone(inputs)
        pooled = self.pooler(hidden_states, inputs["padding_mask"])
        outputs = self.output_dense(self.output_dropout(pooled))
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        self.num_classes = num_classes
        self.pooling = pooling
        self.activation = keras.activations.get(activation)
        self.dropout = dropout

    def fit(self, x=None, y=None, *args, **kwargs):
        self._check_labels(y)
        return super().fit(x, y, *args, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        self._check_labels(y)
        return super().evaluate(x, y, *args, **kwargs)

    def _check_labels(self, labels):
        """Labels given as arrays must be class ids (datasets are not read ahead)."""
        if labels is None:
            return
        values = np.asarray(keras.ops.convert_to_numpy(labels))
        if not values.size:
            return
        if (not np.issubdtype(values.dtype, np.number) or np.any(values != np.round(values))
                or values.min() < 0 or values.max() >= self.num_classes):
            raise ValueError(f"Classifier labels must be integers in [0, {self.num_classes}); got values from "
                             f"{values.min()!r} to {values.max()!r} (dtype {values.dtype}).")

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_classes": self.num_classes,
            "pooling": self.pooling,
            "activation": keras.activations.serialize(self.activation),
            "dropout": self.dropout,
        })
        return config
