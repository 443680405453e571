"""Who is calling the server: :class:`Principal`, what a verified token stands for.

A key's token holds one role on one project (or on every project, ``*``); a
person signed in through the organisation's identity provider
(:mod:`aims.server.oidc`) holds one role per project, from their grants. Both
answer the same questions: :meth:`Principal.role_on` a project, and
:attr:`Principal.actor` for the audit log. :mod:`aims.server.auth` re-exports
both names.
"""

from __future__ import annotations

from dataclasses import dataclass

from aims.core.roles import ALL_PROJECTS, ROLES


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key behind the token, its project and role, and the
    principal (person, service or agent) the key acts for, when it has one."""

    key_id: str
    project: str
    role: str
    expires_at: float
    token_id: str = ""
    name: str | None = None
    """The principal's name; None for a key that belongs to no principal."""
    grants: tuple[tuple[str, str], ...] | None = None
    """(project, role) pairs of a person signed in through the identity provider
    (:mod:`aims.server.oidc`), who may hold different roles on several projects;
    None for a key's token, which holds ``role`` on ``project`` alone. With
    grants, ``project`` and ``role`` are those of the ``*`` grant when there is
    one (so a check of "``role`` on every project" stays true), else those of
    the highest grant; :meth:`role_on` answers for each project."""
    audience: str | None = None
    """The resource a token is bound to (RFC 8707), for an MCP token
    (:mod:`aims.server.mcp.oauth`); None for an ordinary API token."""
    scopes: frozenset[str] = frozenset()
    """The OAuth scopes an MCP token carries (``aims:read``, ``aims:propose``)."""

    @property
    def actor(self) -> str:
        """Who the audit log names for this caller's acts: the principal, else the key."""
        return self.name if self.name else f"apikey:{self.key_id}"

    @property
    def rank(self) -> int:
        """The rank of ``role``, the role held on ``project``."""
        return ROLES.index(self.role)

    @property
    def top_rank(self) -> int:
        """The rank of the highest role held on any project: what a route's lowest role
        is checked against before the project it touches is known."""
        if not self.grants:
            return self.rank
        return max(ROLES.index(r) for _, r in self.grants)

    def may_access(self, project: str) -> bool:
        """Whether the caller holds any role on ``project``."""
        return self.role_on(project) is not None

    def role_on(self, project: str) -> str | None:
        """The role this caller holds on ``project``, or None without access to it."""
        if self.grants is None:
            return self.role if self.project in (ALL_PROJECTS, project) else None
        held = [r for p, r in self.grants if p in (ALL_PROJECTS, project)]
        return max(held, key=ROLES.index) if held else None


DEV_PRINCIPAL = Principal("insecure-dev", ALL_PROJECTS, "admin", float("inf"))
