from __future__ import annotations

import dataclasses

from aims.core.audit import GENESIS, ChainEvent, canonical_json, event_hash, verify_chain


def make_chain(n: int) -> list[ChainEvent]:
    events, prev = [], GENESIS
    for seq in range(1, n + 1):
        fields = dict(
            seq=seq,
            ts=f"2026-01-01T00:00:{seq:02d}",
            actor="a",
            action="x.do",
            subject=f"s{seq}",
            payload=canonical_json({"i": seq}),
            prev_hash=prev,
        )
        digest = event_hash(**fields)
        events.append(ChainEvent(hash=digest, **fields))
        prev = digest
    return events


def head_of(events: list[ChainEvent]) -> tuple[int, str]:
    return events[-1].seq, events[-1].hash


def test_intact_chain_verifies() -> None:
    events = make_chain(10)
    report = verify_chain(events, head_of(events))
    assert report.ok and report.n_events == 10 and report.problem is None


def test_empty_chain_verifies() -> None:
    assert verify_chain([], None).ok


def test_edited_payload_is_named() -> None:
    events = make_chain(10)
    events[4] = dataclasses.replace(events[4], payload=canonical_json({"i": 999}))
    report = verify_chain(events, head_of(make_chain(10)))
    assert not report.ok
    assert report.problem.kind == "edited" and report.problem.seq == 5


def test_deleted_event_is_named() -> None:
    events = make_chain(10)
    head = head_of(events)
    del events[3]
    report = verify_chain(events, head)
    assert report.problem.kind == "deleted" and report.problem.seq == 4


def test_deleted_last_event_is_caught_by_head() -> None:
    events = make_chain(10)
    head = head_of(events)
    report = verify_chain(events[:-1], head)
    assert report.problem.kind == "deleted" and report.problem.seq == 10


def test_swapped_events_are_reported_as_reordered() -> None:
    events = make_chain(10)
    head = head_of(events)
    a, b = events[2], events[6]
    # Swap positions: each event keeps its content but takes the other's seq.
    events[2] = dataclasses.replace(b, seq=3)
    events[6] = dataclasses.replace(a, seq=7)
    report = verify_chain(events, head)
    assert report.problem.kind == "reordered" and report.problem.seq == 3


def test_inserted_event_is_named() -> None:
    events = make_chain(10)
    head = head_of(events)
    forged = dataclasses.replace(events[-1], seq=11, subject="forged", hash="f" * 64)
    report = verify_chain([*events, forged], head)
    assert not report.ok and report.problem.seq == 11
