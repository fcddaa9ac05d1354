"""No NaN or Inf where inputs are extreme: all-padding rows, very long inputs, bf16, huge logits."""

import sys

import keras
import numpy as np
import pytest

import llama_keras as lk
from tests.models.test_mixed_precision import dtype_policy
from tests.trainers.test_train_lm import ROOT

sys.path.insert(0, ROOT)
from trainers import common  # noqa: E402


def backbone(**kwargs):
    return lk.LLAMABackbone.from_preset("llama_keras_tiny", vocabulary_size=100, **kwargs)


def finite(x):
    return np.isfinite(keras.ops.convert_to_numpy(keras.ops.cast(x, "float32"))).all()


def inputs(batch, length, padding=None):
    ids = np.random.default_rng(0).integers(3, 100, size=(batch, length)).astype("int32")
    mask = np.ones_like(ids) if padding is None else padding
    return {"token_ids": ids, "padding_mask": mask}


@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"])
def test_all_padding_rows_are_finite(policy):
    with dtype_policy(policy):
        mask = np.ones((3, 40), "int32")
        mask[1] = 0  # a row that is all padding
        mask[2, 5:] = 0
        assert finite(backbone()(inputs(3, 40, mask)))


@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"])
def test_very_long_inputs_are_finite(policy):
    with dtype_policy(policy):
        model = backbone()
        out = model(inputs(1, 65_536))
    assert out.shape == (1, 65_536, model.hidden_dim) and finite(out)


def test_huge_attention_scores_and_logits_are_finite():
    model = lk.LLAMACausalLM(backbone())
    for layer in model.backbone.transformer_layers:  # scores ~1e6 times larger than trained ones
        for dense in (layer.attention.query_dense, layer.attention.key_dense):
            dense.kernel.assign(dense.kernel * 1e3)
    embeddings = model.backbone.token_embedding.embedding.embeddings
    embeddings.assign(embeddings * 1e4)  # logits in the 1e8 range
    x = inputs(2, 48)
    logits = model(x)
    assert finite(logits)
    loss = model.compute_loss(x=x, y=x["token_ids"], y_pred=logits)
    assert finite(loss)


def test_trainers_stop_on_nan():
    for chief in (True, False):
        callbacks = common.training_callbacks("unused", summaries=None, chief=chief)
        assert any(isinstance(c, keras.callbacks.TerminateOnNaN) for c in callbacks)
