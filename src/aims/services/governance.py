"""Governance: risk assessments, approvals, evaluations and the policy gates.

The policy (``aims.yaml`` → ``policy:``) decides what a version needs before a
promotion; :func:`policy_check` plugs it into :func:`aims.services.lifecycle.promote`.
People's roles for approvals and overrides come from ``aims.yaml`` → ``people:``
(``email: [role, ...]``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aims.core.evaluation import EvaluationResult
from aims.core.policy import Approval as PolicyApproval
from aims.core.policy import Policy, PromotionFacts, check_promotion, workspace_policy
from aims.core.risk import RiskAssessment as RiskDoc
from aims.core.risk import load_risk
from aims.errors import ConfigError, Conflict, InvalidInput, PermissionDenied
from aims.refs import parse_ref
from aims.services import audit
from aims.services.registry import file_sha256, get_model, get_model_version, load_version
from aims.storage.schema import Approval, Evaluation, Model, ModelVersion, RiskAssessment
from aims.workspace import Workspace

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


# -- risk ----------------------------------------------------------------------


def latest_risk(s: Session, model_id: int) -> RiskAssessment | None:
    return s.scalar(
        select(RiskAssessment)
        .where(RiskAssessment.model_id == model_id)
        .order_by(RiskAssessment.version.desc())
        .limit(1)
    )


def assess_risk(ws: Workspace, name: str, file: Path, *, actor: str) -> dict[str, Any]:
    """Record a new version of the risk assessment of model ``name``."""
    doc = load_risk(file, model=name)
    with ws.db.session() as s:
        model = get_model(s, name)
        prev = latest_risk(s, model.id)
        row = RiskAssessment(
            model_id=model.id,
            version=(prev.version if prev else 0) + 1,
            tier=doc.risk_tier,
            document=doc.to_dict(),
            reviewer=doc.reviewer,
            next_review=doc.next_review.isoformat(),
            created_by=actor,
            created_at=audit.now_utc(),
        )
        s.add(row)
        s.flush()
        audit.record(
            s,
            actor=actor,
            action="risk.assess",
            subject=f"model:{name}",
            payload={
                "version": row.version,
                "tier": row.tier,
                "previous_tier": prev.tier if prev else None,
                "reviewer": row.reviewer,
                "next_review": row.next_review,
                "residual_risk": doc.residual_risk,
            },
        )
        return _risk_payload(name, row, dt.date.today())


def _risk_payload(name: str, row: RiskAssessment, today: dt.date) -> dict[str, Any]:
    return {
        "model": name,
        "version": row.version,
        "tier": row.tier,
        "reviewer": row.reviewer,
        "next_review": row.next_review,
        "overdue": dt.date.fromisoformat(row.next_review) < today,
        "assessed_by": row.created_by,
        "recorded_at": row.created_at,
        "document": row.document,
    }


def list_risks(ws: Workspace, today: dt.date | None = None) -> list[dict[str, Any]]:
    """The latest risk assessment of every model (``None`` fields where there is none)."""
    today = today or dt.date.today()
    out = []
    with ws.db.session() as s:
        for model in s.scalars(select(Model).order_by(Model.name)).all():
            row = latest_risk(s, model.id)
            if row is None:
                out.append(
                    {
                        "model": model.name,
                        "version": None,
                        "tier": None,
                        "overdue": None,
                        "next_review": None,
                        "reviewer": None,
                    }
                )
            else:
                item = _risk_payload(model.name, row, today)
                item.pop("document")
                out.append(item)
    return out


def show_risk(ws: Workspace, name: str) -> dict[str, Any] | None:
    with ws.db.session() as s:
        row = latest_risk(s, get_model(s, name).id)
        return None if row is None else _risk_payload(name, row, dt.date.today())


# -- approvals -------------------------------------------------------------------


def approve(ws: Workspace, text: str, *, actor: str, note: str = "") -> dict[str, Any]:
    """Record ``actor``'s approval of ``NAME@VERSION``; the registrant may not approve (four-eyes)."""
    ref = parse_ref(text)
    with ws.db.session() as s:
        mv = get_model_version(s, ref)
        subject = f"model:{mv.model.name}@{mv.version}"
        registrant = mv.created_by
    if registrant == actor:
        with ws.db.session() as s:
            audit.record(
                s,
                actor=actor,
                action="model.approve.refused",
                subject=subject,
                payload={"rule": "approvals.four_eyes", "note": note},
            )
        raise PermissionDenied(
            f"{actor} registered {ref} and may not approve it (four-eyes rule); "
            "ask another person to run 'aims approve'"
        )
    roles = roles_of(ws, actor)
    with ws.db.session() as s:
        mv = get_model_version(s, ref)
        earlier = s.scalar(
            select(Approval).where(Approval.model_version_id == mv.id, Approval.actor == actor)
        )
        held = set(earlier.role.split(",")) if earlier is not None and earlier.role else set()
        if earlier is not None and set(roles) <= held:
            raise Conflict(f"{actor} has already approved {ref}; nothing changed")
        if earlier is not None:
            # Approving again after gaining a role renews the approval with the roles held
            # now (the audit log keeps the earlier one), so it counts for the new role.
            earlier.role = ",".join(roles) or None
            earlier.note = note
            earlier.created_at = audit.now_utc()
        else:
            s.add(
                Approval(
                    model_version_id=mv.id,
                    actor=actor,
                    role=",".join(roles) or None,
                    note=note,
                    created_at=audit.now_utc(),
                )
            )
        s.flush()
        audit.record(
            s,
            actor=actor,
            action="model.approve",
            subject=subject,
            payload={"note": note, "roles": list(roles), "renewed": earlier is not None},
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
    return list(
        s.scalars(
            select(Approval)
            .where(Approval.model_version_id == model_version_id)
            .order_by(Approval.id)
        ).all()
    )


# -- evaluation ------------------------------------------------------------------


def evaluate(
    ws: Workspace,
    text: str,
    data: Path,
    *,
    actor: str,
    label: str | None = None,
    sensitive: Sequence[str] = (),
    champion: bool = True,
    shap: bool = False,
) -> dict[str, Any]:
    """Evaluate ``NAME@VERSION`` on labelled ``data``, and the production version beside it.

    With ``shap``, the version's features are also explained by mean |SHAP|
    (the optional ``shap`` package; checked before any work is done).
    """
    if shap:
        from aims.core.explain import require_shap

        require_shap()
    from aims.core import frames
    from aims.core.evaluation import evaluate as run

    ref = parse_ref(text)
    with ws.db.session() as s:
        mv = get_model_version(s, ref)
        payload = {
            "artifact_sha256": mv.artifact_sha256,
            "flavour": mv.flavour,
            "trusted": mv.trusted,
        }
        features = mv.info.get("feature_names")
        contract_label = _contract_label(mv)
        prod = next(
            (v for v in mv.model.versions if v.stage == "production" and v.id != mv.id), None
        )
        prod_payload = (
            {
                "artifact_sha256": prod.artifact_sha256,
                "flavour": prod.flavour,
                "trusted": prod.trusted,
                "version": prod.version,
            }
            if prod is not None and champion
            else None
        )
    label = label or contract_label
    if not label:
        raise InvalidInput(
            "which column holds the label? pass --label COL (or name it in the data contract)"
        )
    frame = frames.read(Path(data))
    digest = file_sha256(Path(data))
    model = load_version(ws, payload)
    data_id = f"{Path(data).name}:{digest[:12]}"
    result = run(
        model,
        frame,
        label=label,
        features=features,
        sensitive=list(sensitive),
        shap=shap,
        data_id=data_id,
    )
    out: dict[str, Any] = {
        "model": ref.name,
        "version": ref.version or mv.version,
        "data": str(data),
        "evaluation": result.to_dict(),
    }
    if prod_payload is not None:
        champ = run(
            load_version(ws, prod_payload),
            frame,
            label=label,
            features=features,
            sensitive=list(sensitive),
            robustness=False,
            importance=False,
            data_id=data_id,
        )
        out["champion"] = {"version": prod_payload["version"], "evaluation": champ.to_dict()}
        out["comparison"] = result.compare(champ).to_dict()
    with ws.db.session() as s:
        mv = get_model_version(s, ref)
        s.add(
            Evaluation(
                model_version_id=mv.id,
                data_source=str(Path(data).resolve()),
                data_hash=digest,
                result=_jsonable(out),
                created_by=actor,
                created_at=audit.now_utc(),
            )
        )
        s.flush()
        audit.record(
            s,
            actor=actor,
            action="model.evaluate",
            subject=f"model:{mv.model.name}@{mv.version}",
            payload={
                "data_hash": digest,
                "metrics": result.metrics,
                "champion_version": prod_payload["version"] if prod_payload else None,
            },
        )
    return out


def _jsonable(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value, default=str))


