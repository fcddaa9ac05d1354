"""Fine-tunes LLAMAChatLM on the chatterbot-corpus conversations; prints replies; exports for TF Serving.

    python trainers/train_chat.py    # ~10 min on 2 CPU cores

Every `--held_out_every`-th conversation is held out; its cross-entropy per reply
token is reported and a few held-out prompts are answered with `chat()`. The SavedModel maps
`messages` (JSON) -> `reply`.
"""

import os
import sys

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import math  # noqa: E402

import tensorflow as tf  # noqa: E402

import llama_keras as lk  # noqa: E402
from trainers import common  # noqa: E402

FLAGS = flags.FLAGS
common.define_flags(name="llama_chat", preset="llama_keras_small", vocab_size=4000, sequence_length=128,
                    batch_size=16, epochs=4, learning_rate=1e-3, warmup_steps=30, num_layers=2, hidden_dim=192)
flags.DEFINE_integer("held_out_every", 10, "Every N-th conversation is held out.", lower_bound=2)
flags.DEFINE_integer("max_new_tokens", 48, "Longest reply generated.", lower_bound=1)
flags.DEFINE_integer("steps_per_epoch", None, "Training steps per epoch (default: one pass over the replies).",
                     lower_bound=1)


def main(argv):
    del argv
    strategy, chief, worker_dir = common.start_run()
    conversations = lk.data.chatterbot_conversations()
    train = [c for i, c in enumerate(conversations) if i % FLAGS.held_out_every]
    held_out = [c for i, c in enumerate(conversations) if not i % FLAGS.held_out_every]
    examples, held_out_examples = lk.models.chat_examples(train), lk.models.chat_examples(held_out)
    tokenizer = common.load_tokenizer(FLAGS.tokenizer, examples["source"] + examples["target"], FLAGS.vocab_size,
                                      FLAGS.model_dir if chief else worker_dir)

    def dataset(data, training):
        data = tf.data.Dataset.from_tensor_slices(data)
        if training:
            data = data.shuffle(len(examples["source"]), seed=FLAGS.seed).repeat()
        return data.batch(FLAGS.batch_size)

    steps_per_epoch = FLAGS.steps_per_epoch or max(1, len(examples["source"]) // FLAGS.batch_size)
    with strategy.scope():
        preprocessor = lk.LLAMASeq2SeqLMPreprocessor(tokenizer, FLAGS.sequence_length, keep_end_of_first_segment=True)
        chat_lm = lk.LLAMAChatLM(common.backbone_from_flags(tokenizer.vocabulary_size()), preprocessor)
        common.compile_for_training(chat_lm, strategy, FLAGS.epochs * steps_per_epoch, sampler="greedy")
    print(f"{len(examples['source'])} training / {len(held_out_examples['source'])} held-out replies")
    prompts = [conversation[:1] for conversation in held_out[:5]]
    hparams = common.flag_values("preset", "num_layers", "hidden_dim", "sequence_length", "batch_size", "epochs",
                                 "learning_rate", "seed")
    train_data = dataset(examples, training=True)
    common.fit(chat_lm, lambda step: train_data.skip(step), steps_per_epoch, worker_dir, chief, hparams,
               FLAGS.batch_size * FLAGS.sequence_length,
               sample=lambda: chat_lm.chat(prompts[0], FLAGS.max_new_tokens),
               validation_data=dataset(held_out_examples, training=False), verbose=2)

    loss = common.loss_per_target_token(chat_lm, dataset(held_out_examples, training=False))
    for messages in prompts:
        print(f"User: {messages[0]['content']}\nAssistant: {chat_lm.chat(messages, FLAGS.max_new_tokens)}\n")
    print(f"held-out loss per reply token: {loss:.3f} (perplexity {math.exp(min(loss, 50)):.1f})")
    if chief:
        common.finish(chat_lm, {"held_out_loss": loss, "held_out_perplexity": math.exp(min(loss, 50)), **hparams},
                      max_new_tokens=FLAGS.max_new_tokens)


if __name__ == "__main__":
    app.run(main)
