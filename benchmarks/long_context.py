"""The long-context pair that `bench_passkey.py` and `bench_loss_by_position.py` evaluate.

Ours (`LLAMACausalLM`) and keras-hub's `LlamaCausalLM` (full attention) of the
same size (a config in `CONFIGS`) are trained on the same batches for the same
steps: sequences of the config's training length, each a passkey prompt of
random length and depth with its answer, followed by real text (State of the
Union addresses and Python standard-library sources). The answer tokens weigh
`answer_weight`, every other token 1. Long documents are
held out for the loss-by-position evaluation. Weights, the tokenizer and
`training.json` land in `--run_dir`.
"""

import json
import os
import sys
import time

import numpy as np

import common
from llama_keras.evaluation import passkey

# Each config: the size both models share, our attention settings, and the training recipe.
CONFIGS = {
    "tiny": dict(
        size=dict(num_layers=2, num_query_heads=4, num_key_value_heads=4, hidden_dim=64,
                  intermediate_dim=172),
        attention=dict(window_size=32, chunk_size=16, num_selected_chunks=2, selection_block_size=1),
        training=dict(steps=1500, batch_size=16, train_length=256, learning_rate=3e-3)),
    "small": dict(
        size=dict(num_layers=4, num_query_heads=4, num_key_value_heads=4, hidden_dim=128,
                  intermediate_dim=344),
        attention=dict(window_size=128, chunk_size=32, num_selected_chunks=4, selection_block_size=1),
        training=dict(steps=500, batch_size=4, train_length=2048, learning_rate=2e-3)),
}
VOCABULARY_SIZE = 4000
MODELS = ("llama_keras", "keras_hub_llama")
HELD_OUT_TOKENS = 32768  # documents at least this long are kept out of training


def build(name, config, far_positions="none", **options):
    """-> the causal LM `name` of `config`; ours takes `far_positions` and further
    `LLAMABackbone` arguments as `options` (e.g. `rope_scaling_type`)."""
    import keras_hub

    import llama_keras as lk

    size = {**CONFIGS[config]["size"], "vocabulary_size": VOCABULARY_SIZE}
    attention = CONFIGS[config]["attention"]
    if name == "llama_keras":
        train_length = CONFIGS[config]["training"]["train_length"]
        return lk.LLAMACausalLM(lk.LLAMABackbone(**size, **attention, rope_pretraining_sequence_length=train_length,
                                                 far_positions=far_positions, **options))
    if options or far_positions != "none":
        raise ValueError(f"{name} takes no options, got far_positions={far_positions!r}, {options}.")
    if name == "keras_hub_llama":
        backbone = keras_hub.models.LlamaBackbone(**size, tie_word_embeddings=True)
        return keras_hub.models.LlamaCausalLM(backbone, preprocessor=None)
    raise ValueError(f"Unknown model {name!r}; choose from {MODELS}.")


def real_documents(max_stdlib_documents=None):
    import llama_keras as lk

    return lk.data.state_of_the_union() + lk.data.python_stdlib(max_stdlib_documents)


def answer_text(key):
    return f" {key}."


def load_tokenizer(run_dir):
    import llama_keras as lk

    return lk.LLAMATokenizer(proto=os.path.join(run_dir, "tokenizer.model"))


def prepare(run_dir, vocabulary_size, seed=0, max_stdlib_documents=None):
    """Trains the tokenizer (real text + passkey prompts) and splits the documents ->
    `(tokenizer, training token stream, held-out documents' token ids)`; cached in `run_dir`."""
    import llama_keras as lk

    os.makedirs(run_dir, exist_ok=True)
    documents = real_documents(max_stdlib_documents)
    path = os.path.join(run_dir, "tokenizer.model")
    if not os.path.exists(path):
        rng = np.random.RandomState(seed)
        prompts = [" ".join([passkey.INTRO, passkey.FILLER, passkey.key_line(rng.randint(1, 50001)), passkey.QUESTION])
                   + answer_text(rng.randint(1, 50001)) for _ in range(200)]
        lk.tokenizers.train_tokenizer([d.text for d in documents] + prompts, vocabulary_size, output_path=path,
                                      verbose=False)
    tokenizer = load_tokenizer(run_dir)
    ids = lk.data.packing.tokenize_documents([d.text for d in documents], tokenizer)
    held_out = {d.name: np.asarray(i, "int32") for d, i in zip(documents, ids) if len(i) > HELD_OUT_TOKENS}
    stream = np.concatenate([i for i in ids if len(i) <= HELD_OUT_TOKENS]).astype("int32")
    return tokenizer, stream, held_out


def passkey_ids(tokenizer, prompt, key):
    """`(<s> + prompt ids, answer ids)`: the answer is what a correct greedy model continues with."""
    prompt_ids = [tokenizer.start_token_id] + [int(i) for i in tokenizer(prompt)]
    return prompt_ids, [int(i) for i in tokenizer(answer_text(key))]


