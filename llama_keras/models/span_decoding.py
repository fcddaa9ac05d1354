"""best_spans: the highest-scoring valid answer span from start and end logits, in O(L * K)."""

import tensorflow as tf


def best_spans(start_logits, end_logits, allowed, max_answer_tokens):
    """`start_logits`, `end_logits [B, L]`, `allowed [B, L]` bool -> `(start, end, score)`, each `[B]`.

    Maximises `start_logits[i] + end_logits[j]` over `i <= j < i + max_answer_tokens`
    with both `i` and `j` allowed (the context's tokens). A row with nothing allowed
    gets `start = end = 0` and `score = -inf`. For every end `j` the best start is
    kept while sliding over the `max_answer_tokens` starts before it, so nothing of
    size `L x L` is built (contexts may be 100k tokens).
    """
    minus_inf = tf.constant(float("-inf"), tf.float32)
    allowed = tf.cast(allowed, tf.bool)
    starts = tf.where(allowed, tf.cast(start_logits, tf.float32), minus_inf)
    ends = tf.where(allowed, tf.cast(end_logits, tf.float32), minus_inf)
    length = tf.shape(starts)[1]
    positions = tf.broadcast_to(tf.range(length)[None, :], tf.shape(starts))
    best_score, best_start = starts, positions
    for offset in range(1, max_answer_tokens):
        # The start `offset` tokens before each end (-inf before the sequence begins).
        shifted = tf.pad(starts, [[0, 0], [offset, 0]], constant_values=float("-inf"))[:, :length]
        better = shifted > best_score
        best_score = tf.where(better, shifted, best_score)
        best_start = tf.where(better, positions - offset, best_start)
    total = best_score + ends
    end = tf.argmax(total, axis=-1, output_type=tf.int32)
    score = tf.reduce_max(total, axis=-1)
    start = tf.gather(best_start, end, batch_dims=1)
    found = score > minus_inf
    return tf.where(found, start, 0), tf.where(found, end, 0), score
