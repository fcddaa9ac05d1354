"""LLAMABackbone: token embedding, N hierarchical-attention decoder blocks, final RMSNorm."""

import os

import keras
import keras_hub

from llama_keras import integrity
from llama_keras.layers.decoder_block import LLAMADecoderBlock
from llama_keras.layers.token_embedding import TokenEmbedding
from llama_keras.models.presets import backbone_presets


@keras.saving.register_keras_serializable(package="llama_keras")
class LLAMABackbone(keras_hub.models.Backbone):
    """A LLaMA decoder stack with hierarchical, adaptive attention.

    Inputs `{"token_ids": [B, T] int, "padding_mask": [B, T] int}` -> hidden
    states `[B, T, hidden_dim]`. Takes keras-hub `LlamaBackbone`'s argument
    names, so one can be swapped for the other, plus:

    Args:
        embedding_dim: factorised embedding size `E < hidden_dim` (tied `V x E`
            table and an `E x D` projection); None for `E = D`.
        rope_scaling_type: `"linear"` (PI, what keras-hub's
            `rope_position_scaling_factor` means), `"ntk"`, `"dynamic_ntk"`,
            `"yarn"` or `"none"`. `rope_pretraining_sequence_length` is the
            training length that `dynamic_ntk` and `yarn` extend from.
        window_size, adaptive_span, span_ramp, span_loss, chunk_size,
        num_selected_chunks, selection_block_size, max_coarse_chunks,
        query_tokens_per_step, far_positions: see `llama_keras.layers.HierarchicalAttention`.
    """

    def __init__(
        self,
        vocabulary_size,
        num_layers,
        num_query_heads,
        hidden_dim,
        intermediate_dim,
        num_key_value_heads=None,
        embedding_dim=None,
        rope_max_wavelength=10000,
        rope_position_scaling_factor=1.0,
        rope_scaling_type="linear",
        rope_pretraining_sequence_length=2048,
        layer_norm_epsilon=1e-6,
        dropout=0.0,
        tie_word_embeddings=True,
        window_size=256,
        adaptive_span=True,
        span_ramp=32,
        span_loss=2e-6,
        chunk_size=32,
        num_selected_chunks=4,
        selection_block_size=64,
        max_coarse_chunks=64,
        query_tokens_per_step=16384,
        far_positions="none",
        dtype=None,
        **kwargs,
    ):
        num_key_value_heads = num_key_value_heads or num_query_heads
        attention_config = {
            "window_size": window_size, "adaptive_span": adaptive_span, "span_ramp": span_ramp,
            "span_loss": span_loss, "chunk_size": chunk_size, "num_selected_chunks": num_selected_chunks,
            "selection_block_size": selection_block_size, "max_coarse_chunks": max_coarse_chunks,
            "query_tokens_per_step": query_tokens_per_step, "far_positions": far_positions,
            "rope_max_wavelength": rope_max_wavelength,
            "rope_scaling": rope_scaling_type, "rope_scaling_factor": rope_position_scaling_factor,
            "rope_original_length": rope_pretraining_sequence_length,
        }
        # === Layers ===
        self.token_embedding = TokenEmbedding(
            vocabulary_size, hidden_dim, embedding_dim, tie_weights=tie_word_embeddings,
            embeddings_initializer=keras.initializers.RandomNormal(stddev=0.01),
            dtype=dtype, name="token_embedding",
        )
        self.transformer_layers = [
            LLAMADecoderBlock(
                intermediate_dim, num_query_heads, num_key_value_heads,
                layer_norm_epsilon=layer_norm_epsilon, dropout=dropout,
                kernel_initializer=keras.initializers.RandomNormal(stddev=0.02),
                attention_config=attention_config, dtype=dtype, name=f"transformer_layer_{i}",
            )
            for i in range(num_layers)
        ]
        self.layer_norm = keras.layers.RMSNormalization(
            epsilon=layer_norm_epsilon, dtype=dtype, name="sequence_output_layernorm"
        )

        # === Functional model ===
        token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
        padding_mask = keras.Input(shape=(None,), dtype="int32", name="padding_mask")
        x = self.token_embedding(token_ids)
        for block in self.transformer_layers:
            x = block(x, padding_mask=padding_mask)
        super().__init__(
            inputs={"token_ids": token_ids, "padding_mask": padding_mask},
            outputs=self.layer_norm(x),
            dtype=dtype,
            **kwargs,
        )

        # === Config ===
        self.vocabulary_size = vocabulary_size
        self.num_layers = num_layers
        self.num_query_heads = num_query_heads
        self.hidden_dim = hidden_dim
        self.intermediate_dim = intermediate_dim
        self.num_key_value_heads = num_key_value_heads
        self.embedding_dim = embedding_dim
        self.rope_max_wavelength = rope_max_wavelength
        self.rope_position_scaling_factor = rope_position_scaling_factor
        self.rope_scaling_type = rope_scaling_type
        self.rope_pretraining_sequence_length = rope_pretraining_sequence_length
        self.layer_norm_epsilon = layer_norm_epsilon
        self.dropout = dropout
        self.tie_word_embeddings = tie_word_embeddings
        self.attention_config = attention_config

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "num_layers": self.num_layers,
                "num_query_heads": self.num_query_heads,
                "hidden_dim": self.hidden_dim,
                "intermediate_dim": self.intermediate_dim,
                "num_key_value_heads": self.num_key_value_heads,
                "embedding_dim": self.embedding_dim,
                "rope_max_wavelength": self.rope_max_wavelength,
                "rope_position_scaling_factor": self.rope_position_scaling_factor,
                "rope_scaling_type": self.rope_scaling_type,
                "rope_pretraining_sequence_length": self.rope_pretraining_sequence_length,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "dropout": self.dropout,
                "tie_word_embeddings": self.tie_word_embeddings,
            }
        )
        for name in ("window_size", "adaptive_span", "span_ramp", "span_loss", "chunk_size",
                     "num_selected_chunks", "selection_block_size", "max_coarse_chunks",
                     "query_tokens_per_step", "far_positions"):
            config[name] = self.attention_config[name]
        return config

    def attention_maps(self, token_ids, padding_mask=None):
        """Where each query reads from, per layer, for inspecting short samples (O(T^2)).

        `token_ids [B, T]` -> a list of `[B, Hq, T, T]` (one per layer): see
        `HierarchicalAttention.attention_map`.
        """
        x, maps = self.token_embedding(token_ids), []
        for block in self.transformer_layers:
            maps.append(block.attention.attention_map(block.attention_norm(x), padding_mask=padding_mask))
            x = block(x, padding_mask=padding_mask)
        return maps

    @classmethod
    def from_preset(cls, preset, load_weights=True, **kwargs):
        """Builds a backbone from a preset name (architecture, random weights) or a
        directory written by `save_to_preset` (config and weights). `kwargs`
        override config entries, e.g. `window_size=512`."""
        if preset in backbone_presets:
            return cls(**{**backbone_presets[preset]["config"], **kwargs})
        if not os.path.isdir(preset):
            raise ValueError(
                f"Unknown preset {preset!r}: not one of {sorted(backbone_presets)} "
                "and not a directory written by `save_to_preset`."
            )
        integrity.verify_checksums(preset)
        try:
            return super().from_preset(preset, load_weights=load_weights, **kwargs)
        except (OSError, ValueError, KeyError) as error:
            raise ValueError(f"Could not load the preset in {preset}: {error}") from error

    def save_to_preset(self, preset_dir, **kwargs):
        """keras-hub's preset files plus `checksums.json`, which `from_preset` checks."""
        super().save_to_preset(preset_dir, **kwargs)
        integrity.write_checksums(preset_dir)
