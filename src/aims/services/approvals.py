"""Approvals of model versions: one per person, never by the version's registrant."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aims.errors import Conflict, PermissionDenied
from aims.refs import parse_ref
from aims.services import audit
from aims.services.anchors import is_anchored
from aims.services.registry import get_model_version
from aims.services.workspace_rules import roles_of
from aims.storage.schema import Approval
from aims.workspace import Workspace

__all__ = ["approvals_of", "approve"]


def approve(ws: Workspace, text: str, *, actor: str, note: str = "") -> dict[str, Any]:
    """Record ``actor``'s approval of ``NAME@VERSION``; the registrant may not approve (four-eyes).

    Both are compared as principals (:mod:`aims.services.identity`): an approval
    through a second key of the registrant is hers, and an agent never approves.
    The approval is recorded under the principal's name.
    """
    from aims.services import identity

    ref = parse_ref(text)
    with ws.db.session() as s:
        mv = get_model_version(s, ref)
        subject = f"model:{mv.model.name}@{mv.version}"
        registrant = identity.person_name(s, mv.created_by)
        person = identity.approver(s, ws, actor, mv.model.project)
    refusal = None
    if person.kind == "agent":
        refusal = (
            "approvals.agent",
            f"{person.name} is an agent, and agents never approve; a person must run "
            "'aims approve'",
        )
    elif registrant == person.name:
        refusal = (
            "approvals.four_eyes",
            f"{person.name} registered {ref} and may not approve it (four-eyes rule); "
            "ask another person to run 'aims approve'",
        )
    if refusal is not None:
        with ws.db.session() as s:
            audit.record(
                s,
                actor=person.name,
                action="model.approve.refused",
                subject=subject,
                payload={"rule": refusal[0], "note": note, "via": person.via},
            )
        raise PermissionDenied(refusal[1])
    actor = person.name
    roles = tuple(dict.fromkeys((*roles_of(ws, actor), *person.roles)))
    with ws.db.session() as s:
        mv = get_model_version(s, ref)
        earlier = s.scalar(
            select(Approval).where(Approval.model_version_id == mv.id, Approval.actor == actor)
        )
        held = set(earlier.role.split(",")) if earlier is not None and earlier.role else set()
        if earlier is not None and set(roles) <= held:
            raise Conflict(f"{actor} has already approved {ref}; nothing changed")
        row = earlier
        if earlier is not None:
            # Approving again after gaining a role renews the approval with the roles held
            # now (the audit log keeps the earlier one), so it counts for the new role.
            earlier.role = ",".join(roles) or None
            earlier.note = note
            earlier.created_at = audit.now_utc()
        else:
            row = Approval(
                model_version_id=mv.id,
                actor=actor,
                role=",".join(roles) or None,
                note=note,
                created_at=audit.now_utc(),
            )
            s.add(row)
        s.flush()
        audit.record(
            s,
            actor=actor,
            action="model.approve",
            subject=subject,
            payload={
                "note": note,
                "roles": list(roles),
                "renewed": earlier is not None,
                **({"via": person.via} if person.via else {}),
            },
            anchors=(row,),
        )
        return {
            "model": mv.model.name,
            "version": mv.version,
            "approved_by": actor,
            "roles": list(roles),
            "note": note,
            "approvals": len(approvals_of(s, mv.id)),
        }


def approvals_of(s: Session, model_version_id: int) -> list[Approval]:
    """The approvals of a version that their audit events vouch for (the ones that count)."""
    key = audit.session_key(s)
    rows = s.scalars(
        select(Approval).where(Approval.model_version_id == model_version_id).order_by(Approval.id)
    ).all()
    return [row for row in rows if is_anchored(s, row, key)]
