"""ClassifierServer: `text: string[None]` -> `label: string[None]`, `probabilities: float[None, C]`."""

import keras
import tensorflow as tf

from llama_keras.serving.task_server import TaskServer
from llama_keras.serving.task_server import serving_function


class ClassifierServer(TaskServer):
    """Runs the classifier's own packing and forward pass in the graph.

    `class_names` label the outputs (default "0", "1", ...). Documents longer
    than `max_input_tokens` keep their first tokens (only when the preprocessor
    reads documents whole, `sequence_length=None`).
    """

    def __init__(self, classifier, class_names=None, max_input_tokens=32768):
        class_names = [str(i) for i in range(classifier.num_classes)] if class_names is None else list(class_names)
        if len(class_names) != classifier.num_classes:
            raise ValueError(f"{len(class_names)} class names for {classifier.num_classes} classes.")
        if int(max_input_tokens) < 4:
            raise ValueError(f"`max_input_tokens` must be >= 4, got {max_input_tokens}.")
        super().__init__(classifier)
        self.class_names = tf.constant([str(name) for name in class_names])
        self.max_input_tokens = int(max_input_tokens)

    @serving_function(tf.TensorSpec([None], tf.string))
    def classify(self, text):
        empty = {"label": tf.zeros([0], tf.string),
                 "probabilities": tf.zeros([0, self.task.num_classes], tf.float32)}
        return tf.cond(tf.size(text) == 0, lambda: empty, lambda: self._classify(text))

    def _classify(self, text):
        """`classify` for a batch of at least one text."""
        classifier = self.task
        packed = classifier.preprocessor.pack((text,))
        inputs = {key: packed[key][:, : self.max_input_tokens] for key in ("token_ids", "padding_mask")}
        scores = tf.cast(classifier(inputs, training=False), tf.float32)
        probabilities = scores if classifier.activation is keras.activations.softmax else tf.nn.softmax(scores)
        return {"label": tf.gather(self.class_names, tf.argmax(probabilities, axis=-1)),
                "probabilities": probabilities}

    def signatures(self):
        return {"serving_default": self.classify}
