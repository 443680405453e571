"""The audit hash chain: canonical event content, hashing and verification.

Each event's hash is ``sha256(canonical_json(content) )`` where the content
includes the previous event's hash and the event's position (``seq``), so any
edit, deletion, insertion or reordering of stored events breaks the chain at a
point :func:`verify_chain` can name. Pure: storage passes events in.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace, UTF-8 kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(
    *, seq: int, ts: str, actor: str, action: str, subject: str, payload: str, prev_hash: str
) -> str:
    """The hash of one event; ``payload`` is the event's canonical JSON text."""
    content = canonical_json(
        {
            "seq": seq,
            "ts": ts,
            "actor": actor,
            "action": action,
            "subject": subject,
            "payload": payload,
            "prev": prev_hash,
        }
    )
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainEvent:
    """What verification needs of a stored event."""

    seq: int
    ts: str
    actor: str
    action: str
    subject: str
    payload: str
    prev_hash: str
    hash: str

    def recompute(self, seq: int | None = None, prev_hash: str | None = None) -> str:
        return event_hash(
            seq=self.seq if seq is None else seq,
            ts=self.ts,
            actor=self.actor,
            action=self.action,
            subject=self.subject,
            payload=self.payload,
            prev_hash=self.prev_hash if prev_hash is None else prev_hash,
        )


@dataclass(frozen=True)
class ChainProblem:
    """The first point where the chain is broken."""

    kind: str  # "edited" | "deleted" | "inserted" | "reordered"
    seq: int
    message: str


@dataclass(frozen=True)
class ChainReport:
    """Result of :func:`verify_chain`."""

    ok: bool
    n_events: int
    head_seq: int
    problem: ChainProblem | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": self.ok, "n_events": self.n_events, "head_seq": self.head_seq}
        if self.problem is not None:
            out["problem"] = {
                "kind": self.problem.kind,
                "seq": self.problem.seq,
                "message": self.problem.message,
            }
        return out


def verify_chain(events: Iterable[ChainEvent], head: tuple[int, str] | None) -> ChainReport:
    """Walk ``events`` in ``seq`` order and report the first break.

    Parameters
    ----------
    events
        Stored events sorted by ``seq`` (a stream: memory stays constant).
    head
        ``(seq, hash)`` of the newest event as recorded in the head row, or
        ``None`` when no event was ever written.
    """
    prev_hash = GENESIS
    expected = 1
    n = 0
    window: dict[str, int] = {}  # hash -> seq of recent events, to recognise moved ones
    for ev in events:
        n += 1
        if ev.hash != ev.recompute():
            # Same content at another position means the event was moved.
            for seq in range(max(1, expected - 1000), expected + 1000):
                if seq != ev.seq and ev.hash == ev.recompute(seq=seq):
                    return _broken(
                        n,
                        head,
                        ChainProblem(
                            "reordered",
                            ev.seq,
                            f"event #{ev.seq} ({ev.action} on {ev.subject}) was written as #{seq}:"
                            " events were reordered",
                        ),
                    )
            return _broken(
                n,
                head,
                ChainProblem(
                    "edited",
                    ev.seq,
                    f"event #{ev.seq} ({ev.action} on {ev.subject}) was edited after it was written",
                ),
            )
        if ev.seq > expected:
            missing = f"#{expected}" if ev.seq == expected + 1 else f"#{expected}-#{ev.seq - 1}"
            return _broken(
                n,
                head,
                ChainProblem(
                    "deleted", expected, f"event {missing} was deleted (chain jumps to #{ev.seq})"
                ),
            )
        if ev.prev_hash != prev_hash:
            kind = "inserted" if ev.prev_hash not in window else "reordered"
            return _broken(
                n,
                head,
                ChainProblem(
                    kind,
                    ev.seq,
                    f"event #{ev.seq} ({ev.action} on {ev.subject}) does not follow #{ev.seq - 1}: "
                    + (
                        "it was inserted into the chain"
                        if kind == "inserted"
                        else "events reordered"
                    ),
                ),
            )
        window[ev.hash] = ev.seq
        if len(window) > 2000:
            window.pop(next(iter(window)))
        prev_hash = ev.hash
        expected = ev.seq + 1
    last = expected - 1
    if head is None:
        if n:
            return ChainReport(
                False, n, 0, ChainProblem("inserted", 1, "events exist but the chain head is empty")
            )
        return ChainReport(True, 0, 0)
    head_seq, head_hash = head
    if last < head_seq:
        return ChainReport(
            False,
            n,
            head_seq,
            ChainProblem(
                "deleted", last + 1, f"event(s) #{last + 1}-#{head_seq} at the end were deleted"
            ),
        )
    if last > head_seq or prev_hash != head_hash:
        return ChainReport(
            False,
            n,
            head_seq,
            ChainProblem(
                "inserted",
                head_seq + 1 if last > head_seq else last,
                f"event #{head_seq + 1 if last > head_seq else last} is not the recorded chain head:"
                " it was inserted",
            ),
        )
    return ChainReport(True, n, head_seq)


def _broken(n: int, head: tuple[int, str] | None, problem: ChainProblem) -> ChainReport:
    return ChainReport(False, n, head[0] if head else 0, problem)
