"""Trains LLAMAQuestionAnswerer on synthetic span QA over real long documents; scores it at 1k-32k tokens.

    python trainers/train_qa.py     # ~10 min on 2 CPU cores

SYNTHETIC questions ("What is the value of\\nNAME =", `lk.data.constant_questions`) over
the Python standard library's sources; held-out files are never trained on. Trains
on contexts of about `--sequence_length` tokens, then answers questions whose
contexts are `--eval_tokens` long (read whole) and prints exact match and F1 per
length; writes them to `results.json` and a SavedModel (`context, question -> answer`).
"""

import os
import sys
import time

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import llama_keras as lk  # noqa: E402
from trainers import common  # noqa: E402

FLAGS = flags.FLAGS
common.define_flags(name="llama_qa", preset="llama_keras_small", vocab_size=8000, sequence_length=256,
                    batch_size=16, epochs=6, learning_rate=1e-3, warmup_steps=50, num_layers=2, hidden_dim=192)
flags.DEFINE_integer("steps_per_epoch", 200, "Training steps per epoch.", lower_bound=1)
flags.DEFINE_integer("train_contexts_per_fact", 6, "Training contexts cut around each constant.", lower_bound=1)
flags.DEFINE_float("held_out_fraction", 0.2, "Source files held out for evaluation.", lower_bound=0.05,
                   upper_bound=0.5)
flags.DEFINE_list("eval_tokens", ["1024", "4096", "16384", "32768"], "Context lengths (tokens) to score at.")
flags.DEFINE_integer("eval_examples", 30, "Questions per context length.", lower_bound=1)


def chars_per_token(tokenizer, documents):
    sample = "\n".join(d.text for d in documents[:50])[:200_000]
    return len(sample) / len(tokenizer(sample))


def score(qa, examples):
    """-> (exact match %, F1 %) of `qa.answer` on `examples`."""
    found = []
    for example in examples:  # one at a time: contexts are up to 32k tokens
        found += qa.answer({"question": [example.question], "context": [example.context]})["answer"]
    em = np.mean([lk.evaluation.exact_match(p, e.answer) for p, e in zip(found, examples)])
    f1 = np.mean([lk.evaluation.f1_score(p, e.answer) for p, e in zip(found, examples)])
    return 100 * em, 100 * f1


def main(argv):
    del argv
    strategy, chief, worker_dir = common.start_run()
    train_docs, held_out_docs = lk.data.split_documents(lk.data.python_stdlib(), FLAGS.held_out_fraction,
                                                        FLAGS.seed)
    tokenizer = common.load_tokenizer(FLAGS.tokenizer, [d.text for d in train_docs], FLAGS.vocab_size,
                                      FLAGS.model_dir if chief else worker_dir)
    ratio = chars_per_token(tokenizer, train_docs)
    train_chars = int((FLAGS.sequence_length - 16) * ratio * 0.9)  # leaves room for the question
    train = [example for seed in range(FLAGS.train_contexts_per_fact)
             for example in lk.data.constant_questions(train_docs, train_chars, seed=seed)]
    print(f"{len(train)} training questions ({train_chars}-character contexts, {ratio:.2f} characters/token)")

    data = tf.data.Dataset.from_tensor_slices((
        {"question": [e.question for e in train], "context": [e.context for e in train]},
        np.array([[e.start, e.start + len(e.answer)] for e in train], "int32")))
    data = data.shuffle(len(train), seed=FLAGS.seed).repeat().batch(FLAGS.batch_size)
    with strategy.scope():
        qa = lk.LLAMAQuestionAnswerer(common.backbone_from_flags(tokenizer.vocabulary_size()),
                                      lk.LLAMAQuestionAnswererPreprocessor(tokenizer, FLAGS.sequence_length))
        common.compile_for_training(qa, strategy, FLAGS.epochs * FLAGS.steps_per_epoch)
    hparams = common.flag_values("preset", "num_layers", "hidden_dim", "sequence_length", "batch_size", "epochs",
                                 "steps_per_epoch", "learning_rate", "seed")
    common.fit(qa, lambda step: data.skip(step), FLAGS.steps_per_epoch, worker_dir, chief, hparams,
               FLAGS.batch_size * FLAGS.sequence_length, verbose=2)

    qa.preprocessor = lk.LLAMAQuestionAnswererPreprocessor(tokenizer, sequence_length=None)  # contexts whole
    results = {}
    print("| context tokens | exact match % | F1 % | seconds/question |\n|---:|---:|---:|---:|")
    for tokens in [int(t) for t in FLAGS.eval_tokens]:
        examples = lk.data.constant_questions(held_out_docs, int(tokens * ratio), FLAGS.eval_examples, seed=0)
        start = time.perf_counter()
        em, f1 = score(qa, examples)
        seconds = (time.perf_counter() - start) / len(examples)
        results[tokens] = {"exact_match": em, "f1": f1, "seconds_per_question": seconds}
        print(f"| {tokens} | {em:.1f} | {f1:.1f} | {seconds:.2f} |", flush=True)
    if chief:
        common.finish(qa, {"by_context_tokens": results, "train_questions": len(train), **hparams})


if __name__ == "__main__":
    app.run(main)
