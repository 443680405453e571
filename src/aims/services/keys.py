"""API keys of the prediction server: create, revoke, list, verify.

A key is shown once, when it is created, as ``aims.<key_id>.<secret>``. The
store keeps the public ``key_id`` and an argon2id hash of the secret, never the
secret itself. A key belongs to one project (``*`` for every project) and
carries one role; roles are ordered, each including the ones before it::

    viewer < predictor < scientist < approver < operator < admin

A key may belong to a principal (:mod:`aims.services.identity`) and then
carries at most the principal's grant: it may be narrowed (role, project,
expiry), never widened. At every check its role is the lower of its own and
the principal's grant at that moment, so a revoked grant or a disabled
principal takes effect at once. Keys made before principals existed belong to
none and keep working in local mode; ``aims team enable`` attaches them.

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
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from aims.clock import utc
from aims.core.roles import ALL_PROJECTS, ROLES, role_rank
from aims.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from aims.services import audit
from aims.services.grants import (
    TEAM,
    active_elevation,
    grant_role,
    identity_mode,
    roles_in_force,
)
from aims.settings import project_problem
from aims.storage.schema import ApiKey, Principal
from aims.workspace import Workspace

KEY_PREFIX = "aims"

# argon2-cffi's defaults are RFC 9106's second recommended profile (argon2id,
# 64 MiB, 3 passes); about 0.1 s per check, paid once per token exchange.
_HASHER = PasswordHasher()


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


def key_payload(
    row: ApiKey, now: datetime | None = None, principal: str | None = None
) -> dict[str, Any]:
    """A key's public description (never its secret or hash); ``principal`` names its owner."""
    now = now or audit.now_utc()
    expires = utc(row.expires_at)
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
        "principal": principal,
        "created_by": row.created_by,
        "created_at": utc(row.created_at),
        "expires_at": expires,
        "revoked_at": utc(row.revoked_at),
    }


def create_key(
    ws: Workspace,
    *,
    project: str,
    role: str,
    actor: str,
    name: str = "",
    expires_at: datetime | None = None,
    principal: str | None = None,
) -> tuple[dict[str, Any], str]:
    """Create a key; returns its description and the full key text (shown once).

    With ``principal``, the key acts for that principal and its role may not
    exceed the principal's grant on ``project``.
    """
    check_project(project)
    role_rank(role)
    now = audit.now_utc()
    expires = utc(expires_at)
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
        if principal is not None:
            row.principal_id = _grant_holder(s, principal, project, role).id
        s.add(row)
        s.flush()
        payload = key_payload(row, now, principal)
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
                "principal": principal,
            },
        )
    return payload, f"{KEY_PREFIX}.{key_id}.{secret}"


def _grant_holder(s: Any, name: str, project: str, role: str) -> Principal:
    """The enabled principal ``name``, checked to hold at least ``role`` on ``project``."""
    holder = s.scalar(select(Principal).where(Principal.name == name))
    if holder is None:
        raise NotFound(
            f"principal {name!r} does not exist; add it with 'aims principals add {name}'"
        )
    if holder.disabled_at is not None:
        raise InvalidInput(f"principal {name!r} is disabled; keys go to enabled principals")
    held = grant_role(s, holder, project)
    if held is None:
        raise PermissionDenied(
            f"{name} holds no grant on project {project}; give one first with "
            f"'aims grant {name} --role ROLE --project {project}'"
        )
    if role_rank(role) > role_rank(held):
        raise PermissionDenied(
            f"{name} holds {held} on {project}; a key may narrow its principal's grant, "
            f"never widen it: use --role {held} or lower"
        )
    return holder


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
        return key_payload(row, principal=_name_of(s, row.principal_id))


