"""Pieces every trainer shares: callbacks, TensorBoard summaries, export versions."""

import json
import math
import os
import re
import time

import keras
import numpy as np
import tensorflow as tf
from absl import flags
from tensorboard.plugins.hparams import api as hparams_api

import llama_keras as lk
from trainers import distribution
from trainers import resume

FLAGS = flags.FLAGS


def define_flags(name, preset, vocab_size, sequence_length, batch_size, epochs, learning_rate, warmup_steps,
                 num_layers=None, hidden_dim=None):
    """The flags every trainer has, with its own defaults; `name` names `runs/<name>`
    and `saved_models/<name>`."""
    flags.DEFINE_string("preset", preset, "Backbone architecture preset.")
    flags.DEFINE_string("tokenizer", None, "A SentencePiece .model, or 'mistral' for mistral-common's 32k "
                        "vocabulary; default: train one on the training texts.")
    flags.DEFINE_integer("vocab_size", vocab_size, "Vocabulary size when training a tokenizer.", lower_bound=300)
    flags.DEFINE_integer("sequence_length", sequence_length, "Training length in tokens.", lower_bound=4)
    flags.DEFINE_integer("batch_size", batch_size, "Examples per global batch (split across replicas).",
                         lower_bound=1)
    flags.DEFINE_integer("epochs", epochs, "Epochs.", lower_bound=1)
    flags.DEFINE_float("learning_rate", learning_rate, "Peak learning rate (warm-up, then cosine decay).")
    flags.register_validator("learning_rate", lambda value: math.isfinite(value) and value > 0,
                             "--learning_rate must be a positive finite number.")
    flags.DEFINE_integer("warmup_steps", warmup_steps, "Linear warm-up steps.", lower_bound=0)
    flags.DEFINE_bool("jit_compile", True, "Compile training steps with XLA.")
    flags.DEFINE_string("model_dir", f"runs/{name}", "Logs, checkpoints, backup and tokenizer.")
    flags.DEFINE_string("export_dir", f"saved_models/{name}", "SavedModel versions go here.")
    flags.DEFINE_bool("export", True, "Write the next SavedModel version at the end (--noexport: train and "
                      "evaluate only).")
    flags.DEFINE_integer("seed", 0, "Random seed (data order and initialisation).")
    flags.DEFINE_integer("num_layers", num_layers, "Override the preset's number of layers.", lower_bound=1)
    flags.DEFINE_integer("hidden_dim", hidden_dim, "Override the preset's hidden size (a multiple of its heads); "
                         "the MLP becomes 8/3 as wide.", lower_bound=8)


