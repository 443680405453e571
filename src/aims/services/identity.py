"""Identity: principals (who acts), their grants (role per project) and the two modes.

A *principal* is a ``human``, a ``service`` or an ``agent``; every service and
agent names a human owner who answers for it. A *grant* gives a principal one
role of the ladder in :data:`aims.services.keys.ROLES` on one project (``*``
for every project). API keys belong to a principal and carry at most its
grant; the four-eyes rule and the approver roles are checked on principals,
so two keys of one person are one person, and an agent never approves.

The workspace runs in one of two modes, set by ``identity:`` in ``aims.yaml``
(overridden by ``AIMS_IDENTITY``):

``local``
    One person on a laptop: the actor is ``$AIMS_USER`` or the operating-system
    user, and is taken to be a human principal of that name (created on first
    use).
``team``
    Governance writes made straight against the store are refused: they go
    through the server, whose actor is the authenticated principal. The one
    exception is ``--break-glass --reason TEXT``, recorded as such.

Every change to principals and grants is audited in the same transaction.

Examples
--------
>>> roles_up_to("scientist")
('viewer', 'predictor', 'scientist')
>>> name_problem("ana@example.org") is None
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aims.clock import utc
from aims.core.roles import role_rank, roles_up_to
from aims.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from aims.services import audit
from aims.services.grants import LOCAL, MODES, TEAM, active_grants, grant_role, identity_mode
from aims.services.keys import check_project
from aims.storage.schema import ApiKey, Grant, Principal
from aims.workspace import Workspace

__all__ = [
    "KEY_ID_RE",
    "KINDS",
    "LOCAL",
    "MODES",
    "SYSTEM_ACTORS",
    "TEAM",
    "Person",
    "add_principal",
    "disable_principal",
    "ensure_human",
    "grant",
    "grant_role",
    "grant_role_of",
    "identity_mode",
    "list_principals",
    "name_problem",
    "new_principal",
    "person_name",
    "principal_payload",
    "resolve",
    "revoke_grant",
    "roles_up_to",
    "set_kind",
]

KINDS = ("human", "service", "agent")
"""Kinds of principal; services and agents have a human owner."""


_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+:-]{0,199}$")
# Key ids look like this (see aims.services.keys.create_key); a principal may not
# be named like one, so an actor string resolves one way only.
KEY_ID_RE = re.compile(r"^k[0-9a-f]{12}$")
SYSTEM_ACTORS = frozenset({"aims-server", "aims-monitor"})
"""Actors that are aims' own processes, never turned into principals."""
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a principal, or None when it can."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        return (
            f"principal name {name!r} is not valid: use letters, digits and . _ @ + : - "
            "(e.g. an email address or a login), at most 200 characters"
        )
    if KEY_ID_RE.fullmatch(name):
        return f"principal name {name!r} looks like an API key id; choose another name"
    return None


def _get(s: Session, name: str) -> Principal:
    row = s.scalar(select(Principal).where(Principal.name == name))
    if row is None:
        raise NotFound(
            f"principal {name!r} does not exist; see 'aims principals list' or add it with "
            f"'aims principals add {name} --kind human --email EMAIL'"
        )
    return row


def grant_role_of(ws: Workspace, name: str, project: str) -> str:
    """The role principal ``name`` holds on ``project`` now; refuses when it holds none."""
    with ws.db.session() as s:
        row = _get(s, name)
        role = grant_role(s, row, project)
    if role is None:
        raise PermissionDenied(
            f"{name} holds no grant on project {project}; give one first with "
            f"'aims grant {name} --role ROLE --project {project}'"
        )
    return role


def principal_payload(s: Session, row: Principal) -> dict[str, Any]:
    """A principal's public description: kind, owner, status and grants."""
    owner = s.get(Principal, row.owner_id) if row.owner_id is not None else None
    n_keys = len(
        s.scalars(
            select(ApiKey.id).where(ApiKey.principal_id == row.id, ApiKey.revoked_at.is_(None))
        ).all()
    )
    return {
        "name": row.name,
        "kind": row.kind,
        "email": row.email,
        "owner": owner.name if owner is not None else None,
        "status": "disabled" if row.disabled_at is not None else "enabled",
        "grants": {g.project: g.role for g in active_grants(s, row.id)},
        "keys": n_keys,
        "created_by": row.created_by,
        "created_at": utc(row.created_at),
        "disabled_at": utc(row.disabled_at),
    }


def new_principal(
    s: Session,
    name: str,
    *,
    kind: str,
    actor: str,
    email: str | None = None,
    owner: Principal | None = None,
    note: str = "",
) -> Principal:
    """Add principal ``name`` to the session, audited; the caller has checked the name."""
    row = Principal(
        name=name,
        kind=kind,
        email=email,
        owner_id=owner.id if owner is not None else None,
        created_by=actor,
        created_at=audit.now_utc(),
    )
    s.add(row)
    s.flush()
    payload: dict[str, Any] = {"kind": kind, "email": email, "owner": owner.name if owner else None}
    if note:
        payload["note"] = note
    audit.record(
        s, actor=actor, action="principal.add", subject=f"principal:{name}", payload=payload
    )
    return row


