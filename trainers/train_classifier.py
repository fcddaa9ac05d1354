"""Fine-tunes LLAMATextClassifier on sentiment, optionally after LM pretraining; exports for TF Serving.

    python trainers/train_classifier.py                       # movie snippets, from scratch
    python trainers/train_classifier.py --pretrain_steps=600  # first a causal LM on unlabeled text

Data: the VADER study's human-rated snippets (`lk.data.vader_polarity`), a fixed
10% of them held out (`--split_seed`). Prints held-out accuracy, writes it to
`--model_dir/results.json`, and a SavedModel (`text -> label, probabilities`).
"""

import json
import os
import sys

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import llama_keras as lk  # noqa: E402
from trainers import common  # noqa: E402
from trainers import distribution  # noqa: E402
from trainers import resume  # noqa: E402

FLAGS = flags.FLAGS
common.define_flags(name="llama_sentiment", preset="llama_keras_small", vocab_size=4000, sequence_length=96,
                    batch_size=32, epochs=3, learning_rate=5e-4, warmup_steps=30)
flags.DEFINE_enum("data", "movies", sorted(lk.data.sentiment.SOURCES), "VADER snippets to classify.")
flags.DEFINE_float("held_out_fraction", 0.1, "Fraction held out for the reported accuracy.",
                   lower_bound=0.01, upper_bound=0.5)
flags.DEFINE_integer("split_seed", 0, "Seed of the held-out split (fixed across runs to compare them).")
flags.DEFINE_integer("max_examples", None, "Use at most this many examples (before the split).", lower_bound=20)
flags.DEFINE_integer("num_layers", None, "Override the preset's number of layers.", lower_bound=1)
flags.DEFINE_integer("hidden_dim", None, "Override the preset's hidden size.", lower_bound=8)
flags.DEFINE_enum("pooling", "mean", ["last", "mean"], "How the classifier pools the hidden states.")
flags.DEFINE_float("dropout", 0.1, "Dropout before the classification layer.", lower_bound=0.0, upper_bound=0.9)
flags.DEFINE_integer("pretrain_steps", 0, "Causal-LM steps on unlabeled text (the training split and the "
                     "other VADER sources; never the held-out split) before fine-tuning.", lower_bound=0)


