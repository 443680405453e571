"""Which role a principal holds on a project now, and the workspace's identity mode.

Kept apart from :mod:`aims.services.identity` (which manages principals and
grants) because the API keys check a key against its principal's grant at
every use, and the identity service itself builds on the keys.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from aims.clock import utc
from aims.core.roles import ALL_PROJECTS, role_rank
from aims.errors import ConfigError
from aims.services import audit
from aims.storage.schema import Elevation, Grant, Principal
from aims.workspace import Workspace

__all__ = [
    "LOCAL",
    "MODES",
    "TEAM",
    "RolesInForce",
    "active_elevation",
    "active_grants",
    "grant_role",
    "identity_mode",
    "roles_in_force",
]

LOCAL = "local"
TEAM = "team"
MODES = (LOCAL, TEAM)
"""Identity modes of a workspace (``identity:`` in ``aims.yaml``, ``AIMS_IDENTITY``)."""


def identity_mode(ws: Workspace) -> str:
    """``local`` or ``team``: ``$AIMS_IDENTITY``, else ``identity:`` in ``aims.yaml``, else local."""
    env = os.environ.get("AIMS_IDENTITY", "").strip()
    value = env or ws.settings.raw.get("identity", LOCAL)
    if value not in MODES:
        where = "AIMS_IDENTITY" if env else "aims.yaml: identity"
        raise ConfigError(f"{where} is {value!r}; use 'local' or 'team'")
    return str(value)


def active_grants(s: Session, principal_id: int, now: datetime | None = None) -> list[Grant]:
    """The principal's grants that have not lapsed, by project."""
    now = now or audit.now_utc()
    rows = s.scalars(
        select(Grant).where(Grant.principal_id == principal_id).order_by(Grant.project)
    ).all()
    return [g for g in rows if g.expires_at is None or utc(g.expires_at) > now]


def grant_role(
    s: Session, principal: Principal, project: str, *, elevated: bool = True
) -> str | None:
    """The highest role ``principal`` holds now on ``project``, or None.

    A ``*`` grant covers every project; a key for ``*`` needs a ``*`` grant. A
    disabled principal holds nothing. An approved elevation on ``project``
    raises the role until it lapses, unless ``elevated`` is false (the
    standing grant alone).
    """
    if principal.disabled_at is not None:
        return None
    held = [g.role for g in active_grants(s, principal.id) if g.project in (project, ALL_PROJECTS)]
    if elevated:
        lift = active_elevation(s, principal.id, project)
        held += [lift.role] if lift is not None else []
    return max(held, key=role_rank) if held else None


@dataclass(frozen=True)
class RolesInForce:
    """Every principal's grants and elevations in force at one moment, read at once: what
    :func:`grant_role` reads for one principal, for deciding about many (see
    :func:`roles_in_force`)."""

    granted: frozenset[tuple[int, str]]
    """(principal id, project) of every grant that has not lapsed."""
    elevated: frozenset[tuple[int, str]]
    """(principal id, project) of every approved elevation in force."""
    cut_short: frozenset[tuple[int, str]]
    """(principal id, project) of every elevation revoked before its end, until that end."""

    def holds(self, principal_id: int, project: str) -> bool:
        """Whether an enabled principal holds a role on ``project``, as :func:`grant_role`
        decides: a grant there or on every project, or an elevation there."""
        return (
            (principal_id, project) in self.granted
            or (principal_id, ALL_PROJECTS) in self.granted
            or (principal_id, project) in self.elevated
        )


def roles_in_force(s: Session) -> RolesInForce:
    """Every principal's grants and elevations in force now, in two queries of plain columns."""
    now = audit.now_utc()
    grants = s.execute(select(Grant.principal_id, Grant.project, Grant.expires_at)).all()
    lifts = s.execute(
        select(
            Elevation.principal_id, Elevation.project, Elevation.status, Elevation.ends_at
        ).where(Elevation.status.in_(("approved", "revoked")), Elevation.ends_at.is_not(None))
    ).all()
    live = [
        (pid, project, status)
        for pid, project, status, ends in lifts
        if ends is not None and utc(ends) > now
    ]
    return RolesInForce(
        granted=frozenset(
            (pid, project) for pid, project, ends in grants if ends is None or utc(ends) > now
        ),
        elevated=frozenset((pid, project) for pid, project, st in live if st == "approved"),
        cut_short=frozenset((pid, project) for pid, project, st in live if st == "revoked"),
    )


def active_elevation(s: Session, principal_id: int, project: str) -> Elevation | None:
    """The principal's approved elevation on ``project`` in force now (the highest), or None."""
    now = audit.now_utc()
    rows = s.scalars(
        select(Elevation).where(
            Elevation.principal_id == principal_id,
            Elevation.project == project,
            Elevation.status == "approved",
        )
    ).all()
    live = [e for e in rows if e.ends_at is not None and utc(e.ends_at) > now]
    return max(live, key=lambda e: role_rank(e.role)) if live else None