def rotate_key(
    ws: Workspace, key_id: str, *, actor: str, overlap_seconds: float = 3600.0
) -> tuple[dict[str, Any], str]:
    """Replace a key: a new one for the same principal, role, project and lifetime
    length; the old one expires after ``overlap_seconds``, so callers can switch.

    Returns the new key's description (with ``rotated_from`` and the old key's new
    expiry) and its full text (shown once). Audited in the same transaction.
    """
    if overlap_seconds < 0:
        raise InvalidInput("--overlap cannot be negative; give e.g. 1h, or 0s to end it now")
    now = audit.now_utc()
    key_id_new = "k" + secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    with ws.db.session() as s:
        old = s.scalar(select(ApiKey).where(ApiKey.key_id == key_id))
        if old is None:
            raise NotFound(f"API key {key_id!r} does not exist; see 'aims keys list'")
        status = key_payload(old, now)["status"]
        if status != "active":
            raise Conflict(f"API key {key_id} is {status}; only an active key is rotated")
        holder = s.get(Principal, old.principal_id) if old.principal_id is not None else None
        if holder is not None:
            _grant_holder(s, holder.name, old.project, old.role)
        created, expires = utc(old.created_at), utc(old.expires_at)
        row = ApiKey(
            key_id=key_id_new,
            secret_hash=_HASHER.hash(secret),
            project=old.project,
            role=old.role,
            name=old.name,
            created_by=actor,
            created_at=now,
            expires_at=now + (expires - created) if expires and created else None,
            principal_id=old.principal_id,
        )
        s.add(row)
        end = now + timedelta(seconds=overlap_seconds)
        old.expires_at = min(expires, end) if expires is not None else end
        s.flush()
        payload = key_payload(row, now, holder.name if holder else None)
        payload["rotated_from"] = key_id
        payload["old_expires_at"] = utc(old.expires_at)
        audit.record(
            s,
            actor=actor,
            action="apikey.rotate",
            subject=f"apikey:{key_id}",
            payload={
                "new_key": key_id_new,
                "project": old.project,
                "role": old.role,
                "principal": payload["principal"],
                "old_expires_at": payload["old_expires_at"].isoformat(),
                "expires_at": payload["expires_at"].isoformat() if payload["expires_at"] else None,
            },
        )
    return payload, f"{KEY_PREFIX}.{key_id_new}.{secret}"


def _name_of(s: Any, principal_id: int | None) -> str | None:
    if principal_id is None:
        return None
    holder = s.get(Principal, principal_id)
    return holder.name if holder is not None else None


def list_keys(
    ws: Workspace, *, project: str | None = None, include_inactive: bool = False
) -> list[dict[str, Any]]:
    """Keys, oldest first; only active ones unless ``include_inactive``.

    A key whose principal is disabled, or holds no grant on the key's project
    any more, is ``suspended``.
    """
    stmt = select(ApiKey).order_by(ApiKey.id)
    if project is not None:
        stmt = stmt.where(ApiKey.project == project)
    now = audit.now_utc()
    with ws.db.session() as s:
        holders = {p.id: p for p in s.scalars(select(Principal)).all()}
        rows = []
        for r in s.scalars(stmt).all():
            holder = holders.get(r.principal_id) if r.principal_id is not None else None
            payload = key_payload(r, now, holder.name if holder else None)
            if (
                holder is not None
                and payload["status"] == "active"
                and grant_role(s, holder, r.project) is None
            ):
                # Its principal is disabled or lost the grant: refused until that changes.
                payload["status"] = "suspended"
            rows.append(payload)
    return rows if include_inactive else [r for r in rows if r["status"] == "active"]


