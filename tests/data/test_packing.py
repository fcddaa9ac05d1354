import numpy as np
import pytest

import llama_keras as lk


def test_windows_never_cross_or_drop_documents():
    documents = [list(range(100, 100 + n)) for n in (1, 2, 9, 10, 11, 25)]
    ids, mask = lk.data.pack_documents(documents, sequence_length=5, pad_id=0)
    assert ids.shape[1] == mask.shape[1] == 6
    # Every window is a slice of one document (its valid part).
    windows = [list(row[m.astype(bool)]) for row, m in zip(ids, mask)]
    for window in windows:
        assert any(window == doc[i : i + len(window)] for doc in documents for i in range(len(doc)))
    # Every target (each token after a document's first) appears exactly once.
    targets = sorted(t for row, m in zip(ids, mask) for t in row[1:][m[1:].astype(bool)])
    assert targets == sorted(t for doc in documents for t in doc[1:])
    assert (ids[mask == 0] == 0).all()


def test_dataset_is_shifted_by_one_and_deterministic_with_a_seed():
    ids, mask = lk.data.pack_documents([list(range(1, 40))], sequence_length=8)

    def batches(seed):
        dataset = lk.data.language_model_dataset(ids, mask, batch_size=2, seed=seed)
        return [(x["token_ids"].numpy(), y.numpy(), w.numpy()) for x, y, w in dataset]

    first = batches(3)
    for (x, y, w), (x2, y2, w2) in zip(first, batches(3)):
        np.testing.assert_array_equal(x, x2)
    for x, y, w in first:
        np.testing.assert_array_equal(x[:, 1:], y[:, :-1])
    assert sum(w.sum() for _, _, w in first) == 38


def test_split_is_by_document_and_reproducible():
    docs = [lk.data.Document(str(i), "x") for i in range(40)]
    train, validation = lk.data.split_documents(docs, 0.1, seed=1)
    assert len(validation) == 4 and not {d.name for d in train} & {d.name for d in validation}
    assert lk.data.split_documents(docs, 0.1, seed=1) == (train, validation)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="sequence_length"):
        lk.data.pack_documents([[1, 2]], 0)
    with pytest.raises(ValueError, match="nothing to train"):
        lk.data.pack_documents([[1], []], 4)
    with pytest.raises(ValueError, match="validation_fraction"):
        lk.data.split_documents([], 1.5)
