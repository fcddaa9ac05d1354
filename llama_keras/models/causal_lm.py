"""LLAMACausalLM: next-token prediction and cached generation with keras-hub samplers."""

import keras
import keras_hub
import numpy as np
import tensorflow as tf
from keras import ops

from llama_keras.models.backbone import LLAMABackbone
from llama_keras.models.causal_lm_preprocessor import LLAMACausalLMPreprocessor
from llama_keras.models.distribution_fix import DistributedTrainingFix


@keras.saving.register_keras_serializable(package="llama_keras")
class LLAMACausalLM(DistributedTrainingFix, keras_hub.models.CausalLM):
    """`LLAMABackbone` + tied LM head; `fit` on strings, `generate` from prompts.

    Follows keras-hub's `CausalLM` contract (`compile(sampler=...)` with
    "greedy", "top_k", "top_p", "beam", ...). Generation keeps a per-layer cache
    (see `HierarchicalAttention.prefill` / `decode`) whose per-token cost is
    `O(w + T/c + n c)`, so it does not grow with `max_length`.
    """

    backbone_cls = LLAMABackbone
    preprocessor_cls = LLAMACausalLMPreprocessor

    def __init__(self, backbone, preprocessor=None, **kwargs):
        self.backbone = backbone
        self.preprocessor = preprocessor
        inputs = backbone.input
        hidden_states = backbone(inputs)
        outputs = backbone.token_embedding(hidden_states, reverse=True)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

    def generate(self, inputs, max_length=None, stop_token_ids="auto", strip_prompt=False):
        """keras-hub's `generate`, with a clear error for prompts that are not text
        and for a `max_length` below 1."""
        if max_length is not None and (isinstance(max_length, bool) or not isinstance(max_length, (int, np.integer))
                                       or max_length < 1):
            raise ValueError(f"`max_length` must be a positive integer or None, got {max_length!r}.")
        if self.preprocessor is not None:
            _check_prompts(inputs)
        return super().generate(inputs, max_length=max_length, stop_token_ids=stop_token_ids,
                                strip_prompt=strip_prompt)

    def make_generate_function(self):
        """keras-hub's, but traced without AutoGraph on TensorFlow: `generate_step`
        and the layers' `prefill` / `decode` use explicit `ops.cond` / loops, so
        converting them would only cost tracing time."""
        if self.generate_function is None and keras.config.backend() == "tensorflow" and not self.run_eagerly:
            jit_compile = getattr(self, "jit_compile", True)
            self.generate_function = tf.function(self.generate_step, jit_compile=jit_compile, autograph=False)
        return super().make_generate_function()

    def call_with_cache(self, token_ids, cache, cache_update_index):
        """One position: `token_ids [B, 1]` at `cache_update_index` ->
        (`logits [B, 1, V]`, `hidden [B, 1, D]`, updated cache)."""
        x = self.backbone.token_embedding(token_ids)
        updated = []
        for block, layer_cache in zip(self.backbone.transformer_layers, cache):
            x, layer_cache = block.decode(x, layer_cache, cache_update_index)
            updated.append(layer_cache)
        hidden_states = self.backbone.layer_norm(x)
        return self.backbone.token_embedding(hidden_states, reverse=True), hidden_states, updated

    def _build_cache(self, token_ids, prefix_length):
        """Runs positions `< prefix_length` of `token_ids [B, L]` in parallel ->
        (`hidden [B, L, D]`, cache with room for all `L` positions)."""
        x = self.backbone.token_embedding(token_ids)
        cache = []
        for block in self.backbone.transformer_layers:
            x, layer_cache = block.prefill(x, prefix_length)
            cache.append(layer_cache)
        return self.backbone.layer_norm(x), cache

    def generate_step(self, inputs, stop_token_ids=None):
        """Generates into the padding of `{"token_ids", "padding_mask"} [B, L]`."""
        token_ids, padding_mask = inputs["token_ids"], inputs["padding_mask"]
        # Sampling starts at the shortest prompt's end; the sampler re-feeds the
        # longer prompts' tokens from there, so the cache holds positions before it.
        index = ops.min(ops.sum(ops.cast(padding_mask, "int32"), axis=-1))
        hidden_states, cache = self._build_cache(token_ids, index - 1)

        def next(prompt, cache, index):
            position = index - 1
            token = ops.slice(prompt, [0, position], [ops.shape(prompt)[0], 1])
            logits, hidden_states, cache = self.call_with_cache(token, cache, position)
            return ops.squeeze(logits, axis=1), ops.squeeze(hidden_states, axis=1), cache

        token_ids = self.sampler(
            next=next, prompt=token_ids, cache=cache, index=index, mask=padding_mask,
            stop_token_ids=stop_token_ids, hidden_states=hidden_states, model=self,
        )
        if stop_token_ids is None:
            return {"token_ids": token_ids, "padding_mask": ops.ones_like(token_ids, dtype="bool")}
        # Keep everything up to and including the first generated stop token.
        generated = ops.logical_not(ops.cast(padding_mask, "bool"))
        is_stop = ops.zeros_like(generated)
        for stop in stop_token_ids:
            is_stop = is_stop | ((token_ids == stop) & generated)
        stops = ops.cast(is_stop, "int32")
        after_stop = ops.cumsum(stops, axis=-1) - stops
        return {"token_ids": token_ids, "padding_mask": ops.logical_not(ops.cast(after_stop, "bool"))}


def _check_prompts(inputs):
    """Text prompts: a string, bytes, a non-empty list/array/tensor of them, or a `tf.data.Dataset`."""
    if isinstance(inputs, (str, bytes, tf.data.Dataset)):
        return
    if isinstance(inputs, tf.Tensor) and inputs.dtype == tf.string:
        return
    items = list(inputs) if isinstance(inputs, (list, tuple, np.ndarray)) else None
    if items is None or not items or not all(isinstance(item, (str, bytes, np.str_, np.bytes_)) for item in items):
        described = type(inputs).__name__ if items is None else f"{len(items)} items of types " + ", ".join(
            sorted({type(item).__name__ for item in items}))
        raise ValueError(f"`generate` takes prompts as text: a string, bytes, or a non-empty list of them; "
                         f"got {described}.")
