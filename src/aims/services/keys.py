"""API keys of the prediction server: create, revoke, list, verify.

A key is shown once, when it is created, as ``aims.<key_id>.<secret>``. The
store keeps the public ``key_id`` and an argon2id hash of the secret, never the
secret itself. A key belongs to one project (``*`` for every project) and
carries one role; roles are ordered, each including the ones before it::

    viewer < predictor < scientist < approver < operator < admin

Creating and revoking keys are audited in the same transaction as the change.

Examples
--------
The role order, and a check that does not touch the store::

    >>> role_rank("operator") > role_rank("predictor")
    True
    >>> split_key("aims.k0123456789ab.c2VjcmV0")
    ('k0123456789ab', 'c2VjcmV0')
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select

from aims.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from aims.services import audit
from aims.settings import project_problem
from aims.storage.schema import ApiKey
from aims.workspace import Workspace

ROLES = ("viewer", "predictor", "scientist", "approver", "operator", "admin")
"""Server roles, lowest first; a role may do everything the roles before it may."""

ALL_PROJECTS = "*"
"""The project of a key that spans every project (e.g. a metrics scraper)."""

KEY_PREFIX = "aims"

# argon2-cffi's defaults are RFC 9106's second recommended profile (argon2id,
# 64 MiB, 3 passes); about 0.1 s per check, paid once per token exchange.
_HASHER = PasswordHasher()


def role_rank(role: str) -> int:
    """The position of ``role`` in :data:`ROLES`; raises ``InvalidInput`` for an unknown role."""
    try:
        return ROLES.index(role)
    except ValueError:
        raise InvalidInput(f"role {role!r} is unknown; use one of {', '.join(ROLES)}") from None


def check_project(project: str) -> str:
    """A project name (or ``*``), validated like the workspace's project (``aims.settings``)."""
    problem = None if project == ALL_PROJECTS else project_problem(project)
    if problem:
        raise InvalidInput(f"{problem}; or {ALL_PROJECTS!r} for every project")
    return project


def split_key(presented: str) -> tuple[str, str]:
    """``aims.<key_id>.<secret>`` -> ``(key_id, secret)``; raises ``PermissionDenied`` otherwise."""
    parts = presented.strip().split(".", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        raise PermissionDenied("the API key is malformed; it looks like aims.<key_id>.<secret>")
    return parts[1], parts[2]


def _utc(ts: datetime | None) -> datetime | None:
    if ts is None:
        return None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def key_payload(row: ApiKey, now: datetime | None = None) -> dict[str, Any]:
    """A key's public description (never its secret or hash)."""
    now = now or audit.now_utc()
    expires = _utc(row.expires_at)
    if row.revoked_at is not None:
        status = "revoked"
    elif expires is not None and expires <= now:
        status = "expired"
    else:
        status = "active"
    return {
        "key_id": row.key_id,
        "name": row.name,
        "project": row.project,
        "role": row.role,
        "status": status,
        "created_by": row.created_by,
        "created_at": _utc(row.created_at),
        "expires_at": expires,
        "revoked_at": _utc(row.revoked_at),
    }


def create_key(
    ws: Workspace,
    *,
    project: str,
    role: str,
    actor: str,
    name: str = "",
    expires_at: datetime | None = None,
) -> tuple[dict[str, Any], str]:
    """Create a key; returns its description and the full key text (shown once)."""
    check_project(project)
    role_rank(role)
    now = audit.now_utc()
    expires = _utc(expires_at)
    if expires is not None and expires <= now:
        raise InvalidInput(f"the expiry {expires.isoformat()} is in the past; give a later one")
    key_id = "k" + secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)  # 256 random bits; never contains a '.'
    row = ApiKey(
        key_id=key_id,
        secret_hash=_HASHER.hash(secret),
        project=project,
        role=role,
        name=name,
        created_by=actor,
        created_at=now,
        expires_at=expires,
    )
    with ws.db.session() as s:
        s.add(row)
        s.flush()
        payload = key_payload(row, now)
        audit.record(
            s,
            actor=actor,
            action="apikey.create",
            subject=f"apikey:{key_id}",
            payload={
                "project": project,
                "role": role,
                "name": name,
                "expires_at": expires.isoformat() if expires else None,
            },
        )
    return payload, f"{KEY_PREFIX}.{key_id}.{secret}"


def revoke_key(ws: Workspace, key_id: str, *, actor: str, reason: str = "") -> dict[str, Any]:
    """Revoke a key; tokens issued for it stop working at the server's next poll."""
    with ws.db.session() as s:
        row = s.scalar(select(ApiKey).where(ApiKey.key_id == key_id))
        if row is None:
            raise NotFound(f"API key {key_id!r} does not exist; see 'aims keys list'")
        if row.revoked_at is not None:
            raise Conflict(f"API key {key_id!r} was already revoked at {row.revoked_at}")
        row.revoked_at = audit.now_utc()
        s.flush()
        audit.record(
            s,
            actor=actor,
            action="apikey.revoke",
            subject=f"apikey:{key_id}",
            payload={"project": row.project, "role": row.role, "reason": reason},
        )
        return key_payload(row)


def list_keys(
    ws: Workspace, *, project: str | None = None, include_inactive: bool = False
) -> list[dict[str, Any]]:
    """Keys, oldest first; only active ones unless ``include_inactive``."""
    stmt = select(ApiKey).order_by(ApiKey.id)
    if project is not None:
        stmt = stmt.where(ApiKey.project == project)
    now = audit.now_utc()
    with ws.db.session() as s:
        rows = [key_payload(r, now) for r in s.scalars(stmt).all()]
    return rows if include_inactive else [r for r in rows if r["status"] == "active"]


def verify_key(ws: Workspace, presented: str) -> dict[str, Any]:
    """The description of the active key ``presented``; ``PermissionDenied`` otherwise.

    The message does not say whether the key id exists, so that a caller
    cannot enumerate key ids.
    """
    key_id, secret = split_key(presented)
    with ws.db.session() as s:
        row = s.scalar(select(ApiKey).where(ApiKey.key_id == key_id))
        if row is None:
            # Hash anyway, so an unknown id takes as long as a wrong secret.
            _HASHER.hash(secret)
            raise PermissionDenied("the API key is not valid")
        payload = key_payload(row)
        stored = row.secret_hash
    try:
        _HASHER.verify(stored, secret)
    except (VerificationError, InvalidHashError):
        raise PermissionDenied("the API key is not valid") from None
    if payload["status"] != "active":
        raise PermissionDenied(
            f"API key {key_id} is {payload['status']}; ask an operator for a new key"
        )
    return payload


def revoked_key_ids(ws: Workspace) -> frozenset[str]:
    """Ids of every revoked key (the server refuses their tokens)."""
    with ws.db.session() as s:
        return frozenset(s.scalars(select(ApiKey.key_id).where(ApiKey.revoked_at.is_not(None))))


def active_key_count(ws: Workspace) -> int:
    """How many keys are neither revoked nor expired."""
    now = audit.now_utc()
    with ws.db.session() as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(ApiKey)
                .where(
                    ApiKey.revoked_at.is_(None),
                    ApiKey.expires_at.is_(None) | (ApiKey.expires_at > now),
                )
            )
            or 0
        )


__all__ = [
    "ALL_PROJECTS",
    "ROLES",
    "active_key_count",
    "check_project",
    "create_key",
    "key_payload",
    "list_keys",
    "revoke_key",
    "revoked_key_ids",
    "role_rank",
    "split_key",
    "verify_key",
]
