import statistics

import numpy as np
import pytest

import llama_keras as lk
from llama_keras.data.listops import OPERATORS


def evaluate_with_a_stack(text):
    """An independent evaluator: reads the tokens left to right with an explicit stack."""
    stack = []
    for token in text.split():
        if token.startswith("["):
            stack.append((token, []))
        elif token == "]":
            operator, values = stack.pop()
            value = {"[MIN": min, "[MAX": max, "[SM": lambda v: sum(v) % 10,
                     "[MED": lambda v: int(statistics.median(v))}[operator](values)
            if not stack:
                return value
            stack[-1][1].append(value)
        else:
            stack[-1][1].append(int(token))
    raise ValueError("unbalanced")


@pytest.mark.parametrize("text, value", [
    ("[MAX 4 3 [MIN 2 3 ] 1 0 ]", 4),
    ("[MED 1 5 8 9 ]", 6),  # int(median) of an even count: (5 + 8) / 2 -> 6
    ("[SM 9 8 [MAX 0 1 ] ]", 8),
    ("[MIN [SM 5 5 ] 7 ]", 0),
])
def test_hand_computed_values(text, value):
    assert evaluate_with_a_stack(text) == value


def test_generated_values_match_the_independent_evaluator_and_lengths_hold():
    texts, labels = lk.data.listops(40, min_tokens=500, max_tokens=2000, seed=0)
    for text, label in zip(texts, labels):
        tokens = text.split()
        assert 500 <= len(tokens) <= 2000
        assert evaluate_with_a_stack(text) == label
        assert set(tokens) <= set(OPERATORS) | {"]"} | set("0123456789")
    assert len(set(labels)) >= 5
    short_texts, short_labels = lk.data.listops(300, min_tokens=5, max_tokens=60, seed=1)
    assert all(evaluate_with_a_stack(t) == v for t, v in zip(short_texts, short_labels))
    depth = max(max(np.cumsum([1 if t.startswith("[") else -1 if t == "]" else 0 for t in x.split()]))
                for x in texts)
    assert depth <= 10
    with pytest.raises(ValueError, match="min_tokens"):
        lk.data.listops(1, min_tokens=10, max_tokens=5)
