"""`fit` under MirroredStrategy on 2 logical CPUs equals one device, with our fixes.

Runs in a subprocess: logical devices must be configured before TensorFlow starts.
The batches are shuffled, repeated, padded and clipped, the case where Keras alone
skips the first batch and clips each replica's share (see `distribution_fix.py`).
"""

import json
import subprocess
import sys
import textwrap

import numpy as np

SCRIPT = textwrap.dedent('''
    import json, sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras, numpy as np
    import llama_keras as lk
    from tests import fixtures

    ids = np.random.default_rng(0).integers(3, 100, size=(16, 17)).astype("int32")
    mask = np.ones_like(ids)
    mask[::3, 10:] = 0

    def train(strategy):
        keras.utils.set_random_seed(0)
        data = lk.data.language_model_dataset(ids, mask, 4, seed=0, repeat=True)
        with strategy.scope():
            lm = lk.LLAMACausalLM(lk.LLAMABackbone.from_preset("llama_keras_tiny", vocabulary_size=100))
            optimizer = lk.models.clip_after_all_reduce(keras.optimizers.SGD(0.1, clipnorm=0.1))
            lm.compile(optimizer=optimizer, jit_compile=False)
        losses = lm.fit(data, epochs=2, steps_per_epoch=4, verbose=0).history["loss"]
        return losses, [w.tolist() for w in lm.get_weights()[:3]]

    def train_on_strings(strategy):
        with strategy.scope():
            lm = fixtures.tiny_causal_lm(sequence_length=16)
            lm.compile(optimizer="sgd", jit_compile=False)
        return lm.fit(fixtures.SENTENCES * 2, batch_size=4, epochs=1, verbose=0).history["loss"]

    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    print(json.dumps({"one": train(tf.distribute.get_strategy()), "two": train(mirrored),
                      "strings": train_on_strings(mirrored)}))
''')


def test_mirrored_fit_matches_one_device():
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    (one_losses, one_weights), (two_losses, two_weights) = out["one"], out["two"]
    np.testing.assert_allclose(two_losses, one_losses, rtol=1e-6)
    for two, one in zip(two_weights, one_weights):
        np.testing.assert_allclose(two, one, rtol=1e-5, atol=1e-6)
    assert np.isfinite(out["strings"]).all()  # keras-hub's bool masks would fail to all-reduce
