import numpy as np
import tensorflow as tf

from tests.models.test_seq2seq_lm import PAIRS
from tests.models.test_seq2seq_lm import tiny_translator
from trainers import common


def test_loss_per_target_token_averages_over_target_tokens_only():
    translator = tiny_translator()
    sources, targets = (list(column) for column in zip(*PAIRS))
    data = tf.data.Dataset.from_tensor_slices({"source": sources, "target": targets}).batch(3)
    x, y, weights = translator.preprocessor({"source": sources, "target": targets})
    logits = np.asarray(translator(x), "float64")
    log_probs = logits - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1, keepdims=True)) \
        - logits.max(-1, keepdims=True)
    picked = -np.take_along_axis(log_probs, np.asarray(y)[..., None], axis=-1)[..., 0]
    expected = (picked * np.asarray(weights)).sum() / np.asarray(weights).sum()
    np.testing.assert_allclose(common.loss_per_target_token(translator, data), expected, rtol=1e-5)
