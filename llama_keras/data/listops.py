"""ListOps (Nangia & Bowman 2018) as Long Range Arena uses it: nested MIN, MAX, MED, SM (sum mod 10)
over digits, depth <= 10, <= 10 arguments, 500-2000 tokens, brackets kept as tokens.

    [MAX 4 3 [MIN 2 3 ] 1 0 [MED 1 5 8 9 2 ] ]   ->   5

The label is the expression's value, 0-9 (ten classes).
"""

import numpy as np

OPERATORS = ("[MIN", "[MAX", "[MED", "[SM")
CLOSE = "]"
CLASS_NAMES = tuple(str(d) for d in range(10))
LEAF_PROBABILITY = 0.75  # below the depth limit, each argument is a digit with this probability


def apply(operator, values):
    if operator == "[MIN":
        return min(values)
    if operator == "[MAX":
        return max(values)
    if operator == "[MED":
        return int(np.median(values))
    return sum(values) % 10


def random_expression(rng, max_depth=10, max_args=10, depth=1):
    """-> `(tokens, value)`: an operator with 2..max_args arguments, each a digit or
    (above the depth limit, with probability 1 - LEAF_PROBABILITY) another expression."""
    operator = OPERATORS[rng.randint(len(OPERATORS))]
    tokens, values = [operator], []
    for _ in range(rng.randint(2, max_args + 1)):
        if depth < max_depth and rng.rand() >= LEAF_PROBABILITY:
            sub_tokens, value = random_expression(rng, max_depth, max_args, depth + 1)
            tokens += sub_tokens
        else:
            value = int(rng.randint(10))
            tokens.append(str(value))
        values.append(value)
    return tokens + [CLOSE], apply(operator, values)


def listops(num_examples, min_tokens=500, max_tokens=2000, max_depth=10, max_args=10, seed=0):
    """`(texts, labels)`: expressions of `min_tokens..max_tokens` tokens (space-separated), by rejection sampling."""
    if not 1 <= min_tokens <= max_tokens:
        raise ValueError(f"Need 1 <= min_tokens <= max_tokens, got {min_tokens}, {max_tokens}.")
    rng = np.random.RandomState(seed)
    texts, labels = [], []
    while len(texts) < num_examples:
        tokens, value = random_expression(rng, max_depth, max_args)
        if min_tokens <= len(tokens) <= max_tokens:
            texts.append(" ".join(tokens))
            labels.append(value)
    return texts, labels
