import keras
import numpy as np

from llama_keras.layers.utils import masked_attention
from tests.helpers import assert_close


def test_masked_attention_against_numpy_softmax():
    """Normalising after the product, with the output axes reordered, equals a
    plain NumPy softmax (reweighted by key weights) followed by the product."""
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(2, 3, 4, 5)).astype("float32") * 4  # [b, h, q, k]
    mask = rng.random((2, 1, 4, 5)) < 0.6
    mask[0, 0, 1] = False  # a query with no allowed key
    mask[1, 0, 2] = [True, False, False, False, False]  # one allowed key
    values = rng.normal(size=(2, 5, 3, 6)).astype("float32")  # [b, k, h, e]
    key_weights = rng.uniform(0.1, 1.0, size=(1, 3, 1, 5)).astype("float32")

    weights = np.exp(scores - scores.max(-1, keepdims=True)) * np.broadcast_to(mask, scores.shape) * key_weights
    probs = weights / np.maximum(weights.sum(-1, keepdims=True), 1e-30)
    expected = np.einsum("bhqk,bkhe->bqhe", probs, values)
    got = keras.ops.convert_to_numpy(masked_attention(scores, mask, values, "bhqk,bkhe->bqhe", key_weights))
    assert_close(got, expected, atol=1e-5)
    assert np.all(got[0, 1] == 0.0)  # the empty row gives zeros, not NaN
    assert_close(got[1, 2], values[1, 0], atol=1e-5)  # one allowed key: its value, for every head
