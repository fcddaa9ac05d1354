import numpy as np
import pytest
import sentencepiece
import tensorflow as tf

import llama_keras as lk
from tests.fixtures import SENTENCES
from tests.fixtures import tokenizer_proto


@pytest.fixture
def tokenizer():
    return lk.LLAMATokenizer(proto=tokenizer_proto())


def test_round_trips_text_and_matches_the_sentencepiece_library(tokenizer):
    reference = sentencepiece.SentencePieceProcessor(model_proto=tokenizer_proto())
    for text in SENTENCES:
        ids = tokenizer(text)
        assert list(np.asarray(ids)) == reference.encode(text)
        assert tokenizer.detokenize(ids) == text


def test_tokenizes_in_graph_through_tf_text(tokenizer):
    graph = tf.function(lambda x: tokenizer(x).to_tensor())
    ids = graph(tf.constant(SENTENCES[:2]))
    op_types = {op.type for op in graph.get_concrete_function(tf.TensorSpec([None], tf.string)).graph.get_operations()}
    assert any("SentencepieceTokenize" in op for op in op_types)
    assert np.asarray(ids)[0, : len(tokenizer(SENTENCES[0]))].tolist() == list(np.asarray(tokenizer(SENTENCES[0])))


def test_special_tokens_and_padding_id(tokenizer):
    assert (tokenizer.start_token_id, tokenizer.end_token_id, tokenizer.pad_token_id) == (1, 2, 0)


@pytest.mark.parametrize("text", ["", "   ", b"\xff\xfe bytes"])
def test_empty_whitespace_and_invalid_utf8_give_a_defined_result(tokenizer, text):
    ids = list(np.asarray(tokenizer(text)))
    graph_ids = tf.function(tokenizer)(tf.constant([text])).to_list()[0]
    assert ids == graph_ids
    if isinstance(text, bytes):
        assert "\ufffd\ufffd bytes" == tokenizer.detokenize(np.asarray(ids))


def test_train_tokenizer_reads_files_shows_progress_and_writes_the_model(tmp_path, capsys):
    paths = []
    for i, text in enumerate(SENTENCES):
        path = tmp_path / f"doc{i}.txt"
        path.write_text(text * 3)
        paths.append(str(path))
    tokenizer = lk.tokenizers.train_tokenizer(paths, vocab_size=350, output_path=str(tmp_path / "sp.model"))
    assert "5/5" in capsys.readouterr().out
    assert tokenizer.vocabulary_size() == 350
    assert (tmp_path / "sp.model").read_bytes() == tokenizer.proto


def test_train_tokenizer_rejects_bad_arguments():
    with pytest.raises(ValueError, match="empty"):
        lk.tokenizers.train_tokenizer([], vocab_size=300)
    with pytest.raises(ValueError, match="too small"):
        lk.tokenizers.train_tokenizer(SENTENCES, vocab_size=50, verbose=False)


def test_mistral_vocabulary_is_found_or_named():
    try:
        path = lk.tokenizers.mistral_vocabulary()
    except ImportError as error:
        assert "pip install mistral-common" in str(error)
    else:
        assert lk.LLAMATokenizer(proto=path).vocabulary_size() == 32000
