"""Incidents as the dashboard pages them: filters, cursor paging and export.

Incidents are ordered by id, newest first (ids follow the order they were
opened); ``before`` and ``after`` are ids, like the audit log's cursors. A
viewer of one project sees that project's incidents only, whether they are
about a model or about something else of the project (an MCP server, an
agent).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Select, select

from aims.errors import NotFound
from aims.services.incident_subject import SUBJECT_KINDS
from aims.services.list_query import query_link, read_query
from aims.services.view_export import export_chunks, parse_time
from aims.storage.schema import Incident, Model
from aims.workspace import Workspace

__all__ = [
    "COLUMNS",
    "SEVERITIES",
    "STATUSES",
    "SUBJECT_KINDS",
    "IncidentQuery",
    "export",
    "incident_page",
]

STATUSES = ("active", "open", "acked", "resolved", "all")
SEVERITIES = ("critical", "high", "medium", "low")
COLUMNS = (
    "id",
    "project",
    "subject_kind",
    "subject",
    "model",
    "version",
    "severity",
    "status",
    "kind",
    "trigger",
    "owner",
    "summary",
    "opened_at",
    "acked_at",
    "acked_by",
    "time_to_ack_seconds",
    "resolved_at",
    "resolved_by",
    "time_to_resolve_seconds",
    "resolution",
    "actions",
)


@dataclass(frozen=True)
class IncidentQuery:
    """Filters and position of one page of incidents; :meth:`parse` reads a URL's query."""

    model: str = ""
    subject_kind: str = ""
    severity: str = ""
    owner: str = ""
    since: str = ""
    until: str = ""
    # After the time range, where a link has always carried it.
    status: str = "all"
    before: int | None = None
    after: int | None = None
    size: int = 50

    @classmethod
    def parse(cls, params: Mapping[str, str], *, extra: tuple[str, ...] = ()) -> IncidentQuery:
        """Read and check the query; a wrong parameter raises :class:`InvalidInput`."""
        q = read_query(
            params,
            fields=cls.__dataclass_fields__,
            listing="incidents",
            cursor="an incident number",
            extra=extra,
            choices={"status": STATUSES, "severity": SEVERITIES, "subject_kind": SUBJECT_KINDS},
            lengths={"model": 200, "owner": 200},
        )
        return cls(**q.values(cls()))

    def link(self, **position: int) -> str:
        """The query string of these filters at ``position`` (``before=`` or ``after=``)."""
        return query_link(self, **position)


def _filtered(q: IncidentQuery, scope: str | None) -> Select[Incident, str | None]:
    stmt = select(Incident, Model.name).outerjoin(Model, Model.id == Incident.model_id)
    if scope is not None:
        stmt = stmt.where(Incident.project == scope)
    if q.model:
        stmt = stmt.where(Model.name == q.model)
    if q.subject_kind:
        stmt = stmt.where(Incident.subject_kind == q.subject_kind)
    if q.status == "active":
        stmt = stmt.where(Incident.status != "resolved")
    elif q.status != "all":
        stmt = stmt.where(Incident.status == q.status)
    if q.severity:
        stmt = stmt.where(Incident.severity == q.severity)
    if q.owner:
        stmt = stmt.where(Incident.owner == q.owner)
    since, until = parse_time(q.since, "since"), parse_time(q.until, "until", end=True)
    if since is not None:
        stmt = stmt.where(Incident.opened_at >= since)
    if until is not None:
        stmt = stmt.where(Incident.opened_at < until)
    return stmt


def incident_page(ws: Workspace, scope: str | None, q: IncidentQuery) -> dict[str, Any]:
    """One page of incidents for ``q``, newest first, with links to the pages around it."""
    from aims.services.monitor.incidents import incident_payload

    with ws.db.session() as s:
        if q.model:
            project = s.scalar(select(Model.project).where(Model.name == q.model))
            if project is None or (scope is not None and project != scope):
                raise NotFound(f"model {q.model!r} is not registered; see 'aims model list'")
        base = _filtered(q, scope)

        def fetch(cursor: IncidentQuery, k: int) -> list[tuple[Incident, str | None]]:
            if cursor.after is not None:
                stmt = base.where(Incident.id > cursor.after).order_by(Incident.id)
            else:
                stmt = base.order_by(Incident.id.desc())
                if cursor.before is not None:
                    stmt = stmt.where(Incident.id < cursor.before)
            return [(i, n) for i, n in s.execute(stmt.limit(k)).all()]

        found = fetch(q, q.size + 1)
        goes_on = len(found) > q.size
        shown = sorted(found[: q.size], key=lambda r: r[0].id, reverse=True)
        rows = [incident_payload(inc, name) for inc, name in shown]
        older = newer = False
        if rows and q.after is not None:
            newer = goes_on
            older = bool(fetch(replace(q, after=None, before=rows[-1]["id"]), 1))
        elif rows:
            older = goes_on
            newer = q.before is not None and bool(
                fetch(replace(q, before=None, after=rows[0]["id"]), 1)
            )
    return {
        "incidents": rows,
        "query": q,
        "older": q.link(before=rows[-1]["id"]) if older else None,
        "newer": q.link(after=rows[0]["id"]) if newer else None,
        "newest": q.link(),
    }


def export(ws: Workspace, scope: str | None, q: IncidentQuery, fmt: str) -> Iterator[str]:
    """Every incident matching ``q``'s filters (not only its page), oldest first, as text."""
    from aims.services.monitor.incidents import incident_payload

    def rows() -> Iterator[dict[str, Any]]:
        last = 0
        while True:
            with ws.db.session() as s:
                batch = s.execute(
                    _filtered(q, scope).where(Incident.id > last).order_by(Incident.id).limit(1000)
                ).all()
                payloads = [incident_payload(inc, name) for inc, name in batch]
            yield from payloads
            if len(batch) < 1000:
                return
            last = payloads[-1]["id"]

    return export_chunks(rows(), COLUMNS, fmt)
