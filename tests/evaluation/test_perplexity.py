import keras
import numpy as np
import pytest

from llama_keras.evaluation import perplexity


def test_buckets_double_from_the_first_and_cut_the_last():
    assert perplexity.position_buckets(5000) == [(0, 1024), (1024, 2048), (2048, 4096), (4096, 5000)]
    assert perplexity.position_buckets(3, first=2) == [(0, 2), (2, 3)]
    with pytest.raises(ValueError, match="positive"):
        perplexity.position_buckets(0)


@pytest.mark.parametrize("block", [3, 4096])
def test_token_losses_equal_keras_cross_entropy_on_full_logits(block):
    rng = np.random.RandomState(0)
    table = rng.normal(size=(11, 11)).astype("float32") * 3  # a bigram "model"
    token_ids = rng.randint(0, 11, 20)
    asked = []

    def logits_fn(ids, positions):
        asked.append(positions.shape[1])
        return table[ids[0][positions[0]]][None]

    losses = perplexity.token_losses(logits_fn, token_ids, block=block)
    expected = keras.losses.sparse_categorical_crossentropy(token_ids[1:], table[token_ids[:-1]], from_logits=True)
    np.testing.assert_allclose(losses, np.asarray(expected), rtol=1e-5, atol=1e-5)
    assert max(asked) == min(block, 19) and sum(asked) == 19  # never more than a block at once


def test_token_losses_refuse_a_document_too_short():
    with pytest.raises(ValueError, match=">= 2 tokens"):
        perplexity.token_losses(lambda ids, positions: None, [5])


def test_loss_by_position_averages_every_document_that_reaches_a_bucket():
    short, long = np.array([1.0, 3.0]), np.array([2.0, 2.0, 4.0, 6.0, 8.0])
    rows = perplexity.loss_by_position([short, long], [(0, 2), (2, 4), (4, 8), (8, 16)])
    # 0-2: (1 + 3 + 2 + 2) / 4; 2-4: only the long one (4, 6); 4-8: its last (8); 8-16: nobody.
    assert rows == [(0, 2, 2.0, 4), (2, 4, 5.0, 2), (4, 8, 8.0, 1)]
