"""Lifecycle: stages, promotion, rollback.

Stages: ``registered → staging → production → archived`` (``canary`` and
``shadow`` run beside production). :func:`promote` and :func:`rollback` are the
only ways to change what is in production; each records who, when and why, in
the same transaction as its audit event. At most one version per model is in
production: a partial unique index in the database makes concurrent promotions
of two versions leave exactly one there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError as DBIntegrityError
from sqlalchemy.orm import Session

from aims.errors import Conflict, GateFailed, IntegrityError, InvalidInput, NotFound
from aims.refs import parse_ref
from aims.services import audit
from aims.services.contract_guard import check_force_reason, narrowed, refuse
from aims.services.elevation import require_elevation
from aims.services.registry import get_model, get_model_version, version_payload
from aims.storage.schema import ModelVersion, StageTransition
from aims.workspace import Workspace

STAGES = ("registered", "staging", "production", "canary", "shadow", "archived")
PROMOTABLE = ("staging", "production", "canary", "shadow")


@dataclass(frozen=True)
class PromotionRequest:
    """What a promotion check sees."""

    model: str
    version: int
    target: str
    actor: str
    override_reason: str | None = None


@dataclass
class CheckOutcome:
    """Unmet rules found by the promotion checks (empty: the promotion may go on)."""

    unmet: list[dict[str, Any]] = field(default_factory=list)


# A promotion check receives the open session, the version row and the request
# and returns unmet rules as dicts with at least "rule" and "message".
PromotionCheck = Callable[[Session, ModelVersion, PromotionRequest], list[dict[str, Any]]]


def required_owners_check(
    s: Session, mv: ModelVersion, req: PromotionRequest
) -> list[dict[str, Any]]:
    """Production-like stages need a ``monitoring`` and a ``deployment`` owner."""
    if req.target == "staging":
        return []
    have = {o.role for o in mv.model.owners}
    return [
        {
            "rule": f"owners.{role}",
            "message": f"model {mv.model.name!r} has no {role} owner; "
            f"set one with 'aims model owners {mv.model.name} {role}=EMAIL'",
        }
        for role in ("monitoring", "deployment")
        if role not in have
    ]


DEFAULT_CHECKS: list[PromotionCheck] = [required_owners_check]


def _transition(s: Session, mv: ModelVersion, to: str, actor: str, reason: str) -> StageTransition:
    row = StageTransition(
        model_version_id=mv.id,
        from_stage=mv.stage,
        to_stage=to,
        actor=actor,
        reason=reason,
        at=audit.now_utc(),
    )
    s.add(row)
    mv.stage = to
    return row


def _dedupe(items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for item in items:
        seen.setdefault(item["rule"], item)
    return list(seen.values())


def _authorise_override(ws: Workspace, req: PromotionRequest, unmet: list[dict[str, Any]]) -> None:
    """Only an admin may override, and only with a reason; a refused attempt is audited."""
    from aims.errors import PermissionDenied
    from aims.services.governance import require_admin

    if not (req.override_reason or "").strip():
        raise InvalidInput("an override needs a reason: --override --reason 'why'")
    try:
        require_admin(ws, req.actor)
    except PermissionDenied:
        with ws.db.session() as s:
            audit.record(
                s,
                actor=req.actor,
                action="model.promote.override.refused",
                subject=f"model:{req.model}@{req.version}",
                payload={"stage": req.target, "unmet": unmet, "reason": req.override_reason},
            )
        raise


def _check_artifact(ws: Workspace, what: str, sha256: str, *, actor: str, action: str) -> None:
    """Re-hash the version's artifact before it may serve; refuse (audited) when damaged or gone.

    Without this, a version whose file was damaged in the store could be
    promoted: the registry would name it while the servers, which verify
    before loading, kept serving the previous one.
    """
    try:
        ws.artifacts.verify(sha256)
    except (IntegrityError, NotFound) as exc:
        with ws.db.session() as s:
            audit.record(
                s,
                actor=actor,
                action=f"{action}.refused",
                subject=f"model:{what}",
                payload={"rule": "artifact.intact", "sha256": sha256},
            )
        raise type(exc)(
            f"{action.replace('model.', '')} of {what} refused, nothing changed: {exc}"
        ) from None


def _record_refusal(ws: Workspace, req: PromotionRequest, unmet: list[dict[str, Any]]) -> None:
    with ws.db.session() as s:
        audit.record(
            s,
            actor=req.actor,
            action="model.promote.refused",
            subject=f"model:{req.model}@{req.version}",
            payload={"stage": req.target, "unmet": unmet},
        )


def promote(
    ws: Workspace,
    text: str,
    stage: str,
    *,
    actor: str,
    reason: str = "",
    traffic: float | None = None,
    checks: list[PromotionCheck] | None = None,
    override_reason: str | None = None,
    force_reason: str | None = None,
) -> dict[str, Any]:
    """Move ``NAME@VERSION`` to ``stage``; the current production version is archived.

    Raises :class:`GateFailed` listing every unmet rule; the refusal is audited.
    A version headed for production or a canary whose input contract refuses
    requests the production version accepts is refused
    (:class:`~aims.services.contract_guard.ContractNarrowed`, audited) unless
    ``force_reason`` is given; the audit event then records the difference.
    """
    check_force_reason(force_reason)
    if stage not in PROMOTABLE:
        raise InvalidInput(
            f"stage {stage!r} is not a promotion target; use {', '.join(PROMOTABLE)}"
        )
    if stage == "canary":
        if traffic is None or not 0 < traffic < 100:
            raise InvalidInput("a canary needs --canary PCT with 0 < PCT < 100 (share of traffic)")
    elif traffic is not None:
        raise InvalidInput("a traffic share applies only to a canary (--canary PCT)")
    ref = parse_ref(text)
    if ref.version is None:
        raise InvalidInput(f"{text!r}: promote a version number, e.g. {ref.name}@1")
    req = PromotionRequest(ref.name, ref.version, stage, actor, override_reason)
    if checks is None:
        from aims.services.governance import policy_check

        checks = [*DEFAULT_CHECKS, policy_check(ws)]
    with ws.db.session() as s:
        mv = get_model_version(s, ref)
        if mv.stage == stage:
            raise Conflict(f"{ref} is already in {stage}; nothing changed")
        if mv.stage == "production":
            # Moving the production version anywhere else would leave the model
            # without one: production changes only by promoting another version
            # or by a rollback.
            raise Conflict(
                f"{ref} is in production; to replace it promote another version to "
                f"production, or run 'aims rollback {ref.name}'"
            )
        unmet = _dedupe(u for check in checks for u in check(s, mv, req))
        sha256 = mv.artifact_sha256
        serving = next((v for v in mv.model.versions if v.stage == "production"), None)
        diff = narrowed(serving, mv) if stage in ("production", "canary") else []
        serving_version = serving.version if serving is not None else None
        project = mv.model.project
    if stage == "production":
        require_elevation(ws, actor, project, "promote")
    # Hashed outside the transaction: a large file must not hold the store's write lock.
    # No override skips this: a damaged artifact cannot serve whatever the gates say.
    _check_artifact(ws, str(ref), sha256, actor=actor, action="model.promote")
    if diff and force_reason is None:
        with ws.db.session() as s:
            audit.record(
                s,
                actor=actor,
                action="model.promote.refused",
                subject=f"model:{ref}",
                payload={"stage": stage, "rule": "contract.narrowed", "narrowed": diff},
            )
        refuse(f"promotion of {ref} to {stage}", serving_version or 0, ref.version, diff)
    if override_reason is not None:
        _authorise_override(ws, req, unmet)
    if unmet and not override_reason:
        _record_refusal(ws, req, unmet)
        lines = "\n".join(f"  - {u['rule']}: {u['message']}" for u in unmet)
        raise GateFailed(
            f"promotion of {ref} to {stage} refused, {len(unmet)} unmet rule(s):\n{lines}",
            rules=[u["rule"] for u in unmet],
        )
    why = reason or f"promoted to {stage}"
    try:
        with ws.db.session() as s:
            mv = get_model_version(s, ref)
            previous = None
            moves = []  # tied to the audit event below, in this transaction
            if stage == "production":
                for other in mv.model.versions:
                    if other.stage == "production" and other.id != mv.id:
                        previous = other.version
                        moves.append(
                            _transition(
                                s, other, "archived", actor, f"replaced by v{mv.version}: {why}"
                            )
                        )
                        other.traffic = None
                s.flush()
            elif stage in ("canary", "shadow"):
                for other in mv.model.versions:
                    if other.stage == stage and other.id != mv.id:
                        moves.append(
                            _transition(s, other, "archived", actor, f"replaced by v{mv.version}")
                        )
                        other.traffic = None
            moves.append(_transition(s, mv, stage, actor, why))
            mv.traffic = traffic if stage == "canary" else None
            s.flush()
            payload: dict[str, Any] = {
                "stage": stage,
                "reason": why,
                "previous_production": previous,
            }
            if traffic is not None:
                payload["traffic"] = traffic
            if unmet:
                payload["override"] = {"reason": override_reason, "unmet": unmet}
            if diff:
                payload["forced"] = {"reason": force_reason, "narrowed": diff}
            audit.record(
                s,
                actor=actor,
                action="model.promote.override" if unmet else "model.promote",
                subject=f"model:{ref.name}@{ref.version}",
                payload=payload,
                anchors=tuple(moves),
            )
            return version_payload(mv)
    except DBIntegrityError:
        raise Conflict(
            f"another promotion of {ref.name!r} to production committed first; "
            "check 'aims model show' and retry if still wanted"
        ) from None


def previous_production(s: Session, model_id: int, current_id: int | None) -> ModelVersion | None:
    """The version that was in production before the current one, per the stage history."""
    rows = s.scalars(
        select(StageTransition)
        .join(ModelVersion, ModelVersion.id == StageTransition.model_version_id)
        .where(ModelVersion.model_id == model_id, StageTransition.to_stage == "production")
        .order_by(StageTransition.id.desc())
    ).all()
    for tr in rows:
        if tr.model_version_id != current_id:
            mv = s.get(ModelVersion, tr.model_version_id)
            if mv is not None and mv.stage != "production":
                return mv
    return None


def rollback(
    ws: Workspace, name: str, *, actor: str, reason: str = "", force_reason: str | None = None
) -> dict[str, Any]:
    """Put the previous production version of ``name`` back into production.

    Refused (:class:`~aims.services.contract_guard.ContractNarrowed`, audited)
    when the restored version's input contract refuses requests the current
    one accepts, unless ``force_reason`` is given; the audit event then
    records the difference and the reason.
    """
    check_force_reason(force_reason)
    why = force_reason or reason or "rollback"
    forbidden = _prohibited_tier(ws, name)
    if forbidden is not None:
        with ws.db.session() as s:
            audit.record(
                s,
                actor=actor,
                action="model.rollback.refused",
                subject=f"model:{name}",
                payload={"rule": "tier.prohibited", "tier": forbidden, "reason": why},
            )
        raise GateFailed(
            f"rollback of {name} refused: its latest risk assessment puts it in tier "
            f"{forbidden!r}, which forbids production; nothing changed",
            rules=["tier.prohibited"],
        )
    with ws.db.session() as s:
        model = get_model(s, name)
        current = next((v for v in model.versions if v.stage == "production"), None)
        target = previous_production(s, model.id, current.id if current else None)
        back = (target.version, target.artifact_sha256) if target is not None else None
        diff = narrowed(current, target) if target is not None else []
        current_version = current.version if current is not None else 0
        project = model.project
    require_elevation(ws, actor, project, "rollback")
    if back is not None:
        _check_artifact(ws, f"{name}@{back[0]}", back[1], actor=actor, action="model.rollback")
    if back is not None and diff and force_reason is None:
        with ws.db.session() as s:
            audit.record(
                s,
                actor=actor,
                action="model.rollback.refused",
                subject=f"model:{name}",
                payload={"rule": "contract.narrowed", "to": back[0], "narrowed": diff},
            )
        refuse(f"rollback of {name} to v{back[0]}", current_version, back[0], diff)
    with ws.db.session() as s:
        model = get_model(s, name)
        current = next((v for v in model.versions if v.stage == "production"), None)
        target = previous_production(s, model.id, current.id if current else None)
        if target is None:
            raise NotFound(
                f"model {name!r} has no earlier production version to roll back to"
                + ("" if current else " (and nothing is in production)")
            )
        moves = []  # tied to the audit event below, in this transaction
        if current is not None:
            moves.append(_transition(s, current, "archived", actor, f"rolled back: {why}"))
            s.flush()
        moves.append(
            _transition(
                s,
                target,
                "production",
                actor,
                f"rollback from v{current.version if current else '-'}: {why}",
            )
        )
        target.traffic = None
        s.flush()
        audit.record(
            s,
            actor=actor,
            action="model.rollback",
            subject=f"model:{name}@{target.version}",
            payload={
                "from": current.version if current else None,
                "to": target.version,
                "reason": why,
                **({"forced": {"reason": force_reason, "narrowed": diff}} if diff else {}),
            },
            anchors=tuple(moves),
        )
        return version_payload(target)


def _prohibited_tier(ws: Workspace, name: str) -> str | None:
    """The model's risk tier when the policy forbids it production, else None.

    A rollback skips the promotion gates (it restores a version that passed
    them), but not a tier that forbids deployment outright: such a tier
    means the model was judged unacceptable since.
    """
    from aims.core.policy import tier_of
    from aims.core.risk import RiskAssessment as RiskDoc
    from aims.services.governance import latest_risk, policy_of

    policy = policy_of(ws)
    with ws.db.session() as s:
        row = latest_risk(s, get_model(s, name).id)
        risk = RiskDoc.from_dict(row.document) if row is not None else None
    tier, _ = tier_of(policy, risk)
    rules = policy.tiers[tier]
    return tier if rules.prohibited and "production" in rules.stages else None


def history(ws: Workspace, name: str) -> list[dict[str, Any]]:
    """The stage history of every version of ``name``, oldest first."""
    with ws.db.session() as s:
        model = get_model(s, name)
        rows = s.scalars(
            select(StageTransition)
            .join(ModelVersion, ModelVersion.id == StageTransition.model_version_id)
            .where(ModelVersion.model_id == model.id)
            .order_by(StageTransition.id)
        ).all()
        by_id = {v.id: v.version for v in model.versions}
        return [
            {
                "version": by_id[t.model_version_id],
                "from": t.from_stage,
                "to": t.to_stage,
                "actor": t.actor,
                "reason": t.reason,
                "at": t.at,
            }
            for t in rows
        ]
