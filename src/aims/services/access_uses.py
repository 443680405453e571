"""When each principal and each key last acted, kept as the audit log grows.

The access review judges a grant by the newest act of its principal (or of
one of its keys) on the grant's project, and a key by the newest token
issued for it. :func:`catch_up` folds the audit events appended since its
last call (by ``seq``, in batches) into ``access_last_use``: one row per
(principal or ``apikey:<id>``, subject) naming the newest such event.
:func:`last_uses` reads those rows, checks each against the event it names
(a row written straight into the table counts for nothing), and maps
subjects to projects when the review is made, so a model registered later
still finds its acts.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aims.clock import utc
from aims.services.evidence_facts import logged_events, progress_row
from aims.storage.db import Database
from aims.storage.schema import AccessLastUse, AuditEvent, AuditHead

__all__ = ["BATCH", "catch_up", "last_uses", "use_of"]

#: Events read per transaction while catching up: bounds how long the write lock is held.
BATCH = 20_000

#: Acts that say nothing of the actor's own use of a grant.
_NOT_USES = ("server.access.denied",)


def use_of(actor: str, action: str, subject: str) -> tuple[str, str] | None:
    """``(who, subject)`` an event counts as a use for, or ``None``.

    A token issued for a key is a use of the key (on nothing of a project,
    subject ``""``); a refusal is no use; every other act is its actor's on
    its subject.
    """
    if action in _NOT_USES:
        return None
    if action == "server.token.issued":
        return (subject, "") if subject.startswith("apikey:") else None
    return actor, subject


def _fold(s: Session, rows: Sequence[Any]) -> None:
    newest: dict[tuple[str, str], tuple[int, str]] = {}
    for seq, ts, actor, action, subject in rows:
        key = use_of(actor, action, subject)
        if key is not None:
            held = newest.get(key)
            if held is None or seq > held[0]:
                newest[key] = (seq, ts)
    whos = sorted({who for who, _ in newest})
    held_rows: dict[tuple[str, str], AccessLastUse] = {}
    for i in range(0, len(whos), 500):
        for row in s.scalars(select(AccessLastUse).where(AccessLastUse.who.in_(whos[i : i + 500]))):
            held_rows[(row.who, row.subject)] = row
    for (who, subject), (seq, ts) in newest.items():
        kept = held_rows.get((who, subject))
        if kept is None:
            s.add(AccessLastUse(who=who, subject=subject, seq=seq, ts=ts))
        elif seq > kept.seq:
            kept.seq, kept.ts = seq, ts


def catch_up(db: Database, batch: int = BATCH) -> int:
    """Fold the events appended since the last call; the seq now read up to.

    Each batch is one short write transaction that re-reads where the fold
    stands, so concurrent callers never fold an event twice.
    """
    while True:
        with db.session() as s:
            progress = progress_row(s)
            head = s.scalar(select(AuditHead.seq).where(AuditHead.id == 1)) or 0
            start = progress.uses_seq or 0
            if start >= head:
                return start
            end = min(head, start + batch)
            rows = s.execute(
                select(
                    AuditEvent.seq,
                    AuditEvent.ts,
                    AuditEvent.actor,
                    AuditEvent.action,
                    AuditEvent.subject,
                ).where(AuditEvent.seq > start, AuditEvent.seq <= end)
            ).all()
            _fold(s, rows)
            progress.uses_seq = end


def last_uses(
    s: Session, project_of: Callable[[str], str | None]
) -> dict[str, dict[str | None, dt.datetime]]:
    """For every principal and key: the newest act per project (``None``: on nothing of one).

    Read from ``access_last_use`` (bring it up to date with :func:`catch_up`
    first); ``project_of`` maps an audit subject to its project.
    """
    rows = s.execute(
        select(AccessLastUse.who, AccessLastUse.subject, AccessLastUse.seq, AccessLastUse.ts)
    ).all()
    logged = logged_events(s, [r.seq for r in rows])
    uses: dict[str, dict[str | None, dt.datetime]] = defaultdict(dict)
    for who, subject, seq, ts in rows:
        event = logged.get(seq)
        if event is None or event[0] != ts or use_of(*event[1:4]) != (who, subject):
            continue  # a row its audit event does not vouch for
        project = project_of(subject) if subject else None
        stamp = utc(dt.datetime.fromisoformat(ts))
        seen = uses[who].get(project)
        if seen is None or stamp > seen:
            uses[who][project] = stamp
    return uses
