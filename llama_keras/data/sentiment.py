"""Sentiment snippets with human ratings: the VADER study's ground truth (Hutto & Gilbert, ICWSM 2014).

They ship inside PyPI's `vadersentiment` 3.3.2 source distribution
(`additional_resources/hutto_ICWSM_2014.tar.gz`): 10,605 Rotten Tomatoes movie
snippets (Pang & Lee's sentence polarity sentences), 4,200 tweets, 3,708 Amazon
review and 5,190 New York Times editorial snippets, each rated in [-4, 4] by ~20 people.
"""

import os
import tarfile

from llama_keras.data.packages import fetch_pypi_sdist

SOURCES = {
    "movies": "movieReviewSnippets_GroundTruth.txt",
    "tweets": "tweets_GroundTruth.txt",
    "amazon": "amazonReviewSnippets_GroundTruth.txt",
    "nyt": "nytEditorialSnippets_GroundTruth.txt",
}
CLASS_NAMES = ("negative", "positive")


def vader_ratings(source="movies", cache_dir=None):
    """`[(text, mean rating in [-4, 4])]` of one source, in the file's order."""
    if source not in SOURCES:
        raise ValueError(f"`source` must be one of {sorted(SOURCES)}, got {source!r}.")
    package = fetch_pypi_sdist("vadersentiment", "3.3.2", cache_dir)
    archive_path = os.path.join(package, "additional_resources", "hutto_ICWSM_2014.tar.gz")
    with tarfile.open(archive_path) as archive:
        raw = archive.extractfile(f"hutto_ICWSM_2014/{SOURCES[source]}").read()
    rows = []
    for line in raw.decode("utf-8", errors="replace").splitlines():
        if line.strip():
            _, rating, text = line.split("\t", 2)
            rows.append((text.strip(), float(rating)))
    return rows


def vader_polarity(source="movies", threshold=0.5, cache_dir=None):
    """Binary sentiment: `(texts, labels)` with label 1 for rating >= threshold,
    0 for rating <= -threshold; snippets rated in between are dropped."""
    texts, labels = [], []
    for text, rating in vader_ratings(source, cache_dir):
        if abs(rating) >= threshold:
            texts.append(text)
            labels.append(int(rating > 0))
    return texts, labels
