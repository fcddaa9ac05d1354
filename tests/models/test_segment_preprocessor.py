import numpy as np
import pytest
import tensorflow as tf

import llama_keras as lk
from tests.fixtures import tokenizer_proto

START, END = 1, 2


@pytest.fixture
def tokenizer():
    # Made after the autouse reseed: `tf.random.set_seed` drops TF Text's SentencePiece
    # resource from under tokenizers made before it.
    return lk.LLAMATokenizer(proto=tokenizer_proto())


def ids(tokenizer, text):
    return [int(i) for i in tokenizer(text)]


def hand_packed(tokenizer, segments, length):
    """`<s> a </s> b </s>` and segment ids, padded with 0 to `length`, built by hand."""
    tokens, segment_ids = [START], [0]
    for index, text in enumerate(segments):
        piece = ids(tokenizer, text) + [END]
        tokens += piece
        segment_ids += [index] * len(piece)
    mask = [1] * len(tokens) + [0] * (length - len(tokens))
    return tokens + [0] * (length - len(tokens)), segment_ids + [0] * (length - len(segment_ids)), mask


def test_two_segments_pack_as_built_by_hand_and_none_pads_to_the_longest(tokenizer):
    first, second = ["The sky is blue.", "green", ""], ["Here we go", "", ""]
    packed = lk.models.LLAMASegmentPreprocessor(tokenizer, sequence_length=None).pack((first, second))
    width = max(len(ids(tokenizer, a)) + len(ids(tokenizer, b)) + 3 for a, b in zip(first, second))
    assert packed["token_ids"].shape == (3, width)
    for row, (a, b) in enumerate(zip(first, second)):
        tokens, segment_ids, mask = hand_packed(tokenizer, [a, b], width)
        np.testing.assert_array_equal(packed["token_ids"][row], tokens)
        np.testing.assert_array_equal(packed["segment_ids"][row], segment_ids)
        np.testing.assert_array_equal(packed["padding_mask"][row], mask)
    assert all(packed[key].dtype == tf.int32 for key in packed)


def test_cutting_drops_the_last_segment_first_or_the_start_of_the_first(tokenizer):
    a, b = "The sky is blue. The sun is yellow.", "Here we go"
    a_ids, b_ids = ids(tokenizer, a), ids(tokenizer, b)
    length = len(b_ids) + 6  # room for 3 tokens of `a` when `b` is whole
    cut_end = lk.models.LLAMASegmentPreprocessor(tokenizer, length).pack(([a], [b]))
    expected = [START] + a_ids[: length - 3] + [END, END]  # waterfall: a first, b gets nothing left
    np.testing.assert_array_equal(cut_end["token_ids"][0], expected)
    keep_end = lk.models.LLAMASegmentPreprocessor(tokenizer, length, keep_end_of_first_segment=True).pack(([a], [b]))
    np.testing.assert_array_equal(keep_end["token_ids"][0], [START] + a_ids[-3:] + [END] + b_ids + [END])
    np.testing.assert_array_equal(keep_end["padding_mask"][0], np.ones(length))


def test_eager_and_tf_data_agree(tokenizer):
    preprocessor = lk.LLAMATextClassifierPreprocessor(tokenizer, sequence_length=12)
    texts = ["The sky is blue.", "", "def add(a, b):"]
    eager, labels = preprocessor(texts, [0, 1, 0])
    mapped = next(iter(tf.data.Dataset.from_tensor_slices((texts, [0, 1, 0])).batch(3).map(preprocessor)))
    for key in ("token_ids", "padding_mask"):
        np.testing.assert_array_equal(eager[key], mapped[0][key])
    np.testing.assert_array_equal(eager["token_ids"][1][:3], [START, END, 0])  # empty text: defined output
    assert "segment_ids" not in eager and list(labels) == [0, 1, 0]


def test_config_round_trip_and_bad_length(tokenizer):
    preprocessor = lk.models.LLAMASegmentPreprocessor(tokenizer, 32, keep_end_of_first_segment=True)
    clone = lk.models.LLAMASegmentPreprocessor.from_config(preprocessor.get_config())
    assert clone.sequence_length == 32 and clone.keep_end_of_first_segment
    with pytest.raises(ValueError, match="sequence_length"):
        lk.models.LLAMASegmentPreprocessor(tokenizer, 2)
