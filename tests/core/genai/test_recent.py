from __future__ import annotations

import threading

import pytest

from aims.core.genai.recent import RecentKeys


def test_the_last_window_of_keys_is_always_remembered_and_never_more_than_twice_it() -> None:
    seen = RecentKeys(window=100)
    for start in range(0, 1_000, 10):
        assert seen.claim(range(start, start + 10)) == [True] * 10
        # The last 100 keys claimed are all still known...
        assert not any(seen.claim(range(max(0, start - 90), start + 10)))
        # ...and memory stays bounded.
        assert len(seen) <= 200
    assert seen.claim([0]) == [True]  # long forgotten


def test_a_released_key_can_be_claimed_again() -> None:
    seen = RecentKeys(window=10)
    assert seen.claim(["a", "b"]) == [True, True]
    seen.release(["a"])
    assert seen.claim(["a", "b"]) == [True, False]


def test_two_threads_never_both_claim_a_key() -> None:
    seen = RecentKeys(window=100_000)
    wins: list[list[bool]] = []
    start = threading.Barrier(4)

    def claim() -> None:
        start.wait()
        wins.append(seen.claim(range(20_000)))

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [sum(column) for column in zip(*wins, strict=True)] == [1] * 20_000


def test_a_window_must_hold_a_key() -> None:
    with pytest.raises(ValueError, match="1 or more"):
        RecentKeys(window=0)
