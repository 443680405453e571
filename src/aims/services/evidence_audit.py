"""What the evidence report reads from the audit log: the chain's state, each model's events.

Both read by index or in bounded batches: the log holds a million events on a
large workspace, most of them the monitor's, and none of the report's reads
may scan it once per model.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from aims.core.standards.facts import AuditFacts, BreakGlass, EventRef
from aims.storage.schema import AuditEvent
from aims.workspace import Workspace

if TYPE_CHECKING:
    from aims.services.audit import IncrementalVerifier

__all__ = ["GOVERNANCE_ACTIONS", "audit_facts", "events_by_model"]

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


def audit_facts(ws: Workspace, chain: IncrementalVerifier | None = None) -> AuditFacts:
    """The chain's state (walked whole, or from where ``chain`` last stopped) and break-glass writes."""
    from aims.services.audit import verify

    # No verifier: walk the whole chain. A long-lived verifier (the dashboard's)
    # walks only the events added since its last walk, after checking that the
    # event it stopped at is unchanged; the report says which it did.
    report = verify(ws.db) if chain is None else chain()
    return AuditFacts(
        ok=report.ok,
        n_events=report.n_events,
        head_seq=report.head_seq,
        problem=report.problem.message if report.problem else None,
        problem_seq=report.problem.seq if report.problem else None,
        verified_from=0 if chain is None or not report.ok else chain.verified_from,
        break_glass=_break_glass(ws),
    )


def _break_glass(ws: Workspace) -> tuple[BreakGlass, ...]:
    """Events written by commands forced past team mode (their payload says so)."""
    # Payloads are canonical JSON (sorted keys, no spaces): the flag reads exactly so.
    with ws.db.session() as s:
        rows = s.execute(
            select(AuditEvent.seq, AuditEvent.actor, AuditEvent.action, AuditEvent.payload)
            .where(AuditEvent.payload.contains('"break_glass":true'))
            .order_by(AuditEvent.seq)
        ).all()
    out = []
    for seq, actor, action, payload in rows:
        body = json.loads(payload)
        if body.get("break_glass") is True:
            out.append(BreakGlass(seq, actor, action, str(body.get("break_glass_reason", ""))))
    return tuple(out)


def events_by_model(s: Session, names: Sequence[str]) -> dict[str, tuple[EventRef, ...]]:
    """The governance events of every model in ``names``, oldest first, in one query.

    The query reads the ``(action, seq)`` index (equality on each governance
    action), so its cost follows the governance events, not the whole audit
    log, whose bulk is the monitor's per-window events. The subject is matched
    here rather than in SQL: a range on ``subject`` depends on the database's
    collation, and a ``LIKE`` treats ``_`` in names as a wildcard. A subject is
    a model's when it is ``model:NAME`` or starts with ``model:NAME@``.
    """
    wanted = set(names)
    out: dict[str, list[EventRef]] = {n: [] for n in names}
    if not wanted:
        return {}
    rows = s.execute(
        select(
            AuditEvent.seq,
            AuditEvent.ts,
            AuditEvent.actor,
            AuditEvent.action,
            AuditEvent.subject,
            AuditEvent.payload,
        ).where(AuditEvent.action.in_(GOVERNANCE_ACTIONS))
    ).all()
    # Sorted here: an ORDER BY seq lets SQLite prefer walking the whole table in seq order.
    rows = sorted(rows, key=lambda r: r[0])
    for seq, ts, actor, action, subject, payload in rows:
        if not subject.startswith("model:"):
            continue
        rest = subject[len("model:") :]
        owners = {rest} & wanted
        # A name may itself hold '@': every prefix before an '@' may be the model.
        at = rest.find("@")
        while at != -1:
            if rest[:at] in wanted:
                owners.add(rest[:at])
            at = rest.find("@", at + 1)
        if not owners:
            continue
        ref = EventRef(seq, ts, actor, action, subject, json.loads(payload))
        for name in owners:
            out[name].append(ref)
    return {n: tuple(refs) for n, refs in out.items()}
