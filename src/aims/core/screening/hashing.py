"""Feature hashing for the learned screening signal: stable, vectorised, windowed.

A text becomes a sparse vector of hashed features: character 4-grams, words
and word pairs, each counted with sublinear term frequency (``1 + log
count``) and the whole L2-normalised. Hashes are a polynomial over
the code points computed with NumPy prefix sums, so every n-gram of a text is
hashed at once and the same text gets the same buckets in every process
(Python's own ``hash`` is salted per process, so it cannot be used for weights
that ship in a file).

A text longer than :data:`WINDOW` characters is cut into windows, in two
tilings half a window apart, so that any passage up to half a window long lies
wholly inside one window: an instruction buried in a long, ordinary result is
scored against its own surroundings rather than diluted by all of the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

import numpy as np
import numpy.typing as npt

from aims.core.screening import cues

BITS = 17
"""The feature space has ``2**BITS`` buckets."""
WINDOW = 512
"""Characters per window when a text is scored piece by piece."""
_SHIFT = WINDOW.bit_length() - 1
assert WINDOW == 1 << _SHIFT, "WINDOW must be a power of two"
MAX_CHARS = 16384
"""Characters looked at per text: a longer text is read as its first and last halves of
this many (the rules still read all of it)."""
CHAR_NGRAMS = (4,)
"""Character n-gram lengths. Lengths 3 to 5 together, 3 and 5, 2 to 4 or 1 to 6 did no
better in cross-validation on the corpus's development part, and cost more."""

_U64 = np.uint64
_MASK64 = (1 << 64) - 1
_P = 0x100000001B3  # odd, hence invertible modulo 2**64
_M1 = _U64(0x9E3779B97F4A7C15)
_M2 = _U64(0xBF58476D1CE4E5B9)


def _inverse(a: int) -> int:
    """The inverse of odd ``a`` modulo 2**64 (Newton's iteration doubles the bits)."""
    x = a
    for _ in range(6):
        x = (x * (2 - a * x)) & _MASK64
    return x


_Q = _inverse(_P)
# Kinds of feature, mixed into their hashes so a word never shares a bucket by design
# with the character n-gram that spells it.
_SEED_CHAR = 0x51
_SEED_WORD = 0x77
_SEED_PAIR = 0x9D
_SEED_CUE = 0xC3

# Word characters: ASCII letters, digits and underscore, and every non-ASCII character
# but spaces and punctuation (scripts without spaces read as long words; their
# character n-grams carry them).
_ASCII_WORD = np.zeros(128, dtype=bool)
for _c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_":
    _ASCII_WORD[ord(_c)] = True


@dataclass(frozen=True)
class Occurrences:
    """Every feature occurrence of a text: its bucket and the span it covers."""

    buckets: npt.NDArray[np.int64]
    starts: npt.NDArray[np.int64]
    ends: npt.NDArray[np.int64]


def _mix(h: npt.NDArray[np.uint64], seed: int) -> npt.NDArray[np.int64]:
    """Buckets from raw hashes: multiplicative (Fibonacci) hashing, top bits kept."""
    return ((h + _U64(seed)) * _M1 >> _U64(64 - BITS)).view(np.int64)


def _powers(base: int, n: int) -> npt.NDArray[np.uint64]:
    """``base**0 .. base**(n-1)`` modulo 2**64 (unsigned arithmetic wraps)."""
    out = np.full(n, base, dtype=np.uint64)
    out[0] = 1
    with np.errstate(over="ignore"):
        return np.cumprod(out, dtype=np.uint64)


