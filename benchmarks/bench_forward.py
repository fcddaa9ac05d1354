"""Forward-pass speed and memory vs sequence length: LLAMABackbone beside keras-hub.

    python benchmarks/bench_forward.py                      # full run (~30 min on 2 cores)
    python benchmarks/bench_forward.py --lengths=1024,4096  # a quick look

Every model has the same size (4 layers, hidden 256, 8 heads, FFN 688, vocab
8000), runs jit-compiled at batch 1, and each (model, length) point runs in a
fresh subprocess, so peak RSS is that point's own. keras-hub's full-attention
models are skipped where their `[T, T]` scores cannot fit in `--memory_gb`.
Writes `results/forward.md` and `results/forward.png`.
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
flags.DEFINE_list("lengths", ["1024", "4096", "16384", "65536", "131072", "1048576"], "Sequence lengths.")
flags.DEFINE_list("models", ["llama_keras", "keras_hub_llama", "keras_hub_mistral"], "Models to compare.")
flags.DEFINE_float("memory_gb", 22.0, "Skip a full-attention point predicted to need more memory.")
flags.DEFINE_integer("timeout_s", 1800, "Per-point limit.")
flags.DEFINE_bool("update", False, "Re-measure only --lengths x --models, keeping the other points "
                  "of results/forward.json.")
flags.DEFINE_bool("worker", False, "Internal: measure one point and print JSON.")
flags.DEFINE_string("model", None, "Internal: the worker's model.")
flags.DEFINE_integer("length", None, "Internal: the worker's length.")

SIZE = common.SIZE
MISTRAL_WINDOW = 512


def build(name):
    import keras_hub

    import llama_keras

    if name == "llama_keras":
        return llama_keras.LLAMABackbone(**SIZE)
    if name == "keras_hub_llama":
        return keras_hub.models.LlamaBackbone(**SIZE)
    if name == "keras_hub_mistral":
        return keras_hub.models.MistralBackbone(**SIZE, sliding_window=MISTRAL_WINDOW)
    raise ValueError(f"Unknown model {name!r}.")


def measure(name, length):
    import numpy as np
    import tensorflow as tf

    model = build(name)
    inputs = {
        "token_ids": tf.constant(np.random.RandomState(0).randint(0, SIZE["vocabulary_size"], (1, length)), tf.int32),
        "padding_mask": tf.ones((1, length), tf.int32),
    }
    forward = tf.function(lambda x: model(x), jit_compile=True)
    start = time.perf_counter()
    forward(inputs).numpy()
    compile_s = time.perf_counter() - start
    runs, start = 0, time.perf_counter()
    while runs < 1 or (time.perf_counter() - start < 5.0 and runs < 5):
        forward(inputs).numpy()
        runs += 1
    seconds = (time.perf_counter() - start) / runs
    return {"tokens_per_s": length / seconds, "seconds": seconds, "compile_s": compile_s,
            "peak_rss_gb": common.peak_rss_gb()}


def predicted_full_attention_gb(length):
    """keras-hub materialises fp32 [H, T, T] scores (and their softmax): ~2.2x of
    one copy, as measured here at 16k (18 GB)."""
    return 2.2 * SIZE["num_query_heads"] * length**2 * 4 / 2**30 + 1.0


def main(argv):
    del argv
    if FLAGS.worker:
        print(json.dumps(measure(FLAGS.model, FLAGS.length)))
        return
    def skip(model, length):
        if model != "llama_keras" and predicted_full_attention_gb(length) > FLAGS.memory_gb:
            return f"skipped: needs ~{predicted_full_attention_gb(length):.0f} GB"
        return None

    results, lengths = common.measure_points(
        __file__, "forward", [int(n) for n in FLAGS.lengths], FLAGS.models,
        lambda model, length: [f"--model={model}", f"--length={length}"], FLAGS.timeout_s, FLAGS.update, skip)
    header, rows = common.throughput_table(results, lengths)
    if "keras_hub_llama" in results and "llama_keras" in results:
        header.append("llama_keras / keras_hub_llama")
        for row, length in zip(rows, lengths):
            ours, peer = results["llama_keras"][length], results["keras_hub_llama"][length]
            row.append("-" if "error" in ours or "error" in peer else
                       f"{ours['tokens_per_s'] / peer['tokens_per_s']:.1f}x")
    table = common.markdown_table(header, rows)
    print(table)
    common.write_results("forward", "Forward pass vs length", __doc__.split("\n\n")[2], table, results)
    common.plot_results("forward", "Forward pass, batch 1, jit-compiled, 2 CPU cores (4 layers, hidden 256)",
                        results, lengths, [("tokens_per_s", "forward tokens / s"), ("peak_rss_gb", "peak RSS (GB)")])


if __name__ == "__main__":
    app.run(main)
