"""Cheap per-text features: character-class statistics and keyed hashed n-grams.

:func:`text_stats` summarises one text by its length and the shares of
character classes (letters, digits, punctuation, ...), which move when the
language, format or topic mix of a stream changes. :func:`hashed_ngrams` turns
a text into a small sorted set of word unigram and bigram ids. The hash is
keyed with the workspace's secret so the stored ids cannot be reversed into
words by someone who lacks the key (a dictionary attack needs the key).

Both functions are pure and deterministic; both accept any ``str`` including
emoji, combining marks and lone surrogates.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import itertools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

NGRAM_SPACE = 2**20
"""Hashed n-gram ids fall in ``[0, NGRAM_SPACE)``."""

# Regular expressions count in C; a per-character Python loop would be ~10x slower.
_WORD = re.compile(r"\w+")
_LETTER = re.compile(r"[^\W\d_]")
_DIGIT = re.compile(r"\d")
_UPPER = re.compile(r"[A-Z]")
_SPACE = re.compile(r"\s")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_ASCII_PUNCT = re.compile(r"""[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]""")


@dataclass(frozen=True)
class TextStats:
    """Length and character-class shares of one text.

    Shares are fractions of ``chars`` (code points) in ``[0, 1]``; all are
    ``0.0`` for the empty text. The classes overlap where Unicode says so (an
    upper-case letter counts as a letter and as upper case).
    """

    chars: int
    words: int
    letter_share: float
    digit_share: float
    punct_share: float
    upper_share: float
    whitespace_share: float
    non_ascii_share: float


STATS_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(TextStats))
"""The field names of :class:`TextStats`, in order."""

_EMPTY = TextStats(0, 0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def _ascii_bytes(test: Any) -> bytes:
    return bytes(c for c in range(128) if test(chr(c)))


# Per class, the ASCII bytes in it: counted by deleting them (bytes.translate runs in C).
_ASCII_CLASSES: tuple[bytes, ...] = (
    _ascii_bytes(str.isalpha),
    _ascii_bytes(str.isdigit),
    _ascii_bytes(lambda ch: bool(_ASCII_PUNCT.match(ch))),
    _ascii_bytes(str.isupper),
    _ascii_bytes(str.isspace),
)
_LETTER_BIT, _DIGIT_BIT, _PUNCT_BIT, _UPPER_BIT, _SPACE_BIT = 1, 2, 4, 8, 16


def _flags(ch: str) -> int:
    return (
        _LETTER_BIT * bool(_LETTER.match(ch))
        | _DIGIT_BIT * bool(_DIGIT.match(ch))
        | _PUNCT_BIT * (unicodedata.category(ch)[0] in "PS")
        | _UPPER_BIT * ch.isupper()
        | _SPACE_BIT * bool(_SPACE.match(ch))
    )


@functools.cache
def _bmp_table() -> np.ndarray:
    # Class flags of every Basic Multilingual Plane character, built on the first
    # non-ASCII text (a fraction of a second), then looked up in numpy.
    return np.array([_flags(chr(c)) for c in range(0x10000)], dtype=np.uint8)


def _unicode_counts(text: str) -> tuple[int, int, int, int, int]:
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    bmp = codes < 0x10000
    flags = _bmp_table()[codes[bmp]]
    extra = [_flags(chr(c)) for c in codes[~bmp].tolist()]  # emoji and rarer scripts
    if extra:
        flags = np.concatenate([flags, np.asarray(extra, dtype=np.uint8)])
    per_bit = np.unpackbits(flags[:, None], axis=1, bitorder="little").sum(axis=0)
    return int(per_bit[0]), int(per_bit[1]), int(per_bit[2]), int(per_bit[3]), int(per_bit[4])


def text_stats(text: str) -> TextStats:
    """Return the :class:`TextStats` of ``text``.

    Words are maximal runs of Unicode word characters. Digits are decimal
    digits of any script; punctuation includes symbols (Unicode categories
    P and S, e.g. dashes, currency signs and emoji).
    """
    n = len(text)
    if n == 0:
        return _EMPTY
    words = len(_WORD.findall(text))
    if text.isascii():
        raw = text.encode("ascii")
        letter, digit, punct, upper, space = (
            n - len(raw.translate(None, c)) for c in _ASCII_CLASSES
        )
        return TextStats(n, words, letter / n, digit / n, punct / n, upper / n, space / n, 0.0)
    letter, digit, punct, upper, space = _unicode_counts(text)
    non_ascii = len(_NON_ASCII.findall(text))
    return TextStats(
        n, words, letter / n, digit / n, punct / n, upper / n, space / n, non_ascii / n
    )


def stats_matrix(texts: Iterable[str | None]) -> np.ndarray:
    """Return the stats of many texts as a float64 array, one row per text.

    Columns follow :data:`STATS_FIELDS`. A ``None`` text gives a row of NaN,
    so missing texts stay apart from empty ones.
    """
    rows = [
        dataclasses.astuple(text_stats(t)) if t is not None else (np.nan,) * len(STATS_FIELDS)
        for t in texts
    ]
    if not rows:
        return np.empty((0, len(STATS_FIELDS)), dtype=np.float64)
    return np.asarray(rows, dtype=np.float64)


def normalise_words(text: str) -> list[str]:
    """Split ``text`` into NFKC-normalised, case-folded words.

    NFKC folds compatibility forms (full-width letters, ligatures) and
    case-folding handles ``ß``/``ss`` and similar, so the same word written two
    ways hashes to one id.
    """
    # Lone surrogates cannot be encoded later; replace them rather than fail.
    clean = text.encode("utf-8", "replace").decode("utf-8")
    return _WORD.findall(unicodedata.normalize("NFKC", clean).casefold())


@functools.lru_cache(maxsize=16)
def _keyed(key: bytes) -> Any:
    # Keying BLAKE2b costs a compression of its own; copy a keyed state instead.
    return hashlib.blake2b(key=key, digest_size=4)


@functools.lru_cache(maxsize=1 << 17)
def _hash_id(token: str, key: bytes) -> int:
    # Words repeat (Zipf), so most tokens of a stream are hashed once.
    h = _keyed(key).copy()
    h.update(token.encode("utf-8"))
    return int.from_bytes(h.digest(), "little") % NGRAM_SPACE


def hashed_ngrams(text: str, key: bytes, *, limit: int = 256) -> np.ndarray:
    """Return the keyed hashed word unigrams and bigrams of ``text``.

    The result is a sorted array of unique ``uint32`` ids below
    :data:`NGRAM_SPACE`. When a text has more than ``limit`` distinct ids,
    the ``limit`` smallest are kept: hash order is random with respect to the
    words, so this is a uniform sample, and the same n-gram is kept or dropped
    consistently across texts. ``key`` (at most 64 bytes) is the workspace's
    secret.
    """
    if limit < 0:
        raise ValueError(f"limit must be zero or positive, got {limit}")
    if len(key) > hashlib.blake2b.MAX_KEY_SIZE:
        raise ValueError(
            f"key must be at most {hashlib.blake2b.MAX_KEY_SIZE} bytes, got {len(key)}"
        )
    words = normalise_words(text)
    # A space never occurs inside a word, so "a b" cannot collide with a unigram.
    tokens = set(words)
    tokens.update(f"{a} {b}" for a, b in itertools.pairwise(words))
    ids = np.fromiter((_hash_id(t, key) for t in tokens), dtype=np.uint32, count=len(tokens))
    ids = np.unique(ids)
    return ids[:limit]


def hashed_ngrams_many(texts: Sequence[str], key: bytes, *, limit: int = 256) -> list[np.ndarray]:
    """Apply :func:`hashed_ngrams` to each of ``texts``."""
    return [hashed_ngrams(t, key, limit=limit) for t in texts]
