"""Bursts of refused calls: a caller refused too often, too fast, opens a ``security`` incident.

The server notes every refused call (a role or project denial, an invalid key
or token) and writes the counts to the audit log in batches
(``server.access.denied``, one event per caller and interval; see
:mod:`aims.server.auth_events`). Each monitor pass sums, per caller, the
refusals of the events written in the last ``access.refused_window``; a caller
at or over ``access.refused_burst`` opens one incident of kind ``security``,
severity ``high``, for the owner of the caller's project.

*The caller* is the principal behind the key (``apikey:<id>`` subjects), else
the key, else the client address (calls with no usable key or token). *Its
project* is the key's project (the workspace's own project for a key of every
project or for an address). *The project's owner* is the enabled human holding
the highest grant on that project (one on the project itself before one on
every project), else the monitoring owner of the incident's model.

What the incident is about (its subject), in the caller's project:

* an agent (the MCP gateway notes each refusal of an agent's call under the
  agent's key): the agent, owned by its owner (else by the project's owner);
* else a model the refused paths named, when it is of that project;
* else the caller itself: a ``principal``, an ``api_key`` of no principal, or
  a ``client`` address.

Every burst is filed, whether or not the project has a model.

Once per burst: while refusals of a caller keep coming within the window of the
last ones counted, they are added to its incident instead of opening another.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError as DBIntegrityError
from sqlalchemy.orm import Session

from aims.clock import utc
from aims.core.roles import ALL_PROJECTS, role_rank
from aims.services import audit
from aims.services.access_settings import access_settings
from aims.services.grants import active_grants
from aims.storage.schema import ApiKey, AuditEvent, Incident, Model, ModelOwner, Principal

__all__ = ["TRIGGER", "scan_refusals"]

TRIGGER = "refused_calls"
"""The trigger name of a security incident opened for a burst of refused calls."""

_OTHERS = "client:(others)"  # the server's summary of callers beyond its per-flush bound


def _caller(s: Session, subject: str, default_project: str) -> tuple[str, str | None, str]:
    """``(caller, principal, project)`` of an audit subject of a refusal."""
    if subject.startswith("apikey:"):
        key = s.scalar(select(ApiKey).where(ApiKey.key_id == subject.removeprefix("apikey:")))
        if key is not None:
            holder = s.get(Principal, key.principal_id) if key.principal_id else None
            project = default_project if key.project == ALL_PROJECTS else key.project
            return (holder.name if holder else subject), (holder.name if holder else None), project
    return subject, None, default_project


def _owner(s: Session, project: str, model: Model | None) -> str | None:
    """The project's owner (see the module docstring)."""
    ranked = []
    for who in s.scalars(
        select(Principal).where(Principal.kind == "human", Principal.disabled_at.is_(None))
    ).all():
        for g in active_grants(s, who.id):
            if g.project in (project, ALL_PROJECTS):
                ranked.append((g.project != project, -role_rank(g.role), who.name))
    if ranked:
        return min(ranked)[2]
    if model is None:
        return None
    monitoring = s.scalar(
        select(ModelOwner.owner).where(
            ModelOwner.model_id == model.id, ModelOwner.role == "monitoring"
        )
    )
    return str(monitoring) if monitoring else None


def _model_in_path(path: str) -> str | None:
    """The model a ``/v1/models/NAME[/...]`` path names.

    >>> _model_in_path("/v1/models/churn/predict"), _model_in_path("/v1/keys")
    ('churn', None)
    """
    parts = path.split("/")
    if len(parts) >= 4 and parts[1:3] == ["v1", "models"] and parts[3]:
        return parts[3]
    return None


def _model(s: Session, project: str, paths: dict[str, int]) -> Model | None:
    named = {name for p in paths if (name := _model_in_path(p)) is not None}
    for name in sorted(named):
        model = s.scalar(select(Model).where(Model.name == name, Model.project == project))
        if model is not None:
            return model
    return None


def _subject(
    s: Session, caller: str, b: dict[str, Any]
) -> tuple[Model | None, str, str, str | None]:
    """``(model, subject_kind, subject, owner)`` of a burst's incident (see the module docstring)."""
    # The gateway notes an agent's refusals under the agent's name, the server under its key.
    held = s.scalar(select(Principal).where(Principal.name == (b["principal"] or caller)))
    if held is not None and held.kind == "agent":
        boss = s.get(Principal, held.owner_id) if held.owner_id else None
        return None, "agent", held.name, boss.name if boss else _owner(s, b["project"], None)
    model = _model(s, b["project"], b["paths"])
    if model is not None:
        return model, "model", model.name, _owner(s, b["project"], model)
    if held is not None:
        kind, name = "principal", held.name
    else:
        kind, _, name = caller.partition(":")
        kind = {"apikey": "api_key"}.get(kind, "client")
    return None, kind, name or caller, _owner(s, b["project"], None)


