"""People who sign in through the organisation's identity provider (single sign-on).

A person's first sign-in creates a ``human`` principal named after the
token's name claim (audited as ``principal.add`` by ``aims-server``). At every
sign-in the grants the person's groups give (``server.oidc.groups``) are
written to the store: a grant the provider gave earlier and the groups no
longer give is taken back, a changed role is changed, and each such change is
audited in one ``principal.grants_synced`` event. The groups are authoritative
for the projects they name; a grant an admin gave by hand on another project
stays. Grants written here carry ``created_by = "sso"``, which is how the next
sign-in tells them from hand-made ones.

A disabled principal stays disabled: signing in neither re-enables it nor
touches its grants.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from aims.core.roles import role_rank
from aims.errors import PermissionDenied
from aims.services import audit
from aims.services.grants import active_grants, grant_role
from aims.services.identity import name_problem, new_principal
from aims.storage.schema import Grant, Principal
from aims.workspace import Workspace

__all__ = ["SSO_ACTOR", "SSO_SOURCE", "Holder", "holder", "sign_in"]

SSO_ACTOR = "aims-server"
"""The actor of the events a sign-in writes: the server, acting on the provider's word."""
SSO_SOURCE = "sso"
"""``created_by`` of the grants the provider's groups give."""


@dataclass(frozen=True)
class Holder:
    """A signed-in person as the server sees them now: name, grants, whether disabled."""

    name: str
    grants: tuple[tuple[str, str], ...]
    """(project, role) pairs in force now, by project (elevations included)."""
    disabled: bool = False


def sign_in(
    ws: Workspace,
    name: str,
    *,
    email: str | None,
    issuer: str,
    subject: str,
    grants: dict[str, str],
) -> Holder:
    """Record a sign-in of ``name`` whose groups give ``grants`` (project -> role).

    Creates the principal on first sign-in and syncs its provider-given grants,
    each change audited. Raises ``PermissionDenied`` when ``name`` cannot name
    a principal or names a service or an agent (single sign-on is for people).
    """
    problem = name_problem(name)
    if problem:
        raise PermissionDenied(f"the provider's name claim is not usable: {problem}")
    with ws.db.session() as s:
        row = s.scalar(select(Principal).where(Principal.name == name))
        if row is None:
            row = new_principal(
                s,
                name,
                kind="human",
                actor=SSO_ACTOR,
                email=email if email and "@" in email else None,
                note=f"first sign-in through {issuer} as {subject}",
            )
        if row.kind != "human":
            raise PermissionDenied(
                f"{name} is a {row.kind} principal; single sign-on is for people, and a "
                f"{row.kind} uses its own API key"
            )
        if row.disabled_at is not None:
            return Holder(name, (), disabled=True)
        _sync(s, row, grants, issuer)
        return Holder(name, _held(s, row))


def holder(ws: Workspace, name: str) -> Holder:
    """``name``'s grants and status now (a principal that no longer exists is disabled)."""
    with ws.db.session() as s:
        row = s.scalar(select(Principal).where(Principal.name == name))
        if row is None or row.disabled_at is not None:
            return Holder(name, (), disabled=True)
        return Holder(name, _held(s, row))


def _held(s: Session, row: Principal) -> tuple[tuple[str, str], ...]:
    out = []
    for project in sorted({g.project for g in active_grants(s, row.id)}):
        role = grant_role(s, row, project)
        if role is not None:
            out.append((project, role))
    return tuple(out)


def _sync(s: Session, row: Principal, wanted: dict[str, str], issuer: str) -> None:
    for role in wanted.values():
        role_rank(role)
    existing = {
        g.project: g for g in s.scalars(select(Grant).where(Grant.principal_id == row.id)).all()
    }
    changes = []
    now = audit.now_utc()
    for project, role in sorted(wanted.items()):
        grant = existing.get(project)
        if grant is None:
            s.add(
                Grant(
                    principal_id=row.id,
                    project=project,
                    role=role,
                    created_by=SSO_SOURCE,
                    created_at=now,
                )
            )
            changes.append({"project": project, "role": role, "previous": None})
        elif grant.role != role or grant.expires_at is not None or grant.created_by != SSO_SOURCE:
            changes.append({"project": project, "role": role, "previous": grant.role})
            grant.role, grant.expires_at = role, None
            grant.created_by, grant.created_at = SSO_SOURCE, now
    for project, grant in sorted(existing.items()):
        if grant.created_by == SSO_SOURCE and project not in wanted:
            changes.append({"project": project, "role": None, "previous": grant.role})
            s.delete(grant)
    if not changes:
        return
    s.flush()
    audit.record(
        s,
        actor=SSO_ACTOR,
        action="principal.grants_synced",
        subject=f"principal:{row.name}",
        payload={"issuer": issuer, "changes": changes},
    )
