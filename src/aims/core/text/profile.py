"""Mergeable profiles of text statistics, and the hashed vocabulary for out-of-vocabulary shares.

The statistics of each text (:class:`~aims.core.text.features.TextStats`) are
kept as the project's numeric profiles (:mod:`aims.core.profile`), one column
per statistic, on *fixed* layouts: shares on ``[0, 1]``, lengths on a fine
grid with geometric tails. Fixed layouts need no reference to be chosen first,
so the profile of any window merges with any other (an hour with a day, one
version's reference with later windows), and the project's drift tests
(:func:`aims.core.drift.drift_from_profiles`) compare them directly.

:class:`Vocabulary` is the set of hashed n-gram ids seen, as a bitmap over
the id space: union is bitwise or, so it merges exactly too. The
out-of-vocabulary share of current text is the share of its n-gram ids the
reference never produced — new words, names, languages.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping

import numpy as np

from aims.core.profile import ColumnProfile, FrameProfile, NumericLayout
from aims.core.profile.numeric import profile_values
from aims.core.text.features import NGRAM_SPACE, STATS_FIELDS
from aims.errors import InvalidInput

__all__ = ["STATS_LAYOUTS", "Vocabulary", "stats_profile"]

_SHARE = NumericLayout(0.0, 1.0, bins=100)
#: The fixed layout of each statistic's profile.
STATS_LAYOUTS: dict[str, NumericLayout] = {
    "chars": NumericLayout(0.0, 2000.0, bins=1000),  # 2 characters a bin, tails beyond
    "words": NumericLayout(0.0, 400.0, bins=400),  # one word a bin
    **{name: _SHARE for name in STATS_FIELDS if name.endswith("_share")},
}


def stats_profile(columns: Mapping[str, np.ndarray], *, prefix: str = "") -> FrameProfile:
    """Profile text statistics given as one float array per :data:`STATS_FIELDS` name.

    NaN marks a missing text (counted apart, as the profiles count NaN).
    Columns are named ``prefix + field`` so that input and output statistics
    can share one frame profile.

    Examples
    --------
    >>> p = stats_profile({n: np.array([1.0, 3.0]) for n in STATS_FIELDS}, prefix="input.")
    >>> p.rows, p["input.chars"].mean
    (2, 2.0)
    """
    missing = [n for n in STATS_FIELDS if n not in columns]
    if missing:
        raise InvalidInput(f"text statistics lack {', '.join(missing)}")
    rows = {int(np.asarray(columns[n]).size) for n in STATS_FIELDS}
    if len(rows) != 1:
        raise InvalidInput("text statistics columns differ in length")
    out: dict[str, ColumnProfile] = {
        prefix + name: profile_values(np.asarray(columns[name], dtype=np.float64), layout)
        for name, layout in STATS_LAYOUTS.items()
    }
    return FrameProfile(out, rows.pop())


class Vocabulary:
    """The set of hashed n-gram ids seen, as a bitmap of :data:`NGRAM_SPACE` bits (128 KiB).

    Examples
    --------
    >>> v = Vocabulary()
    >>> v.add(np.array([3, 7], dtype=np.uint32))
    >>> len(v), v.oov_share(np.array([3, 4, 7, 9], dtype=np.uint32))
    (2, 0.5)
    """

    __slots__ = ("bits",)

    def __init__(self, bits: np.ndarray | None = None) -> None:
        if bits is None:
            bits = np.zeros(NGRAM_SPACE // 8, dtype=np.uint8)
        if bits.shape != (NGRAM_SPACE // 8,):
            raise InvalidInput("a vocabulary bitmap has the wrong size")
        self.bits = bits

    def __len__(self) -> int:
        return int(np.unpackbits(self.bits).sum())

    def add(self, ids: np.ndarray) -> None:
        """Add n-gram ids (any order, repeats allowed)."""
        ids = np.asarray(ids, dtype=np.int64)
        np.bitwise_or.at(self.bits, ids >> 3, (1 << (ids & 7)).astype(np.uint8))

    def contains(self, ids: np.ndarray) -> np.ndarray:
        """Whether each id is in the vocabulary."""
        ids = np.asarray(ids, dtype=np.int64)
        found = (self.bits[ids >> 3] >> (ids & 7).astype(np.uint8)) & 1
        return np.asarray(found, dtype=bool)

    def oov_share(self, ids: np.ndarray) -> float | None:
        """Share of ``ids`` not in the vocabulary (None for no ids)."""
        if np.asarray(ids).size == 0:
            return None
        return float(1.0 - self.contains(ids).mean())

    def merge(self, other: Vocabulary) -> Vocabulary:
        """The union of both vocabularies."""
        return Vocabulary(self.bits | other.bits)

    def to_bytes(self) -> bytes:
        """Compressed form (a sparse bitmap compresses well)."""
        return zlib.compress(self.bits.tobytes(), 6)

    @classmethod
    def from_bytes(cls, data: bytes) -> Vocabulary:
        """Read a vocabulary written by :meth:`to_bytes`."""
        raw = zlib.decompress(data)
        return cls(np.frombuffer(raw, dtype=np.uint8).copy())
