"""Small shared fixtures: a SentencePiece vocabulary trained on a few real sentences."""

import functools

import llama_keras as lk

SENTENCES = [
    "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.",
    "The pass key is 71432. Remember it. 71432 is the pass key.",
    "def add(a, b):\n    return a + b\n",
    "Fellow-Citizens of the Senate and House of Representatives: I feel much satisfaction.",
    "Ünïcödé text, emoji 🙂 and numbers 12345 round-trip too.",
]


@functools.lru_cache(maxsize=None)
def tokenizer_proto():
    tokenizer = lk.tokenizers.train_tokenizer(SENTENCES * 4, vocab_size=400, verbose=False)
    return tokenizer.proto


def tiny_causal_lm(sequence_length=32, **backbone_kwargs):
    tokenizer = lk.LLAMATokenizer(proto=tokenizer_proto())
    preprocessor = lk.LLAMACausalLMPreprocessor(tokenizer, sequence_length=sequence_length)
    backbone = lk.LLAMABackbone.from_preset(
        "llama_keras_tiny", vocabulary_size=tokenizer.vocabulary_size(), **backbone_kwargs)
    return lk.LLAMACausalLM(backbone, preprocessor)
