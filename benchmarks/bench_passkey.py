"""Passkey retrieval far past the training length: ours beside keras-hub's full-attention Llama.

    python benchmarks/bench_passkey.py                           # train both, evaluate 1k-128k
    python benchmarks/bench_passkey.py --lengths=1024,4096 --samples=10   # a quick look
    python benchmarks/bench_passkey.py --config=small            # 4 layers, hidden 128, trained at 2k
    python benchmarks/bench_passkey.py --seeds=0,1,2 --lengths=256,4096  # ours: one recipe, three seeds
    python benchmarks/bench_passkey.py --positions=none,grouped,rope,rope+yarn  # ours: far-branch positions

Both models (the `--config` size, e.g. tiny: 2 layers, hidden 64, 4 heads, FFN
172, vocab 4000) train on the same batches for the same steps (see
`long_context.py`): passkey prompts of at most the training length, followed
by real text. Each (model, length) point
then runs in a fresh subprocess: `--samples` prompts in the exact Landmark /
LongLoRA format, depths spread evenly over [0, 1]. A sample counts when the
first integer of the greedy continuation is the key. One teacher-forced pass
over prompt + " K." gives it: the argmax tokens agree with greedy decoding up
to and including the first one that differs from the answer, and that prefix
decides the first integer. keras-hub is skipped where its `[T, T]`
scores cannot fit in `--memory_gb`. Writes `results/passkey.md/.json/.png`.
"""

import json
import os
import sys
import time

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import long_context  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("run_dir", os.path.join(os.path.dirname(os.path.abspath(__file__)), "runs", "long_context"),
                    "Trained weights and tokenizer (shared with bench_loss_by_position.py).")
flags.DEFINE_list("models", list(long_context.MODELS), "Models to train and compare.")
flags.DEFINE_list("lengths", ["1024", "2048", "4096", "8192", "16384", "32768", "65536", "131072"],
                  "Prompt lengths in tokens (the training length is added unless `--update`).")
flags.DEFINE_bool("update", False, "Keep the other points of results/passkey.json; measure only `--lengths`.")
flags.DEFINE_integer("samples", 50, "Prompts per length, depths spread evenly.", lower_bound=1)
flags.DEFINE_enum("config", "tiny", list(long_context.CONFIGS), "Model size and training recipe "
                  "(long_context.CONFIGS).")
flags.DEFINE_float("answer_weight", 10.0, "Loss weight of the answer tokens.")
flags.DEFINE_integer("seed", 0, "Training seed: initial weights and batches (one tokenizer for every seed).")
flags.DEFINE_list("seeds", [], "Instead of the comparison: train ours once per seed, evaluate at `--lengths`, "
                  "write results/passkey_seeds.md.")
flags.DEFINE_list("positions", [], "Instead of the comparison: train ours (`--seed`) once per `far_positions` "
                  "option (none, grouped, rope) and evaluate at `--lengths`; `option+scaling` evaluates that "
                  "training with RoPE scaling (linear, ntk, yarn: factor length / training length; dynamic_ntk) "
                  "-> results/passkey_positions.md.")
flags.DEFINE_integer("steps", None, "Training steps (default: the config's recipe).", lower_bound=1)
flags.DEFINE_bool("retrain", False, "Train again even when `--run_dir` holds weights.")
flags.DEFINE_float("memory_gb", 14.0, "Skip a full-attention point predicted to need more memory.")
flags.DEFINE_integer("depth_bins", 5, "Depth bins of the heatmap.", lower_bound=1)
flags.DEFINE_integer("timeout_s", 3600, "Per-point limit (training and evaluation).")
flags.DEFINE_bool("worker", False, "Internal: run one point and print JSON.")
flags.DEFINE_enum("job", "evaluate", ["train", "evaluate"], "Internal: the worker's job.")
flags.DEFINE_string("model", None, "Internal: the worker's model.")
flags.DEFINE_integer("length", None, "Internal: the worker's prompt length.")
flags.DEFINE_string("far_positions", "none", "Internal: the training worker's `far_positions`.")
flags.DEFINE_string("rope_scaling", "", "Internal: the evaluation worker's RoPE scaling (empty: the trained one).")


