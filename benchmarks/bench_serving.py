"""Serving throughput and latency vs batch size: our SavedModel beside keras-hub's `generate()`.

    python benchmarks/bench_serving.py                     # ~5 min on 2 cores
    python benchmarks/bench_serving.py --batch_sizes=1,4   # a quick look

Both models have the same size (4 layers, hidden 256, 8 heads, FFN 688, vocab
8000, random weights: speed does not depend on them) and the same vocabulary.
Ours: the `export_for_serving` SavedModel, loaded as TF Serving would, called
from `--threads` client threads, each request `batch` prompts of ~`--prompt_tokens`
tokens plus `--new_tokens` greedy tokens. keras-hub: `LlamaCausalLM.generate()`
in Python on the same prompts, one call at a time (what a keras-hub user runs).
Writes `results/serving.md` and `results/serving.png`.
"""

import concurrent.futures
import os
import sys
import tempfile
import time

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import common  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_list("batch_sizes", ["1", "4", "16"], "Prompts per request.")
flags.DEFINE_integer("threads", 8, "Concurrent client threads (ours).")
flags.DEFINE_integer("requests", 48, "Requests per point (ours; keras-hub runs a quarter of them).")
flags.DEFINE_integer("prompt_tokens", 128, "Approximate prompt length in tokens.")
flags.DEFINE_integer("new_tokens", 16, "Greedy tokens generated per prompt.")


def tokenizer_and_prompt():
    import llama_keras as lk

    documents = [d.text for d in lk.data.python_stdlib(max_documents=40)]
    proto = lk.tokenizers.train_tokenizer(documents, common.SIZE["vocabulary_size"], verbose=False).proto
    tokenizer = lk.LLAMATokenizer(proto=proto)
    ids = tokenizer(documents[0])[: FLAGS.prompt_tokens]
    return proto, tokenizer.detokenize(ids)


def ours(proto, prompt, batch_sizes):
    import tensorflow as tf

    import llama_keras as lk

    lm = lk.LLAMACausalLM(lk.LLAMABackbone(**common.SIZE),
                          lk.LLAMACausalLMPreprocessor(lk.LLAMATokenizer(proto=proto), 512))
    export_dir = os.path.join(tempfile.mkdtemp(), "1")
    lk.serving.export_for_serving(lm, export_dir, max_new_tokens=FLAGS.new_tokens)
    serve = tf.saved_model.load(export_dir).signatures["serving_default"]
    results = {}
    for batch in batch_sizes:
        prompts, new_tokens = tf.constant([prompt] * batch), tf.constant(FLAGS.new_tokens)

        def one_request(_):
            start = time.perf_counter()
            serve(prompts=prompts, max_new_tokens=new_tokens)["generated"].numpy()
            return time.perf_counter() - start

        one_request(0)  # warm-up (graph tracing happened at export)
        start = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(FLAGS.threads) as pool:
            latencies = list(pool.map(one_request, range(FLAGS.requests)))
        results[batch] = point(latencies, time.perf_counter() - start, batch)
        print("ours", batch, results[batch], flush=True)
    return results


def keras_hub_generate(proto, prompt, batch_sizes):
    import keras_hub

    tokenizer = keras_hub.models.LlamaTokenizer(proto=proto)
    preprocessor = keras_hub.models.LlamaCausalLMPreprocessor(tokenizer, sequence_length=512)
    lm = keras_hub.models.LlamaCausalLM(keras_hub.models.LlamaBackbone(**common.SIZE), preprocessor)
    lm.compile(sampler="greedy")
    max_length = len(tokenizer(prompt)) + 1 + FLAGS.new_tokens
    results = {}
    for batch in batch_sizes:
        prompts = [prompt] * batch
        lm.generate(prompts, max_length=max_length, stop_token_ids=None)  # compiles
        latencies, start = [], time.perf_counter()
        for _ in range(max(2, FLAGS.requests // 4)):
            begin = time.perf_counter()
            lm.generate(prompts, max_length=max_length, stop_token_ids=None)
            latencies.append(time.perf_counter() - begin)
        results[batch] = point(latencies, time.perf_counter() - start, batch)
        print("keras_hub", batch, results[batch], flush=True)
    return results


def point(latencies, seconds, batch):
    import numpy as np

    return {"requests_per_s": len(latencies) / seconds, "prompts_per_s": len(latencies) * batch / seconds,
            "p50_ms": 1000 * float(np.percentile(latencies, 50)), "p99_ms": 1000 * float(np.percentile(latencies, 99))}


def main(argv):
    del argv
    batch_sizes = [int(b) for b in FLAGS.batch_sizes]
    proto, prompt = tokenizer_and_prompt()
    results = {"llama_keras SavedModel": ours(proto, prompt, batch_sizes),
               "keras_hub generate()": keras_hub_generate(proto, prompt, batch_sizes)}
    header = ["prompts / request"] + [f"{name}: req/s, p50 / p99 ms" for name in results]
    rows = [[str(b)] + [f"{r[b]['requests_per_s']:.2f}, {r[b]['p50_ms']:.0f} / {r[b]['p99_ms']:.0f}"
                        for r in results.values()] for b in batch_sizes]
    table = common.markdown_table(header, rows)
    print(table)
    note = __doc__.split("\n\n")[2] + (f"\n\nThis run: prompts of {FLAGS.prompt_tokens} tokens, {FLAGS.new_tokens} new "
                                       f"tokens, {FLAGS.threads} client threads, {FLAGS.requests} requests per point.")
    common.write_results("serving", "Serving vs batch size", note, table, results)
    series = {name: [(b, r[b]) for b in batch_sizes] for name, r in results.items()}
    common.plot_lines(os.path.join(common.RESULTS_DIR, "serving.png"), "Greedy generation serving, 2 CPU cores",
                      series, [("prompts_per_s", "prompts / s"), ("p99_ms", "p99 latency (ms)")],
                      xlabel="prompts per request")


if __name__ == "__main__":
    app.run(main)
