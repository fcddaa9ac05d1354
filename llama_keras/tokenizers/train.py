"""train_tokenizer: a SentencePiece vocabulary from files or strings, with a progress bar."""

import io
import os

import keras
import sentencepiece


def train_tokenizer(files_or_texts, vocab_size, model_type="bpe", max_sentence_length=8192,
                    max_sentences=200_000, character_coverage=1.0, output_path=None, verbose=True):
    """Trains SentencePiece and returns an `LLAMATokenizer`.

    Args:
        files_or_texts: paths of text files, or the texts themselves.
        vocab_size: vocabulary size, special tokens included.
        model_type: `"bpe"` (LLaMA's) or `"unigram"`.
        max_sentence_length: longer lines are split into pieces of this many characters.
        max_sentences: SentencePiece learns from a random sample of this many lines.
        output_path: also write the `.model` file here.

    Ids: 0 `<unk>` (also padding), 1 `<s>`, 2 `</s>`; unknown characters fall
    back to bytes, so any UTF-8 text round-trips.
    """
    from llama_keras.tokenizers.llama_tokenizer import LLAMATokenizer

    items = [files_or_texts] if isinstance(files_or_texts, str) else list(files_or_texts)
    if not items:
        raise ValueError("`files_or_texts` is empty: nothing to train a tokenizer on.")

    def lines():
        progress = keras.utils.Progbar(len(items), unit_name="document", verbose=int(verbose))
        for item in items:
            text = _read(item) if _is_file(item) else item
            for line in text.splitlines():
                for start in range(0, len(line), max_sentence_length):
                    piece = line[start : start + max_sentence_length].strip()
                    if piece:
                        yield piece
            progress.add(1)

    model = io.BytesIO()
    try:
        _train(model, lines(), vocab_size, model_type, character_coverage, max_sentence_length, max_sentences)
    except RuntimeError as error:
        if "Vocabulary size is smaller than required_chars" in str(error):
            raise ValueError(
                f"`vocab_size` {vocab_size} is too small: it must hold 256 byte pieces, 3 special "
                f"tokens and every distinct character of the text ({error})."
            ) from error
        raise
    proto = model.getvalue()
    if output_path:
        with open(output_path, "wb") as f:
            f.write(proto)
    return LLAMATokenizer(proto=proto)


def _train(model, lines, vocab_size, model_type, character_coverage, max_sentence_length, max_sentences):
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=lines, model_writer=model, vocab_size=vocab_size, model_type=model_type,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1, byte_fallback=True, character_coverage=character_coverage,
        max_sentence_length=max_sentence_length * 4, split_digits=True, allow_whitespace_only_pieces=True,
        remove_extra_whitespaces=False, normalization_rule_name="identity", minloglevel=2,
        hard_vocab_limit=False, input_sentence_size=max_sentences, shuffle_input_sentence=True,
    )


def _is_file(item):
    return isinstance(item, (str, os.PathLike)) and len(str(item)) < 4096 and os.path.isfile(item)


def _read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()
