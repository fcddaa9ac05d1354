"""Per-token generation latency vs context length: LLAMACausalLM beside keras-hub's LlamaCausalLM.

    python benchmarks/bench_decode.py                   # contexts 1k, 4k, 16k, 64k (~10 min on 2 cores)

Same model size for both (4 layers, hidden 256, 8 heads, FFN 688, vocab 8000),
batch 1. Each point, in a fresh subprocess, times `--steps` single-token
`call_with_cache` steps right after a context of the given length, run as one
jit-compiled loop as generation runs them (so caches update in place). keras-hub's
cache is its dense full-length one (its per-step cost reads all of it, so an
empty cache of that length times the same as a filled one); ours is prefilled
with the context. Writes `results/decode.md` and `results/decode.png`.
"""

import json
import os
import sys
import time

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_list("contexts", ["1024", "4096", "16384", "65536"], "Context lengths.")
flags.DEFINE_list("models", ["llama_keras", "keras_hub_llama"], "Models to compare.")
flags.DEFINE_integer("steps", 256, "Timed decoding steps per point.")
flags.DEFINE_integer("timeout_s", 1200, "Per-point limit.")
flags.DEFINE_bool("update", False, "Re-measure only --contexts x --models, keeping the other points "
                  "of results/decode.json.")
flags.DEFINE_bool("worker", False, "Internal: measure one point and print JSON.")
flags.DEFINE_string("model", None, "Internal: the worker's model.")
flags.DEFINE_integer("context", None, "Internal: the worker's context length.")


def measure(name, context, steps):
    import keras_hub
    import numpy as np
    import tensorflow as tf

    import llama_keras

    length = context + steps + 1
    token_ids = tf.constant(np.random.RandomState(0).randint(3, 8000, (1, length)), tf.int32)
    if name == "llama_keras":
        lm = llama_keras.LLAMACausalLM(llama_keras.LLAMABackbone(**common.SIZE))
        _, cache = tf.function(lambda ids: lm._build_cache(ids, context), jit_compile=True)(token_ids)
    else:
        lm = keras_hub.models.LlamaCausalLM(keras_hub.models.LlamaBackbone(**common.SIZE))
        size = common.SIZE
        shape = (1, size["num_layers"], 2, length, size["num_key_value_heads"],
                 size["hidden_dim"] // size["num_query_heads"])
        cache = tf.zeros(shape)
    @tf.function(jit_compile=True)
    def decode(cache):
        def step(index, cache, total):
            logits, _, cache = lm.call_with_cache(tf.gather(token_ids, [index], axis=1), cache, index)
            return index + 1, cache, total + tf.reduce_sum(logits)

        return tf.while_loop(lambda index, *_: index < context + steps, step, (tf.constant(context), cache, 0.0))[2]

    decode(cache).numpy()  # compile
    start = time.perf_counter()
    decode(cache).numpy()
    return {"ms_per_token": 1000 * (time.perf_counter() - start) / steps, "peak_rss_gb": common.peak_rss_gb()}


def main(argv):
    del argv
    if FLAGS.worker:
        print(json.dumps(measure(FLAGS.model, FLAGS.context, FLAGS.steps)))
        return
    results, contexts = common.measure_points(
        __file__, "decode", [int(c) for c in FLAGS.contexts], FLAGS.models,
        lambda model, context: [f"--model={model}", f"--context={context}", f"--steps={FLAGS.steps}"],
        FLAGS.timeout_s, FLAGS.update)
    header = ["context"] + [f"{name} ms/token (peak GB)" for name in results]
    rows = common.table_rows(results, contexts, lambda p: f"{p['ms_per_token']:.1f} ({p['peak_rss_gb']:.2f})")
    ours = [results.get("llama_keras", {}).get(c, {}) for c in (contexts[0], contexts[-1])]
    note = __doc__.split("\n\n")[2]
    if all("ms_per_token" in p for p in ours):
        note += (f"\n\nllama_keras at {contexts[-1]:,} / at {contexts[0]:,}: "
                 f"{ours[1]['ms_per_token'] / ours[0]['ms_per_token']:.2f}x")
    table = common.markdown_table(header, rows)
    print(table + "\n\n" + note.split("\n\n")[-1])
    common.write_results("decode", "Per-token decoding latency vs context", note, table, results)
    common.plot_results("decode", "Cached decoding, batch 1, jit-compiled, 2 CPU cores (4 layers, hidden 256)",
                        results, contexts, [("ms_per_token", "ms per generated token"), ("peak_rss_gb", "peak RSS (GB)")])


if __name__ == "__main__":
    app.run(main)