def add_principal(
    ws: Workspace,
    name: str,
    *,
    kind: str,
    actor: str,
    email: str | None = None,
    owner: str | None = None,
) -> dict[str, Any]:
    """Add a principal. A human may give an email; a service or agent must name an
    enabled human ``owner``."""
    problem = name_problem(name)
    if problem:
        raise InvalidInput(problem)
    if kind not in KINDS:
        raise InvalidInput(f"kind {kind!r} is unknown; use one of {', '.join(KINDS)}")
    if email is not None and not _EMAIL_RE.fullmatch(email):
        raise InvalidInput(f"email {email!r} does not look like an address (name@domain)")
    if kind == "human" and owner:
        raise InvalidInput("a human has no owner; --owner is for services and agents")
    if kind != "human" and not owner:
        raise InvalidInput(
            f"{'an' if kind == 'agent' else 'a'} {kind} needs a human owner who answers for it; "
            "give --owner PERSON "
            "(an enabled human principal)"
        )
    with ws.db.session() as s:
        if s.scalar(select(Principal.id).where(Principal.name == name)) is not None:
            raise Conflict(f"principal {name!r} already exists; nothing changed")
        boss = None
        if owner:
            boss = _get(s, owner)
            if boss.kind != "human" or boss.disabled_at is not None:
                raise InvalidInput(
                    f"owner {owner!r} is a {'disabled ' if boss.disabled_at else ''}{boss.kind}; "
                    "the owner must be an enabled human principal"
                )
        row = new_principal(s, name, kind=kind, actor=actor, email=email, owner=boss)
        return principal_payload(s, row)


def ensure_human(s: Session, name: str, *, actor: str | None = None) -> Principal:
    """The principal named ``name``, created as a human on first use (local mode).

    Raises ``InvalidInput`` when ``name`` cannot name a principal.
    """
    row = s.scalar(select(Principal).where(Principal.name == name))
    if row is not None:
        return row
    problem = name_problem(name)
    if problem:
        raise InvalidInput(problem)
    return new_principal(s, name, kind="human", actor=actor or name, note="created on first use")


def list_principals(ws: Workspace, *, include_disabled: bool = True) -> list[dict[str, Any]]:
    """Every principal, by name."""
    with ws.db.session() as s:
        rows = s.scalars(select(Principal).order_by(Principal.name)).all()
        out = [principal_payload(s, r) for r in rows]
    return out if include_disabled else [p for p in out if p["status"] == "enabled"]


def set_kind(
    ws: Workspace, name: str, *, kind: str, actor: str, owner: str | None = None
) -> dict[str, Any]:
    """Change a principal's kind (e.g. a name ``aims team enable`` took for a human is a
    service). A service or agent needs an enabled human ``owner``; an agent may hold no
    grant of ``approver`` or above."""
    if kind not in KINDS:
        raise InvalidInput(f"kind {kind!r} is unknown; use one of {', '.join(KINDS)}")
    if kind == "human" and owner:
        raise InvalidInput("a human has no owner; --owner is for services and agents")
    if kind != "human" and not owner:
        raise InvalidInput(f"a {kind} needs a human owner; give --owner PERSON")
    with ws.db.session() as s:
        row = _get(s, name)
        boss = None
        if owner:
            boss = _get(s, owner)
            if boss.kind != "human" or boss.disabled_at is not None or boss.id == row.id:
                raise InvalidInput(f"owner {owner!r} must be another enabled human principal")
        if kind == "agent":
            high = [
                f"{g.role}@{g.project}"
                for g in active_grants(s, row.id)
                if role_rank(g.role) >= role_rank("approver")
            ]
            if high:
                raise InvalidInput(
                    f"{name} holds {', '.join(high)} and agents never approve; lower those "
                    "grants first (aims grant NAME --role scientist --project P)"
                )
        if row.kind == kind and row.owner_id == (boss.id if boss else None):
            raise Conflict(f"{name} is already a {kind} with that owner; nothing changed")
        before = row.kind
        row.kind = kind
        row.owner_id = boss.id if boss else None
        s.flush()
        audit.record(
            s,
            actor=actor,
            action="principal.kind",
            subject=f"principal:{name}",
            payload={"kind": kind, "previous": before, "owner": boss.name if boss else None},
        )
        return principal_payload(s, row)


def disable_principal(ws: Workspace, name: str, *, actor: str, reason: str = "") -> dict[str, Any]:
    """Disable a principal: its keys stop working at once (and its tokens at the
    server's next poll); its grants and history stay for the record."""
    with ws.db.session() as s:
        row = _get(s, name)
        if row.disabled_at is not None:
            raise Conflict(f"principal {name!r} was already disabled at {row.disabled_at}")
        row.disabled_at = audit.now_utc()
        s.flush()
        audit.record(
            s,
            actor=actor,
            action="principal.disable",
            subject=f"principal:{name}",
            payload={"reason": reason},
        )
        return principal_payload(s, row)


