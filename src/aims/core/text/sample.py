"""Bounded, mergeable samples of texts as hashed n-gram sets (bottom-k by keyed priority).

Every text offered to a :class:`TextSample` carries a *priority*: a keyed
64-bit hash of something unique to it (the span's trace and span ids, see
:func:`priority`). The sample keeps the ``capacity`` texts with the smallest
priorities. Because the priority depends on the text's identity only, the
sample of a union is the bottom-k of the union of samples::

    sample(A ∪ B) == sample(A).merge(sample(B))

so samples of hours, partitions or workers combine exactly into the sample of
a day, and a stream seen twice (a re-run) keeps each text once. The hash
makes the kept texts a uniform random sample of the distinct texts.

A text is stored as its sorted hashed n-gram ids
(:func:`aims.core.text.features.hashed_ngrams`): no words, and at most
``limit`` ids per text, so a sample's size is bounded by
``capacity * limit * 4`` bytes.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from aims.errors import InvalidInput

__all__ = ["DEFAULT_CAPACITY", "TextSample", "priorities", "priority"]

DEFAULT_CAPACITY = 500
"""Texts kept per sample unless told otherwise."""

_PRIORITY_KEY = b"aims.text.sample.v1"
# Domain separation only: priorities need to be unpredictable to the senders of
# traffic (so they cannot steer what is sampled), not secret from readers.
_MAGIC = b"ATS1"
_HEADER = struct.Struct("<4sIIQ")  # magic, capacity, kept, seen


def priority(identity: str) -> int:
    """The 64-bit priority of a text known by ``identity`` (e.g. ``trace_id + span_id``).

    Examples
    --------
    >>> priority("a") == priority("a"), priority("a") == priority("b")
    (True, False)
    """
    digest = hashlib.blake2b(identity.encode("utf-8", "replace"), key=_PRIORITY_KEY, digest_size=8)
    return int.from_bytes(digest.digest(), "little")


def priorities(identities: Sequence[str]) -> np.ndarray:
    """:func:`priority` of each identity, as ``uint64``."""
    return np.fromiter((priority(i) for i in identities), dtype=np.uint64, count=len(identities))


def _take(offsets: np.ndarray, ids: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The CSR rows ``rows`` of ``(offsets, ids)``, in that order, without a Python loop."""
    lengths = offsets[rows + 1] - offsets[rows]
    new_offsets = np.zeros(rows.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=new_offsets[1:])
    shift = np.repeat(offsets[rows] - new_offsets[:-1], lengths)
    return new_offsets, ids[np.arange(new_offsets[-1], dtype=np.int64) + shift]


@dataclass
class TextSample:
    """The ``capacity`` texts of smallest priority seen so far, as n-gram id sets.

    ``priorities`` is sorted ascending and unique; text ``i`` has the ids
    ``ids[offsets[i]:offsets[i + 1]]``. ``seen`` counts the texts offered
    (including those not kept), so merged samples know their population.
    """

    capacity: int = DEFAULT_CAPACITY
    priorities: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))
    offsets: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint32))
    seen: int = 0

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise InvalidInput(f"a text sample needs a capacity of at least 1, got {self.capacity}")

    def __len__(self) -> int:
        return int(self.priorities.size)

    @classmethod
    def of(
        cls,
        prio: np.ndarray,
        offsets: np.ndarray,
        ids: np.ndarray,
        *,
        capacity: int = DEFAULT_CAPACITY,
    ) -> TextSample:
        """Sample texts given in CSR form (``offsets`` has one more entry than ``prio``).

        Examples
        --------
        >>> s = TextSample.of(np.array([5, 1, 9], dtype=np.uint64),
        ...                   np.array([0, 2, 3, 3]), np.array([7, 8, 4], dtype=np.uint32),
        ...                   capacity=2)
        >>> s.priorities.tolist(), s.documents()[0].tolist(), s.seen
        ([1, 5], [4], 3)
        """
        prio = np.asarray(prio, dtype=np.uint64)
        offsets = np.asarray(offsets, dtype=np.int64)
        if offsets.size != prio.size + 1:
            raise InvalidInput(
                f"a text sample needs one offset more than texts: {prio.size} texts, "
                f"{offsets.size} offsets"
            )
        base = cls(capacity=capacity)
        return base._keep(prio, offsets, np.asarray(ids, dtype=np.uint32), prio.size)

    def _keep(
        self, prio: np.ndarray, offsets: np.ndarray, ids: np.ndarray, offered: int
    ) -> TextSample:
        # Stable sort, then drop repeated priorities: the same text offered twice stays once.
        order = np.argsort(prio, kind="stable")
        sorted_prio = prio[order]
        first = np.ones(order.size, dtype=bool)
        first[1:] = sorted_prio[1:] != sorted_prio[:-1]
        keep = order[first][: self.capacity]
        new_offsets, new_ids = _take(offsets, ids, keep)
        return TextSample(self.capacity, prio[keep], new_offsets, new_ids, self.seen + offered)

    def add(self, prio: np.ndarray, offsets: np.ndarray, ids: np.ndarray) -> TextSample:
        """This sample with more texts offered (CSR form as in :meth:`of`)."""
        return self.merge(TextSample.of(prio, offsets, ids, capacity=self.capacity))

    def merge(self, other: TextSample) -> TextSample:
        """The sample of both populations together (capacity: the smaller of the two)."""
        capacity = min(self.capacity, other.capacity)
        prio = np.concatenate([self.priorities, other.priorities])
        offsets = np.concatenate([self.offsets[:-1], other.offsets + self.offsets[-1]])
        ids = np.concatenate([self.ids, other.ids])
        out = TextSample(capacity)._keep(prio, offsets, ids, 0)
        out.seen = self.seen + other.seen
        return out

    def documents(self) -> list[np.ndarray]:
        """The kept texts' id arrays, in priority order."""
        return [self.ids[a:b] for a, b in zip(self.offsets[:-1], self.offsets[1:], strict=True)]

    def to_bytes(self) -> bytes:
        """Compact, compressed binary form (:meth:`from_bytes` reads it back)."""
        lengths = np.diff(self.offsets).astype("<u4")
        body = b"".join(
            [
                self.priorities.astype("<u8").tobytes(),
                lengths.tobytes(),
                self.ids.astype("<u4").tobytes(),
            ]
        )
        head = _HEADER.pack(_MAGIC, self.capacity, len(self), self.seen)
        return head + zlib.compress(body, 6)

    @classmethod
    def from_bytes(cls, data: bytes) -> TextSample:
        """Read a sample written by :meth:`to_bytes`."""
        if len(data) < _HEADER.size or data[:4] != _MAGIC:
            raise InvalidInput("not a stored text sample (bad header)")
        _, capacity, kept, seen = _HEADER.unpack_from(data)
        body = zlib.decompress(data[_HEADER.size :])
        prio = np.frombuffer(body, dtype="<u8", count=kept).astype(np.uint64)
        lengths = np.frombuffer(body, dtype="<u4", count=kept, offset=8 * kept)
        offsets = np.zeros(kept + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        ids = np.frombuffer(body, dtype="<u4", offset=12 * kept).astype(np.uint32)
        if ids.size != offsets[-1]:
            raise InvalidInput("stored text sample is truncated")
        return cls(int(capacity), prio, offsets, ids, int(seen))
