"""ClassifierServer: `text: string[None]` -> `label: string[None]`, `probabilities: float[None, C]`."""

import keras
import tensorflow as tf

from llama_keras.serving.task_server import TaskServer


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

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def classify(self, text):
        classifier = self.task
        if tf.size(text) == 0:
            return {"label": tf.zeros([0], tf.string),
                    "probabilities": tf.zeros([0, classifier.num_classes], tf.float32)}
        packed = classifier.preprocessor.pack((text,))
        inputs = {key: packed[key][:, : self.max_input_tokens] for key in ("token_ids", "padding_mask")}
        scores = tf.cast(classifier(inputs, training=False), tf.float32)
        probabilities = scores if classifier.activation is keras.activations.softmax else tf.nn.softmax(scores)
        return {"label": tf.gather(self.class_names, tf.argmax(probabilities, axis=-1)),
                "probabilities": probabilities}

    def signatures(self):
        return {"serving_default": self.classify}