def _non_ascii_word(cp: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """Which non-ASCII code points are word characters (all but spaces and punctuation)."""
    punctuation: npt.NDArray[np.bool_] = (
        (cp == 0xA0)
        | ((cp >= 0x2000) & (cp <= 0x206F))
        | ((cp >= 0x3000) & (cp <= 0x303F))
        | ((cp >= 0xFE30) & (cp <= 0xFE4F))
        | ((cp >= 0xFF00) & (cp <= 0xFF0F))
    )
    return ~punctuation


# Made once: powers of the hash's base and of its inverse for every text read, and the
# hash code (code point + 1, white space read as a space) of each ASCII character.
_PPOW = _powers(_P, MAX_CHARS + 2)
_QPOW = _powers(_Q, MAX_CHARS + 2)
_ASCII_CODE = np.arange(1, 129, dtype=np.uint64)
_ASCII_CODE[[0, 9, 10, 13]] = 33


# Sublinear term frequency, 1 + log(count), for every count a text read can have
# (TF[count]).
TF = np.concatenate(([0.0], 1.0 + np.log(np.arange(1, 2 * MAX_CHARS + 8))))
_BMP = np.arange(0x10000, dtype=np.int64)
_BMP_CODE = np.where(np.isin(_BMP, (0, 9, 10, 13)), 32, _BMP).astype(np.uint64) + _U64(1)
_BMP_WORD = np.concatenate((_ASCII_WORD, _non_ascii_word(_BMP[128:])))
# A URL's scheme, then its host (with any user name and port): the part masked.
_URL_HOST = re.compile(r"([a-z][a-z0-9+.-]{0,15}://)([^/\s?#]{1,253})")


def _mask_host(m: re.Match[str]) -> str:
    return m.group(1) + "#" * len(m.group(2))


def read_text(text: str) -> str:
    """What of ``text`` the features are made of: at most :data:`MAX_CHARS` characters
    (the first and last halves of a longer text), with the host of every URL masked.

    Host names say little about intent and much about who wrote a corpus (its attacks
    and its benign cases use different made-up hosts); known-bad and disallowed hosts
    are the URL rules' business. Masking keeps the length, so offsets stay those of
    the text.
    """
    if len(text) > MAX_CHARS:
        half = MAX_CHARS // 2
        text = text[:half] + " " + text[-half:]
    if "://" in text:
        text = _URL_HOST.sub(_mask_host, text)
    return text


def _name_hash(name: str) -> int:
    """A stable 64-bit hash of a cue's name (FNV-1a)."""
    h = 0xCBF29CE484222325
    for byte in name.encode():
        h = ((h ^ byte) * _P) & _MASK64
    return h


_CUE_BUCKET = _mix(np.array([_name_hash(n) for n in cues.FEATURES], dtype=np.uint64), _SEED_CUE)
"""The bucket of each feature of :data:`~aims.core.screening.cues.FEATURES`."""


def _cues(
    text: str, word_starts: npt.NDArray[np.int64], word_ends: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]] | None:
    """The structural cues of ``text`` (:mod:`~aims.core.screening.cues`) as occurrences."""
    found = cues.cue_spans(text, word_starts.tolist(), word_ends.tolist())
    if not found:
        return None
    a = np.array(found, dtype=np.int64)
    return _CUE_BUCKET[a[:, 0]], a[:, 1], a[:, 2]


def _utf32(text: str) -> bytes:
    """``text``'s code points, four bytes each. A lone surrogate (JSON's ``"\\ud800"``
    decodes to one) is a code point like any other here, not an error."""
    return text.encode("utf-32-le", "surrogatepass")


