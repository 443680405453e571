"""Writing, reading and verifying the audit log in the metadata store.

:func:`record` must be called inside the same session (transaction) as the
change it describes, so a change and its audit event commit or fail together.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aims.core.audit import (
    GENESIS,
    ChainEvent,
    ChainReport,
    canonical_json,
    event_hash,
    verify_chain,
)
from aims.errors import InvalidInput
from aims.storage.db import Database
from aims.storage.schema import AuditEvent, AuditHead


def now_utc() -> datetime:
    return datetime.now(UTC)


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    subject: str,
    payload: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain within ``session``'s transaction."""
    # Locking the head row serialises writers on PostgreSQL; SQLite transactions
    # already hold the database write lock (BEGIN IMMEDIATE).
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS)
        session.add(head)
    seq = head.seq + 1
    ts = now_utc().isoformat(timespec="microseconds")
    body = canonical_json(payload or {})
    digest = event_hash(
        seq=seq,
        ts=ts,
        actor=actor,
        action=action,
        subject=subject,
        payload=body,
        prev_hash=head.hash,
    )
    event = AuditEvent(
        seq=seq,
        ts=ts,
        actor=actor,
        action=action,
        subject=subject,
        payload=body,
        prev_hash=head.hash,
        hash=digest,
    )
    session.add(event)
    head.seq = seq
    head.hash = digest
    session.flush()
    return event


@dataclass(frozen=True)
class EventFilter:
    """Filters for :func:`query`; ``None`` means no filter."""

    subject: str | None = None
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    limit: int | None = None


def event_dict(ev: AuditEvent) -> dict[str, Any]:
    import json

    return {
        "seq": ev.seq,
        "ts": ev.ts,
        "actor": ev.actor,
        "action": ev.action,
        "subject": ev.subject,
        "payload": json.loads(ev.payload),
        "hash": ev.hash,
    }


def query(db: Database, flt: EventFilter = EventFilter()) -> list[dict[str, Any]]:
    """Events matching ``flt``, oldest first (newest ``limit`` when a limit is set)."""
    stmt = select(AuditEvent)
    if flt.subject:
        # A model's subject also covers its versions ("m" matches "m@3").
        stmt = stmt.where(
            (AuditEvent.subject == flt.subject) | AuditEvent.subject.like(f"{flt.subject}@%")
        )
    if flt.actor:
        stmt = stmt.where(AuditEvent.actor == flt.actor)
    if flt.action:
        stmt = stmt.where(AuditEvent.action.like(flt.action.replace("*", "%")))
    if flt.since:
        since = flt.since if flt.since.tzinfo else flt.since.replace(tzinfo=UTC)
        stmt = stmt.where(AuditEvent.ts >= since.astimezone(UTC).isoformat(timespec="microseconds"))
    if flt.limit is not None:
        if flt.limit < 1:
            raise InvalidInput(f"--limit must be at least 1, got {flt.limit}")
        stmt = stmt.order_by(AuditEvent.seq.desc()).limit(flt.limit)
        with db.session() as s:
            return [event_dict(e) for e in reversed(s.scalars(stmt).all())]
    with db.session() as s:
        return [event_dict(e) for e in s.scalars(stmt.order_by(AuditEvent.seq)).all()]


def _stream(db: Database, batch: int = 5000) -> Iterator[ChainEvent]:
    last = 0
    while True:
        with db.session() as s:
            rows = s.scalars(
                select(AuditEvent)
                .where(AuditEvent.seq > last)
                .order_by(AuditEvent.seq)
                .limit(batch)
            ).all()
        if not rows:
            return
        for r in rows:
            yield ChainEvent(
                r.seq, r.ts, r.actor, r.action, r.subject, r.payload, r.prev_hash, r.hash
            )
        last = rows[-1].seq


def verify(db: Database) -> ChainReport:
    """Verify the whole chain, streaming it in batches."""
    with db.session() as s:
        head = s.get(AuditHead, 1)
        head_t = (head.seq, head.hash) if head is not None else None
    return verify_chain(_stream(db), head_t)
