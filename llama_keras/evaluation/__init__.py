"""Evaluation: extractive-QA scores (and, with the long-context issue, passkey and loss by position)."""

from llama_keras.evaluation.span_metrics import exact_match
from llama_keras.evaluation.span_metrics import f1_score
from llama_keras.evaluation.passkey import passkey_accuracy
from llama_keras.evaluation.passkey import passkey_prompt
from llama_keras.evaluation.passkey import passkey_samples
