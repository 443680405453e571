"""The evidence report's view of the audit log, kept up to date by event number.

The checks cite, per model and version, the newest governance event of each
kind: the newest approval by each approver, the newest promotion into each
stage, the newest assessment of each risk version, the newest event of each
incident, the newest registration, evaluation, owners change and rollback,
and how many promotions the gates refused. :func:`catch_up` reads the events
appended since the last call (by ``seq``, in batches, off the ``(action,
seq)`` index) into ``evidence_event_facts``, and the writes forced past team
mode into ``evidence_break_glass``; :func:`events_by_model` and
:func:`break_glass` then read those small tables instead of the log.

What the checks get is what they got from the whole log: for each kind the
newest event, repeated as many times as the log holds events of that kind
(the checks count refused promotions, and read only the newest of each kind
otherwise). Subjects are matched to models when the report is made, as
before, so a model registered later still finds its events.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aims.core.standards.facts import BreakGlass, EventRef
from aims.storage.db import Database
from aims.storage.schema import (
    AuditEvent,
    AuditHead,
    EvidenceBreakGlass,
    EvidenceEventFact,
    EvidenceProgress,
)

__all__ = [
    "GOVERNANCE_ACTIONS",
    "break_glass",
    "catch_up",
    "events_by_model",
    "fact_key",
    "logged_events",
    "owners",
    "progress_row",
]

GOVERNANCE_ACTIONS = (
    "model.register",
    "model.owners.set",
    "risk.assess",
    "model.approve",
    "model.evaluate",
    "model.promote",
    "model.promote.override",
    "model.promote.refused",
    "model.rollback",
    "incident.open",
    "incident.ack",
    "incident.resolve",
)
"""Audit actions the checks cite (the monitor's per-window events are left out: they are many)."""

#: Events read per transaction while catching up: bounds how long the write lock is held.
BATCH = 20_000

#: The payload field that tells events of one kind apart, where the checks do.
_KEY_FIELD = {
    "model.promote": "stage",
    "model.promote.override": "stage",
    "risk.assess": "version",
    "incident.open": "incident",
    "incident.ack": "incident",
    "incident.resolve": "incident",
}


def fact_key(action: str, actor: str, payload: str) -> str:
    """What tells an event apart from the older ones of its kind that it replaces."""
    if action == "model.approve":
        return actor  # the checks count each approver's newest approval
    field = _KEY_FIELD.get(action)
    if field is None:
        return ""
    return json.dumps(json.loads(payload).get(field), sort_keys=True)


def progress_row(s: Session) -> EvidenceProgress:
    """The one progress row, locked for this transaction (created if missing)."""
    row = s.scalar(select(EvidenceProgress).where(EvidenceProgress.id == 1).with_for_update())
    if row is None:
        row = EvidenceProgress(id=1, facts_seq=0)
        s.add(row)
    return row


def _fold(s: Session, rows: Sequence[Any]) -> None:
    """Merge events (oldest first) into the facts: the newest of each kind replaces the older."""
    subjects = sorted({r.subject for r in rows})
    held: dict[tuple[str, str, str], EvidenceEventFact] = {}
    for i in range(0, len(subjects), 500):
        for f in s.scalars(
            select(EvidenceEventFact).where(EvidenceEventFact.subject.in_(subjects[i : i + 500]))
        ):
            held[(f.subject, f.action, f.key)] = f
    for r in rows:
        kind = (r.subject, r.action, fact_key(r.action, r.actor, r.payload))
        fact = held.get(kind)
        if fact is None:
            fact = EvidenceEventFact(subject=kind[0], action=kind[1], key=kind[2], count=0)
            s.add(fact)
            held[kind] = fact
        fact.seq, fact.ts, fact.actor, fact.payload = r.seq, r.ts, r.actor, r.payload
        fact.count += 1


def catch_up(db: Database, batch: int = BATCH) -> int:
    """Read the events appended since the last call into the facts; the seq now read up to.

    Each batch is one short write transaction that re-reads where the facts
    stand, so concurrent callers (two servers, a server and the command line)
    never read an event twice.
    """
    while True:
        with db.session() as s:
            progress = progress_row(s)
            head = s.scalar(select(AuditHead.seq).where(AuditHead.id == 1)) or 0
            start = progress.facts_seq
            if start >= head:
                return start
            end = min(head, start + batch)
            in_range = (AuditEvent.seq > start, AuditEvent.seq <= end)
            rows = s.execute(
                select(
                    AuditEvent.seq,
                    AuditEvent.ts,
                    AuditEvent.actor,
                    AuditEvent.action,
                    AuditEvent.subject,
                    AuditEvent.payload,
                ).where(AuditEvent.action.in_(GOVERNANCE_ACTIONS), *in_range)
            ).all()
            # Matched here, not with LIKE: SQLite's LIKE ignores case.
            rows = [r for r in rows if r.subject.startswith("model:")]
            _fold(s, sorted(rows, key=lambda r: r.seq))
            # Payloads are canonical JSON (sorted keys, no spaces): the flag reads exactly so.
            for seq, actor, action, payload in s.execute(
                select(AuditEvent.seq, AuditEvent.actor, AuditEvent.action, AuditEvent.payload)
                .where(AuditEvent.payload.contains('"break_glass":true'), *in_range)
                .order_by(AuditEvent.seq)
            ):
                body = json.loads(payload)
                if body.get("break_glass") is True:
                    reason = str(body.get("break_glass_reason", ""))
                    s.add(EvidenceBreakGlass(seq=seq, actor=actor, action=action, reason=reason))
            progress.facts_seq = end


def owners(subject: str, wanted: set[str]) -> set[str]:
    """The models in ``wanted`` a ``model:...`` subject is about.

    A subject is a model's when it is ``model:NAME`` or starts with
    ``model:NAME@``; a name may itself hold ``@``, so every prefix before an
    ``@`` may be the model.
    """
    rest = subject[len("model:") :]
    found = {rest} & wanted
    at = rest.find("@")
    while at != -1:
        if rest[:at] in wanted:
            found.add(rest[:at])
        at = rest.find("@", at + 1)
    return found


def events_by_model(s: Session, names: Sequence[str]) -> dict[str, tuple[EventRef, ...]]:
    """The governance events the checks cite for every model in ``names``, oldest first.

    Read from the facts (bring them up to date with :func:`catch_up` first).
    """
    wanted = set(names)
    if not wanted:
        return {}
    out: dict[str, list[EventRef]] = {n: [] for n in names}
    rows = s.execute(
        select(
            EvidenceEventFact.seq,
            EvidenceEventFact.ts,
            EvidenceEventFact.actor,
            EvidenceEventFact.action,
            EvidenceEventFact.subject,
            EvidenceEventFact.payload,
            EvidenceEventFact.count,
        )
    ).all()
    logged = logged_events(s, [r[0] for r in rows])
    for seq, ts, actor, action, subject, payload, count in sorted(rows, key=lambda r: r[0]):
        if logged.get(seq) != (ts, actor, action, subject, payload):
            continue  # a fact its audit event does not vouch for (written into the table)
        found = owners(subject, wanted)
        if not found:
            continue
        ref = EventRef(seq, ts, actor, action, subject, json.loads(payload))
        for name in found:
            out[name].extend([ref] * count)
    return {n: tuple(refs) for n, refs in out.items()}


def break_glass(s: Session) -> tuple[BreakGlass, ...]:
    """Events written by commands forced past team mode, oldest first (from the facts)."""
    rows = s.scalars(select(EvidenceBreakGlass).order_by(EvidenceBreakGlass.seq)).all()
    logged = logged_events(s, [r.seq for r in rows])
    return tuple(
        BreakGlass(r.seq, r.actor, r.action, r.reason)
        for r in rows
        if r.seq in logged and logged[r.seq][1:3] == (r.actor, r.action)
    )


def logged_events(s: Session, seqs: Sequence[int]) -> dict[int, tuple[str, str, str, str, str]]:
    """``(ts, actor, action, subject, payload)`` of the audit events at ``seqs``.

    Every fact is read back against its event (by the unique index on
    ``seq``): a row written straight into the facts tables, or one whose event
    was since removed, counts for nothing. The events themselves are vouched
    for by the chain's walk.
    """
    out: dict[int, tuple[str, str, str, str, str]] = {}
    unique = sorted(set(seqs))
    for i in range(0, len(unique), 500):
        for seq, *rest in s.execute(
            select(
                AuditEvent.seq,
                AuditEvent.ts,
                AuditEvent.actor,
                AuditEvent.action,
                AuditEvent.subject,
                AuditEvent.payload,
            ).where(AuditEvent.seq.in_(unique[i : i + 500]))
        ):
            out[seq] = (rest[0], rest[1], rest[2], rest[3], rest[4])
    return out
