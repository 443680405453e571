"""The audit hash chain: canonical event content, hashing and verification.

Each event's hash covers its canonical JSON content, which includes the
previous event's hash and the event's position (``seq``), so any edit,
deletion, insertion or reordering of stored events breaks the chain at a point
:func:`verify_chain` can name.

Two schemes, switched at a recorded position (``keyed_from``):

* events before it were written by older releases as ``sha256(content)``:
  anyone can recompute them, so someone with write access to the database can
  edit one and re-hash everything after it;
* events from it on are ``HMAC-SHA256(key, content)`` with a key kept outside
  the database, so re-hashing after an edit needs that key.

Nothing in a chain is ever rewritten to change scheme. Pure: storage passes
events and the key in.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "GENESIS",
    "ChainEvent",
    "ChainProblem",
    "ChainReport",
    "canonical_json",
    "event_hash",
    "verify_chain",
]

GENESIS = "0" * 64


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace, UTF-8 kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(
    *,
    seq: int,
    ts: str,
    actor: str,
    action: str,
    subject: str,
    payload: str,
    prev_hash: str,
    key: bytes | None = None,
) -> str:
    """The hash of one event; ``payload`` is the event's canonical JSON text.

    With ``key`` the hash is an HMAC (the keyed scheme), without it the plain
    SHA-256 of older chains.

    >>> fields = dict(seq=1, ts="t", actor="a", action="x", subject="s", payload="{}")
    >>> plain = event_hash(prev_hash=GENESIS, **fields)
    >>> keyed = event_hash(prev_hash=GENESIS, key=b"k" * 32, **fields)
    >>> len(plain) == len(keyed) == 64 and plain != keyed
    True
    """
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
    if key is None:
        return hashlib.sha256(content.encode("utf-8")).hexdigest()
    return hmac.new(key, content.encode("utf-8"), hashlib.sha256).hexdigest()


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

    def recompute(
        self, seq: int | None = None, prev_hash: str | None = None, key: bytes | None = None
    ) -> str:
        """This event's hash, recomputed (optionally as if at ``seq`` or after ``prev_hash``)."""
        return event_hash(
            seq=self.seq if seq is None else seq,
            ts=self.ts,
            actor=self.actor,
            action=self.action,
            subject=self.subject,
            payload=self.payload,
            prev_hash=self.prev_hash if prev_hash is None else prev_hash,
            key=key,
        )


@dataclass(frozen=True)
class ChainProblem:
    """The first point where the chain is broken."""

    kind: str  # "edited" | "deleted" | "inserted" | "reordered" | "forged" | "unkeyed"
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


def verify_chain(
    events: Iterable[ChainEvent],
    head: tuple[int, str] | None,
    *,
    key: bytes | None = None,
    keyed_from: int | None = None,
    start: tuple[int, str] | None = None,
) -> ChainReport:
    """Walk ``events`` in ``seq`` order and report the first break.

    Parameters
    ----------
    events
        Stored events sorted by ``seq`` (a stream: memory stays constant).
    head
        ``(seq, hash)`` of the newest event as recorded in the head row, or
        ``None`` when no event was ever written.
    key
        The audit key; required when any event is at or after ``keyed_from``.
    keyed_from
        The first position hashed with the key (older events use plain SHA-256);
        by default 1 with a key (all keyed) and none without (all plain).
    start
        ``(seq, hash)`` of an event already verified: ``events`` then begin
        right after it, and only they are checked (incremental verification).
    """
    head_seq = head[0] if head else 0
    if keyed_from is None:
        keyed_from = 1 if key is not None else sys.maxsize
    elif head is not None and keyed_from > head_seq + 1:
        return _broken(
            0,
            head,
            ChainProblem(
                "unkeyed",
                keyed_from,
                f"the switch to keyed hashes is recorded at #{keyed_from}, after the head "
                f"#{head_seq}: it was moved so that keyed events pass as unkeyed",
            ),
        )

    def key_at(seq: int) -> bytes | None:
        if seq < keyed_from:
            return None
        if key is None:
            raise ValueError(f"event #{seq} is keyed: verifying it needs the audit key")
        return key

    prev_hash = GENESIS if start is None else start[1]
    expected = 1 if start is None else start[0] + 1
    n = 0 if start is None else start[0]
    window: dict[str, int] = {}  # hash -> seq of recent events, to recognise moved ones
    for ev in events:
        n += 1
        if ev.hash != ev.recompute(key=key_at(ev.seq)):
            return _broken(n, head, _bad_hash(ev, expected, head_seq, key_at))
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
    head_hash = head[1]
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


def _bad_hash(ev: ChainEvent, expected: int, head_seq: int, key_at: Any) -> ChainProblem:
    """Name what happened to an event whose stored hash is not the one its content gives."""
    what = f"event #{ev.seq} ({ev.action} on {ev.subject})"
    # Same content at another position means the event was moved.
    for seq in range(max(1, expected - 1000), expected + 1000):
        if seq != ev.seq and ev.hash == ev.recompute(seq=seq, key=key_at(seq)):
            return ChainProblem(
                "reordered", ev.seq, f"{what} was written as #{seq}: events were reordered"
            )
    if ev.seq > head_seq:
        return ChainProblem("inserted", ev.seq, f"{what} lies past the recorded head: inserted")
    if key_at(ev.seq) is not None and ev.seq == head_seq:
        return ChainProblem(
            "forged",
            ev.seq,
            f"{what} is the head but its hash was not made with the audit key: "
            "it was appended by someone without the key (forged)",
        )
    keyed = key_at(ev.seq) is not None
    return ChainProblem(
        "edited",
        ev.seq,
        f"{what} was edited after it was written"
        + (" (its hash is not the one the audit key gives)" if keyed else ""),
    )


def _broken(n: int, head: tuple[int, str] | None, problem: ChainProblem) -> ChainReport:
    return ChainReport(False, n, head[0] if head else 0, problem)
