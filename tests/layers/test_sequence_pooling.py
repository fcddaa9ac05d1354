import numpy as np
import pytest

from llama_keras.layers import SequencePooling
from tests.helpers import assert_close
from tests.helpers import check_config_round_trip
from tests.helpers import check_jit_equals_eager


def inputs():
    hidden = np.random.RandomState(0).randn(3, 5, 4).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], "int32")
    return hidden, mask


def test_last_and_mean_against_a_loop():
    hidden, mask = inputs()
    lengths = mask.sum(axis=1)
    last = [hidden[row, n - 1] for row, n in enumerate(lengths)]
    mean = [hidden[row, :n].mean(axis=0) for row, n in enumerate(lengths)]
    assert_close(SequencePooling("last")(hidden, mask), last)
    assert_close(SequencePooling("mean")(hidden, mask), mean)


@pytest.mark.parametrize("pooling", ["last", "mean"])
def test_config_and_jit(pooling):
    hidden, mask = inputs()
    check_config_round_trip(SequencePooling(pooling), hidden, mask)
    check_jit_equals_eager(SequencePooling(pooling), hidden, mask)


def test_unknown_pooling_is_refused():
    with pytest.raises(ValueError, match="pooling"):
        SequencePooling("max")
