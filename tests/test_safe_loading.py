"""Nothing a user loads can run code, and a damaged file is refused by name."""

import ast
import os
import zipfile

import keras
import numpy as np
import pytest

import llama_keras as lk
from tests.fixtures import tiny_causal_lm

PACKAGE = os.path.dirname(lk.__file__)


def ids(batch=1, length=12):
    return np.random.default_rng(0).integers(3, 100, size=(batch, length)).astype("int32")


@pytest.mark.parametrize("build", [
    lambda: lk.LLAMABackbone.from_preset("llama_keras_tiny", vocabulary_size=100),
    lambda: tiny_causal_lm(),
    lambda: lk.LLAMAModel(vocab_size=100, embedding_dim=16, num_heads=2, dff=32, input_length=8),
], ids=["backbone", "causal_lm_with_preprocessor", "llama_model"])
def test_every_model_loads_in_safe_mode(tmp_path, build):
    model = build()
    path = str(tmp_path / "model.keras")
    model.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    x = ids()
    inputs = x if isinstance(model, lk.LLAMAModel) else {"token_ids": x, "padding_mask": np.ones_like(x)}
    np.testing.assert_allclose(restored(inputs), model(inputs), atol=1e-6)


def test_no_lambda_layers_or_pickle_in_the_package():
    """safe_mode refuses Lambda layers; pickle runs code on load. Neither appears in our sources."""
    for directory, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py"):
                tree = ast.parse(open(os.path.join(directory, name)).read())
                for node in ast.walk(tree):
                    if isinstance(node, ast.Attribute):
                        assert node.attr != "Lambda", f"{name}: keras Lambda layer"
                    if isinstance(node, (ast.Import, ast.ImportFrom)):
                        modules = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                        assert not {"pickle", "dill", "cloudpickle"} & set(modules), f"{name}: pickle"
                    if isinstance(node, ast.keyword):
                        assert not (node.arg == "allow_pickle" and getattr(node.value, "value", False)), name


@pytest.fixture()
def preset_dir(tmp_path):
    backbone = lk.LLAMABackbone.from_preset("llama_keras_tiny", vocabulary_size=100)
    path = str(tmp_path / "preset")
    backbone.save_to_preset(path)
    return path


def test_a_saved_preset_round_trips_with_its_checksums(preset_dir):
    assert os.path.exists(os.path.join(preset_dir, "checksums.json"))
    assert lk.LLAMABackbone.from_preset(preset_dir).count_params() > 0


@pytest.mark.parametrize("damage", ["truncate", "flip_a_byte"])
@pytest.mark.parametrize("name", ["model.weights.h5", "config.json"])
def test_a_damaged_preset_file_is_refused_by_name(preset_dir, damage, name):
    path = os.path.join(preset_dir, name)
    data = bytearray(open(path, "rb").read())
    if damage == "truncate":
        data = data[: len(data) // 2]
    else:
        data[len(data) // 2] ^= 0x01
    open(path, "wb").write(bytes(data))
    with pytest.raises(ValueError, match=f"{path} does not match its checksum"):
        lk.LLAMABackbone.from_preset(preset_dir)


def test_a_missing_preset_file_is_named(preset_dir):
    path = os.path.join(preset_dir, "model.weights.h5")
    os.remove(path)
    with pytest.raises(FileNotFoundError, match=path):
        lk.LLAMABackbone.from_preset(preset_dir)


def test_a_truncated_preset_without_checksums_still_gives_a_clear_error(preset_dir):
    os.remove(os.path.join(preset_dir, "checksums.json"))
    path = os.path.join(preset_dir, "model.weights.h5")
    open(path, "r+b").truncate(1000)
    with pytest.raises(ValueError, match=f"Could not load the preset in {preset_dir}"):
        lk.LLAMABackbone.from_preset(preset_dir)


@pytest.mark.parametrize("damage", ["truncate", "flip_a_byte"])
def test_a_damaged_keras_file_is_refused(tmp_path, damage):
    path = str(tmp_path / "model.keras")
    lk.LLAMAModel(vocab_size=100, embedding_dim=16, num_heads=2, dff=32, input_length=8).save(path)
    data = bytearray(open(path, "rb").read())
    if damage == "truncate":
        data = data[: len(data) // 2]
    else:  # inside the weights member: the zip's CRC-32 catches it
        with zipfile.ZipFile(path) as archive:
            member = archive.getinfo("model.weights.h5")
        data[member.header_offset + 200] ^= 0x01
    open(path, "wb").write(bytes(data))
    with pytest.raises((ValueError, zipfile.BadZipFile, OSError)):
        keras.saving.load_model(path, safe_mode=True)