def _contract_label(mv: ModelVersion) -> str | None:
    if not mv.input_contract:
        return None
    from aims.core.contract import label_column, parse_contract

    return label_column(
        parse_contract(mv.input_contract, source=f"input contract of v{mv.version}")
    )


def latest_evaluation(s: Session, model_version_id: int) -> dict[str, Any] | None:
    row = s.scalar(
        select(Evaluation)
        .where(Evaluation.model_version_id == model_version_id)
        .order_by(Evaluation.id.desc())
        .limit(1)
    )
    return None if row is None else row.result


# -- gates -----------------------------------------------------------------------


def promotion_facts(
    ws: Workspace, s: Session, mv: ModelVersion, target: str, today: dt.date | None = None
) -> PromotionFacts:
    """Everything the policy needs to know about ``mv``, read from the store."""
    risk_row = latest_risk(s, mv.model_id)
    stored = latest_evaluation(s, mv.id)
    evaluation = champion = champion_version = None
    if stored is not None:
        evaluation = EvaluationResult.from_dict(stored["evaluation"])
        if "champion" in stored:
            champion = EvaluationResult.from_dict(stored["champion"]["evaluation"])
            champion_version = stored["champion"].get("version")
    prod = next((v.version for v in mv.model.versions if v.stage == "production"), None)
    return PromotionFacts(
        model=mv.model.name,
        version=mv.version,
        target_stage=target,
        today=today or dt.date.today(),
        registered_by=mv.created_by,
        risk=RiskDoc.from_dict(risk_row.document) if risk_row is not None else None,
        owners={o.role: o.owner for o in mv.model.owners},
        approvals=tuple(
            PolicyApproval(a.actor, tuple(a.role.split(",")) if a.role else ())
            for a in approvals_of(s, mv.id)
        ),
        evaluation=evaluation,
        champion_evaluation=champion,
        champion_version=champion_version,
        production_version=prod,
        task=(mv.info or {}).get("task"),
    )