def grant(
    ws: Workspace,
    name: str,
    *,
    role: str,
    project: str,
    actor: str,
    expires_at: datetime | None = None,
) -> dict[str, Any]:
    """Give ``name`` the role ``role`` on ``project`` (replacing its grant there)."""
    role_rank(role)
    check_project(project)
    expires = utc(expires_at)
    if expires is not None and expires <= audit.now_utc():
        raise InvalidInput(f"the expiry {expires.isoformat()} is in the past; give a later one")
    with ws.db.session() as s:
        row = _get(s, name)
        if row.disabled_at is not None:
            raise InvalidInput(f"principal {name!r} is disabled; grants go to enabled principals")
        if row.kind == "agent" and role_rank(role) >= role_rank("approver"):
            raise InvalidInput(
                f"{name} is an agent and agents never approve; give it at most the scientist role"
            )
        existing = s.scalar(
            select(Grant).where(Grant.principal_id == row.id, Grant.project == project)
        )
        before = existing.role if existing is not None else None
        if existing is not None and existing.role == role and utc(existing.expires_at) == expires:
            raise Conflict(f"{name} already holds {role} on {project}; nothing changed")
        if existing is None:
            existing = Grant(principal_id=row.id, project=project, role=role)
            s.add(existing)
        existing.role = role
        existing.created_by = actor
        existing.created_at = audit.now_utc()
        existing.expires_at = expires
        s.flush()
        audit.record(
            s,
            actor=actor,
            action="principal.grant",
            subject=f"principal:{name}",
            payload={
                "project": project,
                "role": role,
                "previous": before,
                "expires_at": expires.isoformat() if expires else None,
            },
        )
        return principal_payload(s, row)


def revoke_grant(
    ws: Workspace, name: str, *, project: str, actor: str, reason: str = ""
) -> dict[str, Any]:
    """Take back ``name``'s grant on ``project``; its keys lose that role at their next check."""
    check_project(project)
    with ws.db.session() as s:
        row = _get(s, name)
        existing = s.scalar(
            select(Grant).where(Grant.principal_id == row.id, Grant.project == project)
        )
        if existing is None:
            raise NotFound(f"{name} holds no grant on {project}; nothing changed")
        role = existing.role
        s.delete(existing)
        s.flush()
        audit.record(
            s,
            actor=actor,
            action="principal.revoke_grant",
            subject=f"principal:{name}",
            payload={"project": project, "role": role, "reason": reason},
        )
        return principal_payload(s, row)


def resolve(s: Session, actor: str) -> Principal | None:
    """The principal behind an actor string: a principal's name, ``apikey:<id>`` or a
    bare key id (the dashboard's), or None when it stands for no principal."""
    key_id = actor.removeprefix("apikey:")
    if KEY_ID_RE.fullmatch(key_id):
        key = s.scalar(select(ApiKey).where(ApiKey.key_id == key_id))
        if key is not None and key.principal_id is not None:
            return s.get(Principal, key.principal_id)
    return s.scalar(select(Principal).where(Principal.name == actor))


def person_name(s: Session, actor: str) -> str:
    """The name an actor counts as for the four-eyes rule: its principal's, else itself.

    Two keys of one principal, or a key and the principal's own name, give the
    same answer.
    """
    principal = resolve(s, actor)
    return principal.name if principal is not None else actor


@dataclass(frozen=True)
class Person:
    """Who an approval is from, as the four-eyes rule and the approver roles see it."""

    name: str
    kind: str
    roles: tuple[str, ...]
    """Roles of the ladder held through grants on the model's project."""
    via: str | None = None
    """The key the act came through, when it came through one."""


def approver(s: Session, ws: Workspace, actor: str, project: str) -> Person:
    """The principal approving as ``actor`` on ``project``.

    In local mode a plain actor name is a human principal created on first use;
    in team mode it must already exist. A legacy key (no principal) stands for
    itself, as before principals existed. Refuses a disabled principal.
    """
    principal = resolve(s, actor)
    if principal is None and not KEY_ID_RE.fullmatch(actor.removeprefix("apikey:")):
        if identity_mode(ws) == TEAM:
            raise PermissionDenied(
                f"{actor} is not a principal of this workspace; an admin adds it with "
                f"'aims principals add {actor} --kind human'"
            )
        principal = ensure_human(s, actor)
    if principal is None:
        return Person(actor, "human", ())
    if principal.disabled_at is not None:
        raise PermissionDenied(f"principal {principal.name} is disabled and may not act")
    role = grant_role(s, principal, project)
    return Person(
        principal.name,
        principal.kind,
        roles_up_to(role) if role else (),
        via=None if actor == principal.name else actor,
    )
