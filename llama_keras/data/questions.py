"""Synthetic extractive QA over real long documents (there is no real extractive QA set offline).

SYNTHETIC: every question is generated from a template. The documents are real:
the Python standard library's sources. "What is the value of\nNAME =" asks for the
literal assigned to a module-level constant (`NAME = 1024`, `NAME = "utf-8"`); the
answer is that literal's exact span. The name starts a line in the question as in
the source, so SentencePiece cuts it into the same pieces in both (after a space it
would get other pieces, and the question would share no token with its answer's line). Contexts are cut from the document (and,
for long contexts, the documents after it) around the answer, so one question is
asked at any context length, and the assignment is the only one to `NAME` in it.
"""

import ast
import collections
import functools
import re

import numpy as np

QAExample = collections.namedtuple("QAExample", ["question", "context", "answer", "start"])
"""`context[start : start + len(answer)] == answer` (character offsets)."""

MAX_ANSWER_CHARS = 40


@functools.lru_cache(maxsize=4096)
def constant_facts(document_text):
    """`((name, literal text, character offset of the literal), ...)` for each module-level
    `NAME = <short literal>` in a Python source (cached: parsing is the slow part)."""
    try:
        tree = ast.parse(document_text)
    except (SyntaxError, ValueError):
        return ()
    line_starts = np.cumsum([0] + [len(line) for line in document_text.splitlines(keepends=True)])
    facts = []
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Constant) and node.value.lineno == node.value.end_lineno):
            literal = ast.get_source_segment(document_text, node.value)
            if literal and len(literal) <= MAX_ANSWER_CHARS and literal.strip() == literal:
                line = document_text.splitlines(keepends=True)[node.value.lineno - 1]
                column = len(line.encode("utf-8")[: node.value.col_offset].decode("utf-8", errors="replace"))
                facts.append((node.targets[0].id, literal, int(line_starts[node.value.lineno - 1]) + column))
    return tuple(facts)


def constant_questions(documents, context_chars, num_questions=None, seed=0):
    """`num_questions` `QAExample`s (None: as many as the documents give) whose contexts
    are `context_chars` characters long (cut from a document and the ones after it),
    the answer at a random depth.

    Raises ValueError if the documents cannot give `num_questions`.
    """
    rng = np.random.RandomState(seed)
    text = "\n\n".join(d.text for d in documents)
    offsets = np.cumsum([0] + [len(d.text) + 2 for d in documents])
    candidates = [(name, literal, offsets[i] + start) for i, d in enumerate(documents)
                  for name, literal, start in constant_facts(d.text)]
    rng.shuffle(candidates)
    examples = []
    for name, literal, start in candidates:
        if len(examples) == num_questions:
            break
        first = max(0, min(start - rng.randint(0, context_chars - len(literal)), len(text) - context_chars))
        context = text[first : first + context_chars]
        if len(context) < context_chars or len(re.findall(rf"^{re.escape(name)} = ", context, re.M)) != 1:
            continue  # too little text left, or the name is cut off or assigned twice
        examples.append(QAExample(f"What is the value of\n{name} =", context, literal, int(start - first)))
    if num_questions is not None and len(examples) < num_questions:
        raise ValueError(f"Only {len(examples)} of {num_questions} questions with {context_chars}-character "
                         f"contexts from {len(documents)} documents.")
    return examples
