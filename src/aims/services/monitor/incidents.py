"""Incidents: opened when a trigger fires, owned by the model's monitoring owner, closed by people.

The monitor's incidents are about a model version; others (a changed tool of
an MCP server, a burst of refused calls by an agent) name a subject that is no
model (see :mod:`aims.services.incident_subject`), and are acknowledged and
resolved the same way.

An incident is ``open`` until someone acknowledges it (``acked``) and then
``resolved`` with a note naming the root cause and the corrective action.

No duplicates, by construction:

* while an incident of a trigger is not resolved, later firings of the same
  trigger (same model version and role) are added to it as further windows;
* a window that is already part of an incident of that trigger never opens
  another one, so re-running the monitor over the same windows (or
  recomputing them when late labels arrive) changes nothing;
* the ``dedupe_key`` (model, version, role, trigger, first window) is unique
  in the database, so two monitors racing on one window cannot both open it.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aims.clock import utc
from aims.errors import Conflict, InvalidInput, NotFound
from aims.services import audit
from aims.services.incident_subject import SUBJECT_KINDS, audit_subject, subject_label
from aims.storage.schema import Incident, Model

STATUSES = ("open", "acked", "resolved")
#: Windows kept in an incident's evidence (the oldest are summarised by a count).
MAX_EVIDENCE_WINDOWS = 200


def dedupe_key(
    model_id: int, version: int, role: str, trigger: str, start: datetime, seconds: int
) -> str:
    """The unique key of the incident a firing on this window would open."""
    return f"m{model_id}/v{version}/{role}/{trigger}/{start.strftime('%Y%m%dT%H%M%S')}/{seconds}"


def _window_entry(start: datetime, seconds: int, observed: dict[str, Any]) -> dict[str, Any]:
    return {"start": start.isoformat(), "seconds": seconds, "observed": observed}


def _has_window(incident: Incident, start: datetime, seconds: int) -> bool:
    stamp = start.isoformat()
    return any(
        w["start"] == stamp and w["seconds"] == seconds
        for w in (incident.evidence or {}).get("windows", [])
    )


def record_firing(
    s: Session,
    *,
    model: Model,
    version: int,
    role: str,
    trigger: Any,
    start: datetime,
    seconds: int,
    observed: dict[str, Any],
    owner: str | None,
    actions: list[dict[str, Any]],
    actor: str,
    now: datetime,
) -> tuple[Incident, bool] | None:
    """Open an incident for a firing, or add the window to the open one.

    Returns ``(incident, opened)``, or ``None`` when this window is already
    part of an incident of the trigger (nothing changes then).
    """
    rows = s.scalars(
        select(Incident).where(
            Incident.model_id == model.id,
            Incident.version == version,
            Incident.trigger == trigger.name,
        )
    ).all()
    mine = [r for r in rows if (r.evidence or {}).get("role") == role]
    if any(_has_window(r, start, seconds) for r in mine):
        return None
    entry = _window_entry(start, seconds, observed)
    subject = f"model:{model.name}@{version}"

    def fired(incident: Incident, *, new: bool) -> None:
        # One audit event per firing window, whether it opened the incident or joined it.
        audit.record(
            s,
            actor=actor,
            action="monitor.trigger.fired",
            subject=subject,
            payload={
                "trigger": trigger.name,
                "role": role,
                "window": entry["start"],
                "incident": incident.id,
                "observed": observed,
                "new_incident": new,
            },
        )

    live = next((r for r in mine if r.status != "resolved"), None)
    if live is not None:
        evidence = dict(live.evidence)
        windows = [*evidence.get("windows", []), entry]
        windows.sort(key=lambda w: w["start"])
        evidence["dropped_windows"] = evidence.get("dropped_windows", 0) + max(
            0, len(windows) - MAX_EVIDENCE_WINDOWS
        )
        evidence["windows"] = windows[-MAX_EVIDENCE_WINDOWS:]
        evidence["window_count"] = evidence.get("window_count", 1) + 1
        evidence["last_window"] = max(evidence.get("last_window", entry["start"]), entry["start"])
        live.evidence = evidence
        fired(live, new=False)
        return live, False
    condition = trigger.condition.text()
    summary = (
        f"{trigger.name}: {condition} on {model.name}@{version} ({role}), "
        f"window {start.isoformat()}"
    )
    incident = Incident(
        dedupe_key=dedupe_key(model.id, version, role, trigger.name, start, seconds),
        model_id=model.id,
        project=model.project,
        subject_kind="model",
        subject=model.name,
        version=version,
        trigger=trigger.name,
        kind=trigger.incident_kind,
        severity=trigger.severity,
        status="open",
        owner=owner,
        summary=summary,
        evidence={
            "role": role,
            "condition": condition,
            "window_seconds": seconds,
            "first_window": entry["start"],
            "last_window": entry["start"],
            "window_count": 1,
            "windows": [entry],
        },
        actions=actions,
        opened_at=now,
    )
    s.add(incident)
    s.flush()
    fired(incident, new=True)
    audit.record(
        s,
        actor=actor,
        action="incident.open",
        subject=subject,
        payload={
            "incident": incident.id,
            "trigger": trigger.name,
            "kind": incident.kind,
            "severity": incident.severity,
            "owner": owner,
            "role": role,
            "window": entry["start"],
            "actions": [a["type"] for a in actions],
        },
    )
    return incident, True


# --------------------------------------------------------------------------- people
def _seconds(a: datetime | None, b: datetime | None) -> float | None:
    if a is None or b is None:
        return None
    return (utc(b) - utc(a)).total_seconds()


def incident_payload(inc: Incident, model_name: str | None = None) -> dict[str, Any]:
    """An incident as a JSON-ready dict, with time to acknowledge and to resolve.

    ``model`` is the model's name, or ``None`` for an incident about no model;
    ``subject_kind``, ``subject`` and ``about`` (``"MCP server files"``) say
    what it is about either way.
    """
    ev = inc.evidence or {}
    if inc.model_id is None:
        model_name = None
    elif model_name is None:
        model_name = inc.subject
    return {
        "id": inc.id,
        "project": inc.project,
        "subject_kind": inc.subject_kind,
        "subject": inc.subject,
        "about": subject_label(inc.subject_kind, inc.subject),
        "model": model_name,
        "version": inc.version,
        "role": ev.get("role"),
        "trigger": inc.trigger,
        "kind": inc.kind,
        "severity": inc.severity,
        "status": inc.status,
        "owner": inc.owner,
        "summary": inc.summary,
        "condition": ev.get("condition"),
        "first_window": ev.get("first_window"),
        "last_window": ev.get("last_window"),
        "window_count": ev.get("window_count", len(ev.get("windows", []))),
        "evidence": ev,
        "actions": list(inc.actions or []),
        "opened_at": utc(inc.opened_at),
        "acked_at": utc(inc.acked_at),
        "acked_by": inc.acked_by,
        "resolved_at": utc(inc.resolved_at),
        "resolved_by": inc.resolved_by,
        "resolution": inc.resolution,
        "time_to_ack_seconds": _seconds(inc.opened_at, inc.acked_at),
        "time_to_resolve_seconds": _seconds(inc.opened_at, inc.resolved_at),
    }


def _get(s: Session, incident_id: int) -> Incident:
    inc = s.get(Incident, incident_id)
    if inc is None:
        raise NotFound(f"incident {incident_id} does not exist; see 'aims incidents list'")
    return inc


def list_incidents(
    ws: Any,
    *,
    status: str = "active",
    model: str | None = None,
    limit: int | None = None,
    subject_kind: str | None = None,
    projects: Collection[str] | None = None,
) -> list[dict[str, Any]]:
    """Incidents, newest first; ``status`` is open, acked, resolved, ``active`` (not resolved) or all.

    ``model`` keeps one model's incidents, ``subject_kind`` those about one kind
    of subject (``model``, ``mcp_server``, ``agent``, ...), ``projects`` those of
    these projects (``None``: every project).
    """
    if status not in (*STATUSES, "active", "all"):
        raise InvalidInput(f"status is one of {', '.join(STATUSES)}, active or all; got {status!r}")
    if subject_kind is not None and subject_kind not in SUBJECT_KINDS:
        raise InvalidInput(
            f"subject kind is one of {', '.join(SUBJECT_KINDS)}; got {subject_kind!r}"
        )
    with ws.db.session() as s:
        stmt = select(Incident, Model.name).outerjoin(Model, Model.id == Incident.model_id)
        if status == "active":
            stmt = stmt.where(Incident.status != "resolved")
        elif status != "all":
            stmt = stmt.where(Incident.status == status)
        if model is not None:
            stmt = stmt.where(Model.name == model)
        if subject_kind is not None:
            stmt = stmt.where(Incident.subject_kind == subject_kind)
        if projects is not None:
            stmt = stmt.where(Incident.project.in_(sorted(projects)))
        stmt = stmt.order_by(Incident.id.desc())
        if limit is not None:
            stmt = stmt.limit(limit)
        return [incident_payload(inc, name) for inc, name in s.execute(stmt).all()]


def show_incident(ws: Any, incident_id: int) -> dict[str, Any]:
    with ws.db.session() as s:
        inc = _get(s, incident_id)
        model = s.get(Model, inc.model_id) if inc.model_id is not None else None
        return incident_payload(inc, model.name if model is not None else None)


def ack_incident(ws: Any, incident_id: int, *, actor: str, note: str = "") -> dict[str, Any]:
    """Acknowledge an open incident: someone is on it."""
    with ws.db.session() as s:
        inc = _get(s, incident_id)
        if inc.status != "open":
            raise Conflict(f"incident {incident_id} is {inc.status}, not open; nothing changed")
        inc.status, inc.acked_at, inc.acked_by = "acked", audit.now_utc(), actor
        return _changed(
            s,
            inc,
            actor,
            "incident.ack",
            note=note,
            time_to_ack_seconds=_seconds(inc.opened_at, inc.acked_at),
        )


def resolve_incident(ws: Any, incident_id: int, *, actor: str, note: str) -> dict[str, Any]:
    """Resolve an incident with a note of the root cause and the corrective action.

    An open incident is acknowledged by the same person at the same time.
    """
    if not note or not note.strip():
        raise InvalidInput(
            "resolving needs a note: --note 'root cause: ...; corrective action: ...'"
        )
    with ws.db.session() as s:
        inc = _get(s, incident_id)
        if inc.status == "resolved":
            raise Conflict(f"incident {incident_id} is already resolved; nothing changed")
        now = audit.now_utc()
        if inc.acked_at is None:
            inc.acked_at, inc.acked_by = now, actor
        inc.status, inc.resolved_at, inc.resolved_by, inc.resolution = (
            "resolved",
            now,
            actor,
            note.strip(),
        )
        return _changed(
            s,
            inc,
            actor,
            "incident.resolve",
            resolution=inc.resolution,
            time_to_resolve_seconds=_seconds(inc.opened_at, now),
        )


def _changed(s: Session, inc: Incident, actor: str, action: str, **payload: Any) -> dict[str, Any]:
    """Audit a change of ``inc``'s status and return the incident as it is now."""
    audit.record(
        s,
        actor=actor,
        action=action,
        subject=audit_subject(inc),
        payload={"incident": inc.id, **payload},
    )
    s.flush()
    return incident_payload(inc)


__all__ = [
    "MAX_EVIDENCE_WINDOWS",
    "STATUSES",
    "ack_incident",
    "dedupe_key",
    "incident_payload",
    "list_incidents",
    "record_firing",
    "resolve_incident",
    "show_incident",
]
