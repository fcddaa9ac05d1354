"""SentencePiece tokenizers that run in-graph through TF Text."""

from llama_keras.tokenizers.llama_tokenizer import LLAMATokenizer
from llama_keras.tokenizers.llama_tokenizer import mistral_vocabulary
from llama_keras.tokenizers.train import train_tokenizer