def backbone_config(vocabulary_size):
    overrides = {"vocabulary_size": vocabulary_size, "rope_pretraining_sequence_length": FLAGS.sequence_length}
    if FLAGS.num_layers:
        overrides["num_layers"] = FLAGS.num_layers
    if FLAGS.hidden_dim:
        overrides.update(hidden_dim=FLAGS.hidden_dim, intermediate_dim=FLAGS.hidden_dim * 8 // 3)
    return overrides


def pretrain(backbone, texts, tokenizer):
    """A few causal-LM steps on `texts` (packed windows) so the classifier starts from a language model."""
    ids, mask = lk.data.pack_documents(lk.data.tokenize_documents(texts, tokenizer), FLAGS.sequence_length)
    data = lk.data.language_model_dataset(ids, mask, FLAGS.batch_size, seed=FLAGS.seed, repeat=True)
    lm = lk.LLAMACausalLM(backbone)
    schedule = common.warmup_cosine(1e-3, FLAGS.pretrain_steps, min(FLAGS.warmup_steps, FLAGS.pretrain_steps // 2))
    lm.compile(optimizer=keras.optimizers.AdamW(schedule, weight_decay=0.01, clipnorm=1.0),
               jit_compile=FLAGS.jit_compile)
    history = lm.fit(data, steps_per_epoch=FLAGS.pretrain_steps, epochs=1, verbose=2)
    print(f"LM pretraining on {len(ids)} windows: loss {history.history['loss'][-1]:.3f}")


def main(argv):
    del argv
    strategy = distribution.strategy_from_flags()
    distribution.set_precision_from_flags()
    distribution.check_global_batch(FLAGS.batch_size, strategy)
    chief = distribution.is_chief(strategy)
    keras.utils.set_random_seed(FLAGS.seed)
    worker_dir = os.path.join(FLAGS.model_dir, "backup", f"worker_{distribution.worker_index(strategy)}")
    os.makedirs(worker_dir, exist_ok=True)

    texts, labels = lk.data.vader_polarity(FLAGS.data)
    examples = list(zip(texts, labels))[: FLAGS.max_examples]
    train, held_out = lk.data.split_documents(examples, FLAGS.held_out_fraction, FLAGS.split_seed)
    unlabeled = [text for text, _ in train]
    if FLAGS.pretrain_steps:
        unlabeled += [text for source in lk.data.sentiment.SOURCES if source != FLAGS.data
                      for text, _ in lk.data.vader_ratings(source)]
    tokenizer = common.load_tokenizer(FLAGS.tokenizer, unlabeled, FLAGS.vocab_size,
                                      FLAGS.model_dir if chief else worker_dir)
    preprocessor = lk.LLAMATextClassifierPreprocessor(tokenizer, FLAGS.sequence_length)

    def dataset(pairs, shuffle):
        data = tf.data.Dataset.from_tensor_slices(([t for t, _ in pairs], np.array([y for _, y in pairs], "int32")))
        if shuffle:
            data = data.shuffle(len(pairs), seed=FLAGS.seed).repeat()
        return data.batch(FLAGS.batch_size)  # the classifier maps its preprocessor over it

    steps_per_epoch = max(1, len(train) // FLAGS.batch_size)
    with strategy.scope():
        backbone = lk.LLAMABackbone.from_preset(FLAGS.preset, **backbone_config(tokenizer.vocabulary_size()))
        if FLAGS.pretrain_steps and not os.path.exists(os.path.join(worker_dir, resume.STATE_FILE)):
            pretrain(backbone, unlabeled, tokenizer)
        classifier = lk.LLAMATextClassifier(backbone, num_classes=2, preprocessor=preprocessor,
                                            pooling=FLAGS.pooling, dropout=FLAGS.dropout)
        total_steps = FLAGS.epochs * steps_per_epoch
        schedule = common.warmup_cosine(FLAGS.learning_rate, total_steps, min(FLAGS.warmup_steps, total_steps // 2))
        optimizer = keras.optimizers.AdamW(schedule, weight_decay=0.01, clipnorm=1.0)
        classifier.compile(optimizer=lk.models.clip_after_all_reduce(optimizer),
                           jit_compile=FLAGS.jit_compile and distribution.supports_jit(strategy))
    print(f"{len(train)} training / {len(held_out)} held-out snippets; {backbone.count_params():,} backbone "
          f"parameters; LM pretraining steps: {FLAGS.pretrain_steps}")

    hparams = {name: FLAGS[name].value for name in (
        "preset", "data", "sequence_length", "batch_size", "epochs", "learning_rate", "pooling", "pretrain_steps",
        "seed")}
    summaries = common.TrainingSummaries(os.path.join(FLAGS.model_dir, "logs"),
                                         FLAGS.batch_size * FLAGS.sequence_length, hparams)
    train_data = dataset(train, shuffle=True)
    resume.fit_resumable(
        classifier, lambda step: train_data.skip(step), epochs=FLAGS.epochs, steps_per_epoch=steps_per_epoch,
        backup=resume.ResumableBackup(worker_dir, FLAGS.save_every_steps),
        callbacks=common.training_callbacks(FLAGS.model_dir, summaries, chief),
        validation_data=dataset(held_out, shuffle=False), verbose=2)

    _, accuracy = classifier.evaluate(dataset(held_out, shuffle=False), verbose=0)
    print(f"held-out accuracy: {accuracy:.4f} ({len(held_out)} snippets)")
    if not chief:
        return
    with open(os.path.join(FLAGS.model_dir, "results.json"), "w") as f:
        json.dump({"held_out_accuracy": accuracy, "held_out_examples": len(held_out), **hparams}, f, indent=1)
    export_dir = common.next_version_dir(FLAGS.export_dir)
    lk.serving.export_for_serving(classifier, export_dir, class_names=lk.data.sentiment.CLASS_NAMES)
    print(f"SavedModel for TF Serving: {export_dir}")


if __name__ == "__main__":
    app.run(main)
