"""Parallel text for translation: verse-aligned Bibles (SWORD modules from Debian) and
gettext message catalogs installed with the system.

SWORD's compressed text format ("zText"): `<testament>.bzz` holds zlib blocks,
`.bzs` gives each block's (offset, compressed size, size) as three little-endian
uint32, and `.bzv` each verse's (block, offset in the block, size) as uint32,
uint32, uint16, in versification order. Both modules here use the KJV
versification, so equal index means the same verse.
"""

import gettext
import glob
import os
import re
import struct
import zlib

from llama_keras.data.packages import fetch_debian_package

BIBLES = {  # language: (Debian package, module folder)
    "en": ("sword-text-kjv", "engKJV2006eb"),
    "es": ("sword-text-sparv", "spaRV1909eb"),
}


def bible_verses(language, cache_dir=None):
    """Every verse slot of the Old then New Testament, markup removed ("" where a slot is empty)."""
    if language not in BIBLES:
        raise ValueError(f"`language` must be one of {sorted(BIBLES)}, got {language!r}.")
    package, module = BIBLES[language]
    root = os.path.join(fetch_debian_package(package, cache_dir), "usr", "share", "sword", "modules", "texts",
                        "ztext", module)
    return [_plain(verse) for testament in ("ot", "nt") for verse in read_ztext(root, testament)]


def bible_verse_pairs(source="en", target="es", cache_dir=None):
    """`[(source verse, target verse)]` for every verse present in both Bibles, in canonical order."""
    pairs = zip(bible_verses(source, cache_dir), bible_verses(target, cache_dir))
    return [(a, b) for a, b in pairs if a and b]


def read_ztext(module_dir, testament):
    """The raw (markup) text of each verse slot of one testament of a zText module."""
    paths = {ext: os.path.join(module_dir, f"{testament}.{ext}") for ext in ("bzs", "bzv", "bzz")}
    missing = [p for p in paths.values() if not os.path.exists(p)]
    if missing:
        raise FileNotFoundError(f"Not a SWORD zText module: missing {', '.join(missing)}.")
    blocks, verses, data = (open(paths[ext], "rb").read() for ext in ("bzs", "bzv", "bzz"))
    block_index = list(struct.iter_unpack("<III", blocks))
    decompressed = {}
    texts = []
    for block, start, size in struct.iter_unpack("<IIH", verses[: len(verses) // 10 * 10]):
        if size == 0:
            texts.append("")
            continue
        if block not in decompressed:
            offset, compressed_size, _ = block_index[block]
            decompressed[block] = zlib.decompress(data[offset : offset + compressed_size])
        texts.append(decompressed[block][start : start + size].decode("utf-8", errors="replace"))
    return texts


def _plain(markup):
    """OSIS verse -> text: notes and headings dropped with their content, other tags stripped."""
    text = re.sub(r"<(note|title)\b.*?</\1>", "", markup, flags=re.S)
    text = re.sub(r"<[^>]*>", "", text)
    return re.sub(r"\s+", " ", text).strip()


def gettext_pairs(language, locale_dir="/usr/share/locale"):
    """`[(English message, translation)]` from every installed `<language>/LC_MESSAGES/*.mo`,
    sorted, without duplicates, plural forms or empty messages."""
    pairs = set()
    for path in sorted(glob.glob(os.path.join(locale_dir, language, "LC_MESSAGES", "*.mo"))):
        try:
            with open(path, "rb") as f:
                catalog = gettext.GNUTranslations(f)._catalog
        except (OSError, UnicodeDecodeError, struct.error):
            continue  # a corrupt catalog is skipped, not fatal
        for message, translation in catalog.items():
            if isinstance(message, str) and message.strip() and translation.strip() and message != translation:
                pairs.add((message, translation))
    return sorted(pairs)