def backbone_from_flags(vocabulary_size):
    """`--preset` with `--num_layers`/`--hidden_dim` overrides, RoPE extension measured from
    `--sequence_length`."""
    overrides = {"vocabulary_size": vocabulary_size, "rope_pretraining_sequence_length": FLAGS.sequence_length}
    if FLAGS.num_layers:
        overrides["num_layers"] = FLAGS.num_layers
    if FLAGS.hidden_dim:
        overrides.update(hidden_dim=FLAGS.hidden_dim, intermediate_dim=FLAGS.hidden_dim * 8 // 3)
    return lk.LLAMABackbone.from_preset(FLAGS.preset, **overrides)


def flag_values(*names):
    """`{name: value}` of these flags (for hparams and results)."""
    return {name: FLAGS[name].value for name in names}


def load_tokenizer(flag_value, train_texts, vocab_size, directory):
    """`--tokenizer`'s vocabulary (a `.model` path, or "mistral"), else the one this run
    trained in `directory` before (resuming), else a new one trained on `train_texts`."""
    if flag_value == "mistral":
        return lk.LLAMATokenizer(proto=lk.tokenizers.mistral_vocabulary())
    if flag_value:
        if not os.path.isfile(flag_value):
            raise FileNotFoundError(f"--tokenizer={flag_value}: no such file.")
        return lk.LLAMATokenizer(proto=flag_value)
    path = os.path.join(directory, "tokenizer.model")
    if os.path.exists(path):
        return lk.LLAMATokenizer(proto=path)
    print(f"Training a {vocab_size}-piece SentencePiece vocabulary on {len(train_texts)} texts")
    return lk.tokenizers.train_tokenizer(train_texts, vocab_size, output_path=path)


def training_callbacks(model_dir, summaries, chief=True):
    """NaN guard; on the chief also TensorBoard, checkpoints each epoch and `summaries`.
    (Backups: `resume.ResumableBackup`, one per worker.)"""
    if not chief:
        return [keras.callbacks.TerminateOnNaN()]
    return [
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.TensorBoard(os.path.join(model_dir, "logs"), write_graph=True),
        keras.callbacks.ModelCheckpoint(os.path.join(model_dir, "checkpoints", "epoch_{epoch:03d}.weights.h5"),
                                        save_weights_only=True),
        summaries,
    ]


class TrainingSummaries(keras.callbacks.Callback):
    """Our own TensorBoard summaries beside Keras's: tokens/s, learning rate,
    perplexity, learned spans per head, sample generations as text, attention
    maps of one example as images, the model's op graph, hparams.

    `sample` is a function returning a string (e.g. a generation), or None;
    `example` one model input `{"token_ids", "padding_mask"} [1, T]`, or None.
    """

    def __init__(self, log_dir, tokens_per_batch, hparams, sample=None, example=None):
        super().__init__()
        self.log_dir = log_dir
        self.tokens_per_batch = tokens_per_batch
        self.hparams = hparams
        self.sample = sample
        self.example = example
        self.writer = tf.summary.create_file_writer(os.path.join(log_dir, "train_summaries"))

    def on_train_begin(self, logs=None):
        with self.writer.as_default():
            hparams_api.hparams({k: v for k, v in self.hparams.items() if isinstance(v, (int, float, str, bool))})
            if self.example is not None:
                forward = tf.function(lambda inputs: self.model(inputs, training=False))
                tf.summary.graph(forward.get_concrete_function(self.example).graph)
        self.writer.flush()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_start, self.batches = time.perf_counter(), 0

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        step = epoch + 1
        seconds = time.perf_counter() - self.epoch_start
        with self.writer.as_default(step=step):
            tf.summary.scalar("tokens_per_second", self.batches * self.tokens_per_batch / max(seconds, 1e-9))
            tf.summary.scalar("learning_rate", float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))
            for name in ("loss", "val_loss"):
                if name in logs:
                    tf.summary.scalar(f"{name.replace('loss', 'perplexity')}", math.exp(min(logs[name], 50.0)))
            for name, spans in learned_spans(self.model).items():
                tf.summary.histogram(f"learned_span/{name}", spans)
                for head, span in enumerate(spans):
                    tf.summary.scalar(f"learned_span/{name}/head_{head}", span)
            if self.sample is not None:
                tf.summary.text("sample_generation", self.sample())
            for layer, image in enumerate(attention_images(self.model, self.example)):
                tf.summary.image(f"attention_map/layer_{layer}", image,
                                 description="One example: a row per query, a column per key, heads left to right.")
        self.writer.flush()

    def on_train_end(self, logs=None):
        final = {f"final_{k}": float(v) for k, v in (logs or {}).items()}
        with self.writer.as_default(step=0):
            for name, value in final.items():
                tf.summary.scalar(name, value)
        self.writer.flush()
        with open(os.path.join(self.log_dir, "final_metrics.json"), "w") as f:
            json.dump(final, f, indent=1)


def attention_images(model, example):
    """Per layer a `[1, T, H * (T + 1), 1]` image of `example`'s attention maps, heads
    side by side, each scaled to its largest weight; none for models without maps."""
    backbone = getattr(model, "backbone", None)
    if example is None or not hasattr(backbone, "attention_maps"):
        return []
    images = []
    for maps in backbone.attention_maps(example["token_ids"], example["padding_mask"]):
        heads = tf.convert_to_tensor(maps)[0]  # [H, T, T]
        heads = heads / tf.maximum(tf.reduce_max(heads, axis=[1, 2], keepdims=True), 1e-9)
        heads = tf.pad(heads, [[0, 0], [0, 0], [0, 1]], constant_values=1.0)  # a white line between heads
        images.append(tf.reshape(tf.transpose(heads, [1, 0, 2]), [1, heads.shape[1], -1, 1]))
    return images


def first_example(model, dataset, length=64):
    """The first `length` tokens of the first example of `dataset` (raw or preprocessed)
    as model inputs `{"token_ids", "padding_mask", ...} [1, length]`."""
    element = next(iter(dataset.take(1)))
    x = element[0] if isinstance(element, tuple) else element
    if not (isinstance(x, dict) and "token_ids" in x):
        x = model.preprocessor(x)
        x = x[0] if isinstance(x, tuple) else x
    return {name: value[:1, :length] for name, value in x.items()}