def training_arrays(tokenizer, stream, num_sequences, train_length, answer_weight, seed=0):
    """`(x ids [N, L], y ids [N, L], weights [N, L])`: per sequence a passkey prompt of
    64..L-16 tokens at a random depth with its answer and `</s>`, then real text."""
    rng = np.random.RandomState(seed)
    x = np.zeros((num_sequences, train_length), "int32")
    y = np.zeros_like(x)
    weights = np.ones(x.shape, "float32")
    for row in range(num_sequences):
        key = int(rng.randint(1, 50001))
        prompt, _ = passkey.passkey_prompt(tokenizer, int(rng.randint(64, train_length - 16)), rng.uniform(), key)
        prompt_ids, answer_ids = passkey_ids(tokenizer, prompt, key)
        sequence = (prompt_ids + answer_ids + [tokenizer.end_token_id])[: train_length + 1]
        start = int(rng.randint(0, len(stream) - train_length))
        sequence += list(stream[start: start + train_length + 1 - len(sequence)])
        x[row], y[row] = sequence[:-1], sequence[1:]
        answer = slice(len(prompt_ids) - 1, min(len(prompt_ids) - 1 + len(answer_ids), train_length))
        weights[row, answer] = answer_weight
    return x, y, weights


def train(name, run_dir, config, answer_weight, seed=0, far_positions="none", steps=None):
    """Trains `name` with `config`'s recipe (`steps`: None for the recipe's) on the
    shared batches (ours with `far_positions`), saves `run_dir/<name>.weights.h5`
    -> its record."""
    import keras

    recipe = CONFIGS[config]["training"]
    steps, batch_size, train_length = steps or recipe["steps"], recipe["batch_size"], recipe["train_length"]
    keras.utils.set_random_seed(seed)
    tokenizer, stream, _ = prepare(run_dir, VOCABULARY_SIZE)  # one tokenizer for every seed
    x, y, weights = training_arrays(tokenizer, stream, steps * batch_size, train_length, answer_weight, seed)
    model = build(name, config, far_positions)
    schedule = keras.optimizers.schedules.CosineDecay(0.0, steps - steps // 10, alpha=0.1,
                                                      warmup_target=recipe["learning_rate"], warmup_steps=steps // 10)
    model.compile(optimizer=keras.optimizers.AdamW(schedule, weight_decay=0.01, clipnorm=1.0),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=True)
    start, losses = time.perf_counter(), []
    for part in np.array_split(np.arange(steps) * batch_size, 10):  # ten progress lines
        rows = slice(part[0], part[-1] + batch_size)
        inputs = {"token_ids": x[rows], "padding_mask": np.ones_like(x[rows])}
        history = model.fit(inputs, y[rows], sample_weight=weights[rows], batch_size=batch_size, shuffle=False,
                            verbose=0)
        losses.append(float(history.history["loss"][-1]))
        print(f"{name}: step {part[-1] // batch_size + 1}/{steps}, loss {losses[-1]:.3f}, "
              f"{time.perf_counter() - start:.0f}s", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - start
    model.save_weights(os.path.join(run_dir, f"{name}.weights.h5"))
    record = {"model": name, "config": config, "seed": seed, "far_positions": far_positions, "steps": steps,
              "batch_size": batch_size, "train_length": train_length, "seconds": seconds,
              "final_loss": losses[-1], "losses": losses, "parameters": int(model.count_params()),
              "host": common.host()}
    _update_record(run_dir, name, record)
    return record


def load(name, run_dir, **options):
    """-> `(causal LM with trained weights, tokenizer, training record)`; `options`
    as in `build` (on top of the training's `far_positions`)."""
    with open(os.path.join(run_dir, "training.json")) as f:
        record = json.load(f)[name]
    model = build(name, record["config"], record.get("far_positions", "none"), **options)
    model.load_weights(os.path.join(run_dir, f"{name}.weights.h5"))
    return model, load_tokenizer(run_dir), record


def trained(run_dir, config, seed=0, far_positions="none", steps=None):
    """Names of the models with saved weights of `config`, `seed`, `far_positions` and
    `steps` (None: the recipe's) in `run_dir`."""
    wanted = (config, seed, far_positions, steps or CONFIGS[config]["training"]["steps"])
    path = os.path.join(run_dir, "training.json")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        records = json.load(f)
    return [name for name, record in records.items()
            if (record["config"], record.get("seed", 0), record.get("far_positions", "none"), record["steps"]) == wanted
            and os.path.exists(os.path.join(run_dir, f"{name}.weights.h5"))]


def next_token_logits(model):
    """-> `f(token_ids [B, T], positions [B, P])` giving the next-token logits `[B, P, V]`
    at `positions` without the full `[B, T, V]` logits (jit-compiled: pad T to few shapes)."""
    import tensorflow as tf

    backbone = model.backbone

    @tf.function(jit_compile=True, reduce_retracing=True)
    def run(token_ids, positions):
        hidden = backbone({"token_ids": token_ids, "padding_mask": tf.ones_like(token_ids)})
        return backbone.token_embedding(tf.gather(hidden, positions, batch_dims=1), reverse=True)

    return lambda token_ids, positions: run(tf.constant(token_ids, tf.int32), tf.constant(positions, tf.int32)).numpy()


def full_attention_gb(length, config):
    """Peak memory of keras-hub's forward pass: ~2.2 fp32 `[H, T, T]` copies live."""
    return 2.2 * CONFIGS[config]["size"]["num_query_heads"] * length**2 * 4 / 2**30 + 1.0


def _update_record(run_dir, name, record):
    path = os.path.join(run_dir, "training.json")
    records = {}
    if os.path.exists(path):
        with open(path) as f:
            records = json.load(f)
    records[name] = record
    with open(path, "w") as f:
        json.dump(records, f, indent=1)
