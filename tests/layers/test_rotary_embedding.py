import math

import keras_hub
import numpy as np
import pytest

from llama_keras.layers import RotaryEmbedding
from tests import reference
from tests.helpers import assert_close
from tests.helpers import check_config_round_trip
from tests.helpers import check_jit_equals_eager

D = 16
BASE = 10000.0


def random_input(length=12, batch=2, heads=3, seed=0):
    rng = np.random.RandomState(seed)
    x = rng.randn(batch, length, heads, D).astype("float32")
    positions = np.stack([np.arange(length), np.arange(length) + 100]).astype("int32")[:batch]
    return x, positions


def plain_theta():
    return BASE ** (-np.arange(0, D, 2) / D)


@pytest.mark.parametrize("scaling,factor", [("none", 1.0), ("linear", 4.0)])
def test_matches_keras_hub_where_keras_hub_is_correct(scaling, factor):
    x, positions = random_input()
    ours = RotaryEmbedding(scaling=scaling, scaling_factor=factor)(x, positions)
    theirs = keras_hub.layers.RotaryEmbedding(max_wavelength=BASE, scaling_factor=factor)(x, positions=positions)
    assert_close(ours, theirs)


def test_plain_rope_matches_the_rotation_formula():
    x, positions = random_input()
    expected = reference.rope(x, positions.astype(float), plain_theta())
    assert_close(RotaryEmbedding()(x, positions), expected)


def test_scores_depend_only_on_relative_position():
    rope = RotaryEmbedding()
    q, k = np.random.RandomState(1).randn(2, 1, 1, 1, D).astype("float32")

    def score(m, n):
        return float(np.sum(np.asarray(rope(q, np.array([[m]]))) * np.asarray(rope(k, np.array([[n]])))))

    assert score(7, 3) == pytest.approx(score(1004, 1000), rel=1e-4, abs=1e-4)


def test_linear_divides_every_frequency_by_the_factor():
    theta = np.asarray(RotaryEmbedding(scaling="linear", scaling_factor=8.0).inverse_frequencies(D))
    np.testing.assert_allclose(theta, plain_theta() / 8.0, rtol=1e-6)


def test_ntk_raises_the_base_by_s_to_the_d_over_d_minus_2():
    s = 8.0
    theta = np.asarray(RotaryEmbedding(scaling="ntk", scaling_factor=s).inverse_frequencies(D))
    expected = (BASE * s ** (D / (D - 2))) ** (-np.arange(0, D, 2) / D)
    np.testing.assert_allclose(theta, expected, rtol=1e-5)
    # NTK keeps the highest frequency and interpolates the lowest by exactly s.
    assert theta[0] == pytest.approx(1.0)
    assert theta[-1] == pytest.approx(plain_theta()[-1] / s, rel=1e-5)


def test_keras_hub_dynamic_rope_is_not_ntk_aware():
    """Why we own RoPE: keras-hub's "dynamic" divides every frequency by the same
    constant, which also slows the highest frequency (not NTK's base change)."""
    s = 8.0
    x, positions = random_input()
    theirs = keras_hub.layers.RotaryEmbedding(max_wavelength=BASE, scaling_factor=s, rope_type="dynamic")
    ours = RotaryEmbedding(scaling="ntk", scaling_factor=s)
    assert not np.allclose(np.asarray(theirs(x, positions=positions)), np.asarray(ours(x, positions)), atol=1e-3)
    uniform = plain_theta() / s ** (D / (D - 2))
    expected = reference.rope(x, positions.astype(float), uniform)
    assert_close(theirs(x, positions=positions), expected)


def test_dynamic_ntk_is_plain_within_the_training_length_and_ntk_beyond():
    s, length = 4.0, 64
    rope = RotaryEmbedding(scaling="dynamic_ntk", scaling_factor=s, original_length=length)
    short = np.arange(length)[None]
    np.testing.assert_allclose(np.asarray(rope.inverse_frequencies(D, short)), plain_theta(), rtol=1e-6)
    long = np.arange(3 * length)[None]
    s_now = s * 3 - (s - 1)
    expected = (BASE * s_now ** (D / (D - 2))) ** (-np.arange(0, D, 2) / D)
    np.testing.assert_allclose(np.asarray(rope.inverse_frequencies(D, long)), expected, rtol=1e-5)


def test_yarn_follows_the_ramp_and_attention_factor_of_the_paper():
    s, length, alpha, beta = 16.0, 256, 1.0, 32.0
    rope = RotaryEmbedding(scaling="yarn", scaling_factor=s, original_length=length)
    theta = plain_theta()
    rotations = length * theta / (2 * math.pi)  # r(d) = L / wavelength
    gamma = np.clip((rotations - alpha) / (beta - alpha), 0, 1)
    expected_theta = (1 - gamma) * theta / s + gamma * theta
    np.testing.assert_allclose(np.asarray(rope.inverse_frequencies(D)), expected_theta, rtol=1e-5)
    assert (gamma == 1).any() and (gamma == 0).any() and ((gamma > 0) & (gamma < 1)).any()

    x, positions = random_input()
    factor = 0.1 * math.log(s) + 1
    assert_close(rope(x, positions), reference.rope(x, positions.astype(float), expected_theta, factor))


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="scaling"):
        RotaryEmbedding(scaling="log")
    with pytest.raises(ValueError, match=">= 1"):
        RotaryEmbedding(scaling="linear", scaling_factor=0.5)
    with pytest.raises(ValueError, match="even"):
        RotaryEmbedding()(np.zeros((1, 2, 1, 5), "float32"), np.zeros((1, 2)))


@pytest.mark.parametrize("scaling", ["none", "linear", "ntk", "dynamic_ntk", "yarn"])
def test_jit_and_config_round_trip(scaling):
    x, positions = random_input()
    rope = RotaryEmbedding(scaling=scaling, scaling_factor=2.0, original_length=8)
    check_jit_equals_eager(rope, x, positions)
    check_config_round_trip(rope, x, positions)
