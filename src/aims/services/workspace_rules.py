"""The rules a workspace sets for governance: its policy and its people's roles.

The policy (``aims.yaml`` → ``policy:``) decides what a version needs before a
promotion. People's roles for approvals and overrides come from ``aims.yaml`` →
``people:`` (``email: [role, ...]``).
"""

from __future__ import annotations

from aims.core.policy import Policy, workspace_policy
from aims.errors import ConfigError, PermissionDenied
from aims.workspace import Workspace

__all__ = ["ADMIN", "policy_of", "require_admin", "roles_of"]

ADMIN = "admin"


def policy_of(ws: Workspace) -> Policy:
    """The workspace's policy (validated; errors name the key and line)."""
    return workspace_policy(ws.root / "aims.yaml")


def roles_of(ws: Workspace, actor: str) -> tuple[str, ...]:
    """Roles ``aims.yaml`` → ``people:`` gives ``actor`` (none when not listed)."""
    people = ws.settings.raw.get("people") or {}
    if not isinstance(people, dict):
        raise ConfigError("aims.yaml: 'people' must map an email to a list of roles")
    roles = people.get(actor, [])
    if isinstance(roles, str):
        roles = [roles]
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise ConfigError(f"aims.yaml: people.{actor} must be a list of role names")
    return tuple(roles)


def require_admin(ws: Workspace, actor: str) -> None:
    """Refuse ``actor`` unless ``aims.yaml`` gives them the admin role."""
    if ADMIN not in roles_of(ws, actor):
        raise PermissionDenied(
            f"{actor} may not override the promotion policy: only the admin role may "
            f"(aims.yaml → people: {actor}: [admin])"
        )
