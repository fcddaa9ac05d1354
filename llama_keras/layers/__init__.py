"""Keras layers: RoPE with scaling, hierarchical attention, the LLaMA decoder block."""

from llama_keras.layers.decoder_block import LLAMADecoderBlock
from llama_keras.layers.hierarchical_attention import HierarchicalAttention
from llama_keras.layers.rotary_embedding import RotaryEmbedding
from llama_keras.layers.sequence_pooling import SequencePooling
from llama_keras.layers.span_head import SpanHead
from llama_keras.layers.token_embedding import TokenEmbedding
