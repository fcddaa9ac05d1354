"""Models: the backbone, its presets and the seed-style `LLAMAModel`."""

from llama_keras.models.backbone import LLAMABackbone
from llama_keras.models.llama_model import LLAMAModel
