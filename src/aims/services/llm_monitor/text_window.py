"""The text side of a window: statistics profiles, n-gram samples and vocabularies of prompts and responses.

For each side (``input``: prompts, ``output``: responses) a :class:`TextWindow`
keeps the profile of the texts' statistics, a bottom-k sample of their hashed
n-gram sets and the hashed vocabulary, all mergeable
(:mod:`aims.core.text`). A window of a version's reference stores all three
(:class:`TextProfile`, serialised in the window's ``profile``); later
windows are compared with the merged reference and store their statistics
only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgpack
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aims.core.profile import FrameProfile, merge
from aims.core.profile.codec import dumps, loads
from aims.core.text.embedding_sample import EmbeddingSample
from aims.core.text.features import STATS_FIELDS
from aims.core.text.profile import Vocabulary, stats_profile
from aims.core.text.sample import TextSample, priorities

__all__ = ["SIDES", "TextProfile", "TextWindow"]

SIDES = ("input", "output")
_FORMAT = 1


@dataclass
class TextProfile:
    """What a reference keeps of its texts, mergeable window by window."""

    stats: FrameProfile = field(default_factory=FrameProfile)
    samples: dict[str, TextSample] = field(default_factory=dict)
    vocabularies: dict[str, Vocabulary] = field(default_factory=dict)
    embeddings: dict[str, EmbeddingSample] = field(default_factory=dict)
    """Sentence embeddings of each side's first texts, when embedding drift is on."""

    def merge(self, other: TextProfile) -> TextProfile:
        """Both profiles together."""
        embeddings = dict(self.embeddings)
        for side, e in other.embeddings.items():
            embeddings[side] = embeddings[side].merge(e) if side in embeddings else e
        samples = dict(self.samples)
        for side, s in other.samples.items():
            samples[side] = samples[side].merge(s) if side in samples else s
        vocab = dict(self.vocabularies)
        for side, v in other.vocabularies.items():
            vocab[side] = vocab[side].merge(v) if side in vocab else v
        stats = merge(self.stats, other.stats) if self.stats.columns else other.stats
        return TextProfile(stats, samples, vocab, embeddings)

    def to_bytes(self, *, full: bool) -> bytes:
        """Serialised; without ``full`` only the statistics (later windows)."""
        doc: dict[str, Any] = {"format": _FORMAT, "stats": dumps(self.stats)}
        if full:
            doc["samples"] = {k: v.to_bytes() for k, v in self.samples.items()}
            doc["vocabularies"] = {k: v.to_bytes() for k, v in self.vocabularies.items()}
            if self.embeddings:
                doc["embeddings"] = {k: v.to_bytes() for k, v in self.embeddings.items()}
        return bytes(msgpack.packb(doc, use_bin_type=True))

    @classmethod
    def from_bytes(cls, data: bytes) -> TextProfile:
        """Read :meth:`to_bytes` output."""
        doc = msgpack.unpackb(data, raw=False)
        return cls(
            loads(doc["stats"]),
            {k: TextSample.from_bytes(v) for k, v in (doc.get("samples") or {}).items()},
            {k: Vocabulary.from_bytes(v) for k, v in (doc.get("vocabularies") or {}).items()},
            {k: EmbeddingSample.from_bytes(v) for k, v in (doc.get("embeddings") or {}).items()},
        )

    @property
    def full(self) -> bool:
        """Whether samples and vocabularies are held (a reference window)."""
        return bool(self.samples)


@dataclass
class _Side:
    stats: list[np.ndarray] = field(default_factory=list)
    sample: TextSample = field(default_factory=TextSample)
    vocabulary: Vocabulary = field(default_factory=Vocabulary)
    ngrams: int = 0
    unseen: int = 0


class TextWindow:
    """Accumulates the texts of one window; ``reference`` (if any) gives OOV shares."""

    def __init__(self, capacity: int, reference: TextProfile | None = None) -> None:
        self.reference = reference
        self.sides = {side: _Side(sample=TextSample(capacity)) for side in SIDES}

    def add(self, batch: pa.RecordBatch) -> None:
        """Add the texts of a batch of request spans."""
        identity = pc.binary_join_element_wise(
            pc.fill_null(batch.column("trace_id"), ""),
            pc.fill_null(batch.column("span_id"), ""),
            "/",
        ).to_pylist()
        for side in SIDES:
            self._stats(side, batch.column(f"{side}_stats"))
            self._ngrams(side, batch.column(f"{side}_ngrams"), identity)

    def _stats(self, side: str, column: pa.Array) -> None:
        valid = pc.is_valid(column)
        present = column.filter(valid)
        if len(present) == 0:
            return
        matrix = np.column_stack(
            [
                pc.cast(pc.struct_field(present, name), pa.float64()).to_numpy(zero_copy_only=False)
                for name in STATS_FIELDS
            ]
        )
        self.sides[side].stats.append(matrix)

    def _ngrams(self, side: str, column: pa.Array, identity: list[str]) -> None:
        valid = pc.is_valid(column).to_numpy(zero_copy_only=False)
        if not valid.any():
            return
        lists = column.filter(pa.array(valid))
        if isinstance(lists, pa.ChunkedArray):
            lists = lists.combine_chunks()
        offsets = lists.offsets.to_numpy().astype(np.int64)
        ids = lists.values.to_numpy(zero_copy_only=False).astype(np.uint32)[
            offsets[0] : offsets[-1]
        ]
        offsets = offsets - offsets[0]
        keys = [k for k, ok in zip(identity, valid, strict=True) if ok]
        s = self.sides[side]
        s.sample = s.sample.add(priorities(keys), offsets, ids)
        s.vocabulary.add(ids)
        s.ngrams += int(ids.size)
        if self.reference is not None and side in self.reference.vocabularies:
            s.unseen += int((~self.reference.vocabularies[side].contains(ids)).sum())

    def profile(self) -> TextProfile:
        """The window's :class:`TextProfile`."""
        stats = FrameProfile()
        for side, s in self.sides.items():
            matrix = np.concatenate(s.stats) if s.stats else np.zeros((0, len(STATS_FIELDS)))
            prof = stats_profile(
                {n: matrix[:, i] for i, n in enumerate(STATS_FIELDS)}, prefix=f"{side}."
            )
            stats = stats.merge(prof) if stats.columns else prof
        return TextProfile(
            stats,
            {side: s.sample for side, s in self.sides.items()},
            {side: s.vocabulary for side, s in self.sides.items()},
        )

    def oov_share(self, side: str) -> float | None:
        """Share of this window's n-gram ids the reference never produced (None without one)."""
        s = self.sides[side]
        if self.reference is None or side not in self.reference.vocabularies or s.ngrams == 0:
            return None
        return s.unseen / s.ngrams
