"""QuestionAnswererServer: `context`, `question` -> `answer`, `start`, `end`, `score`."""

import tensorflow as tf

from llama_keras.serving.task_server import TaskServer
from llama_keras.serving.task_server import serving_function


class QuestionAnswererServer(TaskServer):
    """Runs `LLAMAQuestionAnswerer.answer_graph` (the code behind `answer()`).

    Contexts keep their first `max_context_chars` characters (bounding each
    request's work); `start`/`end` are character offsets into the context; a
    request with no context token left gets an empty answer and score -inf.
    """

    def __init__(self, question_answerer, max_context_chars=131072):
        if int(max_context_chars) < 1:
            raise ValueError(f"`max_context_chars` must be >= 1, got {max_context_chars}.")
        super().__init__(question_answerer)
        self.max_context_chars = int(max_context_chars)

    @serving_function(tf.TensorSpec([None], tf.string), tf.TensorSpec([None], tf.string))
    def answer(self, context, question):
        empty = {"answer": tf.zeros([0], tf.string), "start": tf.zeros([0], tf.int32),
                 "end": tf.zeros([0], tf.int32), "score": tf.zeros([0], tf.float32)}
        return tf.cond(tf.size(context) == 0, lambda: empty, lambda: self._answer(context, question))

    def _answer(self, context, question):
        """`answer` for a batch of at least one context."""
        context = tf.strings.substr(self.tokenizer.repair(context), 0, self.max_context_chars, unit="UTF8_CHAR")
        return self.task.answer_graph(question, context)

    def signatures(self):
        return {"serving_default": self.answer}