def evaluate(name, length):
    import numpy as np

    from llama_keras.evaluation import passkey

    model, tokenizer, _ = long_context.load(name, FLAGS.run_dir, **rope_scaling(length))
    logits_fn = long_context.next_token_logits(model)
    samples = passkey.passkey_samples(tokenizer, length, FLAGS.samples, seed=1000 + length)
    batch_size = max(1, 8192 // length)
    predictions, start = [], time.perf_counter()
    for first in range(0, len(samples), batch_size):
        batch = [long_context.passkey_ids(tokenizer, prompt, key) for prompt, key, _ in samples[first:first + batch_size]]
        width = -(-max(len(p) + len(a) for p, a in batch) // 256) * 256  # few shapes: one compile per length
        token_ids = np.zeros((len(batch), width), "int32")
        positions = np.zeros((len(batch), max(len(a) for _, a in batch)), "int32")
        for row, (prompt_ids, answer_ids) in enumerate(batch):
            token_ids[row, : len(prompt_ids) + len(answer_ids)] = prompt_ids + answer_ids
            positions[row] = len(prompt_ids) - 1 + np.minimum(np.arange(positions.shape[1]), len(answer_ids) - 1)
        guesses = logits_fn(token_ids, positions).argmax(-1)
        for row, (_, answer_ids) in enumerate(batch):
            predictions.append(greedy_text(tokenizer, guesses[row, : len(answer_ids)], answer_ids))
    keys = [key for _, key, _ in samples]
    correct = [passkey.first_integer(text) == key for text, key in zip(predictions, keys)]
    seconds = time.perf_counter() - start
    return {"accuracy": passkey.passkey_accuracy(predictions, keys), "correct": correct,
            "depths": [d for _, _, d in samples],
            "keys": keys, "predictions": predictions[:5],
            "seconds": seconds, "peak_rss_gb": common.peak_rss_gb()}


def rope_scaling(length):
    """Backbone options for `--rope_scaling` at `length` tokens: the factor is how far
    past the training length the prompt goes (dynamic NTK computes its own)."""
    if not FLAGS.rope_scaling:
        return {}
    train_length = long_context.CONFIGS[FLAGS.config]["training"]["train_length"]
    factor = 1.0 if FLAGS.rope_scaling == "dynamic_ntk" else max(1.0, length / train_length)
    return {"rope_scaling_type": FLAGS.rope_scaling, "rope_position_scaling_factor": factor}


def greedy_text(tokenizer, guesses, answer_ids):
    """The greedy continuation's text as far as teacher forcing knows it: the argmax
    tokens up to and including the first one that differs from the answer."""
    guesses = [int(g) for g in guesses]
    wrong = [i for i, (g, a) in enumerate(zip(guesses, answer_ids)) if g != a]
    text = tokenizer.detokenize(guesses[: wrong[0] + 1 if wrong else len(guesses)])
    return text.numpy().decode("utf-8", "replace") if hasattr(text, "numpy") else str(text)


def worker():
    if FLAGS.job == "train":
        return long_context.train(FLAGS.model, FLAGS.run_dir, FLAGS.config, FLAGS.answer_weight, FLAGS.seed,
                                  FLAGS.far_positions, FLAGS.steps)
    return evaluate(FLAGS.model, FLAGS.length)


def train_missing(models, run_dir, seed, far_positions="none"):
    """Trains each of `models` without weights of `seed` (and ours' `far_positions`) in
    `run_dir` (or all with `--retrain`), in a subprocess -> {model: training record}."""
    records = {}
    for name in models:
        if FLAGS.retrain or name not in long_context.trained(run_dir, FLAGS.config, seed, far_positions, FLAGS.steps):
            args = ["--job=train", f"--model={name}", f"--run_dir={run_dir}", f"--config={FLAGS.config}",
                    f"--answer_weight={FLAGS.answer_weight}", f"--seed={seed}", f"--far_positions={far_positions}"]
            args += [f"--steps={FLAGS.steps}"] if FLAGS.steps else []
            print("training", name, flush=True)
            result = common.run_worker(__file__, args, FLAGS.timeout_s)
            if "error" in result:
                raise RuntimeError(f"Training {name} failed: {result['error']}")
        records[name] = training_record(run_dir, name)
        print(name, records[name], flush=True)
    return records


def accuracy_cell(point):
    return f"{100 * point['accuracy']:.0f}% ({len(point['correct'])})"


def training_record(run_dir, name):
    with open(os.path.join(run_dir, "training.json")) as f:
        return json.load(f)[name]


def seed_sweep():
    """`--seeds`: ours trained once per seed (in `--run_dir/seed_<s>[_<n>_steps]`) and evaluated
    at `--lengths` -> `results/passkey_seeds.md/.json`: how much one training run's
    passkey accuracy owes to its seed. A column is one training run, named by its
    seed and the host it trained on (the same seed trains differently elsewhere)."""
    runs = {}
    for seed in map(int, FLAGS.seeds):
        run_dir = run_directory(seed, "none")
        record = train_missing(["llama_keras"], run_dir, seed)["llama_keras"]
        runs[f"seed {seed}, {record['steps']} steps, {short_host(record)}"] = (run_dir, record, "")
    sweep("passkey_seeds", "Passkey accuracy of one recipe across training seeds",
          "the same recipe and tokenizer for every seed (the seed picks the initial weights and the batches)", runs)


def positions_sweep():
    """`--positions`: ours trained once per `far_positions` option (seed `--seed`)
    and evaluated at `--lengths`, each `option+scaling` with that RoPE scaling ->
    `results/passkey_positions.md/.json` (DESIGN.md: the passkey table decides)."""
    runs = {}
    for option in FLAGS.positions:
        far_positions, _, scaling = option.partition("+")
        run_dir = run_directory(FLAGS.seed, far_positions)
        record = train_missing(["llama_keras"], run_dir, FLAGS.seed, far_positions)["llama_keras"]
        runs[f"{option}, seed {FLAGS.seed}, {record['steps']} steps, {short_host(record)}"] = (run_dir, record, scaling)
    sweep("passkey_positions", "Passkey accuracy by positions on the coarse and selected branches",
          "`far_positions` (none: content only; rope: the local branch's RoPE; grouped: RoPE at the chunk index), "
          "trained with plain RoPE; `+scaling`: that RoPE scaling at evaluation, factor = prompt length / "
          "training length (dynamic NTK: its own)", runs)


def run_directory(seed, far_positions):
    name = (f"seed_{seed}" + ("" if far_positions == "none" else f"_{far_positions}")
            + (f"_{FLAGS.steps}_steps" if FLAGS.steps else ""))
    return os.path.join(FLAGS.run_dir, name)


def sweep(name, title, recipe, runs):
    """Evaluates `runs` ({column: (run dir, training record, RoPE scaling)}) at
    `--lengths` -> `results/<name>.md/.json`, the records in `<name>_training.json`."""
    results, lengths = common.measure_points(
        __file__, name, sorted(map(int, FLAGS.lengths)), list(runs),
        lambda column, length: ["--job=evaluate", "--model=llama_keras", f"--length={length}",
                                f"--samples={FLAGS.samples}", f"--run_dir={runs[column][0]}",
                                f"--config={FLAGS.config}", f"--rope_scaling={runs[column][2]}"],
        FLAGS.timeout_s, update=FLAGS.update)
    records = saved_records(name, {column: record for column, (_, record, _) in runs.items()})
    header = ["tokens"] + [f"{column} (final loss {records[column]['final_loss']:.3f})" for column in results]
    table = common.markdown_table(header, common.table_rows(results, lengths, accuracy_cell))
    print(table)
    note = (f"llama_keras, `--config={FLAGS.config}`, {recipe}; training times: "
            + ", ".join(f"{column} {r['seconds'] / 60:.1f} min" for column, r in records.items()) + ".")
    common.write_results(name, title, note, table, results)


def short_host(record):
    """"AMD EPYC, AVX2" from a training record's host "AMD EPYC, AVX2, 2 cores"."""
    return record["host"].replace("(R)", "").replace(" Processor", "").rsplit(",", 1)[0]


def saved_records(name, records):
    """`records` ({column: training record}) and, with `--update`, the earlier records
    of the columns whose points are kept but which were not trained here; saved to
    `results/<name>_training.json`, so a table always names the runs behind its points."""
    path = os.path.join(common.RESULTS_DIR, f"{name}_training.json")
    earlier = {}
    if FLAGS.update and os.path.exists(path):
        with open(path) as f:
            earlier = json.load(f)
    records = {**earlier, **records}
    os.makedirs(common.RESULTS_DIR, exist_ok=True)
    with open(path, "w") as f:
        json.dump(records, f, indent=1)
    return records


def depth_bins(point, bins):
    import numpy as np

    edges = np.minimum((np.asarray(point["depths"]) * bins).astype(int), bins - 1)
    correct = np.asarray(point["correct"], float)
    return [float(correct[edges == b].mean()) if (edges == b).any() else float("nan") for b in range(bins)]


def plot_heatmap(path, results, lengths, bins):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    figure, panels = plt.subplots(1, len(results), figsize=(5 * len(results), 4), squeeze=False)
    for panel, (name, points) in zip(panels[0], results.items()):
        grid = np.full((bins, len(lengths)), np.nan)
        for column, length in enumerate(lengths):
            if "error" not in points[length]:
                grid[:, column] = depth_bins(points[length], bins)
        image = panel.imshow(grid, vmin=0, vmax=1, cmap="RdYlGn", aspect="auto", origin="upper")
        panel.set_xticks(range(len(lengths)), [f"{n // 1024}k" if n >= 1024 else str(n) for n in lengths])
        panel.set_yticks(range(bins), [f"{b / bins:.1f}-{(b + 1) / bins:.1f}" for b in range(bins)])
        panel.set_xlabel("prompt tokens (blank: not run)")
        panel.set_ylabel("depth of the key")
        panel.set_title(name)
    figure.colorbar(image, ax=panels[0].tolist(), label="passkey accuracy")
    figure.savefig(path, dpi=110)


def main(argv):
    del argv
    if FLAGS.worker:
        print(json.dumps(worker()))
        return
    if FLAGS.seeds:
        return seed_sweep()
    if FLAGS.positions:
        return positions_sweep()
    records = saved_records("passkey", train_missing(FLAGS.models, FLAGS.run_dir, FLAGS.seed))

    def skip(model, length):
        if model != "llama_keras" and long_context.full_attention_gb(length, FLAGS.config) > FLAGS.memory_gb:
            return f"skipped: needs ~{long_context.full_attention_gb(length, FLAGS.config):.0f} GB"
        return None

    train_length = long_context.CONFIGS[FLAGS.config]["training"]["train_length"]
    lengths = {*map(int, FLAGS.lengths)} | (set() if FLAGS.update else {train_length})
    results, lengths = common.measure_points(
        __file__, "passkey", sorted(lengths), FLAGS.models,
        lambda model, length: ["--job=evaluate", f"--model={model}", f"--length={length}",
                               f"--samples={FLAGS.samples}", f"--run_dir={FLAGS.run_dir}"],
        FLAGS.timeout_s, update=FLAGS.update, skip=skip)
    header = ["tokens"] + [f"{name} accuracy" for name in results]
    table = common.markdown_table(header, common.table_rows(results, lengths, accuracy_cell))
    training = common.markdown_table(
        ["model", "parameters", "steps x batch x tokens", "training time", "final loss", "host"],
        [[n, f"{r['parameters']:,}", f"{r['steps']} x {r['batch_size']} x {r['train_length']} ({r['config']})",
          f"{r['seconds'] / 60:.1f} min", f"{r['final_loss']:.3f}", r.get("host", "an earlier, unrecorded host")]
         for n, r in records.items()])
    print(training + "\n\n" + table)
    note = __doc__.split("\n\n")[2] + "\n\nTraining (2 CPU cores):\n\n" + training
    common.write_results("passkey", "Passkey retrieval vs prompt length", note, table, results)
    plot_heatmap(os.path.join(common.RESULTS_DIR, "passkey.png"), results, lengths, FLAGS.depth_bins)


if __name__ == "__main__":
    app.run(main)
