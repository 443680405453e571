"""Writing, reading and verifying the audit log in the metadata store.

:func:`record` must be called inside the same session (transaction) as the
change it describes, so a change and its audit event commit or fail together.

Events are hashed with a key kept outside the database: ``$AIMS_AUDIT_KEY``
or, when unset, a random secret in ``.aims/audit.key`` (mode 0600, created on
first use). Whoever verifies the chain needs the same secret.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aims.clock import now_utc, utc
from aims.core.audit import (
    GENESIS,
    ChainEvent,
    ChainReport,
    canonical_json,
    event_hash,
    verify_chain,
)
from aims.core.audit_checkpoint import chain_key
from aims.errors import ConfigError, InvalidInput
from aims.storage.db import Database
from aims.storage.schema import AuditEvent, AuditHead

KEY_ENV = "AIMS_AUDIT_KEY"
KEY_FILE = "audit.key"
MIN_KEY_BYTES = 32


def audit_secret(db: Database, *, create: bool = True) -> bytes:
    """The audit secret: ``$AIMS_AUDIT_KEY``, else ``.aims/audit.key`` (created 0600).

    With ``create`` false a missing key file is an error: verifying a keyed
    chain with a freshly made key would call every event forged.
    """
    env = os.environ.get(KEY_ENV, "")
    if env:
        if len(env.encode()) < MIN_KEY_BYTES:
            raise ConfigError(
                f"{KEY_ENV} is {len(env.encode())} bytes; use at least {MIN_KEY_BYTES} random "
                "bytes, e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        return env.encode()
    if db.state_dir is None:
        raise ConfigError(
            f"no audit key: set {KEY_ENV}, or open the store through its workspace "
            f"(which keeps the key in .aims/{KEY_FILE})"
        )
    path = db.state_dir / KEY_FILE
    if not create and not path.exists():
        raise ConfigError(
            f"the audit key is missing ({path} does not exist and {KEY_ENV} is unset): "
            f"restore the key file from your backup or set {KEY_ENV} to the key"
        )
    from aims.storage.secret_file import secret_file

    return secret_file(path, 48).encode()


def chain_key_of(db: Database, *, create: bool = True) -> bytes:
    """The HMAC key of ``db``'s chain (read once per store object)."""
    key = db.__dict__.get("_audit_chain_key")
    if key is None:
        key = chain_key(audit_secret(db, create=create))
        db.__dict__["_audit_chain_key"] = key
    return key


def _database_of(session: Session) -> Database:
    db = session.info.get("database")
    if db is None:
        raise ConfigError("audit events are recorded in a session opened by Database.session()")
    return db


def session_key(session: Session) -> bytes:
    """The chain key of the store ``session`` belongs to."""
    return chain_key_of(_database_of(session))


# Fields added to every event recorded while they are set (see marked): an act
# forced past team mode (break-glass) is flagged in each event it writes.
_MARKS: ContextVar[dict[str, Any] | None] = ContextVar("aims_audit_marks", default=None)


