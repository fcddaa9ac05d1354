"""export_for_serving: any task as a TF Serving SavedModel, text in, text out."""

import os

import tensorflow as tf

from llama_keras.serving.causal_lm_server import CausalLMServer
from llama_keras.serving.classifier_server import ClassifierServer
from llama_keras.serving.op_check import check_servable_ops


def export_for_serving(task, export_dir, **options):
    """Writes `task` (with its preprocessor) as a SavedModel and checks that only
    core TF and TF Text ops were written. Returns `export_dir`.

    Signatures by task:
    - `LLAMACausalLM`: `serving_default(prompts: string[None], max_new_tokens: int32)
      -> generated: string[None]`, `generate_default(prompts)`. Options:
      `max_new_tokens=64` (the default signature's), `max_prompt_tokens=32768`
      (longer prompts keep their last tokens), `max_new_tokens_limit=4096`.
    - `LLAMATextClassifier`: `serving_default(text: string[None]) -> label: string[None],
      probabilities: float32[None, C]`. Options: `class_names`, `max_input_tokens=32768`.
    """
    from llama_keras.models.causal_lm import LLAMACausalLM
    from llama_keras.models.text_classifier import LLAMATextClassifier

    servers = [(LLAMATextClassifier, ClassifierServer), (LLAMACausalLM, CausalLMServer)]
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

