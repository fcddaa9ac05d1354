"""Models: the backbone, its presets, the seed-style `LLAMAModel` and task models."""

from llama_keras.models.backbone import LLAMABackbone
from llama_keras.models.causal_lm import LLAMACausalLM
from llama_keras.models.causal_lm_preprocessor import LLAMACausalLMPreprocessor
from llama_keras.models.llama_model import LLAMAModel
from llama_keras.models.distribution_fix import clip_after_all_reduce
from llama_keras.models.segment_preprocessor import LLAMASegmentPreprocessor
from llama_keras.models.text_classifier import LLAMATextClassifier
from llama_keras.models.text_classifier_preprocessor import LLAMATextClassifierPreprocessor
