"""Bounded, mergeable samples of text embeddings (bottom-k by the texts' keyed priority).

An :class:`EmbeddingSample` keeps the ``capacity`` embeddings whose texts have
the smallest priorities (:func:`aims.core.text.sample.priority` of the span's
trace and span ids), exactly as :class:`~aims.core.text.sample.TextSample`
keeps n-gram sets. With the same priorities, the texts embedded are the
first ``capacity`` of the n-gram sample, and the sample of a union is the
bottom-k of the samples, so reference windows merge exactly.

Vectors are stored as float16: an all-MiniLM-L6-v2 embedding is a unit
vector of 384 entries, whose float16 rounding (relative error below 1e-3)
changes no drift verdict, and a sample of 200 takes 150 kB before compression.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

import numpy as np

from aims.errors import InvalidInput

__all__ = ["EmbeddingSample"]

_MAGIC = b"AES1"
_HEADER = struct.Struct("<4sIIIQ")  # magic, capacity, kept, dimension, seen


@dataclass
class EmbeddingSample:
    """The ``capacity`` embeddings of smallest priority seen so far.

    ``priorities`` is sorted ascending and unique; row ``i`` of ``vectors``
    belongs to ``priorities[i]``. ``seen`` counts the texts offered.
    """

    capacity: int
    priorities: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    seen: int = 0

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise InvalidInput(
                f"an embedding sample needs a capacity of at least 1, got {self.capacity}"
            )

    def __len__(self) -> int:
        return int(self.priorities.size)

    @classmethod
    def of(cls, prio: np.ndarray, vectors: np.ndarray, *, capacity: int) -> EmbeddingSample:
        """Sample the embeddings ``vectors`` (one row per priority of ``prio``).

        Examples
        --------
        >>> s = EmbeddingSample.of(np.array([5, 1, 9], dtype=np.uint64),
        ...                        np.eye(3, dtype=np.float32), capacity=2)
        >>> s.priorities.tolist(), s.vectors.tolist(), s.seen
        ([1, 5], [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], 3)
        """
        prio = np.asarray(prio, dtype=np.uint64)
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != prio.size:
            raise InvalidInput(
                f"an embedding sample needs one vector per priority: {prio.size} priorities, "
                f"vectors of shape {vectors.shape}"
            )
        return cls(capacity)._keep(prio, vectors, prio.size)

    def _keep(self, prio: np.ndarray, vectors: np.ndarray, offered: int) -> EmbeddingSample:
        order = np.argsort(prio, kind="stable")
        sorted_prio = prio[order]
        first = np.ones(order.size, dtype=bool)
        first[1:] = sorted_prio[1:] != sorted_prio[:-1]
        keep = order[first][: self.capacity]
        return EmbeddingSample(self.capacity, prio[keep], vectors[keep], self.seen + offered)

    def merge(self, other: EmbeddingSample) -> EmbeddingSample:
        """The sample of both populations together (capacity: the smaller of the two)."""
        capacity = min(self.capacity, other.capacity)
        parts = [part for part in (self, other) if len(part)]
        if len({part.vectors.shape[1] for part in parts}) > 1:
            raise InvalidInput(
                f"cannot merge embeddings of {self.vectors.shape[1]} and "
                f"{other.vectors.shape[1]} dimensions (made by different encoders)"
            )
        if not parts:
            return EmbeddingSample(capacity, seen=self.seen + other.seen)
        out = EmbeddingSample(capacity)._keep(
            np.concatenate([part.priorities for part in parts]),
            np.concatenate([part.vectors for part in parts]),
            0,
        )
        out.seen = self.seen + other.seen
        return out

    def to_bytes(self) -> bytes:
        """Compact, compressed binary form (:meth:`from_bytes` reads it back)."""
        dimension = int(self.vectors.shape[1]) if self.vectors.ndim == 2 else 0
        body = self.priorities.astype("<u8").tobytes() + self.vectors.astype("<f2").tobytes()
        head = _HEADER.pack(_MAGIC, self.capacity, len(self), dimension, self.seen)
        return head + zlib.compress(body, 6)

    @classmethod
    def from_bytes(cls, data: bytes) -> EmbeddingSample:
        """Read a sample written by :meth:`to_bytes`."""
        if len(data) < _HEADER.size or data[:4] != _MAGIC:
            raise InvalidInput("not a stored embedding sample (bad header)")
        _, capacity, kept, dimension, seen = _HEADER.unpack_from(data)
        try:
            body = zlib.decompress(data[_HEADER.size :])
        except zlib.error:
            body = b""
        if len(body) != kept * (8 + 2 * dimension):
            raise InvalidInput("stored embedding sample is truncated or damaged")
        prio = np.frombuffer(body, dtype="<u8", count=kept).astype(np.uint64)
        vectors = np.frombuffer(body, dtype="<f2", offset=8 * kept).astype(np.float32)
        return cls(int(capacity), prio, vectors.reshape(kept, dimension), int(seen))
