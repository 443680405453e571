"""Team mode: what it refuses to write straight to the store, and the move into it.

In ``identity: team`` governance acts go through the server under each
person's own key. :func:`store_write_refusal` says why a command may not write
to the store directly, :func:`unaccountable_owners` which owners of a model no
enabled principal answers for, and :func:`enable_team` turns the people and
keys a local workspace has seen into principals, so the switch loses nobody.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aims.core.roles import ALL_PROJECTS
from aims.services import audit
from aims.services.grants import TEAM, grant_role, identity_mode
from aims.services.identity import (
    KEY_ID_RE,
    SYSTEM_ACTORS,
    ensure_human,
    name_problem,
    new_principal,
)
from aims.storage.schema import ApiKey, Approval, AuditEvent, Grant, Principal
from aims.workspace import Workspace

__all__ = ["enable_team", "store_write_refusal", "unaccountable_owners"]


def store_write_refusal(ws: Workspace, command: str) -> str | None:
    """Why ``command`` may not write straight to the store, or None when it may.

    Only team mode refuses; the message says how to act instead.
    """
    if identity_mode(ws) != TEAM:
        return None
    return (
        f"'aims {command}' writes governance records straight to the store, and this "
        "workspace runs in team mode (identity: team): governance acts go through the "
        "server, under your own API key, so that the audit log names who acted (approvals: "
        "on the server's dashboard). In an emergency, someone with store access may force "
        "it with --break-glass --reason TEXT; the audit log and the evidence report show it"
    )


def unaccountable_owners(s: Session, ws: Workspace, model: Any) -> dict[str, str]:
    """In team mode, the owners of ``model`` (by role) who are not enabled principals
    holding a grant on its project, matched by name or email; empty in local mode."""
    if identity_mode(ws) != TEAM:
        return {}
    out = {}
    for owner in model.owners:
        who = s.scalar(
            select(Principal).where(
                (Principal.name == owner.owner) | (Principal.email == owner.owner)
            )
        )
        if who is None or grant_role(s, who, model.project) is None:
            out[owner.role] = owner.owner
    return out


def _seen_actors(s: Session) -> list[str]:
    names: set[str] = set()
    for (actor,) in s.execute(select(AuditEvent.actor).distinct()):
        names.add(actor)
    for (actor,) in s.execute(select(Approval.actor).distinct()):
        names.add(actor)
    return sorted(names)


def enable_team(ws: Workspace, *, actor: str, admin: str | None = None) -> dict[str, Any]:
    """Move the workspace's people and keys to principals, for team mode.

    Every actor seen in the audit log and the approvals becomes a human
    principal (a service or an agent cannot be told from its name: an admin
    re-kinds them). Each key without a principal gets one of its own,
    ``apikey:<id>``, a service owned by the key's creator with the key's role
    on its project, so it keeps working. ``admin`` (default: ``actor``) is
    granted admin on every project, so the team has someone to run it.
    Only new audit events are written; no existing one is touched. Returns
    what was created, and the names an admin should review.
    """
    admin = admin or actor
    created: list[str] = []
    attached: list[dict[str, str]] = []
    skipped: list[str] = []
    with ws.db.session() as s:
        for name in _seen_actors(s):
            if KEY_ID_RE.fullmatch(name.removeprefix("apikey:")) or name in SYSTEM_ACTORS:
                continue  # keys get principals below; aims' own processes are not principals
            if name_problem(name):
                skipped.append(name)
                continue
            if s.scalar(select(Principal.id).where(Principal.name == name)) is None:
                new_principal(s, name, kind="human", actor=actor, note="seen in the audit log")
                created.append(name)
        boss = ensure_human(s, admin, actor=actor)
        for key in s.scalars(
            select(ApiKey).where(ApiKey.principal_id.is_(None)).order_by(ApiKey.id)
        ).all():
            creator = key.created_by
            owner = boss if name_problem(creator) else ensure_human(s, creator, actor=actor)
            if owner.kind != "human":
                owner = boss
            service = new_principal(
                s,
                f"apikey:{key.key_id}",
                kind="service",
                actor=actor,
                owner=owner,
                note="one principal per existing key",
            )
            s.add(
                Grant(
                    principal_id=service.id,
                    project=key.project,
                    role=key.role,
                    created_by=actor,
                    created_at=audit.now_utc(),
                )
            )
            key.principal_id = service.id
            s.flush()
            audit.record(
                s,
                actor=actor,
                action="apikey.attach",
                subject=f"apikey:{key.key_id}",
                payload={"principal": service.name, "owner": owner.name, "role": key.role},
            )
            attached.append({"key_id": key.key_id, "principal": service.name, "owner": owner.name})
        has_admin = s.scalar(
            select(Grant).where(Grant.principal_id == boss.id, Grant.project == ALL_PROJECTS)
        )
        if has_admin is None or has_admin.role != "admin":
            if has_admin is None:
                has_admin = Grant(principal_id=boss.id, project=ALL_PROJECTS)
                s.add(has_admin)
            has_admin.role = "admin"
            has_admin.created_by = actor
            has_admin.created_at = audit.now_utc()
            s.flush()
            audit.record(
                s,
                actor=actor,
                action="principal.grant",
                subject=f"principal:{boss.name}",
                payload={"project": ALL_PROJECTS, "role": "admin", "previous": None},
            )
        audit.record(
            s,
            actor=actor,
            action="identity.team_enable",
            subject="workspace",
            payload={"principals": created, "keys": attached, "admin": boss.name},
        )
    return {"principals": created, "keys": attached, "admin": admin, "skipped": skipped}