def learned_spans(model):
    """`{layer name: spans per head}` for every attention layer with adaptive span."""
    spans = {}
    for layer in model._flatten_layers():
        if getattr(layer, "adaptive_span", False):
            spans[layer.path.replace("/", "_")] = np.asarray(keras.ops.convert_to_numpy(layer.span_lengths()))
    return spans


def next_version_dir(base_dir):
    """`base_dir/<N>` for the next integer version N (TF Serving's layout)."""
    versions = [int(d) for d in os.listdir(base_dir) if re.fullmatch(r"\d+", d)] if os.path.isdir(base_dir) else []
    return os.path.join(base_dir, str(max(versions, default=0) + 1))


def warmup_cosine(learning_rate, total_steps, warmup_steps):
    """Linear warm-up to `learning_rate`, then cosine decay to 10% of it."""
    decay_steps = max(1, total_steps - warmup_steps)
    return keras.optimizers.schedules.CosineDecay(
        0.0 if warmup_steps else learning_rate, decay_steps, alpha=0.1,
        warmup_target=learning_rate if warmup_steps else None, warmup_steps=warmup_steps,
    )


def start_run():
    """Reads the distribution flags, seeds, makes this worker's backup folder ->
    `(strategy, chief, worker_dir)`."""
    strategy = distribution.strategy_from_flags()
    distribution.set_precision_from_flags()
    distribution.check_global_batch(FLAGS.batch_size, strategy)
    keras.utils.set_random_seed(FLAGS.seed)
    worker_dir = os.path.join(FLAGS.model_dir, "backup", f"worker_{distribution.worker_index(strategy)}")
    os.makedirs(worker_dir, exist_ok=True)
    return strategy, distribution.is_chief(strategy), worker_dir


def compile_for_training(model, strategy, total_steps, **compile_kwargs):
    """AdamW with warm-up + cosine decay and global-norm clipping after the all-reduce; XLA where it works."""
    schedule = warmup_cosine(FLAGS.learning_rate, total_steps, min(FLAGS.warmup_steps, total_steps // 2))
    optimizer = keras.optimizers.AdamW(schedule, weight_decay=0.01, clipnorm=1.0)
    model.compile(optimizer=lk.models.clip_after_all_reduce(optimizer),
                  jit_compile=FLAGS.jit_compile and distribution.supports_jit(strategy), **compile_kwargs)


def fit(model, train_from_step, steps_per_epoch, worker_dir, chief, hparams, tokens_per_batch, sample=None,
        **fit_kwargs):
    """`resume.fit_resumable` with every trainer's callbacks and summaries -> `{metric: [per epoch]}`."""
    summaries = TrainingSummaries(os.path.join(FLAGS.model_dir, "logs"), tokens_per_batch, hparams, sample,
                                  first_example(model, train_from_step(0)))
    return resume.fit_resumable(
        model, train_from_step, epochs=FLAGS.epochs, steps_per_epoch=steps_per_epoch,
        backup=resume.ResumableBackup(worker_dir, FLAGS.save_every_steps),
        callbacks=training_callbacks(FLAGS.model_dir, summaries, chief), **fit_kwargs)


def finish(task, results, **export_options):
    """On the chief: writes `results` to `--model_dir/results.json` and, unless
    `--noexport`, the next SavedModel version under `--export_dir` -> its path (or None)."""
    with open(os.path.join(FLAGS.model_dir, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    print(f"TensorBoard: tensorboard --logdir {os.path.join(FLAGS.model_dir, 'logs')}")
    if not FLAGS.export:
        return None
    export_dir = next_version_dir(FLAGS.export_dir)
    lk.serving.export_for_serving(task, export_dir, **export_options)
    print(f"SavedModel for TF Serving: {export_dir}")
    return export_dir


def loss_per_target_token(model, dataset):
    """Cross-entropy averaged over the tokens that carry loss (weight 1), over raw-text
    batches that `model.preprocessor` maps: Keras's own loss divides by every position,
    padding included, so it is no per-token figure."""
    total, tokens = 0.0, 0.0
    for x, y, weights in dataset.map(model.preprocessor):
        losses = keras.losses.sparse_categorical_crossentropy(y, model(x, training=False), from_logits=True)
        weights = tf.cast(weights, losses.dtype)
        total += float(tf.reduce_sum(losses * weights))
        tokens += float(tf.reduce_sum(weights))
    return total / max(tokens, 1.0)