@contextmanager
def marked(**fields: Any) -> Iterator[None]:
    """Add ``fields`` to the payload of every event recorded inside the block."""
    token = _MARKS.set({**(_MARKS.get() or {}), **fields})
    try:
        yield
    finally:
        _MARKS.reset(token)


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    subject: str,
    payload: dict[str, Any] | None = None,
    anchors: tuple[Any, ...] = (),
    payload_json: str | None = None,
) -> AuditEvent:
    """Append one event to the chain within ``session``'s transaction.

    ``payload_json`` is the payload already written as one JSON object with sorted
    keys and no white space, for a writer of large payloads that writes them faster
    than :func:`~aims.core.audit.canonical_json` (the chain hashes the text as
    stored, so any such text verifies); give it or ``payload``, not both.

    Each row of ``anchors`` (a governance row added in the same transaction)
    gets the event's position in its ``audit_seq``, which ties the row to the
    event: the gates count only rows whose event exists and matches.
    """
    key = session_key(session)
    # Locking the head row serialises writers on PostgreSQL; SQLite transactions
    # already hold the database write lock (BEGIN IMMEDIATE).
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS, keyed_from=1)
        session.add(head)
    seq = head.seq + 1
    ts = now_utc().isoformat(timespec="microseconds")
    marks = _MARKS.get()
    if payload_json is not None and not marks:
        body = payload_json
    else:
        if payload_json is not None:
            payload = json.loads(payload_json)
        body = canonical_json({**(payload or {}), **(marks or {})})
    digest = event_hash(
        seq=seq,
        ts=ts,
        actor=actor,
        action=action,
        subject=subject,
        payload=body,
        prev_hash=head.hash,
        key=key if seq >= head.keyed_from else None,
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
    for row in anchors:
        row.audit_seq = seq
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
    until: datetime | None = None
    """Only events before this moment."""
    after: int | None = None
    """Only events after this sequence number, oldest first, at most ``limit`` of them:
    a cursor that pages through the log from its start."""


def event_dict(ev: AuditEvent) -> dict[str, Any]:
    """An event as plain data, its payload parsed."""
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
    """Events matching ``flt``, oldest first (newest ``limit`` when a limit is set, the
    first ``limit`` after ``flt.after`` when a cursor is set)."""
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
        since = utc(flt.since).isoformat(timespec="microseconds")
        stmt = stmt.where(AuditEvent.ts >= since)
    if flt.until:
        until = utc(flt.until).isoformat(timespec="microseconds")
        stmt = stmt.where(AuditEvent.ts < until)
    if flt.after is not None:
        stmt = stmt.where(AuditEvent.seq > flt.after).order_by(AuditEvent.seq)
        if flt.limit is not None:
            stmt = stmt.limit(flt.limit)
        with db.session() as s:
            return [event_dict(e) for e in s.scalars(stmt).all()]
    if flt.limit is not None:
        if flt.limit < 1:
            raise InvalidInput(f"--limit must be at least 1, got {flt.limit}")
        stmt = stmt.order_by(AuditEvent.seq.desc()).limit(flt.limit)
        with db.session() as s:
            return [event_dict(e) for e in reversed(s.scalars(stmt).all())]
    with db.session() as s:
        return [event_dict(e) for e in s.scalars(stmt.order_by(AuditEvent.seq)).all()]


def stream_events(
    db: Database,
    after: int = 0,
    batch: int = 5000,
    progress: Callable[[int], None] | None = None,
) -> Iterator[ChainEvent]:
    """The events after sequence number ``after``, oldest first, read ``batch`` at a time
    (``progress`` is told each batch's size). Reads never take the write lock."""
    # Plain column tuples, not ORM objects: building 30,000 objects cost a
    # third of a full verification.
    cols = (
        AuditEvent.seq,
        AuditEvent.ts,
        AuditEvent.actor,
        AuditEvent.action,
        AuditEvent.subject,
        AuditEvent.payload,
        AuditEvent.prev_hash,
        AuditEvent.hash,
    )
    last = after
    while True:
        with db.reading(), db.session() as s:
            rows = s.execute(
                select(*cols).where(AuditEvent.seq > last).order_by(AuditEvent.seq).limit(batch)
            ).all()
        if not rows:
            return
        for r in rows:
            yield ChainEvent(*r)
        last = rows[-1][0]
        if progress is not None:
            progress(len(rows))


def head_of(db: Database) -> tuple[tuple[int, str] | None, int]:
    """``((seq, hash) | None, keyed_from)`` from the head row (``None``: no event yet)."""
    with db.session() as s:
        head = s.get(AuditHead, 1)
        if head is None:
            return None, 1
        return (head.seq, head.hash), head.keyed_from


def verify(db: Database) -> ChainReport:
    """Verify the whole chain, streaming it in batches."""
    head, keyed_from = head_of(db)
    needs_key = head is not None and head[0] >= keyed_from
    return verify_chain(
        stream_events(db),
        head,
        key=chain_key_of(db, create=False) if needs_key else None,
        keyed_from=keyed_from,
    )


def event_count(db: Database) -> int:
    """How many events the store holds."""
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent)) or 0


class IncrementalVerifier:
    """Verifies only the events added since its last successful check.

    It remembers the last verified ``(seq, hash)``; each call checks that the
    event there still has that hash and verifies the events after it. Edits
    to events before that position are found by a full :func:`verify`
    (``aims audit verify``) or a checkpoint, not by this cheap check, which is
    what the dashboard runs on every view.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._verified: tuple[int, str] | None = None
        self._lock = threading.Lock()
        #: Where the last call began: 0 when it walked the whole chain, else the
        #: seq up to which an earlier call of this verifier had verified it.
        self.verified_from = 0

    def __call__(self) -> ChainReport:
        """The chain's state now (the first call verifies it whole)."""
        with self._lock:
            start = self._verified
            if start is not None and not self._still_there(*start):
                start = None  # the verified prefix changed: fall back to a full walk
            self.verified_from = start[0] if start else 0
            head, keyed_from = head_of(self.db)
            needs_key = head is not None and head[0] >= keyed_from
            report = verify_chain(
                stream_events(self.db, after=start[0] if start else 0),
                head,
                key=chain_key_of(self.db, create=False) if needs_key else None,
                keyed_from=keyed_from,
                start=start,
            )
            if report.ok and head is not None:
                self._verified = head
            elif not report.ok:
                self._verified = None
            return report

    def _still_there(self, seq: int, digest: str) -> bool:
        """Whether the event at the verified position is unchanged (hash and content)."""
        with self.db.session() as s:
            row = s.scalar(select(AuditEvent).where(AuditEvent.seq == seq))
            head = s.get(AuditHead, 1)
        if row is None or row.hash != digest:
            return False
        keyed = head is not None and seq >= head.keyed_from
        event = ChainEvent(
            row.seq,
            row.ts,
            row.actor,
            row.action,
            row.subject,
            row.payload,
            row.prev_hash,
            row.hash,
        )
        return event.recompute(key=chain_key_of(self.db, create=False) if keyed else None) == digest
