"""The audit log as the dashboard pages it: filters, cursor paging and export.

A page is read off an index, whatever the size of the log: events are ordered
by ``seq`` and each filter's index has ``seq`` second (migration 0009), so the
newest 50 events of an actor with 200,000 events cost what the newest 50 of
the whole log do. A time range becomes a range of ``seq`` through the index on
``ts`` (the chain appends events in time order). The cursor is a ``seq``:
``before`` pages towards older events, ``after`` towards newer ones; a page
never counts the whole log.

A viewer of one project sees the events about that project's models only.
With a model named that is one indexed query per subject (the model and each
of its versions); without, the page scans at most :data:`SCAN_LIMIT` events
and, if they held fewer matches than a page, says where it stopped so the
next page carries on from there.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from aims.services.list_query import PAGE_SIZES, query_link, read_query
from aims.services.view_export import export_chunks, parse_time
from aims.storage.schema import AuditEvent, Model, ModelVersion
from aims.workspace import Workspace

__all__ = ["COLUMNS", "PAGE_SIZES", "SCAN_LIMIT", "AuditQuery", "audit_page", "export"]

SCAN_LIMIT = 20_000
"""Events a project viewer's page scans at most before it says where it stopped."""
COLUMNS = ("seq", "ts", "actor", "action", "subject", "payload", "hash")


@dataclass(frozen=True)
class AuditQuery:
    """Filters and position of one page; :meth:`parse` reads them from a URL's query.

    ``action`` is an action (``model.promote``) or a prefix ending in ``*``
    (``model.*``); ``model`` is a model's name (its versions included).
    """

    actor: str = ""
    action: str = ""
    model: str = ""
    since: str = ""
    until: str = ""
    before: int | None = None
    after: int | None = None
    size: int = 50

    @classmethod
    def parse(cls, params: Mapping[str, str], *, extra: tuple[str, ...] = ()) -> AuditQuery:
        """Read and check the query; a wrong parameter raises :class:`InvalidInput`."""
        q = read_query(
            params,
            fields=cls.__dataclass_fields__,
            listing="audit log",
            cursor="an event number (#seq)",
            extra=extra,
            lengths={"actor": 200, "action": 100, "model": 200},
        )
        return cls(**q.values(cls()))

    def bounds_of_time(self) -> tuple[Any, Any]:
        """``since`` and ``until`` as aware times (``None``: unbounded)."""
        return parse_time(self.since, "since"), parse_time(self.until, "until", end=True)

    def link(self, **position: int) -> str:
        """The query string of these filters at ``position`` (``before=`` or ``after=``)."""
        return query_link(self, **position)


def _seq_range(s: Session, q: AuditQuery) -> tuple[int | None, int | None]:
    """The ``seq`` range (inclusive) of ``q``'s time range, by the index on ``ts``."""
    since, until = q.bounds_of_time()
    lo = hi = None
    if since is not None:
        lo = s.scalar(
            select(AuditEvent.seq)
            .where(AuditEvent.ts >= since.isoformat(timespec="microseconds"))
            .order_by(AuditEvent.ts)
            .limit(1)
        )
        lo = lo if lo is not None else 2**62  # nothing since then
    if until is not None:
        hi = s.scalar(
            select(AuditEvent.seq)
            .where(AuditEvent.ts < until.isoformat(timespec="microseconds"))
            .order_by(AuditEvent.ts.desc())
            .limit(1)
        )
        hi = hi if hi is not None else 0
    return lo, hi


def _filtered(q: AuditQuery, lo: int | None, hi: int | None) -> Select[AuditEvent]:
    stmt = select(AuditEvent)
    if q.actor:
        stmt = stmt.where(AuditEvent.actor == q.actor)
    if q.action and not q.action.endswith("*"):
        stmt = stmt.where(AuditEvent.action == q.action)
    if lo is not None:
        stmt = stmt.where(AuditEvent.seq >= lo)
    if hi is not None:
        stmt = stmt.where(AuditEvent.seq <= hi)
    return stmt


def _actions(s: Session, action: str) -> list[str] | None:
    """The actions a ``prefix*`` filter stands for (``None``: no prefix filter).

    Each is found by one index seek past the one before, so listing them
    costs the number of actions, not of events; each is then paged off its
    own index and the pages are merged.
    """
    if not action.endswith("*") or action == "*":
        return None
    prefix = action[:-1]
    found: list[str] = []
    last = prefix
    while len(found) < 200:
        nxt = s.scalar(
            select(AuditEvent.action)
            .where(
                AuditEvent.action >= last if not found else AuditEvent.action > last,
                AuditEvent.action < prefix + "\uffff",
            )
            .order_by(AuditEvent.action)
            .limit(1)
        )
        if nxt is None:
            break
        found.append(nxt)
        last = nxt
    return found


def _subjects(s: Session, model: str, scope: str | None) -> list[str]:
    from aims.errors import NotFound

    row = s.execute(select(Model.id, Model.project).where(Model.name == model)).first()
    if row is None or (scope is not None and row.project != scope):
        raise NotFound(f"model {model!r} is not registered; see 'aims model list'")
    versions = s.scalars(select(ModelVersion.version).where(ModelVersion.model_id == row.id))
    return [f"model:{model}", *(f"model:{model}@{v}" for v in versions)]


