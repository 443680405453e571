"""Just-in-time elevation: a time-bound role on one project, asked for and granted by another.

A principal asks for a role above its standing grant on a project, for a
while and for a reason (:func:`request_elevation`). Another principal who
holds that role or a higher one on the project approves or denies it
(:func:`decide`); the requester never decides on their own request, and an
agent never approves. Approved, the elevation raises the requester's role on
the project (:func:`aims.services.grants.grant_role`) from the approval until
``ends_at``, and then lapses by itself: nothing has to run for that. It may be
ended early by the requester or by someone who could approve it
(:func:`revoke_elevation`). Every step is audited in the same transaction.

Keys carry an elevation when they are not narrowed below their principal's
standing grant (see :func:`aims.services.keys.verify_key`); a token issued on
an elevated role never outlives the elevation, and the server refuses the
tokens of a key whose elevation was revoked before its end.

The setting ``access.elevation_required`` (:mod:`aims.services.access_settings`)
makes promotion to production and rollback need an elevation:
:func:`require_elevation` refuses a standing operator grant then.

Examples
--------
>>> duration_seconds("30m"), duration_seconds("2s")
(1800, 2)
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aims.clock import utc
from aims.core.roles import ALL_PROJECTS, role_rank
from aims.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from aims.services import audit
from aims.services.access_settings import access_settings, seconds_of
from aims.services.grants import TEAM, grant_role, identity_mode
from aims.services.identity import KEY_ID_RE, SYSTEM_ACTORS, ensure_human, resolve
from aims.services.keys import check_project
from aims.storage.schema import Elevation, Principal
from aims.workspace import Workspace

__all__ = [
    "STATUSES",
    "decide",
    "duration_seconds",
    "elevation_payload",
    "list_elevations",
    "request_elevation",
    "require_elevation",
    "revoke_elevation",
]

STATUSES = ("pending", "active", "lapsed", "denied", "revoked")
"""What :func:`elevation_payload` reports; ``active`` and ``lapsed`` are approved
elevations before and after their end."""

ELEVATION_FLOOR = "operator"
"""The role an elevation must reach for an act that ``access.elevation_required`` names."""


def duration_seconds(text: str, option: str = "--for") -> int:
    """Whole seconds of a duration written ``90s``, ``30m``, ``2h`` or ``1d`` (``option``
    names it in the error)."""
    try:
        seconds = seconds_of(text.strip())
    except InvalidInput:
        raise InvalidInput(
            f"{option} {text!r} is not a duration; write e.g. 30m, 2h or 90s"
        ) from None
    if seconds < 1:
        raise InvalidInput(f"{option} {text!r} is too short; give at least 1s")
    return int(seconds)


def _spoken(seconds: float) -> str:
    """``seconds`` as ``H:MM:SS`` (with days), or plain seconds when no date could hold it:
    a refused duration may be any integer a client sends.

    >>> _spoken(5400), _spoken(10**20)
    ('1:30:00', '100000000000000000000s')
    """
    try:
        return str(timedelta(seconds=seconds))
    except OverflowError:
        return f"{seconds}s"


def _status(row: Elevation, now: datetime) -> str:
    if row.status == "approved":
        ends = utc(row.ends_at)
        return "active" if ends is not None and ends > now else "lapsed"
    return row.status


def elevation_payload(s: Session, row: Elevation, now: datetime | None = None) -> dict[str, Any]:
    """An elevation's public description; ``status`` is one of :data:`STATUSES`."""
    now = now or audit.now_utc()
    holder = s.get(Principal, row.principal_id)
    return {
        "id": row.id,
        "principal": holder.name if holder is not None else None,
        "project": row.project,
        "role": row.role,
        "seconds": row.seconds,
        "reason": row.reason,
        "status": _status(row, now),
        "requested_by": row.requested_by,
        "requested_at": utc(row.requested_at),
        "decided_by": row.decided_by,
        "decided_at": utc(row.decided_at),
        "note": row.note,
        "starts_at": utc(row.starts_at),
        "ends_at": utc(row.ends_at),
        "ended_at": utc(row.ended_at),
    }


