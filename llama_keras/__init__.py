"""llama_keras: LLaMA-style Keras 3 models with hierarchical, adaptive attention."""

import os

# The only global this package touches: Keras picks its backend at import time,
# and our tokenizers, data and serving code need TensorFlow.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from llama_keras import data  # noqa: E402
from llama_keras import evaluation  # noqa: E402
from llama_keras import layers  # noqa: E402
from llama_keras import models  # noqa: E402
from llama_keras import serving  # noqa: E402
from llama_keras import tokenizers  # noqa: E402
from llama_keras.models import LLAMABackbone  # noqa: E402
from llama_keras.models import LLAMAChatLM  # noqa: E402
from llama_keras.models import LLAMACausalLM  # noqa: E402
from llama_keras.models import LLAMACausalLMPreprocessor  # noqa: E402
from llama_keras.models import LLAMAModel  # noqa: E402
from llama_keras.models import LLAMAQuestionAnswerer  # noqa: E402
from llama_keras.models import LLAMAQuestionAnswererPreprocessor  # noqa: E402
from llama_keras.models import LLAMASeq2SeqLM  # noqa: E402
from llama_keras.models import LLAMASeq2SeqLMPreprocessor  # noqa: E402
from llama_keras.models import LLAMATextClassifier  # noqa: E402
from llama_keras.models import LLAMATextClassifierPreprocessor  # noqa: E402
from llama_keras.tokenizers import LLAMATokenizer  # noqa: E402

__version__ = "0.1.0"
