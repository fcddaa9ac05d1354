"""Passkey retrieval in the exact format of Landmark Attention / LongLoRA.

    There is an important info hidden inside a lot of irrelevant text. Find it and memorize them. I will quiz
    you about the important information there. <filler ...> The pass key is K. Remember it. K is the pass key.
    <filler ...> What is the pass key? The pass key is

The score is the exact match of the first integer the model generates.
"""

import re

import numpy as np

INTRO = ("There is an important info hidden inside a lot of irrelevant text. Find it and memorize them. "
         "I will quiz you about the important information there.")
FILLER = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again."
QUESTION = "What is the pass key? The pass key is"


def key_line(key):
    return f"The pass key is {key}. Remember it. {key} is the pass key."


def passkey_prompt(tokenizer, length, depth, key):
    """A prompt of about `length` tokens (within one filler repeat) with the key line after
    `depth` (0 = start, 1 = end) of the filler. -> `(prompt, number of filler repeats before the key)`."""
    if not 0.0 <= depth <= 1.0:
        raise ValueError(f"`depth` must be in [0, 1], got {depth}.")
    fixed = len(tokenizer(" ".join([INTRO, key_line(key), QUESTION])))
    per_repeat = max(1, len(tokenizer(" ".join([FILLER] * 8))) / 8)
    repeats = max(0, int(round((length - fixed) / per_repeat)))
    before = int(round(repeats * depth))
    parts = [INTRO] + [FILLER] * before + [key_line(key)] + [FILLER] * (repeats - before) + [QUESTION]
    return " ".join(parts), before


def passkey_samples(tokenizer, length, num_samples, seed=0):
    """`num_samples` `(prompt, key, depth)` at `length` tokens, depths spread evenly over [0, 1],
    keys random integers in [1, 50000]."""
    rng = np.random.RandomState(seed)
    depths = np.linspace(0.0, 1.0, num_samples) if num_samples > 1 else np.array([0.5])
    samples = []
    for depth in depths:
        key = int(rng.randint(1, 50001))
        samples.append((passkey_prompt(tokenizer, length, float(depth), key)[0], key, float(depth)))
    return samples


def first_integer(text):
    match = re.search(r"\d+", text)
    return int(match.group()) if match else None


def passkey_accuracy(continuations, keys):
    """Fraction of continuations whose first integer is the key."""
    if len(continuations) != len(keys) or not keys:
        raise ValueError("Need one continuation per key, and at least one.")
    return float(np.mean([first_integer(text) == key for text, key in zip(continuations, keys)]))