def _principal_of(s: Session, ws: Workspace, actor: str) -> Principal:
    """The enabled principal acting as ``actor`` (in local mode, a human created on first use)."""
    principal = resolve(s, actor)
    if principal is None:
        if identity_mode(ws) == TEAM or KEY_ID_RE.fullmatch(actor.removeprefix("apikey:")):
            raise PermissionDenied(
                f"{actor} is not a principal of this workspace; an admin adds it with "
                f"'aims principals add NAME --kind human' (keys get one with 'aims team enable')"
            )
        principal = ensure_human(s, actor)
    if principal.disabled_at is not None:
        raise PermissionDenied(f"principal {principal.name} is disabled and may not act")
    return principal


def request_elevation(
    ws: Workspace, *, actor: str, role: str, project: str, seconds: int, reason: str
) -> dict[str, Any]:
    """Ask for ``role`` on ``project`` for ``seconds``; pending until another principal decides.

    Refused: an empty reason, ``*`` as the project, a duration longer than
    ``access.elevation_max``, a role the requester already holds (unless
    ``access.elevation_required`` names acts, which no standing role does), an agent
    asking for ``approver`` or above, and a second open request for the same
    role and project.
    """
    role_rank(role)
    check_project(project)
    if project == ALL_PROJECTS:
        raise InvalidInput("an elevation is for one project; give --project NAME, not '*'")
    if not reason.strip():
        raise InvalidInput("an elevation needs --reason TEXT saying why (it is recorded)")
    longest = access_settings(ws).elevation_max_seconds
    if not 1 <= seconds <= longest:
        raise InvalidInput(
            f"an elevation lasts from 1s to {_spoken(longest)} "
            f"(access.elevation_max in aims.yaml); got {_spoken(seconds)}"
        )
    now = audit.now_utc()
    with ws.db.session() as s:
        who = _principal_of(s, ws, actor)
        if who.kind == "agent" and role_rank(role) >= role_rank("approver"):
            raise PermissionDenied(
                f"{who.name} is an agent and agents never approve; an agent may ask for "
                "scientist at most"
            )
        held = grant_role(s, who, project)
        # Where acts need an elevation, holding the role standing is not enough.
        needed = bool(access_settings(ws).elevation_required)
        if held is not None and role_rank(held) >= role_rank(role) and not needed:
            raise Conflict(f"{who.name} already holds {held} on {project}; nothing to elevate")
        for other in s.scalars(
            select(Elevation).where(
                Elevation.principal_id == who.id,
                Elevation.project == project,
                Elevation.role == role,
                Elevation.status == "pending",
            )
        ).all():
            raise Conflict(
                f"elevation {other.id} already asks for {role} on {project}; wait for its "
                f"decision or see 'aims elevation list'"
            )
        row = Elevation(
            principal_id=who.id,
            project=project,
            role=role,
            seconds=seconds,
            reason=reason.strip(),
            status="pending",
            requested_by=actor,
            requested_at=now,
            note="",
        )
        s.add(row)
        s.flush()
        audit.record(
            s,
            actor=actor,
            action="elevation.request",
            subject=f"principal:{who.name}",
            payload={
                "elevation": row.id,
                "project": project,
                "role": role,
                "seconds": seconds,
                "reason": row.reason,
            },
        )
        return elevation_payload(s, row, now)


def _get(s: Session, elevation_id: int) -> Elevation:
    row = s.get(Elevation, elevation_id)
    if row is None:
        raise NotFound(f"elevation {elevation_id} does not exist; see 'aims elevation list'")
    return row


def _decider(s: Session, ws: Workspace, actor: str, row: Elevation, verb: str) -> Principal:
    """The principal deciding on ``row``: not its requester, not an agent, holding its role."""
    who = _principal_of(s, ws, actor)
    if who.id == row.principal_id:
        raise PermissionDenied(
            f"{who.name} asked for elevation {row.id} and may not {verb} it; another "
            f"principal holding {row.role} on {row.project} decides"
        )
    if who.kind == "agent":
        raise PermissionDenied(f"{who.name} is an agent and agents never approve elevations")
    held = grant_role(s, who, row.project)
    if held is None or role_rank(held) < role_rank(row.role):
        raise PermissionDenied(
            f"{who.name} holds {held or 'no role'} on {row.project}; only a principal holding "
            f"{row.role} or higher there may {verb} elevation {row.id}"
        )
    return who


