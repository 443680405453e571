"""The role ladder of people, services and agents, and the project wildcard.

Roles are ordered, each including the ones before it::

    viewer < predictor < scientist < approver < operator < admin

Examples
--------
>>> role_rank("operator") > role_rank("predictor")
True
>>> roles_up_to("scientist")
('viewer', 'predictor', 'scientist')
"""

from __future__ import annotations

from aims.errors import InvalidInput

__all__ = ["ALL_PROJECTS", "ROLES", "role_rank", "roles_up_to"]

ROLES = ("viewer", "predictor", "scientist", "approver", "operator", "admin")
"""Roles, lowest first; a role may do everything the roles before it may."""

ALL_PROJECTS = "*"
"""The project of a key or grant that spans every project (e.g. a metrics scraper)."""


def role_rank(role: str) -> int:
    """The position of ``role`` in :data:`ROLES`; raises ``InvalidInput`` for an unknown role."""
    try:
        return ROLES.index(role)
    except ValueError:
        raise InvalidInput(f"role {role!r} is unknown; use one of {', '.join(ROLES)}") from None


def roles_up_to(role: str) -> tuple[str, ...]:
    """Every role a holder of ``role`` holds: the ladder up to and including it."""
    return ROLES[: role_rank(role) + 1]
