"""Rotary position embedding (RoPE) with context-extension scaling."""

import math

import keras
from keras import ops

SCALING_TYPES = ("none", "linear", "ntk", "dynamic_ntk", "yarn")


@keras.saving.register_keras_serializable(package="llama_keras")
class RotaryEmbedding(keras.layers.Layer):
    """Rotates `x [B, T, H, d]` by the angles `positions [B, T] * theta_i`.

    The "rotate half" layout of LLaMA, Hugging Face and keras-hub: feature `i`
    pairs with feature `i + d/2`, and `theta_i = base^(-2i/d)`.

    Scalings, `s = scaling_factor`, `L = original_length` (training length):
      - `"none"`: plain RoPE.
      - `"linear"` (position interpolation, Chen et al. 2023): `theta_i / s`.
      - `"ntk"` (NTK-aware): `base * s^(d / (d - 2))`.
      - `"dynamic_ntk"`: NTK with `s' = max(1, s * n / L - (s - 1))`, where
        `n = max(positions) + 1`, so inputs within `L` are untouched.
      - `"yarn"` (Peng et al. 2023): per frequency, with `r = L / wavelength_i`
        and ramp `gamma = clip((r - alpha) / (beta - alpha), 0, 1)`,
        `theta_i' = (1 - gamma) * theta_i / s + gamma * theta_i`; cos and sin
        are scaled by `0.1 * ln(s) + 1`, so the logits get its square.
    """

    def __init__(
        self,
        max_wavelength=10000.0,
        scaling="none",
        scaling_factor=1.0,
        original_length=2048,
        yarn_alpha=1.0,
        yarn_beta=32.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if scaling not in SCALING_TYPES:
            raise ValueError(
                f"`scaling` must be one of {SCALING_TYPES}, got {scaling!r}."
            )
        if scaling_factor < 1.0 and scaling != "none":
            raise ValueError(
                f"`scaling_factor` must be >= 1 to extend context, got {scaling_factor}."
            )
        self.max_wavelength = max_wavelength
        self.scaling = scaling
        self.scaling_factor = scaling_factor
        self.original_length = original_length
        self.yarn_alpha = yarn_alpha
        self.yarn_beta = yarn_beta

    def inverse_frequencies(self, head_dim, positions=None):
        """Returns `theta_i [d/2]` (float32) after scaling."""
        exponents = ops.arange(0, head_dim, 2, dtype="float32") / head_dim
        base = float(self.max_wavelength)
        s = float(self.scaling_factor)
        if self.scaling == "ntk":
            base = base * s ** (head_dim / (head_dim - 2))
        if self.scaling == "dynamic_ntk":
            length = ops.cast(ops.max(positions), "float32") + 1.0
            s_now = ops.maximum(1.0, s * length / self.original_length - (s - 1.0))
            base = base * ops.power(s_now, head_dim / (head_dim - 2))
        theta = ops.power(base, -exponents)
        if self.scaling == "linear":
            theta = theta / s
        if self.scaling == "yarn":
            rotations = self.original_length * theta / (2.0 * math.pi)
            gamma = ops.clip(
                (rotations - self.yarn_alpha) / (self.yarn_beta - self.yarn_alpha), 0.0, 1.0
            )
            theta = (1.0 - gamma) * theta / s + gamma * theta
        return theta

    def attention_factor(self):
        """YaRN's `0.1 ln(s) + 1` on cos/sin; 1 for the other scalings."""
        if self.scaling == "yarn" and self.scaling_factor > 1.0:
            return 0.1 * math.log(self.scaling_factor) + 1.0
        return 1.0

    def call(self, x, positions):
        """`x [B, T, H, d]`, `positions [B, T]` or `[T]` -> rotated `[B, T, H, d]`."""
        head_dim = x.shape[-1]
        if head_dim is None or head_dim % 2:
            raise ValueError(f"RoPE needs an even, known head size; got {head_dim}.")
        positions = ops.cast(positions, "float32")
        if len(positions.shape) == 1:
            positions = positions[None, :]
        theta = self.inverse_frequencies(head_dim, positions)
        angles = positions[:, :, None] * theta  # [B, T, d/2]
        angles = ops.concatenate([angles, angles], axis=-1)[:, :, None, :]
        factor = self.attention_factor()
        cos = ops.cast(ops.cos(angles) * factor, x.dtype)
        sin = ops.cast(ops.sin(angles) * factor, x.dtype)
        x1, x2 = ops.split(x, 2, axis=-1)
        rotated_half = ops.concatenate([-x2, x1], axis=-1)
        return x * cos + rotated_half * sin

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "max_wavelength": self.max_wavelength,
                "scaling": self.scaling,
                "scaling_factor": self.scaling_factor,
                "original_length": self.original_length,
                "yarn_alpha": self.yarn_alpha,
                "yarn_beta": self.yarn_beta,
            }
        )
        return config

    def compute_output_shape(self, input_shape):
        return input_shape
