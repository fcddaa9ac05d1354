"""Training speed vs sequence length, float32 and bf16: LLAMACausalLM beside keras-hub's LlamaCausalLM.

    python benchmarks/bench_train.py                      # full run (~20 min on 2 cores)
    python benchmarks/bench_train.py --lengths=2048       # a quick look

Both models have the same size (4 layers, hidden 256, 8 heads, FFN 688, vocab
8000) and train jit-compiled (Adam, batch 1, next-token loss); each (model,
precision, length) point runs in a fresh subprocess and reports steps after
the compiling one. keras-hub is skipped where its `[T, T]` scores and their
gradients cannot fit in `--memory_gb`. Writes `results/train.md` and `.png`.
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
flags.DEFINE_list("lengths", ["2048", "8192", "32768"], "Sequence lengths.")
flags.DEFINE_list("models", ["llama_keras", "keras_hub_llama"], "Models to compare.")
flags.DEFINE_list("precisions", ["float32", "mixed_bfloat16"], "Keras dtype policies.")
flags.DEFINE_float("memory_gb", 22.0, "Skip a full-attention point predicted to need more memory.")
flags.DEFINE_integer("steps", 3, "Timed training steps after the compiling one.")
flags.DEFINE_integer("timeout_s", 1800, "Per-point limit.")
flags.DEFINE_bool("worker", False, "Internal: measure one point and print JSON.")
flags.DEFINE_string("model", None, "Internal: the worker's model and precision, 'name@policy'.")
flags.DEFINE_integer("length", None, "Internal: the worker's length.")


def build(name):
    import keras_hub

    import llama_keras

    if name == "llama_keras":
        return llama_keras.LLAMACausalLM(llama_keras.LLAMABackbone(**common.SIZE))
    if name == "keras_hub_llama":
        return keras_hub.models.LlamaCausalLM(keras_hub.models.LlamaBackbone(**common.SIZE), preprocessor=None)
    raise ValueError(f"Unknown model {name!r}.")


def measure(model_and_policy, length):
    import keras
    import numpy as np

    name, policy = model_and_policy.split("@")
    keras.mixed_precision.set_global_policy(policy)
    model = build(name)
    model.compile(optimizer=keras.optimizers.Adam(1e-4), jit_compile=True)
    ids = np.random.RandomState(0).randint(0, common.SIZE["vocabulary_size"], (1, length + 1)).astype("int32")
    x = {"token_ids": ids[:, :-1], "padding_mask": np.ones((1, length), "int32")}
    start = time.perf_counter()
    model.train_on_batch(x, ids[:, 1:])
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(FLAGS.steps):
        loss = model.train_on_batch(x, ids[:, 1:], return_dict=True)["loss"]
    seconds = (time.perf_counter() - start) / FLAGS.steps
    if not np.isfinite(loss):
        raise FloatingPointError(f"loss {loss}")
    return {"tokens_per_s": length / seconds, "seconds": seconds, "compile_s": compile_s,
            "peak_rss_gb": common.peak_rss_gb()}


def predicted_full_attention_gb(length):
    """Training keeps fp32 `[H, T, T]` scores, probabilities and their gradients
    per layer: ~3x the forward pass's ~2.2 copies."""
    return 3 * 2.2 * common.SIZE["num_query_heads"] * length**2 * 4 / 2**30 + 1.0


def main(argv):
    del argv
    if FLAGS.worker:
        print(json.dumps(measure(FLAGS.model, FLAGS.length)))
        return

    def skip(model, length):
        if not model.startswith("llama_keras") and predicted_full_attention_gb(length) > FLAGS.memory_gb:
            return f"skipped: needs ~{predicted_full_attention_gb(length):.0f} GB"
        return None

    models = [f"{name}@{policy}" for name in FLAGS.models for policy in FLAGS.precisions]
    results, lengths = common.measure_points(
        __file__, "train", [int(n) for n in FLAGS.lengths], models,
        lambda model, length: [f"--model={model}", f"--length={length}", f"--steps={FLAGS.steps}"],
        FLAGS.timeout_s, skip=skip)
    header, rows = common.throughput_table(results, lengths)
    table = common.markdown_table(header, rows)
    print(table)
    common.write_results("train", "Training steps vs length", __doc__.split("\n\n")[2], table, results)
    common.plot_results("train", "Training, batch 1, jit-compiled, 2 CPU cores (4 layers, hidden 256)",
                        results, lengths, [("tokens_per_s", "training tokens / s"), ("peak_rss_gb", "peak RSS (GB)")])


if __name__ == "__main__":
    app.run(main)
