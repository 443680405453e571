"""Bottom-k text samples: exact merging, bounded size, round trips."""

from __future__ import annotations

import numpy as np
import pytest

from aims.core.text.sample import TextSample, priorities, priority
from aims.errors import InvalidInput


def _random(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    prio = priorities([f"{seed}-{i}" for i in range(n)])
    lengths = rng.integers(0, 12, n)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    ids = rng.integers(0, 2**20, int(offsets[-1])).astype(np.uint32)
    return prio, offsets, ids


def test_merge_of_partition_samples_equals_sample_of_union() -> None:
    prio, offsets, ids = _random(2000, 1)
    whole = TextSample.of(prio, offsets, ids, capacity=64)
    parts = [
        TextSample.of(
            prio[a:b], offsets[a : b + 1] - offsets[a], ids[offsets[a] : offsets[b]], capacity=64
        )
        for a, b in [(0, 300), (300, 1500), (1500, 2000)]
    ]
    merged = parts[2].merge(parts[0]).merge(parts[1])
    assert np.array_equal(merged.priorities, whole.priorities)
    assert np.array_equal(merged.offsets, whole.offsets)
    assert np.array_equal(merged.ids, whole.ids)
    assert merged.seen == whole.seen == 2000
    assert len(merged) == 64


def test_kept_texts_are_the_smallest_priorities_with_their_own_ids() -> None:
    prio, offsets, ids = _random(300, 2)
    sample = TextSample.of(prio, offsets, ids, capacity=10)
    expected = np.argsort(prio)[:10]
    assert sample.priorities.tolist() == prio[expected].tolist()
    for doc, row in zip(sample.documents(), expected, strict=True):
        assert doc.tolist() == ids[offsets[row] : offsets[row + 1]].tolist()


def test_merging_a_sample_with_itself_keeps_each_text_once() -> None:
    sample = TextSample.of(*_random(50, 3), capacity=100)
    twice = sample.merge(sample)
    assert np.array_equal(twice.priorities, sample.priorities)
    assert len(twice) == 50


def test_bytes_round_trip_and_bad_bytes() -> None:
    sample = TextSample.of(*_random(500, 4), capacity=200)
    back = TextSample.from_bytes(sample.to_bytes())
    assert (back.capacity, back.seen) == (200, 500)
    assert np.array_equal(back.ids, sample.ids)
    assert np.array_equal(back.offsets, sample.offsets)
    assert np.array_equal(back.priorities, sample.priorities)
    with pytest.raises(InvalidInput, match="not a stored text sample"):
        TextSample.from_bytes(b"nonsense")


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(InvalidInput, match="one offset more than texts"):
        TextSample.of(np.array([1, 2], dtype=np.uint64), np.array([0, 1]), np.array([5]))
    with pytest.raises(InvalidInput, match="capacity of at least 1"):
        TextSample(capacity=0)


def test_priority_is_stable_across_calls() -> None:
    assert priority("trace-1/span-1") == priority("trace-1/span-1")
    assert priorities(["x", "y"]).dtype == np.uint64
