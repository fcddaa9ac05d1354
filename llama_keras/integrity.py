"""SHA-256 checksums, so a truncated or modified weights file is refused by name
instead of loading as silent garbage."""

import hashlib
import json
import os

CHECKSUMS_FILE = "checksums.json"


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_checksums(directory):
    """Records every file of `directory` (not sub-folders) in `checksums.json`."""
    names = sorted(n for n in os.listdir(directory)
                   if n != CHECKSUMS_FILE and os.path.isfile(os.path.join(directory, n)))
    with open(os.path.join(directory, CHECKSUMS_FILE), "w") as f:
        json.dump({n: file_sha256(os.path.join(directory, n)) for n in names}, f, indent=1)


def verify_checksums(directory):
    """Checks the files `checksums.json` lists; no-op when there is none.

    Raises FileNotFoundError (a listed file is gone) or ValueError (changed,
    or an unreadable list), naming the file.
    """
    listing = os.path.join(directory, CHECKSUMS_FILE)
    if not os.path.exists(listing):
        return
    try:
        with open(listing) as f:
            expected = dict(json.load(f))
    except (ValueError, TypeError) as error:
        raise ValueError(f"{listing} is corrupt ({error}).") from None
    for name, digest in expected.items():
        path = os.path.join(directory, os.path.basename(name))
        if not os.path.exists(path):
            raise FileNotFoundError(f"{path}, listed in {listing}, is missing.")
        if file_sha256(path) != digest:
            raise ValueError(f"{path} does not match its checksum in {listing}: the file was truncated or "
                             "modified after it was saved.")
