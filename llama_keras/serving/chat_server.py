"""ChatServer: `messages` (a JSON array of {"role", "content"}) -> `reply`, all in core TF ops.

JSON is read with RE2 regular expressions (TF has no JSON op): objects must be
`{"role": "...", "content": "..."}` with string values (either key order);
escapes `\\n \\t \\" \\\\ \\/` are decoded, raw UTF-8 passes through, `\\uXXXX`
is kept as written. Anything else gets an empty reply and an `error` message.
"""

import tensorflow as tf

from llama_keras.models.chat_lm import ROLES
from llama_keras.serving.causal_lm_server import GreedyGenerationServer
from llama_keras.serving.task_server import serving_function

_STRING = r'"((?:[^"\\]|\\.)*)"'
_ROLE_FIRST = r'\{\s*"role"\s*:\s*"(?:%s)"\s*,\s*"content"\s*:\s*' + _STRING + r"\s*\}"
_CONTENT_FIRST = r'\{\s*"content"\s*:\s*' + _STRING + r'\s*,\s*"role"\s*:\s*"(?:%s)"\s*\}'
_ANY_ROLE = "|".join(ROLES)
_MESSAGE = "(?:%s|%s)" % (_ROLE_FIRST % _ANY_ROLE, _CONTENT_FIRST % _ANY_ROLE)
_VALID = r"\s*\[\s*%s(?:\s*,\s*%s)*\s*\]\s*" % (_MESSAGE, _MESSAGE)
_LAST_IS_USER = r'(?s).*(?:"role"\s*:\s*"user"\s*\}|"role"\s*:\s*"user"\s*,\s*"content"\s*:\s*%s\s*\})\s*\]\s*' % _STRING
_TURN_END = "\x1e"  # marks the end of each turn until the turns are joined
_BACKSLASH = "\x1f"


def history_from_json(messages):
    """JSON strings `[B]` -> (the chat template's history `[B]`, valid `[B]` bool)."""
    valid = tf.strings.regex_full_match(messages, _VALID) & tf.strings.regex_full_match(messages, _LAST_IS_USER)
    text = messages
    for role in ROLES:
        label = role.capitalize()
        text = tf.strings.regex_replace(text, _ROLE_FIRST % role, label + r": \1" + _TURN_END)
        text = tf.strings.regex_replace(text, _CONTENT_FIRST % role, label + r": \1" + _TURN_END)
    text = tf.strings.regex_replace(text, r"^\s*\[\s*", "")
    text = tf.strings.regex_replace(text, _TURN_END + r"\s*\]\s*$", "")
    text = tf.strings.regex_replace(text, _TURN_END + r"\s*,\s*", "\n")
    # An escaped backslash first becomes a placeholder, so that `\\n` stays backslash + n.
    text = tf.strings.regex_replace(text, r"\\\\", _BACKSLASH)
    for escaped, plain in ((r"\\n", "\n"), (r"\\t", "\t"), (r'\\"', '"'), (r"\\/", "/")):
        text = tf.strings.regex_replace(text, escaped, plain)
    text = tf.strings.regex_replace(text, _BACKSLASH, "\\\\")
    return tf.where(valid, text, ""), valid


class ChatServer(GreedyGenerationServer):
    """`serving_default(messages: string[None]) -> reply: string[None], error: string[None]`
    (`max_new_tokens` tokens at most) and `chat(messages, max_new_tokens: int32)`, for
    `LLAMAChatLM`. Histories keep their last `max_prompt_tokens` tokens."""

    @serving_function(tf.TensorSpec([None], tf.string), tf.TensorSpec([], tf.int32))
    def chat(self, messages, max_new_tokens):
        history, valid = history_from_json(self.tokenizer.repair(messages))
        prompt_ids = self._prompt_ids(history, keep_last=True, separator=True)
        replies = self._continue(prompt_ids, max_new_tokens, keep_prompt=False)
        error = tf.where(valid, "", "`messages` must be a JSON array of {\"role\", \"content\"} string objects, "
                                    "roles " + "/".join(ROLES) + ", the last from the user.")
        return {"reply": tf.where(valid, replies, ""), "error": error}

    @serving_function(tf.TensorSpec([None], tf.string))
    def chat_default(self, messages):
        return self.chat(messages, tf.constant(self.default_max_new_tokens, tf.int32))

    def signatures(self):
        return {"serving_default": self.chat_default, "chat": self.chat}