def _fetch(s: Session, stmt: Select[AuditEvent], q: AuditQuery, n: int) -> list[AuditEvent]:
    """Up to ``n`` events of ``stmt`` beyond the cursor, nearest the cursor first.

    After ``after`` that is oldest first; otherwise newest first.
    """
    if q.after is not None:
        return list(
            s.scalars(stmt.where(AuditEvent.seq > q.after).order_by(AuditEvent.seq).limit(n))
        )
    if q.before is not None:
        stmt = stmt.where(AuditEvent.seq < q.before)
    return list(s.scalars(stmt.order_by(AuditEvent.seq.desc()).limit(n)))


def audit_page(ws: Workspace, scope: str | None, q: AuditQuery) -> dict[str, Any]:
    """One page of events for ``q``, newest first, with links to the pages around it.

    ``older`` and ``newer`` are query strings (``None``: no such page);
    ``scanned_to`` is set when a project viewer's page stopped scanning
    before it was full (its ``older`` link carries on from there).
    """
    from aims.services.audit import event_dict

    n = q.size + 1  # one more tells whether the direction goes on
    stopped_at: int | None = None
    with ws.db.session() as s:
        lo, hi = _seq_range(s, q)
        base = _filtered(q, lo, hi)
        subjects = _subjects(s, q.model, scope) if q.model else None
        actions = _actions(s, q.action)
        branches: list[Select[AuditEvent]] = [
            base.where(*([] if x is None else [AuditEvent.subject == x])).where(
                *([] if a is None else [AuditEvent.action == a])
            )
            for x in ([*subjects] if subjects else [None])
            for a in ([*actions] if actions is not None else [None])
        ]

        def fetch(cursor: AuditQuery, k: int) -> list[AuditEvent]:
            if len(branches) == 1:
                return _fetch(s, branches[0], cursor, k)
            parts = [_fetch(s, branch, cursor, k) for branch in branches]
            merged = heapq.merge(*parts, key=lambda e: e.seq, reverse=cursor.after is None)
            return list(merged)[:k]

        if scope is not None and subjects is None:
            events, stopped_at = _scan_project(s, fetch, q, n, scope)
        else:
            events = fetch(q, n)
        goes_on = len(events) > q.size
        events = events[: q.size]
        shown = sorted(events, key=lambda e: e.seq, reverse=True)
        rows = [event_dict(e) for e in shown]
        if not rows:
            older = newer = stopped_at is not None and q.after is None
        elif q.after is not None:
            newer = goes_on
            older = q.after > 0 and bool(fetch(replace(q, after=None, before=rows[-1]["seq"]), 1))
        else:
            older = goes_on or stopped_at is not None
            newer = q.before is not None and bool(
                fetch(replace(q, before=None, after=rows[0]["seq"]), 1)
            )
    older_from = stopped_at if stopped_at is not None and (not rows or len(rows) < q.size) else None
    if older_from is None and rows:
        older_from = rows[-1]["seq"]
    return {
        "events": rows,
        "query": q,
        "older": q.link(before=older_from) if older and older_from is not None else None,
        "newer": q.link(after=rows[0]["seq"]) if newer and rows else None,
        "newest": q.link(),
        "oldest": q.link(after=0),
        "scanned_to": stopped_at,
    }


def _scan_project(
    s: Session, fetch: Any, q: AuditQuery, n: int, scope: str
) -> tuple[list[AuditEvent], int | None]:
    """Events about ``scope``'s models beyond ``q``'s cursor, scanning at most :data:`SCAN_LIMIT`.

    Returns the events (nearest the cursor first) and, when the scan stopped
    before finding ``n``, the ``seq`` it stopped at (paging older only).
    """
    own = set(s.scalars(select(Model.name).where(Model.project == scope)))
    found: list[AuditEvent] = []
    cursor = q
    scanned = 0
    while scanned < SCAN_LIMIT:
        batch = fetch(cursor, 2000)
        if not batch:
            return found, None
        scanned += len(batch)
        found += [e for e in batch if _model_of(e.subject) in own]
        if len(found) >= n:
            return found[:n], None
        edge = batch[-1].seq
        cursor = replace(cursor, after=edge) if q.after is not None else replace(q, before=edge)
    return found, (cursor.before if q.after is None else None)


def _model_of(subject: str) -> str | None:
    kind, _, rest = subject.partition(":")
    return rest.split("@", 1)[0] if kind == "model" else None


def export(ws: Workspace, scope: str | None, q: AuditQuery, fmt: str) -> Iterator[str]:
    """Every event matching ``q``'s filters (not only its page), oldest first, as text chunks."""
    with ws.db.session() as s:
        subjects = _subjects(s, q.model, scope) if q.model else None
        own = (
            set(s.scalars(select(Model.name).where(Model.project == scope)))
            if scope is not None
            else None
        )
        lo, hi = _seq_range(s, q)
        actions = _actions(s, q.action)

    def rows() -> Iterator[dict[str, Any]]:
        last = 0
        while True:
            with ws.db.session() as s:
                stmt = _filtered(q, lo, hi).where(AuditEvent.seq > last)
                if subjects is not None:
                    stmt = stmt.where(AuditEvent.subject.in_(subjects))
                if actions is not None:
                    stmt = stmt.where(AuditEvent.action.in_(actions or [""]))
                batch = list(s.scalars(stmt.order_by(AuditEvent.seq).limit(5000)))
                for e in batch:
                    if own is None or _model_of(e.subject) in own:
                        yield {
                            "seq": e.seq,
                            "ts": e.ts,
                            "actor": e.actor,
                            "action": e.action,
                            "subject": e.subject,
                            "payload": json.loads(e.payload),
                            "hash": e.hash,
                        }
            if len(batch) < 5000:
                return
            last = batch[-1].seq

    return export_chunks(rows(), COLUMNS, fmt)
