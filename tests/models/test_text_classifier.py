import itertools

import keras
import numpy as np
import pytest

import llama_keras as lk
from tests.fixtures import tokenizer_proto
from tests.helpers import assert_close
from tests.helpers import check_save_and_load

POSITIVE = ["good", "great", "happy", "lovely", "superb", "fun"]
NEGATIVE = ["bad", "awful", "sad", "boring", "poor", "dull"]
SUBJECTS = ["The film", "This movie", "The plot", "Our trip", "The show", "That book"]


def tiny_classifier(sequence_length=16, num_classes=2, **kwargs):
    tokenizer = lk.LLAMATokenizer(proto=tokenizer_proto())
    backbone = lk.LLAMABackbone.from_preset("llama_keras_tiny", vocabulary_size=tokenizer.vocabulary_size())
    preprocessor = lk.LLAMATextClassifierPreprocessor(tokenizer, sequence_length)
    return lk.LLAMATextClassifier(backbone, num_classes, preprocessor=preprocessor, **kwargs)


def sentiment_split():
    """Subject x word sentences; the held-out third pairs each word with subjects not trained on."""
    train, held_out = [], []
    for (i, subject), (j, word) in itertools.product(enumerate(SUBJECTS), enumerate(POSITIVE + NEGATIVE)):
        example = (f"{subject} was {word}.", int(word in POSITIVE))
        (held_out if (i + j) % 3 == 0 else train).append(example)
    return train, held_out


@pytest.mark.parametrize("pooling", ["last", "mean"])
def test_learns_sentiment_words_and_generalises_to_unseen_sentences(pooling):
    train, held_out = sentiment_split()
    classifier = tiny_classifier(pooling=pooling)
    classifier.compile(optimizer=keras.optimizers.Adam(3e-3))
    texts, labels = zip(*train)
    history = classifier.fit(list(texts), np.array(labels), batch_size=8, epochs=20, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    texts, labels = zip(*held_out)
    accuracy = np.mean(np.argmax(classifier.predict(list(texts), verbose=0), axis=-1) == np.array(labels))
    assert accuracy >= 0.85, accuracy  # chance: 0.5


def test_long_documents_are_read_whole():
    """With `sequence_length=None` the first word of a 40x-window document still moves
    the prediction; a preprocessor that cuts at 64 tokens cannot see a change at the start."""
    filler = " The grass is green. The sky is blue." * 60
    documents = ["Superb." + filler, "Awful." + filler]
    whole = tiny_classifier(sequence_length=None, pooling="last")
    packed = whole.preprocessor(documents)
    assert packed["padding_mask"].numpy().sum(axis=1).min() > 40 * 16  # window 16
    logits = whole.predict(documents, verbose=0)
    assert np.abs(logits[0] - logits[1]).max() > 1e-4
    whole.preprocessor = lk.LLAMATextClassifierPreprocessor(whole.preprocessor.tokenizer, 64)
    cut = whole.predict(["Superb." + filler[:-7], "Superb." + filler], verbose=0)
    assert_close(cut[0], cut[1], atol=1e-6)


def test_config_and_save_load_round_trip(tmp_path):
    classifier = tiny_classifier(pooling="mean", dropout=0.1, activation="softmax")
    classifier.compile()
    clone = lk.LLAMATextClassifier.from_config(classifier.get_config())
    assert (clone.num_classes, clone.pooling, clone.dropout) == (2, "mean", 0.1)
    restored = check_save_and_load(classifier, ["The sky is blue.", "Fun!"], tmp_path)
    assert_close(restored.predict(["x"], verbose=0).sum(), 1.0)  # softmax kept


def test_bad_arguments_and_unknown_labels_get_clear_errors():
    with pytest.raises(ValueError, match="num_classes"):
        tiny_classifier(num_classes=1)
    with pytest.raises(ValueError, match="pooling"):
        tiny_classifier(pooling="max")
    classifier = tiny_classifier()
    classifier.compile()
    for labels in ([0, 5], [-1, 0], [0.5, 1.0]):
        with pytest.raises(ValueError, match="labels must be integers in"):
            classifier.fit(["good", "bad"], np.array(labels), verbose=0)
    with pytest.raises(ValueError, match="labels must be integers in"):
        classifier.evaluate(["good", "bad"], [0, 2], verbose=0)
