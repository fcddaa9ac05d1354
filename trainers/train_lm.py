"""Trains a long-context causal LM on real text, logs to TensorBoard, exports for TF Serving.

    python trainers/train_lm.py     # small preset, Python standard library, ~10 min on 2 CPU cores

Writes TensorBoard logs, checkpoints and a step-level backup under `--model_dir`,
then a SavedModel under `--export_dir/<version>/` and prints a sample. Run the same
command again after a crash to resume; with more `--epochs` to train further.
Distributed: `--strategy=mirrored|multi_worker|tpu`, `--mixed_precision=mixed_bfloat16`.
"""

import os
import sys

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import llama_keras as lk  # noqa: E402
from trainers import common  # noqa: E402

FLAGS = flags.FLAGS
common.define_flags(name="llama_lm", preset="llama_keras_small", vocab_size=8000, sequence_length=512,
                    batch_size=8, epochs=4, learning_rate=1e-3, warmup_steps=20)
flags.DEFINE_enum("data", "python_stdlib", ["python_stdlib", "state_of_the_union", "brown"], "Corpus.")
flags.DEFINE_integer("max_documents", None, "Use at most this many documents.", lower_bound=2)
flags.DEFINE_integer("steps_per_epoch", 30, "Training steps per epoch.", lower_bound=1)
flags.DEFINE_integer("validation_steps", 10, "Validation batches per epoch.", lower_bound=1)
flags.DEFINE_float("validation_fraction", 0.05, "Documents held out for validation.", lower_bound=0.0, upper_bound=0.9)
flags.DEFINE_integer("max_new_tokens", 48, "Tokens generated per request by the export's default signature.", lower_bound=0)
flags.DEFINE_string("sample_prompt", "import os\n\n\ndef ", "Prompt for sample generations.")

CORPORA = {
    "python_stdlib": lk.data.python_stdlib,
    "state_of_the_union": lk.data.state_of_the_union,
    "brown": lk.data.brown_corpus,
}


def main(argv):
    del argv
    strategy, chief, worker_dir = common.start_run()
    documents = CORPORA[FLAGS.data]()[: FLAGS.max_documents]
    train_docs, validation_docs = lk.data.split_documents(documents, FLAGS.validation_fraction, FLAGS.seed)
    if not validation_docs:
        raise ValueError("No validation documents: raise --validation_fraction or --max_documents.")
    tokenizer = common.load_tokenizer(FLAGS.tokenizer, [d.text for d in train_docs], FLAGS.vocab_size,
                                      FLAGS.model_dir if chief else worker_dir)

    def windows(docs):
        ids = lk.data.tokenize_documents([d.text for d in docs], tokenizer)
        return lk.data.pack_documents(ids, FLAGS.sequence_length, tokenizer.pad_token_id)

    train_ids, train_mask = windows(train_docs)
    validation_ids, validation_mask = windows(validation_docs)
    print(f"{len(train_docs)} training documents -> {len(train_ids)} windows of {FLAGS.sequence_length} tokens; "
          f"{len(validation_docs)} validation documents -> {len(validation_ids)} windows")
    train = lk.data.language_model_dataset(train_ids, train_mask, FLAGS.batch_size, seed=FLAGS.seed, repeat=True)
    validation = lk.data.language_model_dataset(validation_ids, validation_mask, FLAGS.batch_size,
                                                shuffle=False, repeat=True)

    with strategy.scope():
        backbone = common.backbone_from_flags(tokenizer.vocabulary_size())
        model = lk.LLAMACausalLM(backbone)  # trains on packed token ids
        common.compile_for_training(model, strategy, FLAGS.epochs * FLAGS.steps_per_epoch)
        # The same backbone behind a string-in, string-out model for samples and export.
        generator = lk.LLAMACausalLM(backbone, lk.LLAMACausalLMPreprocessor(tokenizer, FLAGS.sequence_length))
        generator.compile(sampler="greedy")
    print(f"{FLAGS.preset}: {backbone.count_params():,} parameters, {strategy.num_replicas_in_sync} replica(s), "
          f"{FLAGS.mixed_precision}")

    def sample():
        prompt_tokens = len(tokenizer(FLAGS.sample_prompt)) + 1
        return generator.generate([FLAGS.sample_prompt], max_length=prompt_tokens + FLAGS.max_new_tokens)[0]

    hparams = common.flag_values("preset", "num_layers", "hidden_dim", "data", "sequence_length", "batch_size",
                                 "epochs", "steps_per_epoch", "learning_rate", "seed", "strategy", "mixed_precision")
    history = common.fit(model, lambda step: train.skip(step), FLAGS.steps_per_epoch, worker_dir, chief, hparams,
                         FLAGS.batch_size * FLAGS.sequence_length, sample,
                         validation_data=validation, validation_steps=FLAGS.validation_steps)

    print("validation loss by epoch:", " ".join(f"{v:.3f}" for v in history.get("val_loss", [])))
    if chief:
        common.finish(generator, {"validation_loss": history.get("val_loss", []), **hparams},
                      max_new_tokens=FLAGS.max_new_tokens)
        print("Sample:\n" + sample())


if __name__ == "__main__":
    app.run(main)