def occurrences(text: str) -> Occurrences:
    """The feature occurrences of ``text`` (normalised, lower-cased, at most
    :data:`MAX_CHARS` + 1 characters: see :func:`read_text`)."""
    n = len(text)
    if n == 0 or n > len(_PPOW) - 1:
        empty = np.zeros(0, dtype=np.int64)
        if n == 0:
            return Occurrences(empty, empty, empty)
        raise ValueError(f"occurrences reads at most {len(_PPOW) - 1} characters; use read_text")
    cp = np.frombuffer(_utf32(text), dtype=np.uint32)
    if text.isascii():
        codes = _ASCII_CODE[cp]
        word = _ASCII_WORD[cp]
    else:
        # Look-up tables cover the Basic Multilingual Plane; the rare characters above
        # it are word characters, hashed by their code point.
        bmp = np.minimum(cp, 0xFFFF)
        codes = _BMP_CODE[bmp]
        word = _BMP_WORD[bmp]
        above = cp > 0xFFFF
        if above.any():
            codes[above] = cp[above].astype(np.uint64) + _U64(1)
            word[above] = True
    buckets, starts, ends = [], [], []
    with np.errstate(over="ignore"):
        # prefix[i] = sum of codes[j] * Q**j for j < i; the hash of text[a:b] is
        # (prefix[b] - prefix[a]) * P**(b - 1): a polynomial in the codes alone.
        prefix = np.zeros(n + 1, dtype=np.uint64)
        np.cumsum(codes * _QPOW[:n], out=prefix[1:])
        for size in CHAR_NGRAMS:
            if n >= size:
                h = (prefix[size:] - prefix[:-size]) * _PPOW[size - 1 : n]
                buckets.append(_mix(h, _SEED_CHAR + size))
                a = np.arange(n - size + 1, dtype=np.int64)
                starts.append(a)
                ends.append(a + size)
        padded = np.zeros(n + 2, dtype=np.int8)
        padded[1:-1] = word
        # Word edges alternate: a start, then its end.
        edges = np.flatnonzero(padded[1:] != padded[:-1])
        ws, we = edges[0::2], edges[1::2]
        if len(ws):
            wh = (prefix[we] - prefix[ws]) * _PPOW[we - 1]
            buckets.append(_mix(wh, _SEED_WORD))
            starts.append(ws)
            ends.append(we)
            if len(ws) > 1:
                buckets.append(_mix(wh[:-1] * _M2 + wh[1:], _SEED_PAIR))
                starts.append(ws[:-1])
                ends.append(we[1:])
        found = _cues(text, ws, we)
        if found is not None:
            buckets.append(found[0])
            starts.append(found[1])
            ends.append(found[2])
    if not buckets:
        empty = np.zeros(0, dtype=np.int64)
        return Occurrences(empty, empty, empty)
    return Occurrences(np.concatenate(buckets), np.concatenate(starts), np.concatenate(ends))


