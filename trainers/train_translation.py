"""Trains LLAMASeq2SeqLM to translate (English -> Spanish Bible verses by default); reports BLEU.

    python trainers/train_translation.py                  # KJV -> Reina-Valera 1909, ~15 min on 2 cores
    python trainers/train_translation.py --data=gettext   # software messages from /usr/share/locale

A fixed set of `--held_out` pairs (`--split_seed`) is never trained on; BLEU
(`keras_hub.metrics.Bleu`, SacreBLEU's 13a tokenization) of greedy translations of
`--bleu_examples` of them is printed with samples and written to `results.json`;
the SavedModel maps `source -> translation`.
"""

import os
import sys

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras_hub  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import llama_keras as lk  # noqa: E402
from trainers import common  # noqa: E402

FLAGS = flags.FLAGS
common.define_flags(name="llama_translation", preset="llama_keras_small", vocab_size=8000, sequence_length=160,
                    batch_size=16, epochs=3, learning_rate=1e-3, warmup_steps=50, num_layers=3, hidden_dim=192)
flags.DEFINE_enum("data", "bible", ["bible", "gettext"], "Parallel text: verse-aligned Bibles or gettext catalogs.")
flags.DEFINE_string("source_language", "en", "Source language (`bible`: en or es; `gettext`: always English).")
flags.DEFINE_string("target_language", "es", "Target language (`bible`: es or en; `gettext`: a locale, e.g. de).")
flags.DEFINE_integer("steps_per_epoch", 150, "Training steps per epoch.", lower_bound=1)
flags.DEFINE_integer("held_out", 500, "Pairs held out (never trained on).", lower_bound=1)
flags.DEFINE_integer("split_seed", 0, "Seed of the held-out split.")
flags.DEFINE_integer("max_pairs", None, "Use at most this many pairs (before the split).", lower_bound=10)
flags.DEFINE_integer("bleu_examples", 100, "Held-out pairs translated for BLEU.", lower_bound=1)
flags.DEFINE_integer("max_new_tokens", 96, "Longest translation generated.", lower_bound=1)


def load_pairs():
    if FLAGS.data == "bible":
        return lk.data.bible_verse_pairs(FLAGS.source_language, FLAGS.target_language)
    pairs = lk.data.gettext_pairs(FLAGS.target_language)
    if not pairs:
        raise ValueError(f"No gettext catalogs for {FLAGS.target_language!r} under /usr/share/locale.")
    return pairs


def main(argv):
    del argv
    strategy, chief, worker_dir = common.start_run()
    pairs = load_pairs()[: FLAGS.max_pairs]
    order = np.random.RandomState(FLAGS.split_seed).permutation(len(pairs))
    held_out = [pairs[i] for i in sorted(order[: FLAGS.held_out])]
    train = [pairs[i] for i in sorted(order[FLAGS.held_out :])]
    if not train:
        raise ValueError(f"--held_out={FLAGS.held_out} leaves no training pairs out of {len(pairs)}.")
    tokenizer = common.load_tokenizer(FLAGS.tokenizer, [text for pair in train for text in pair], FLAGS.vocab_size,
                                      FLAGS.model_dir if chief else worker_dir)

    def dataset(pairs, training):
        sources, targets = (list(column) for column in zip(*pairs))
        data = tf.data.Dataset.from_tensor_slices({"source": sources, "target": targets})
        if training:
            data = data.shuffle(len(pairs), seed=FLAGS.seed).repeat()
        return data.batch(FLAGS.batch_size)  # the model maps its preprocessor over it

    with strategy.scope():
        translator = lk.LLAMASeq2SeqLM(common.backbone_from_flags(tokenizer.vocabulary_size()),
                                       lk.LLAMASeq2SeqLMPreprocessor(tokenizer, FLAGS.sequence_length))
        common.compile_for_training(translator, strategy, FLAGS.epochs * FLAGS.steps_per_epoch, sampler="greedy")
    print(f"{len(train)} training / {len(held_out)} held-out pairs; "
          f"{translator.backbone.count_params():,} backbone parameters")

    def translate(sources):
        """Greedy translations, a batch at a time; lengths rounded up to multiples of 64 so
        that few generation functions are compiled."""
        translations = []
        for start in range(0, len(sources), FLAGS.batch_size):
            batch = list(sources[start : start + FLAGS.batch_size])
            longest = max(len(tokenizer(s)) for s in batch) + 2 + FLAGS.max_new_tokens
            translations += translator.generate(batch, max_length=-(-longest // 64) * 64)
        return translations

    hparams = common.flag_values("preset", "num_layers", "hidden_dim", "data", "source_language",
                                 "target_language", "sequence_length", "batch_size", "epochs", "steps_per_epoch",
                                 "learning_rate", "seed")
    train_data = dataset(train, training=True)
    common.fit(translator, lambda step: train_data.skip(step), FLAGS.steps_per_epoch, worker_dir, chief, hparams,
               FLAGS.batch_size * FLAGS.sequence_length, sample=lambda: "\n".join(translate([held_out[0][0]])),
               validation_data=dataset(held_out, training=False), verbose=2)

    sources, references = zip(*held_out[: FLAGS.bleu_examples])
    translations = translate(sources)
    bleu = keras_hub.metrics.Bleu()
    bleu.update_state([[r] for r in references], translations)
    score = float(bleu.result())
    for source, reference, translation in list(zip(sources, references, translations))[:5]:
        print(f"source:      {source}\nreference:   {reference}\ntranslation: {translation}\n")
    loss = common.loss_per_target_token(translator, dataset(held_out, training=False))
    print(f"held-out BLEU: {100 * score:.2f} ({len(translations)} pairs); loss per target token: {loss:.3f}")
    if chief:
        common.finish(translator, {"held_out_bleu": 100 * score, "bleu_examples": len(translations),
                                   "held_out_loss_per_target_token": loss, **hparams},
                      max_new_tokens=FLAGS.max_new_tokens)


if __name__ == "__main__":
    app.run(main)
