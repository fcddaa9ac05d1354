"""Architecture presets for `LLAMABackbone` (configs; weights are initialised randomly)."""

backbone_presets = {
    "llama_keras_tiny": {
        "description": "2 layers, hidden 32, for tests.",
        "config": {
            "vocabulary_size": 256, "num_layers": 2, "num_query_heads": 4, "num_key_value_heads": 2,
            "hidden_dim": 32, "intermediate_dim": 64, "window_size": 16, "chunk_size": 8,
            "num_selected_chunks": 2, "selection_block_size": 8, "max_coarse_chunks": 16,
        },
    },
    "llama_keras_small": {
        "description": "6 layers, hidden 384, ~12M parameters, for CPU demos.",
        "config": {
            "vocabulary_size": 8000, "num_layers": 6, "num_query_heads": 6, "num_key_value_heads": 2,
            "hidden_dim": 384, "intermediate_dim": 1024, "window_size": 256, "chunk_size": 32,
            "num_selected_chunks": 4, "selection_block_size": 64,
        },
    },
    "llama_keras_base": {
        "description": "12 layers, hidden 768, 32k vocabulary, ~130M parameters.",
        "config": {
            "vocabulary_size": 32000, "num_layers": 12, "num_query_heads": 12, "num_key_value_heads": 4,
            "hidden_dim": 768, "intermediate_dim": 2048, "window_size": 512, "chunk_size": 64,
            "num_selected_chunks": 8, "selection_block_size": 64,
        },
    },
    "llama_keras_7b": {
        "description": "Llama-2-7B shapes (config only): 32 layers, hidden 4096, 32 heads.",
        "config": {
            "vocabulary_size": 32000, "num_layers": 32, "num_query_heads": 32, "num_key_value_heads": 32,
            "hidden_dim": 4096, "intermediate_dim": 11008, "layer_norm_epsilon": 1e-5,
            "window_size": 4096, "chunk_size": 64, "num_selected_chunks": 16, "selection_block_size": 64,
            "max_coarse_chunks": 512,
        },
    },
}