def _runs(keys: npt.NDArray[Any]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Where each run of equal values starts in sorted ``keys``, and its length."""
    n = len(keys)
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.not_equal(keys[1:], keys[:-1], out=new[1:])
    first = np.flatnonzero(new)
    counts = np.empty(len(first), dtype=np.intp)
    counts[:-1] = first[1:] - first[:-1]
    counts[-1] = n - first[-1]
    return first, counts


def weigh(
    groups: npt.NDArray[np.int64], buckets: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """``(group, bucket, value)`` per distinct pair: sublinear tf, L2-normalised per group."""
    if len(buckets) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    # Sorting 32-bit keys is about twice as fast as 64-bit ones (there are < 2**14 windows).
    keys = np.sort(((groups << BITS) | buckets).astype(np.int32))
    first, counts = _runs(keys)
    unique = keys[first]
    g = unique >> BITS
    tf = TF[counts]
    norm = np.sqrt(np.bincount(g, tf * tf))
    return g, unique & ((1 << BITS) - 1), tf / norm[g]


def _one(buckets: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """:func:`weigh` for a single group (the common case, made cheap)."""
    if len(buckets) == 0:
        return buckets, np.zeros(0)
    keys = np.sort(buckets)
    first, counts = _runs(keys)
    tf = TF[counts]
    return keys[first], tf / np.sqrt(tf @ tf)


def vector(text: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """The whole of ``text`` as one vector: ``(buckets, values)``, as the model is trained."""
    return _one(occurrences(read_text(text)).buckets)


def windows(
    text: str,
) -> tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.float64],
    npt.NDArray[np.int64],
]:
    """``(window, bucket, value, window_starts)``: ``text`` cut into windows, each a vector.

    A text of at most :data:`WINDOW` characters is one window (its :func:`vector`).
    Windows of the first tiling start at multiples of :data:`WINDOW`, those of the
    second half a window later; an occurrence that crosses a window's end is left out
    of that window.
    """
    length = len(text)
    text = read_text(text)
    occ = occurrences(text)
    if len(text) <= WINDOW:
        b, v = _one(occ.buckets)
        return np.zeros(len(b), dtype=np.int64), b, v, np.zeros(1, dtype=np.int64)
    half = WINDOW // 2
    # The window of each occurrence in each tiling; it counts there only if it also
    # ends in that window.
    first = occ.starts >> _SHIFT
    keep_a = (occ.ends - 1) >> _SHIFT == first
    second = (occ.starts + half) >> _SHIFT
    keep_b = (occ.ends + half - 1) >> _SHIFT == second
    n_first = (len(text) + WINDOW - 1) // WINDOW
    groups = np.concatenate((first[keep_a], second[keep_b] + n_first))
    buckets = np.concatenate((occ.buckets[keep_a], occ.buckets[keep_b]))
    n_second = (len(text) + half) // WINDOW + 1
    starts = np.concatenate(
        (np.arange(n_first) * WINDOW, np.maximum(np.arange(n_second) * WINDOW - half, 0))
    )
    if length > MAX_CHARS:
        # Windows of the last half start where that half starts in the original text.
        cut = MAX_CHARS // 2 + 1
        starts = np.where(starts >= cut, starts - cut + length - MAX_CHARS // 2, starts)
    g, b, v = weigh(groups, buckets)
    return g, b, v, starts


# A short text's features with few NumPy calls: for a text of up to a hundred-odd
# characters the fixed cost of the forty-odd calls of :func:`occurrences` and :func:`_one`
# is most of the cost (past 128 the two ways cost about the same). Its 4-grams take a handful of NumPy calls; its words are looked up in a table
# of the words met so far (with the terms of their buckets); its cues are Python's.
SHORT = 128
"""Texts of at most this many characters take :func:`short_buckets`."""
_WORD_RUN = re.compile(
    "[0-9A-Z_a-z\x80-\x9f\xa1-\u1fff\u2070-\u2fff\u3040-\ufe2f\ufe50-\ufeff\uff10-\U0010ffff]+"
)
"""A run of word characters, as :data:`_ASCII_WORD` and :func:`_non_ascii_word` define them."""
_WORD_SPLIT = re.compile(f"({_WORD_RUN.pattern})")  # split keeps the runs between the others
_BYTE_WORDS = bytes(b if _BMP_WORD[b] else 32 for b in range(256))
"""Byte (a character of Latin-1) to itself for a word character, to a space for any other."""
_CUE_BUCKETS = _CUE_BUCKET.tolist()
_M1I, _DROP = int(_M1), 64 - BITS
# Operands of in-place operations on small arrays are 0-d arrays: NumPy takes them faster.
_DROP_U = np.array(_DROP, dtype=np.uint64)
# A 4-gram's bucket is ((c0 P**3 + c1 P**2 + c2 P + c3 + seed) M1 mod 2**64) >> (64 - BITS),
# with _A[k] = P**k M1 (unsigned arithmetic wraps modulo 2**64) and c a hash code: a code
# point + 1 (white space read as a space), the ones summed into the seed in _S4_ONES.
_A = [pow(_P, k, 1 << 64) * _M1I & _MASK64 for k in range(4)]
_A_FIRST_LAST = np.array(_A[::-1], dtype=np.uint64)
_S4_ONES = np.array((_SEED_CHAR + 4) * _M1I + sum(_A) & _MASK64, dtype=np.uint64)
_SPACES = str.maketrans(dict.fromkeys((0, 9, 10, 13), 32))
_ODD_SPACE = re.compile("[\x00\t\n\r]")
# The sum of a 4-gram of a text in Latin-1 (ASCII among it) is a term of its first two bytes
# and one of its last two (the seed in it), looked up by the two bytes as a 16-bit number.
_U2, _U8, _INTP = np.dtype("<u2"), np.dtype(np.uint64), np.dtype(np.intp)
_LOW, _HIGH = _BMP_CODE[np.arange(1 << 16) & 255], _BMP_CODE[np.arange(1 << 16) >> 8]
_FIRST_TWO = _LOW * _U64(_A[3]) + _HIGH * _U64(_A[2])
_LAST_TWO = _LOW * _U64(_A[1]) + _HIGH * _U64(_A[0]) + _U64((_SEED_CHAR + 4) * _M1I & _MASK64)
# A word's bucket is ((h + seed) M1 mod 2**64) >> (64 - BITS), h the hash of its codes; the
# bucket of a pair of words (h, h2) is ((h M2 + h2 + seed) M1 mod 2**64) >> (64 - BITS),
# the sum of a term of the first word (h M2 M1) and one of the second (h2 M1 + seed M1).
_SW, _SP = _SEED_WORD * _M1I & _MASK64, _SEED_PAIR * _M1I & _MASK64
_M2M1 = int(_M2) * _M1I & _MASK64
_TERMS: dict[str, tuple[int, int, int, int]] = {}
"""Each word met so far: its bucket, its term as the first of a pair and as the second,
and its :func:`~aims.core.screening.cues.code`. The words of traffic repeat, so most
words cost a look-up rather than a loop over their letters."""
assert CHAR_NGRAMS == (4,), "short_buckets hashes 4-grams only"


def _terms(word: str) -> tuple[int, int, int, int]:
    """A word's bucket, pair terms and cue code (a word character's hash code is its code
    point + 1), remembered in :data:`_TERMS`."""
    mask, p = _MASK64, _P
    h = 0
    for c in map(ord, word):
        h = (h * p + c + 1) & mask
    hm = h * _M1I
    terms = (
        ((hm + _SW) & mask) >> _DROP,
        h * _M2M1 & mask,
        (hm + _SP) & mask,
        cues.code(word),
    )
    if len(_TERMS) > 1 << 16:
        _TERMS.clear()
    _TERMS[word] = terms
    return terms


def _word_spans(text: str) -> tuple[list[int], list[int]]:
    """Where the words of ``text`` start and end."""
    offsets = list(accumulate(map(len, _WORD_SPLIT.split(text))))
    return offsets[0:-1:2], offsets[1::2]


def short_buckets(text: str) -> list[int]:
    """The bucket of every feature occurrence of ``text`` (normalised, lower-cased, at most
    :data:`SHORT` characters, as :func:`read_text` gives it), in no particular order: the
    buckets of :func:`occurrences`, with as few NumPy calls as can be."""
    n = len(text)
    buckets: list[int] = []
    grams: npt.NDArray[np.uint64]
    raw = None
    if text.isascii():
        raw = text.encode("ascii")
        words = raw.translate(_BYTE_WORDS).decode("ascii").split()
    elif max(text) <= "\xff":
        raw = text.encode("latin-1")
        # Not str.split(): it would also split at U+0085, a word character here.
        words = list(filter(None, raw.translate(_BYTE_WORDS).decode("latin-1").split(" ")))
    else:
        words = _WORD_RUN.findall(text)
    if n >= 4:
        if raw is not None:
            # Each two bytes as a 16-bit number (a view: shape, type, buffer, offset, strides,
            # passed by place, which costs half as much), as intp to index by (much faster).
            two = np.ndarray((n - 1,), _U2, raw, 0, (1,)).astype(_INTP)
            grams = _FIRST_TWO[two[:-2]]
            grams += _LAST_TWO[two[2:]]
        else:
            spaced = text.translate(_SPACES) if _ODD_SPACE.search(text) else text
            points = np.frombuffer(_utf32(spaced), dtype=np.uint32).astype(np.uint64)
            # The 4-grams as the rows of a strided view of the code points, summed by terms.
            grams = np.ndarray((n - 3, 4), _U8, points, 0, (8, 8))
            grams = grams @ _A_FIRST_LAST
            grams += _S4_ONES
        grams >>= _DROP_U
        buckets = grams.tolist()
    codes: Any = ()
    if words:
        known = list(map(_TERMS.get, words))
        terms: Any = known
        if None in known:
            terms = [t or _terms(w) for t, w in zip(known, words, strict=True)]
        own, first, second, codes = zip(*terms, strict=False)  # four terms a word
        buckets += own
        drop, low = _DROP, (1 << BITS) - 1
        buckets += [((a + b) >> drop) & low for a, b in zip(first, second[1:], strict=False)]
    found = cues.word_cue_spans(text, words, codes, _word_spans)
    if found:
        buckets += [_CUE_BUCKETS[f] for f, _, _ in found]
    return buckets