def verify_key(ws: Workspace, presented: str) -> dict[str, Any]:
    """The description of the active key ``presented``; ``PermissionDenied`` otherwise.

    The role returned is the one the key may use now: the lower of its own and
    its principal's current grant on its project. A key of a disabled
    principal, or of one that no longer holds a grant there, is refused; so is
    a key without a principal in team mode.

    The message does not say whether the key id exists, so that a caller
    cannot enumerate key ids.
    """
    key_id, secret = split_key(presented)
    with ws.db.session() as s:
        row = s.scalar(select(ApiKey).where(ApiKey.key_id == key_id))
        found = None if row is None else (row.secret_hash, *_standing(ws, s, row, key_id))
    # The argon2 work runs after the transaction: on SQLite every transaction
    # holds the write lock, and a flood of exchanges each hashing inside it
    # would queue past the busy timeout and fail as 500s.
    if found is None:
        # Hash anyway, so an unknown id takes as long as a wrong secret.
        _HASHER.hash(secret)
        raise PermissionDenied("the API key is not valid")
    stored, payload, refusal = found
    try:
        _HASHER.verify(stored, secret)
    except (VerificationError, InvalidHashError):
        raise PermissionDenied("the API key is not valid") from None
    if payload["status"] != "active":
        raise PermissionDenied(
            f"API key {key_id} is {payload['status']}; ask an operator for a new key"
        )
    if refusal:
        raise PermissionDenied(refusal)
    return payload


def _standing(ws: Workspace, s: Any, row: ApiKey, key_id: str) -> tuple[dict[str, Any], str | None]:
    """``row``'s description with the role it may use now, and why it is refused (or None)."""
    holder = s.get(Principal, row.principal_id) if row.principal_id is not None else None
    payload = key_payload(row, principal=holder.name if holder else None)
    if holder is None:
        if identity_mode(ws) == TEAM:
            return payload, (
                f"API key {key_id} belongs to no principal, and this workspace runs in "
                "team mode; an admin attaches it with 'aims team enable'"
            )
        return payload, None
    if holder.disabled_at is not None:
        return payload, f"API key {key_id} belongs to {holder.name}, who is disabled"
    held = grant_role(s, holder, row.project)
    if held is None:
        return payload, (
            f"API key {key_id} belongs to {holder.name}, who holds no grant on "
            f"project {row.project} any more"
        )
    if role_rank(held) < role_rank(row.role):
        payload["role"] = held
    _carry_elevation(s, holder, row, payload)
    return payload, None


def _carry_elevation(s: Any, holder: Principal, row: ApiKey, payload: dict[str, Any]) -> None:
    """Raise ``payload``'s role to the holder's active elevation on the key's project,
    when the key is not narrowed below the standing grant. Whenever the role used
    comes from the elevation, its end is kept as ``elevated_until`` (a token never
    outlives it)."""
    lift = active_elevation(s, holder.id, row.project)
    if lift is None:
        return
    standing = grant_role(s, holder, row.project, elevated=False)
    narrowed = standing is not None and role_rank(row.role) < role_rank(standing)
    if not narrowed and role_rank(lift.role) > role_rank(payload["role"]):
        payload["role"] = lift.role
    if standing is None or role_rank(payload["role"]) > role_rank(standing):
        payload["elevated_until"] = utc(lift.ends_at)


def revoked_key_ids(ws: Workspace) -> frozenset[str]:
    """Ids of every key whose tokens the server must refuse: revoked keys, keys of
    principals that are disabled or no longer hold a grant on the key's project,
    and keys whose elevation there was revoked before its end (until that end:
    tokens issued on an elevated role never live longer).

    Every server process reads this each poll interval, so it reads plain columns
    in four queries however many keys there are (:func:`~aims.services.grants.roles_in_force`).
    """
    with ws.db.session() as s:
        revoked = set(s.scalars(select(ApiKey.key_id).where(ApiKey.revoked_at.is_not(None))))
        owned = s.execute(
            select(ApiKey.key_id, ApiKey.project, Principal.id, Principal.disabled_at)
            .join(Principal, ApiKey.principal_id == Principal.id)
            .where(ApiKey.revoked_at.is_(None))
        ).all()
        roles = roles_in_force(s)
    for key_id, project, pid, disabled_at in owned:
        holds = disabled_at is None and roles.holds(pid, project)
        if not holds or (pid, project) in roles.cut_short:
            revoked.add(key_id)
    return frozenset(revoked)


def active_key_count(ws: Workspace) -> int:
    """How many keys may be used now: neither revoked nor expired nor suspended (a
    key whose principal is disabled or holds no grant on its project)."""
    return len(list_keys(ws))


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
    "rotate_key",
    "split_key",
    "verify_key",
]
