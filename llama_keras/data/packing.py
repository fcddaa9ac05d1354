"""Packing tokenized documents into training windows, and the tf.data pipeline around it."""

import numpy as np
import tensorflow as tf


def pack_documents(documents_token_ids, sequence_length, pad_id=0):
    """Cuts each document into windows of `sequence_length + 1` tokens.

    A window never holds two documents. Consecutive windows of a document share
    one token (the last input of one is the first of the next), so every token
    after a document's first is a target exactly once; the tail window is
    padded, never dropped.

    Returns `token_ids [N, L + 1]` (int32) and `padding_mask [N, L + 1]` (int32).
    """
    if sequence_length < 1:
        raise ValueError(f"`sequence_length` must be >= 1, got {sequence_length}.")
    windows, masks = [], []
    for ids in documents_token_ids:
        ids = np.asarray(ids, dtype="int32")
        for start in range(0, max(len(ids) - 1, 0), sequence_length):
            piece = ids[start : start + sequence_length + 1]
            window = np.full(sequence_length + 1, pad_id, "int32")
            window[: len(piece)] = piece
            mask = np.zeros(sequence_length + 1, "int32")
            mask[: len(piece)] = 1
            windows.append(window)
            masks.append(mask)
    if not windows:
        raise ValueError("No document has two or more tokens: nothing to train on.")
    return np.stack(windows), np.stack(masks)


def tokenize_documents(texts, tokenizer, add_start=True, add_end=True):
    """Token ids of each text (lists of int), with `<s>` / `</s>` around each."""
    ragged = tokenizer(tf.constant(list(texts)))
    ids = ragged.to_list() if hasattr(ragged, "to_list") else [list(r) for r in ragged]
    start = [tokenizer.start_token_id] if add_start else []
    end = [tokenizer.end_token_id] if add_end else []
    return [start + list(doc) + end for doc in ids]


def language_model_dataset(token_ids, padding_mask, batch_size, shuffle=True, seed=0, repeat=False):
    """`tf.data` of `({"token_ids", "padding_mask"}, next_tokens, sample_weight)` batches.

    Deterministic for a given seed; batches are prefetched.
    """
    inputs = {"token_ids": token_ids[:, :-1], "padding_mask": padding_mask[:, :-1]}
    dataset = tf.data.Dataset.from_tensor_slices((inputs, token_ids[:, 1:], padding_mask[:, 1:]))
    if shuffle:
        dataset = dataset.shuffle(len(token_ids), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def split_documents(documents, validation_fraction, seed=0):
    """Splits documents (not windows) into train and validation, reproducibly."""
    if not 0 <= validation_fraction < 1:
        raise ValueError(f"`validation_fraction` must be in [0, 1), got {validation_fraction}.")
    order = np.random.RandomState(seed).permutation(len(documents))
    count = int(round(len(documents) * validation_fraction))
    if validation_fraction and len(documents) > 1:
        count = max(1, count)
    validation = sorted(order[:count])
    train = sorted(order[count:])
    return [documents[i] for i in train], [documents[i] for i in validation]
