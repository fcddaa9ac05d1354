import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

# Property tests draw the same examples on every machine and run: derandomized, with
# no example database carried between runs, so CI is deterministic.
settings.register_profile("deterministic", derandomize=True, database=None, deadline=None, print_blob=True)
settings.load_profile("deterministic")


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)


@pytest.fixture(scope="session")
def tokenizer_file(tmp_path_factory):
    """The shared test vocabulary as a `.model` file, for trainers' `--tokenizer`."""
    from tests import fixtures

    path = tmp_path_factory.mktemp("tokenizer") / "tokenizer.model"
    path.write_bytes(fixtures.tokenizer_proto())
    return path
