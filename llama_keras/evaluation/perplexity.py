"""Per-token loss of a causal LM on long documents, averaged in position buckets.

A model that keeps working past its training length (and uses the longer
context) has a loss that does not rise with position.
"""

import numpy as np


def position_buckets(length, first=1024):
    """`[(0, first), (first, 2 first), (2 first, 4 first), ...]` up to `length` (the last one cut)."""
    if length < 1 or first < 1:
        raise ValueError(f"`length` and `first` must be positive, got {length} and {first}.")
    buckets, start, end = [], 0, first
    while start < length:
        buckets.append((start, min(end, length)))
        start, end = end, 2 * end
    return buckets


def token_losses(logits_fn, token_ids, block=4096):
    """Next-token cross-entropy (nats) at each position of one document.

    `logits_fn(token_ids [1, T], positions [1, P])` -> logits `[1, P, V]` at
    those positions; `token_ids [T]`. Returns `[T - 1]`: entry t is the loss of
    predicting token t + 1 from tokens 0..t. Logits are asked for `block`
    positions at a time, so `[T, V]` never exists at once.
    """
    token_ids = np.asarray(token_ids, "int32")
    if token_ids.ndim != 1 or len(token_ids) < 2:
        raise ValueError(f"`token_ids` must be one document of >= 2 tokens, got shape {token_ids.shape}.")
    losses = []
    for start in range(0, len(token_ids) - 1, block):
        positions = np.arange(start, min(start + block, len(token_ids) - 1))
        logits = np.asarray(logits_fn(token_ids[None, :], positions[None, :])[0], "float64")
        top = logits.max(axis=-1, keepdims=True)
        log_normaliser = top[:, 0] + np.log(np.exp(logits - top).sum(axis=-1))
        losses.append(log_normaliser - logits[np.arange(len(positions)), token_ids[positions + 1]])
    return np.concatenate(losses)


def loss_by_position(losses_per_document, buckets):
    """Mean loss per bucket over every document that reaches into it -> `[(start, end, mean, count)]`;
    buckets no document reaches are left out."""
    rows = []
    for start, end in buckets:
        pieces = [np.asarray(losses)[start:end] for losses in losses_per_document if len(losses) > start]
        count = sum(len(p) for p in pieces)
        if count:
            rows.append((start, end, float(np.concatenate(pieces).mean()), count))
    return rows
