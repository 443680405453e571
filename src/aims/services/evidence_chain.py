"""The audit chain's walk for the evidence report, remembered in the store.

A walk of a million events takes minutes. :class:`StoredChainCheck` walks
only the events after the newest walk recorded in ``evidence_progress`` (by
any process: a server, ``aims report compliance``), after checking that the
event it stopped at is unchanged, and records where it stopped. So a
server's first report after a restart does not walk the whole chain again,
and the evidence page can say when the chain was last verified and up to
which event (:func:`last_walk`). ``full=True`` walks from the first event,
as ``aims audit verify`` does, and records that walk too.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from aims.core.audit import ChainEvent, ChainReport, verify_chain
from aims.services.audit import chain_key_of, head_of, stream_events
from aims.storage.db import Database
from aims.storage.schema import AuditEvent, EvidenceProgress

__all__ = ["LastWalk", "StoredChainCheck", "last_walk"]

#: Events read per query during a walk.
BATCH = 5000


@dataclass(frozen=True)
class LastWalk:
    """The newest recorded walk of the chain."""

    seq: int
    """Verified up to this event."""
    ok: bool
    at: dt.datetime | None
    problem: str | None = None


def last_walk(db: Database) -> LastWalk | None:
    """The newest recorded walk of the chain (``None``: never walked by the evidence report)."""
    with db.session() as s:
        row = s.get(EvidenceProgress, 1)
        if row is None or row.chain_seq is None:
            return None
        return LastWalk(row.chain_seq, bool(row.chain_ok), row.chain_at, row.chain_problem)


class StoredChainCheck:
    """Verifies the chain from the newest recorded walk on; callable like
    :class:`~aims.services.audit.IncrementalVerifier`.

    ``progress`` is told how many events each batch of the walk held (a
    progress bar); ``verified_from`` is where the last call began (0: the
    whole chain).
    """

    def __init__(
        self,
        db: Database,
        *,
        full: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.db = db
        self.full = full
        self.progress = progress
        self.verified_from = 0
        self._lock = threading.Lock()

    def _start(self) -> tuple[int, str] | None:
        """The recorded verified position, if its event is still the one verified."""
        if self.full:
            return None
        with self.db.reading(), self.db.session() as s:
            row = s.get(EvidenceProgress, 1)
            if row is None or not row.chain_ok or row.chain_seq is None or not row.chain_hash:
                return None
            seq, digest = row.chain_seq, row.chain_hash
            ev = s.scalar(select(AuditEvent).where(AuditEvent.seq == seq))
            if ev is None or ev.hash != digest:
                return None
            event = ChainEvent(
                ev.seq, ev.ts, ev.actor, ev.action, ev.subject, ev.payload, ev.prev_hash, ev.hash
            )
        _, keyed_from = head_of(self.db)
        key = chain_key_of(self.db, create=False) if seq >= keyed_from else None
        return (seq, digest) if event.recompute(key=key) == digest else None

    def __call__(self) -> ChainReport:
        """The chain's state now, walking only what no recorded walk covered."""
        with self._lock:
            start = self._start()
            self.verified_from = start[0] if start else 0
            head, keyed_from = head_of(self.db)
            needs_key = head is not None and head[0] >= keyed_from
            report = verify_chain(
                stream_events(self.db, start[0] if start else 0, BATCH, self.progress),
                head,
                key=chain_key_of(self.db, create=False) if needs_key else None,
                keyed_from=keyed_from,
                start=start,
            )
            self._record(report, head)
            return report

    def _record(self, report: ChainReport, head: tuple[int, str] | None) -> None:
        with self.db.session() as s:
            row = s.get(EvidenceProgress, 1)
            if row is None:
                row = EvidenceProgress(id=1, facts_seq=0)
                s.add(row)
            row.chain_ok = report.ok
            row.chain_seq = report.head_seq
            row.chain_hash = head[1] if head is not None and report.ok else None
            row.chain_problem = report.problem.message if report.problem else None
            row.chain_problem_seq = report.problem.seq if report.problem else None
            row.chain_at = dt.datetime.now(dt.UTC)
