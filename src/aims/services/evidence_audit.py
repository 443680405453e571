"""What the evidence report reads from the audit log: the chain's state, each model's events.

The report reads the events it cites from the facts kept as the log grows
(:mod:`aims.services.evidence_facts`). Reading them straight from the log,
as :func:`events_by_model` and ``audit_facts(..., read_log=True)`` do, is
what those facts are checked against: both must judge every control alike.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from aims.core.standards.facts import AuditFacts, BreakGlass, EventRef
from aims.services import evidence_facts
from aims.services.evidence_facts import GOVERNANCE_ACTIONS, owners
from aims.storage.schema import AuditEvent
from aims.workspace import Workspace

if TYPE_CHECKING:
    from aims.services.audit import IncrementalVerifier
    from aims.services.evidence_chain import StoredChainCheck

__all__ = ["GOVERNANCE_ACTIONS", "audit_facts", "events_by_model"]


def audit_facts(
    ws: Workspace,
    chain: IncrementalVerifier | StoredChainCheck | None = None,
    *,
    read_log: bool = False,
) -> AuditFacts:
    """The chain's state (walked whole, or from where ``chain`` last stopped) and break-glass
    writes (from the facts, or scanned out of the whole log with ``read_log``)."""
    from aims.services.audit import verify

    # No verifier: walk the whole chain. A long-lived verifier (the dashboard's)
    # walks only the events added since its last walk, after checking that the
    # event it stopped at is unchanged; the report says which it did.
    report = verify(ws.db) if chain is None else chain()
    if read_log:
        forced = _break_glass(ws)
    else:
        with ws.db.reading(), ws.db.session() as s:
            forced = evidence_facts.break_glass(s)
    return AuditFacts(
        ok=report.ok,
        n_events=report.n_events,
        head_seq=report.head_seq,
        problem=report.problem.message if report.problem else None,
        problem_seq=report.problem.seq if report.problem else None,
        verified_from=0 if chain is None or not report.ok else chain.verified_from,
        break_glass=forced,
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
        found = owners(subject, wanted)
        if not found:
            continue
        ref = EventRef(seq, ts, actor, action, subject, json.loads(payload))
        for name in found:
            out[name].append(ref)
    return {n: tuple(refs) for n, refs in out.items()}
