"""Evaluation: extractive-QA scores, passkey retrieval, loss by position."""

from llama_keras.evaluation.span_metrics import exact_match
from llama_keras.evaluation.span_metrics import f1_score
from llama_keras.evaluation.passkey import passkey_accuracy
from llama_keras.evaluation.passkey import passkey_prompt
from llama_keras.evaluation.passkey import passkey_samples
from llama_keras.evaluation.perplexity import loss_by_position
from llama_keras.evaluation.perplexity import position_buckets
from llama_keras.evaluation.perplexity import token_losses
