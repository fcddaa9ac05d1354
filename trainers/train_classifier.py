"""Fine-tunes LLAMATextClassifier on sentiment, optionally after LM pretraining; exports for TF Serving.

    python trainers/train_classifier.py                       # movie snippets, from scratch
    python trainers/train_classifier.py --pretrain_steps=300  # first a causal LM on unlabeled text

Data: the VADER study's human-rated snippets (`lk.data.vader_polarity`) or, with
`--data=spam`, SpamAssassin's emails; a fixed 10% held out (`--split_seed`). Prints held-out accuracy, writes it to
`--model_dir/results.json`, and a SavedModel (`text -> label, probabilities`).
"""

import os
import sys

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import llama_keras as lk  # noqa: E402
from llama_keras.data.listops import CLASS_NAMES as LISTOPS_CLASSES  # noqa: E402
from trainers import common  # noqa: E402
from trainers import resume  # noqa: E402

FLAGS = flags.FLAGS
common.define_flags(name="llama_sentiment", preset="llama_keras_small", vocab_size=4000, sequence_length=96,
                    batch_size=32, epochs=2, learning_rate=5e-4, warmup_steps=30, num_layers=2, hidden_dim=192)
DATASETS = {  # name: (texts and labels, class names)
    **{source: (lambda source=source: lk.data.vader_polarity(source), lk.data.sentiment.CLASS_NAMES)
       for source in lk.data.sentiment.SOURCES},
    "spam": (lk.data.spam_assassin, lk.data.spam.CLASS_NAMES),
    "listops": (lambda: lk.data.listops(FLAGS.listops_examples, seed=FLAGS.seed), LISTOPS_CLASSES),
}
flags.DEFINE_enum("data", "movies", sorted(DATASETS), "VADER snippets (movies, tweets, amazon, nyt), "
                  "SpamAssassin emails (spam: long documents; try --sequence_length=1024) or LRA ListOps "
                  "(listops: 500-2000 tokens, 10 classes; --sequence_length=2048).")
flags.DEFINE_integer("listops_examples", 2000, "ListOps expressions generated (--data=listops).", lower_bound=20)
flags.DEFINE_float("held_out_fraction", 0.1, "Fraction held out for the reported accuracy.",
                   lower_bound=0.01, upper_bound=0.5)
flags.DEFINE_integer("split_seed", 0, "Seed of the held-out split (fixed across runs to compare them).")
flags.DEFINE_integer("max_examples", None, "Use at most this many examples (before the split).", lower_bound=20)
flags.DEFINE_enum("pooling", "mean", ["last", "mean"], "How the classifier pools the hidden states.")
flags.DEFINE_float("dropout", 0.1, "Dropout before the classification layer.", lower_bound=0.0, upper_bound=0.9)
flags.DEFINE_integer("pretrain_steps", 0, "Causal-LM steps on unlabeled text (the training split and the "
                     "other VADER sources; never the held-out split) before fine-tuning.", lower_bound=0)

SNIPPETS_PER_DOCUMENT = 20  # short snippets are joined for LM pretraining, so windows are full


def pretrain(backbone, texts, tokenizer, strategy):
    """Causal-LM steps on `texts` so that the classifier starts from a language model."""
    documents = ["\n".join(texts[i : i + SNIPPETS_PER_DOCUMENT]) for i in range(0, len(texts), SNIPPETS_PER_DOCUMENT)]
    ids, mask = lk.data.pack_documents(lk.data.tokenize_documents(documents, tokenizer), FLAGS.sequence_length)
    data = lk.data.language_model_dataset(ids, mask, FLAGS.batch_size, seed=FLAGS.seed, repeat=True)
    lm = lk.LLAMACausalLM(backbone)
    common.compile_for_training(lm, strategy, FLAGS.pretrain_steps)
    history = lm.fit(data, steps_per_epoch=FLAGS.pretrain_steps, epochs=1, verbose=2)
    print(f"LM pretraining on {len(ids)} windows: loss {history.history['loss'][-1]:.3f}")


def main(argv):
    del argv
    strategy, chief, worker_dir = common.start_run()
    load, class_names = DATASETS[FLAGS.data]
    texts, labels = load()
    examples = list(zip(texts, labels))[: FLAGS.max_examples]
    train, held_out = lk.data.split_documents(examples, FLAGS.held_out_fraction, FLAGS.split_seed)
    unlabeled = [text for text, _ in train]
    if FLAGS.pretrain_steps:
        unlabeled += [text for source in lk.data.sentiment.SOURCES if source != FLAGS.data
                      for text, _ in lk.data.vader_ratings(source)] if FLAGS.data != "spam" else []
    tokenizer = common.load_tokenizer(FLAGS.tokenizer, unlabeled, FLAGS.vocab_size,
                                      FLAGS.model_dir if chief else worker_dir)

    def dataset(pairs, training):
        data = tf.data.Dataset.from_tensor_slices(([t for t, _ in pairs], np.array([y for _, y in pairs], "int32")))
        if training:
            data = data.shuffle(len(pairs), seed=FLAGS.seed).repeat()
        return data.batch(FLAGS.batch_size)  # the classifier maps its preprocessor over it

    steps_per_epoch = max(1, len(train) // FLAGS.batch_size)
    with strategy.scope():
        backbone = common.backbone_from_flags(tokenizer.vocabulary_size())
        if FLAGS.pretrain_steps and not os.path.exists(os.path.join(worker_dir, resume.STATE_FILE)):
            pretrain(backbone, unlabeled, tokenizer, strategy)
        classifier = lk.LLAMATextClassifier(
            backbone, num_classes=len(class_names), pooling=FLAGS.pooling, dropout=FLAGS.dropout,
            preprocessor=lk.LLAMATextClassifierPreprocessor(tokenizer, FLAGS.sequence_length))
        common.compile_for_training(classifier, strategy, FLAGS.epochs * steps_per_epoch)
    print(f"{len(train)} training / {len(held_out)} held-out texts; {backbone.count_params():,} backbone "
          f"parameters; LM pretraining steps: {FLAGS.pretrain_steps}")

    hparams = common.flag_values("preset", "num_layers", "hidden_dim", "data", "sequence_length", "batch_size",
                                 "epochs", "learning_rate", "pooling", "pretrain_steps", "seed")
    train_data = dataset(train, training=True)
    common.fit(classifier, lambda step: train_data.skip(step), steps_per_epoch, worker_dir, chief, hparams,
               FLAGS.batch_size * FLAGS.sequence_length, validation_data=dataset(held_out, False), verbose=2)
    _, accuracy = classifier.evaluate(dataset(held_out, training=False), verbose=0)
    print(f"held-out accuracy: {accuracy:.4f} ({len(held_out)} texts)")
    if chief:
        common.finish(classifier, {"held_out_accuracy": accuracy, "held_out_examples": len(held_out), **hparams},
                      class_names=class_names)


if __name__ == "__main__":
    app.run(main)