def decide(
    ws: Workspace, elevation_id: int, *, actor: str, approve: bool, note: str = ""
) -> dict[str, Any]:
    """Approve (it starts now and ends after its duration) or deny a pending elevation."""
    verb = "approve" if approve else "deny"
    now = audit.now_utc()
    with ws.db.session() as s:
        row = _get(s, elevation_id)
        if row.status != "pending":
            raise Conflict(
                f"elevation {elevation_id} is {_status(row, now)}, not pending; nothing changed"
            )
        who = _decider(s, ws, actor, row, verb)
        row.status = "approved" if approve else "denied"
        row.decided_by = who.name
        row.decided_at = now
        row.note = note.strip()
        if approve:
            row.starts_at = now
            row.ends_at = now + timedelta(seconds=row.seconds)
        s.flush()
        payload = elevation_payload(s, row, now)
        audit.record(
            s,
            actor=actor,
            action=f"elevation.{verb}",
            subject=f"principal:{payload['principal']}",
            payload={
                "elevation": row.id,
                "project": row.project,
                "role": row.role,
                "note": row.note,
                "ends_at": payload["ends_at"].isoformat() if payload["ends_at"] else None,
            },
        )
        return payload


def revoke_elevation(
    ws: Workspace, elevation_id: int, *, actor: str, reason: str = ""
) -> dict[str, Any]:
    """End an active elevation now: by its requester, or by someone who could approve it.

    Servers refuse the tokens of the requester's keys on that project until the
    elevation's planned end (tokens issued on it live at most that long).
    """
    now = audit.now_utc()
    with ws.db.session() as s:
        row = _get(s, elevation_id)
        if _status(row, now) != "active":
            raise Conflict(
                f"elevation {elevation_id} is {_status(row, now)}, not active; nothing changed"
            )
        who = _principal_of(s, ws, actor)
        if who.id != row.principal_id:
            _decider(s, ws, actor, row, "revoke")
        row.status = "revoked"
        row.ended_at = now
        s.flush()
        payload = elevation_payload(s, row, now)
        audit.record(
            s,
            actor=actor,
            action="elevation.revoke",
            subject=f"principal:{payload['principal']}",
            payload={
                "elevation": row.id,
                "project": row.project,
                "role": row.role,
                "reason": reason,
            },
        )
        return payload


def list_elevations(
    ws: Workspace,
    *,
    project: str | None = None,
    status: str | None = None,
    projects: set[str] | None = None,
) -> list[dict[str, Any]]:
    """Elevations, newest first; ``projects`` (when given) limits them to those projects."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status {status!r} is unknown; use one of {', '.join(STATUSES)}")
    now = audit.now_utc()
    stmt = select(Elevation).order_by(Elevation.id.desc())
    if project is not None:
        stmt = stmt.where(Elevation.project == project)
    with ws.db.session() as s:
        rows = [elevation_payload(s, r, now) for r in s.scalars(stmt).all()]
    if projects is not None:
        rows = [r for r in rows if r["project"] in projects]
    return [r for r in rows if status is None or r["status"] == status]


def scope_of(ws: Workspace, elevation_id: int) -> tuple[str, str]:
    """The project and role of elevation ``elevation_id`` (for the server's checks)."""
    with ws.db.session() as s:
        row = _get(s, elevation_id)
        return row.project, row.role


def require_elevation(ws: Workspace, actor: str, project: str, act: str) -> None:
    """Refuse ``act`` on ``project`` (audited) when ``access.elevation_required`` names it
    and ``actor`` holds no active elevation to ``operator`` or higher there.

    aims' own monitor needs none: its rollbacks are the ones the policy ordered in
    advance (``policy.monitoring.tiers.<tier>.auto_rollback``).
    """
    if act not in access_settings(ws).elevation_required:
        return
    from aims.services.grants import active_elevation

    with ws.db.session() as s:
        who = resolve(s, actor)
        if who is None and actor in SYSTEM_ACTORS:
            return  # aims' own monitor acting as the policy ordered (auto_rollback)
        lift = active_elevation(s, who.id, project) if who is not None else None
        if lift is not None and role_rank(lift.role) >= role_rank(ELEVATION_FLOOR):
            return
        audit.record(
            s,
            actor=actor,
            action="elevation.required",
            subject=f"project:{project}",
            payload={"act": act},
        )
    raise PermissionDenied(
        f"{act} on project {project} needs an approved elevation (access.elevation_required "
        f"in aims.yaml); a standing grant does not suffice: ask with 'aims elevate --role "
        f"{ELEVATION_FLOOR} --project {project} --for 30m --reason TEXT', then have another "
        "operator run 'aims elevation approve ID'"
    )