def policy_check(ws: Workspace):  # -> lifecycle.PromotionCheck
    """A promotion check that applies the workspace policy."""
    policy = policy_of(ws)

    def check(s: Session, mv: ModelVersion, req: Any) -> list[dict[str, Any]]:
        # Canary and shadow serve real traffic, so they answer to production's rules.
        target = "production" if req.target in ("canary", "shadow") else req.target
        facts = promotion_facts(ws, s, mv, target)
        return [r.to_dict() for r in check_promotion(policy, facts) if not r.passed]

    return check


def gates(ws: Workspace, text: str, stage: str = "production") -> dict[str, Any]:
    """Every rule the policy applies to promoting ``NAME@VERSION`` to ``stage``, with outcomes."""
    from aims.core.policy import effective_tier

    policy = policy_of(ws)
    with ws.db.session() as s:
        mv = get_model_version(s, parse_ref(text))
        facts = promotion_facts(ws, s, mv, stage)
        results = [r.to_dict() for r in check_promotion(policy, facts)]
        tier, source = effective_tier(policy, facts)
        return {
            "model": mv.model.name,
            "version": mv.version,
            "stage": stage,
            "tier": tier,
            "tier_source": source,
            "passed": all(r["passed"] for r in results),
            "rules": results,
        }


def require_admin(ws: Workspace, actor: str) -> None:
    if ADMIN not in roles_of(ws, actor):
        raise PermissionDenied(
            f"{actor} may not override the promotion policy: only the admin role may "
            f"(aims.yaml → people: {actor}: [admin])"
        )
