import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from llama_keras.models.span_decoding import best_spans


def brute_force(starts, ends, allowed, max_tokens):
    best = (0, 0, -np.inf)
    for i in np.flatnonzero(allowed):
        for j in np.flatnonzero(allowed):
            if i <= j < i + max_tokens and starts[i] + ends[j] > best[2]:
                best = (i, j, starts[i] + ends[j])
    return best


@given(st.integers(1, 40), st.integers(1, 8), st.integers(0, 2**31 - 1))
def test_best_span_equals_a_search_over_all_pairs(length, max_tokens, seed):
    rng = np.random.RandomState(seed)
    starts, ends = rng.randn(3, length).astype("float32"), rng.randn(3, length).astype("float32")
    allowed = rng.rand(3, length) < 0.6
    allowed[2] = False  # a row with no context left
    start, end, score = (np.asarray(t) for t in best_spans(starts, ends, allowed, max_tokens))
    for row in range(3):
        i, j, best = brute_force(starts[row], ends[row], allowed[row], max_tokens)
        assert (start[row], end[row]) == (i, j)
        np.testing.assert_allclose(score[row], best, rtol=1e-6)
        assert start[row] <= end[row]
