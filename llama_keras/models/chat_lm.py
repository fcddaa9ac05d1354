"""LLAMAChatLM: dialogue as a chat template over the prefix LM.

Template: the history is one line per turn, `"User: ..."`, `"Assistant: ..."`,
`"System: ..."`; then `</s>` and the reply, which ends with `</s>` (the stop
token). Training puts loss on the reply only; histories longer than the training
length lose their oldest turns first, and `chat()` reads any history whole.
"""

import keras

from llama_keras.models.seq2seq_lm import LLAMASeq2SeqLM
from llama_keras.models.seq2seq_lm_preprocessor import LLAMASeq2SeqLMPreprocessor

ROLES = ("system", "user", "assistant")


def format_history(messages):
    """`[{"role", "content"}, ...]` -> the template's history text."""
    _check_messages(messages)
    return "\n".join(f"{m['role'].capitalize()}: {m['content']}" for m in messages)


def chat_examples(conversations):
    """Conversations -> `{"source": histories, "target": replies}`, one example per assistant turn."""
    sources, targets = [], []
    for messages in conversations:
        _check_messages(messages, ending_with=None)
        for index, message in enumerate(messages):
            if message["role"] == "assistant" and index:
                sources.append(format_history(messages[:index]))
                targets.append(message["content"])
    return {"source": sources, "target": targets}


def _check_messages(messages, ending_with="user"):
    if not isinstance(messages, (list, tuple)) or not messages:
        raise ValueError("`messages` must be a non-empty list of {'role', 'content'} dicts.")
    for index, message in enumerate(messages):
        if (not isinstance(message, dict) or message.get("role") not in ROLES
                or not isinstance(message.get("content"), str)):
            raise ValueError(f"Message {index} must be {{'role': one of {ROLES}, 'content': str}}, got {message!r}.")
    if ending_with and messages[-1]["role"] != ending_with:
        raise ValueError(f"The last message must be the {ending_with}'s, got {messages[-1]['role']!r}.")


@keras.saving.register_keras_serializable(package="llama_keras")
class LLAMAChatLM(LLAMASeq2SeqLM):
    """`fit(chat_examples(conversations))`; `chat(messages)` -> the assistant's reply."""

    preprocessor_cls = LLAMASeq2SeqLMPreprocessor

    def __init__(self, backbone, preprocessor=None, **kwargs):
        if preprocessor is not None and not preprocessor.keep_end_of_first_segment:
            raise ValueError("A chat preprocessor must keep the end of the history: "
                             "`LLAMASeq2SeqLMPreprocessor(..., keep_end_of_first_segment=True)`.")
        super().__init__(backbone, preprocessor, **kwargs)

    def chat(self, messages, max_new_tokens=64):
        """`[{"role": "user", "content": "Hi"}, ...]` (ending with the user's turn) -> reply text."""
        history = format_history(messages)
        max_length = len(self.preprocessor.tokenizer(history)) + 2 + max_new_tokens
        return self.generate([history], max_length=max_length)[0]
