"""Loss by position on long real documents: trained short, read at 32k, beside keras-hub's Llama.

    python benchmarks/bench_loss_by_position.py        # after bench_passkey.py trained both models (~15 min)

The `tiny` pair is trained at 256 tokens (`--config=small`: at 2k).

Uses the two models that `bench_passkey.py` trained (same size, same batches of
passkey prompts and real text at the config's training length; see
`long_context.py`). Reads the first `--length` tokens of every document held
out of that training (State of the Union addresses and Python standard-library
sources longer than 32k tokens) and averages the per-token loss in position
buckets 0-1k, 1-2k, 2-4k, ... Each model runs in a fresh subprocess;
keras-hub reads only as far as its `[T, T]` scores fit in `--memory_gb`.
Writes `results/loss_by_position.md/.json/.png`.
"""

import json
import os
import sys

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import long_context  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("run_dir", os.path.join(os.path.dirname(os.path.abspath(__file__)), "runs", "long_context"),
                    "Where bench_passkey.py left the trained models.")
flags.DEFINE_list("models", list(long_context.MODELS), "Models to compare.")
flags.DEFINE_enum("config", "tiny", list(long_context.CONFIGS), "Which trained pair (long_context.CONFIGS).")
flags.DEFINE_integer("length", 32768, "Tokens read from each document.", lower_bound=2048)
flags.DEFINE_integer("max_documents", 8, "Held-out documents read (the longest first).", lower_bound=1)
flags.DEFINE_float("memory_gb", 14.0, "keras-hub reads as many tokens as fit in this much memory.")
flags.DEFINE_integer("timeout_s", 3600, "Per-model limit.")
flags.DEFINE_bool("worker", False, "Internal: evaluate one model and print JSON.")
flags.DEFINE_string("model", None, "Internal: the worker's model.")


def readable_length(name):
    """`--length`, or for full attention the longest power of two that fits in `--memory_gb`."""
    length = FLAGS.length
    while name != "llama_keras" and long_context.full_attention_gb(length, FLAGS.config) > FLAGS.memory_gb:
        length //= 2
    return length


def evaluate(name):
    from llama_keras.evaluation import perplexity

    model, tokenizer, record = long_context.load(name, FLAGS.run_dir)
    _, _, held_out = long_context.prepare(FLAGS.run_dir, long_context.VOCABULARY_SIZE)
    names = sorted(held_out, key=lambda n: -len(held_out[n]))[: FLAGS.max_documents]
    length = readable_length(name)
    logits_fn = long_context.next_token_logits(model)
    # One forward pass per document: `[length, V]` logits fit at this vocabulary (32k x 4k floats = 0.5 GB).
    losses = [perplexity.token_losses(logits_fn, held_out[n][:length], block=length) for n in names]
    rows = perplexity.loss_by_position(losses, perplexity.position_buckets(length - 1))
    return {"documents": names, "length": length, "train_length": record["train_length"],
            "buckets": [{"start": s, "end": e, "loss": loss, "tokens": c} for s, e, loss, c in rows],
            "peak_rss_gb": common.peak_rss_gb()}


def main(argv):
    del argv
    if FLAGS.worker:
        print(json.dumps(evaluate(FLAGS.model)))
        return
    missing = set(FLAGS.models) - set(long_context.trained(FLAGS.run_dir, FLAGS.config))
    if missing:
        raise SystemExit(f"No trained {sorted(missing)} in {FLAGS.run_dir}: run bench_passkey.py first.")
    results = {}
    for name in FLAGS.models:
        results[name] = common.run_worker(
            __file__, [f"--model={name}", f"--run_dir={FLAGS.run_dir}", f"--config={FLAGS.config}", f"--length={FLAGS.length}",
                       f"--max_documents={FLAGS.max_documents}", f"--memory_gb={FLAGS.memory_gb}"], FLAGS.timeout_s)
        print(name, results[name], flush=True)
        if "error" in results[name]:
            raise SystemExit(f"{name} failed: {results[name]['error']}")
    write(results)


def write(results):
    """Table (a row per bucket start), `results/loss_by_position.md/.json` and the plot."""
    starts = sorted({b["start"] for r in results.values() for b in r["buckets"]})
    rows = []
    for start in starts:
        cells, end = [], 0
        for result in results.values():
            bucket = [b for b in result["buckets"] if b["start"] == start]
            end = max([end] + [b["end"] for b in bucket])
            cells.append(f"{bucket[0]['loss']:.3f}" if bucket else f"not read (fits {result['length']:,})")
        rows.append([f"{start:,}-{end:,}"] + cells)
    table = common.markdown_table(["positions"] + [f"{name} loss (nats)" for name in results], rows)
    documents = ", ".join(next(iter(results.values()))["documents"])
    print(table)
    common.write_results("loss_by_position", "Loss by position, trained at 256-2k tokens",
                         "\n\n".join(__doc__.split("\n\n")[2:4]) + f"\n\nDocuments: {documents}.", table, results)
    series = {name: [((b["start"] + b["end"]) / 2, {"loss": b["loss"]}) for b in result["buckets"]]
              for name, result in results.items()}
    common.plot_lines(os.path.join(common.RESULTS_DIR, "loss_by_position.png"),
                      "Per-token loss by position (held-out documents)", series, [("loss", "loss (nats)")],
                      xlabel="position (bucket middle)")

if __name__ == "__main__":
    app.run(main)