def scan_refusals(ws: Any, now: datetime | None = None, *, actor: str = "aims-monitor") -> dict:
    """Open (or extend) security incidents for bursts of refused calls; returns
    ``{"opened": [ids], "updated": [ids]}``."""
    settings = access_settings(ws)
    now = utc(now) if now is not None else audit.now_utc()
    since = now - timedelta(seconds=settings.refused_window_seconds)
    out: dict[str, list[Any]] = {"opened": [], "updated": []}
    with ws.db.session() as s:
        rows = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "server.access.denied", AuditEvent.ts >= since.isoformat())
            .order_by(AuditEvent.seq)
        ).all()
        bursts: dict[str, dict[str, Any]] = {}
        for ev in rows:
            if ev.subject == _OTHERS or utc(datetime.fromisoformat(ev.ts)) > now:
                continue
            body = json.loads(ev.payload)
            caller, principal, project = _caller(s, ev.subject, ws.settings.project)
            b = bursts.setdefault(
                caller,
                {
                    "principal": principal,
                    "project": project,
                    "count": 0,
                    "reasons": defaultdict(int),
                    "paths": defaultdict(int),
                    "subjects": set(),
                    "seqs": [],
                    "per_event": {},
                    "first": ev.ts,
                    "last": ev.ts,
                },
            )
            b["count"] += int(body.get("count", 0))
            for reason, n in (body.get("reasons") or {}).items():
                b["reasons"][reason] += int(n)
            for path, n in (body.get("paths") or {}).items():
                b["paths"][path] += int(n)
            b["subjects"].add(ev.subject)
            b["seqs"].append(ev.seq)
            b["per_event"][ev.seq] = int(body.get("count", 0))
            b["last"] = ev.ts
        for caller, b in sorted(bursts.items()):
            if b["count"] < settings.refused_burst:
                continue
            _file(s, ws, caller, b, now, settings.refused_window_seconds, actor, out)
    return out


def _file(
    s: Session,
    ws: Any,
    caller: str,
    b: dict[str, Any],
    now: datetime,
    window: float,
    actor: str,
    out: dict[str, list[Any]],
) -> None:
    """Add burst ``b`` of ``caller`` to its open burst's incident, or open one."""
    evidence = {
        "caller": caller,
        "principal": b["principal"],
        "project": b["project"],
        "count": b["count"],
        "reasons": dict(b["reasons"]),
        "paths": dict(sorted(b["paths"].items(), key=lambda kv: -kv[1])[:10]),
        "subjects": sorted(b["subjects"]),
        "window_seconds": window,
        "first": b["first"],
        "last": b["last"],
        "events": b["seqs"][-50:],
        "total": b["count"],
    }
    mine = [
        i
        for i in s.scalars(
            select(Incident).where(Incident.kind == "security", Incident.trigger == TRIGGER)
        ).all()
        if (i.evidence or {}).get("caller") == caller
    ]
    same = [
        i
        for i in mine
        if utc(datetime.fromisoformat(i.evidence["last"])) + timedelta(seconds=window)
        >= utc(datetime.fromisoformat(b["first"]))
    ]
    if same:
        incident = max(same, key=lambda i: i.id)
        if incident.evidence.get("last") == b["last"]:
            return  # nothing new since the last pass
        merged = dict(incident.evidence)
        seen = set(merged.get("events", []))
        fresh = [q for q in b["seqs"] if q not in seen]
        merged.update(evidence, first=merged.get("first", b["first"]))
        merged["events"] = sorted(seen | set(fresh))[-50:]
        # The window slides: refusals of events that left it stay in the incident's total.
        merged["total"] = incident.evidence["total"] + sum(b["per_event"][q] for q in fresh)
        incident.evidence = merged
        out["updated"].append(incident.id)
        return
    model, subject_kind, subject, owner = _subject(s, caller, b)
    reasons = ", ".join(f"{n} {r}" for r, n in sorted(b["reasons"].items()))
    incident = Incident(
        dedupe_key=f"security/{caller}/{b['first']}"[:300],
        model_id=model.id if model is not None else None,
        project=b["project"],
        subject_kind=subject_kind,
        subject=subject[:200],
        version=None,
        trigger=TRIGGER,
        kind="security",
        severity="high",
        status="open",
        owner=owner,
        summary=(
            f"{b['count']} refused calls by {caller} on project {b['project']} within "
            f"{timedelta(seconds=window)} ({reasons})"
        ),
        evidence=evidence,
        actions=[],
        opened_at=now,
    )
    try:
        with s.begin_nested():
            s.add(incident)
            s.flush()
    except DBIntegrityError:
        return  # another monitor filed this burst first
    audit.record(
        s,
        actor=actor,
        action="monitor.security.burst",
        subject=f"model:{model.name}" if model is not None else f"{subject_kind}:{subject}",
        payload={"incident": incident.id, "caller": caller, "count": b["count"], "owner": owner},
    )
    out["opened"].append(incident.id)
