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
import hashlib
import itertools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

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


def _count_upper(text: str, non_ascii: int) -> int:
    if not non_ascii:
        return len(_UPPER.findall(text))
    # Outside ASCII, ask Unicode (Greek, Cyrillic, ... have cases too).
    return sum(1 for ch in text if ch.isupper())


def _count_punct(text: str, non_ascii: int) -> int:
    if not non_ascii:
        return len(_ASCII_PUNCT.findall(text))
    # Unicode punctuation categories (Pc, Pd, Ps, Pe, Pi, Pf, Po) and symbols (S*),
    # so typographic quotes, dashes and currency signs count like their ASCII kin.
    return sum(1 for ch in text if unicodedata.category(ch)[0] in "PS")


def text_stats(text: str) -> TextStats:
    """Return the :class:`TextStats` of ``text``.

    Words are maximal runs of Unicode word characters. Digits are decimal
    digits of any script; punctuation includes symbols.
    """
    n = len(text)
    if n == 0:
        return _EMPTY
    non_ascii = len(_NON_ASCII.findall(text))
    return TextStats(
        chars=n,
        words=len(_WORD.findall(text)),
        letter_share=len(_LETTER.findall(text)) / n,
        digit_share=len(_DIGIT.findall(text)) / n,
        punct_share=_count_punct(text, non_ascii) / n,
        upper_share=_count_upper(text, non_ascii) / n,
        whitespace_share=len(_SPACE.findall(text)) / n,
        non_ascii_share=non_ascii / n,
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


def _hash_id(token: str, key: bytes) -> int:
    digest = hashlib.blake2b(token.encode("utf-8"), key=key, digest_size=4).digest()
    return int.from_bytes(digest, "little") % NGRAM_SPACE


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
