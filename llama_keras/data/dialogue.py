"""Conversations for dialogue fine-tuning: PyPI's `chatterbot-corpus` (YAML, 18 topics in English)."""

import glob
import os

import yaml

from llama_keras.data.packages import fetch_pypi_sdist


def chatterbot_conversations(language="english", cache_dir=None):
    """`[[{"role": "user" | "assistant", "content": str}, ...], ...]`: each corpus
    conversation with its turns alternating, the user first; files in name order."""
    package = fetch_pypi_sdist("chatterbot-corpus", "1.3.3", cache_dir)
    paths = sorted(glob.glob(os.path.join(package, "chatterbot_corpus", "data", language, "*.yml")))
    if not paths:
        raise ValueError(f"chatterbot-corpus has no {language!r} conversations.")
    conversations = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            corpus = yaml.safe_load(f) or {}
        for turns in corpus.get("conversations", []):
            texts = [str(turn).strip() for turn in turns if str(turn).strip()]
            if len(texts) >= 2:
                roles = ("user", "assistant") * len(texts)
                conversations.append([{"role": r, "content": t} for r, t in zip(roles, texts)])
    return conversations
