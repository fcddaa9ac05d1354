"""Models: the backbone, its presets, the seed-style `LLAMAModel` and task models."""

from llama_keras.models.backbone import LLAMABackbone
from llama_keras.models.causal_lm import LLAMACausalLM
from llama_keras.models.causal_lm_preprocessor import LLAMACausalLMPreprocessor
from llama_keras.models.llama_model import LLAMAModel
from llama_keras.models.distribution_fix import clip_after_all_reduce
from llama_keras.models.segment_preprocessor import LLAMASegmentPreprocessor
from llama_keras.models.text_classifier import LLAMATextClassifier
from llama_keras.models.text_classifier_preprocessor import LLAMATextClassifierPreprocessor
from llama_keras.models.seq2seq_lm import LLAMASeq2SeqLM
from llama_keras.models.seq2seq_lm_preprocessor import LLAMASeq2SeqLMPreprocessor
from llama_keras.models.question_answerer import LLAMAQuestionAnswerer
from llama_keras.models.question_answerer_preprocessor import LLAMAQuestionAnswererPreprocessor
from llama_keras.models.chat_lm import LLAMAChatLM
from llama_keras.models.chat_lm import chat_examples
from llama_keras.models.chat_lm import format_history
