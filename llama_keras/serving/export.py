"""export_for_serving: any task as a TF Serving SavedModel, text in, text out."""

import os

import tensorflow as tf

from llama_keras.serving.causal_lm_server import CausalLMServer
from llama_keras.serving.causal_lm_server import TranslationServer
from llama_keras.serving.chat_server import ChatServer
from llama_keras.serving.classifier_server import ClassifierServer
from llama_keras.serving.op_check import check_servable_ops
from llama_keras.serving.question_answerer_server import QuestionAnswererServer


def export_for_serving(task, export_dir, **options):
    """Writes `task` (with its preprocessor) as a SavedModel and checks that only
    core TF and TF Text ops were written. Returns `export_dir`.

    Signatures by task:
    - `LLAMACausalLM`: `serving_default(prompts: string[None], max_new_tokens: int32)
      -> generated: string[None]`, `generate_default(prompts)`. Options:
      `max_new_tokens=64` (the default signature's), `max_prompt_tokens=32768`
      (longer prompts keep their last tokens), `max_new_tokens_limit=4096`.
    - `LLAMASeq2SeqLM`: `serving_default(source: string[None]) -> translation: string[None]`,
      `translate(source, max_new_tokens: int32)`. Options as for the causal LM
      (`max_prompt_tokens` bounds the source, which keeps its first tokens).
    - `LLAMAChatLM`: `serving_default(messages: string[None]) -> reply, error: string[None]`,
      `chat(messages, max_new_tokens: int32)`; each message list is a JSON string
      (`chat_server.py` says which JSON). Options as for the causal LM.
    - `LLAMATextClassifier`: `serving_default(text: string[None]) -> label: string[None],
      probabilities: float32[None, C]`. Options: `class_names`, `max_input_tokens=32768`.
    - `LLAMAQuestionAnswerer`: `serving_default(context: string[None], question: string[None])
      -> answer: string[None], start, end: int32[None] (character offsets), score: float32[None]`.
      Option: `max_context_chars=131072`.
    """
    from llama_keras.models.causal_lm import LLAMACausalLM
    from llama_keras.models.chat_lm import LLAMAChatLM
    from llama_keras.models.question_answerer import LLAMAQuestionAnswerer
    from llama_keras.models.seq2seq_lm import LLAMASeq2SeqLM
    from llama_keras.models.text_classifier import LLAMATextClassifier

    servers = [(LLAMATextClassifier, ClassifierServer), (LLAMAQuestionAnswerer, QuestionAnswererServer),
               (LLAMAChatLM, ChatServer), (LLAMASeq2SeqLM, TranslationServer),
               (LLAMACausalLM, CausalLMServer)]  # subclasses before their base
    for task_type, make_server in servers:
        if isinstance(task, task_type):
            server = make_server(task, **options)
            break
    else:
        raise TypeError(f"No serving export for {type(task).__name__}; export one of "
                        + ", ".join(t.__name__ for t, _ in servers) + ".")
    os.makedirs(os.path.dirname(os.path.abspath(export_dir)), exist_ok=True)
    tf.saved_model.save(server, export_dir, signatures=server.signatures())
    check_servable_ops(export_dir)
    return export_dir

