"""Risk assessments: versioned per model, the latest one that is vouched for in force."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aims.core.risk import load_risk
from aims.services import audit
from aims.services.anchors import content_digest, is_anchored
from aims.services.registry import get_model
from aims.storage.schema import Model, RiskAssessment
from aims.workspace import Workspace

__all__ = ["assess_risk", "latest_risk", "list_risks", "show_risk"]


def _jsonable(value: Any) -> Any:
    # What the JSON column will give back, so the digest in the event matches it.
    return json.loads(json.dumps(value, default=str))


def latest_risk(s: Session, model_id: int) -> RiskAssessment | None:
    """The newest risk assessment of the model that its audit event vouches for.

    A newer row with no matching audit event (written outside aims) is skipped.
    """
    key = audit.session_key(s)
    rows = s.scalars(
        select(RiskAssessment)
        .where(RiskAssessment.model_id == model_id)
        .order_by(RiskAssessment.version.desc())
    )
    return next((row for row in rows if is_anchored(s, row, key)), None)


def assess_risk(
    ws: Workspace, name: str, file: Path | dict[str, Any], *, actor: str
) -> dict[str, Any]:
    """Record a new version of the risk assessment of model ``name`` (a YAML file, or
    the document already parsed, as the HTTP API receives it)."""
    doc = load_risk(file, model=name)
    with ws.db.session() as s:
        model = get_model(s, name)
        prev = s.scalar(
            select(RiskAssessment)
            .where(RiskAssessment.model_id == model.id)
            .order_by(RiskAssessment.version.desc())
            .limit(1)
        )
        in_force = latest_risk(s, model.id)
        row = RiskAssessment(
            model_id=model.id,
            version=(prev.version if prev else 0) + 1,
            tier=doc.risk_tier,
            document=_jsonable(doc.to_dict()),
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
                "previous_tier": in_force.tier if in_force else None,
                "reviewer": row.reviewer,
                "next_review": row.next_review,
                "residual_risk": doc.residual_risk,
                "document_sha256": content_digest(row.document),
            },
            anchors=(row,),
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
    """The risk assessment in force for ``name`` (``None`` when there is none)."""
    with ws.db.session() as s:
        row = latest_risk(s, get_model(s, name).id)
        return None if row is None else _risk_payload(name, row, dt.date.today())
