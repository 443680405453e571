"""The compliance evidence report: facts from the store, judged control by control.

:func:`gather_facts` reads the store once into a
:class:`~aims.core.standards.facts.Facts` snapshot (models, versions, lineage,
risk assessments, approvals, evaluations, stage history, monitor windows,
incidents, audit chain, policy, access, and the MCP gateway's servers, pins,
agents, incidents and calls from :mod:`aims.services.evidence_gateway`). :func:`assess` (pure, from
:mod:`aims.core.standards.report`) runs each control's evidence rules over it,
and :func:`compliance_report` does both. Statuses are strict: a control is
*met* only where the store holds the evidence for every model in scope.

Renderers (HTML, Markdown, JSON) are in :mod:`aims.services.evidence_render`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from aims.clock import utc
from aims.core.standards import Standard, get_standard
from aims.core.standards.facts import (
    SERVING_STAGES,
    AccessFacts,
    ApprovalFacts,
    DatasetFacts,
    EvaluationFacts,
    EventRef,
    Facts,
    ModelFacts,
    MonitorFacts,
    PolicyFacts,
    ReportScope,
    RiskFacts,
    TransitionFacts,
    VersionFacts,
)
from aims.core.standards.impact import impact_summary
from aims.core.standards.report import ComplianceReport, ControlResult, assess
from aims.errors import ConfigError, InvalidInput
from aims.services import access_uses, evidence_audit, evidence_facts
from aims.services.access_review import review_facts
from aims.services.evidence_audit import GOVERNANCE_ACTIONS, audit_facts
from aims.services.evidence_gateway import gateway_facts, incident_facts
from aims.services.monitor import window_store
from aims.services.registry import owners_by_role
from aims.storage.schema import (
    ApiKey,
    Approval,
    Evaluation,
    Incident,
    Model,
    ModelVersion,
    RiskAssessment,
    StageTransition,
)
from aims.workspace import Workspace

if TYPE_CHECKING:
    from aims.services.audit import IncrementalVerifier
    from aims.services.evidence_chain import StoredChainCheck

INCIDENT_LOOKBACK_DAYS = 365
"""Resolved incidents older than this are left out; open ones are always in."""


# -- facts -------------------------------------------------------------------------------------


def _policy_facts(ws: Workspace) -> PolicyFacts:
    from aims.services.governance import policy_of

    try:
        policy = policy_of(ws)
    except ConfigError as exc:
        return PolicyFacts(valid=False, error=exc.message)
    return PolicyFacts(
        valid=True,
        default_tier=policy.default_tier,
        tiers={t: rules.model_dump(mode="json") for t, rules in policy.tiers.items()},
        monitoring=dict(policy.monitoring),
    )


def _access_facts(s: Session, ws: Workspace, now: dt.datetime, project: str | None) -> AccessFacts:
    query = select(ApiKey)
    if project is not None:
        query = query.where(ApiKey.project == project)
    keys = s.scalars(query).all()
    active = [
        k
        for k in keys
        if k.revoked_at is None and (k.expires_at is None or utc(k.expires_at) > now)
    ]
    raw = ws.settings.raw.get("people") or {}
    people: dict[str, tuple[str, ...]] = {}
    if isinstance(raw, Mapping):
        for who, roles in raw.items():
            roles = [roles] if isinstance(roles, str) else roles
            if isinstance(roles, list):
                people[str(who)] = tuple(str(r) for r in roles)
    return AccessFacts(
        n_active_keys=len(active),
        n_keys=len(keys),
        roles=tuple(sorted({k.role for k in active})),
        projects=tuple(sorted({k.project for k in active})),
        people=people,
        review=review_facts(s, ws, project),
    )


def _evaluation(s: Session, version_id: int) -> EvaluationFacts | None:
    row = s.scalar(
        select(Evaluation)
        .where(Evaluation.model_version_id == version_id)
        .order_by(Evaluation.id.desc())
        .limit(1)
    )
    if row is None:
        return None
    stored = row.result or {}
    ev = stored.get("evaluation") or {}
    parts = {
        "metrics": bool(ev.get("metrics")),
        "calibration": bool(ev.get("calibration")),
        "slices": bool(ev.get("slices")),
        "fairness": bool(ev.get("fairness")),
        "robustness": bool(ev.get("robustness")),
        "importance": bool((ev.get("importance") or {}).get("features")),
        "champion": "champion" in stored,
    }
    return EvaluationFacts(
        at=utc(row.created_at),
        created_by=row.created_by,
        data=Path(str(stored.get("data") or row.data_source)).name,
        n_rows=ev.get("n_rows"),
        metrics=dict(ev.get("metrics") or {}),
        parts=frozenset(k for k, ok in parts.items() if ok),
    )


def _monitor(s: Session, model_id: int, version: int) -> MonitorFacts:
    # Final windows only: an open window's provisional figures are not evidence yet.
    seen = window_store.version_windows(s, model_id, version)
    return MonitorFacts(seen.count, seen.newest_end, seen.newest_labelled_end)


def _version_facts(
    s: Session, mv: ModelVersion, transitions: list[StageTransition], detailed: bool
) -> VersionFacts:
    from aims.services.governance import approvals_of

    base = VersionFacts(
        version=mv.version,
        stage=mv.stage,
        flavour=mv.flavour,
        trusted=bool(mv.trusted),
        artifact_sha256=mv.artifact_sha256,
        git_commit=mv.git_commit,
        has_input_contract=bool(mv.input_contract),
        created_by=mv.created_by,
        created_at=utc(mv.created_at),
        transitions=tuple(
            TransitionFacts(t.from_stage, t.to_stage, t.actor, t.reason, utc(t.at))
            for t in transitions
        ),
    )
    if not detailed:
        return base
    approvals: list[Approval] = approvals_of(s, mv.id)
    return replace(
        base,
        datasets=tuple(
            DatasetFacts(
                ref=f"{d.dataset.name}@{d.version}",
                content_hash=d.content_hash,
                source=d.source,
                row_count=d.row_count,
                has_contract=bool(d.contract),
                has_profile=d.profile is not None,
                created_by=d.created_by,
            )
            for d in mv.inputs
        ),
        approvals=tuple(
            ApprovalFacts(
                a.actor, tuple(a.role.split(",")) if a.role else (), a.note, utc(a.created_at)
            )
            for a in approvals
        ),
        evaluation=_evaluation(s, mv.id),
        monitor=_monitor(s, mv.model_id, mv.version),
    )


def _model_facts(
    s: Session,
    model: Model,
    policy: PolicyFacts,
    scope: ReportScope,
    now: dt.datetime,
    events: tuple[EventRef, ...],
) -> ModelFacts:
    from aims.services.governance import latest_risk

    risk_row: RiskAssessment | None = latest_risk(s, model.id)
    risk = None
    if risk_row is not None:
        event = next(
            (
                e
                for e in reversed(events)
                if e.action == "risk.assess" and e.payload.get("version") == risk_row.version
            ),
            None,
        )
        risk = RiskFacts(
            version=risk_row.version,
            tier=risk_row.tier,
            document=risk_row.document,
            reviewer=risk_row.reviewer,
            next_review=dt.date.fromisoformat(risk_row.next_review),
            created_by=risk_row.created_by,
            created_at=utc(risk_row.created_at),
            event=event,
        )
    ids = [v.id for v in model.versions]
    by_version: dict[int, list[StageTransition]] = {i: [] for i in ids}
    for t in s.scalars(
        select(StageTransition)
        .where(StageTransition.model_version_id.in_(ids))
        .order_by(StageTransition.id)
    ).all():
        by_version[t.model_version_id].append(t)
    serving = [v for v in model.versions if v.stage in SERVING_STAGES]
    # Only the versions a report judges get the costly details (evaluation, monitor, lineage).
    judged = {v.id for v in (serving or model.versions[-1:])}
    versions = tuple(_version_facts(s, v, by_version[v.id], v.id in judged) for v in model.versions)
    tier = risk.tier if risk is not None else policy.default_tier
    rules = policy.tiers.get(tier, {}) if policy.valid else {}
    governs_production = "production" in (rules.get("stages") or [])
    incidents = s.scalars(
        select(Incident)
        .where(
            Incident.model_id == model.id,
            or_(
                Incident.resolved_at.is_(None),
                Incident.opened_at >= now - dt.timedelta(days=INCIDENT_LOOKBACK_DAYS),
            ),
        )
        .order_by(Incident.id)
    ).all()
    return ModelFacts(
        name=model.name,
        project=model.project,
        created_by=model.created_by,
        owners=owners_by_role(model),
        versions=versions,
        risk=risk,
        tier=tier,
        required_approvals=int((rules.get("approvals") or {}).get("count") or 0)
        if governs_production
        else 0,
        incidents=tuple(incident_facts(i) for i in incidents),
        events=events,
        in_scope=scope == "all" or bool(serving),
    )


def gather_facts(
    ws: Workspace,
    *,
    scope: ReportScope = "deployed",
    now: dt.datetime | None = None,
    project: str | None = None,
    chain: IncrementalVerifier | StoredChainCheck | None = None,
    read_log: bool = False,
) -> Facts:
    """Read everything the evidence checks need from the store, once.

    Parameters
    ----------
    ws
        The open workspace.
    scope
        ``deployed``: judge models with a version in production or canary;
        ``all``: judge every registered model (its serving versions, else its
        newest version).
    now
        The moment the report describes (default: now, UTC); review dates and
        monitoring recency are measured from it.
    project
        Only this project's models and API keys (default: every project). A
        viewer of one project must never see another's models, here as in the API.
    chain
        How the audit chain is verified: ``None`` (the default) walks it whole;
        a long-lived :class:`~aims.services.audit.IncrementalVerifier` walks
        only the events added since its previous call (a server rebuilding
        its report as the log grows), a
        :class:`~aims.services.evidence_chain.StoredChainCheck` from the
        newest walk recorded in the store. The report states which.
    read_log
        Read the events the checks cite straight from the whole audit log
        instead of the facts kept as it grows (slow on a long log; the facts
        are tested against it).
    """
    if scope not in ("deployed", "all"):
        raise InvalidInput(f"scope must be 'deployed' or 'all', got {scope!r}")
    now = utc(now) if now is not None else dt.datetime.now(dt.UTC)
    policy = _policy_facts(ws)
    if not read_log:
        evidence_facts.catch_up(ws.db)
    access_uses.catch_up(ws.db)
    audit = audit_facts(ws, chain, read_log=read_log)
    query = select(Model).order_by(Model.name)
    if project is not None:
        query = query.where(Model.project == project)
    cited = evidence_audit.events_by_model if read_log else evidence_facts.events_by_model
    # Gathering only reads: on SQLite it must not hold the write lock for its duration.
    with ws.db.reading(), ws.db.session() as s:
        rows = s.scalars(
            query.options(
                selectinload(Model.owners),
                selectinload(Model.versions).selectinload(ModelVersion.inputs),
            )
        ).all()
        events = cited(s, [m.name for m in rows])
        models = tuple(_model_facts(s, m, policy, scope, now, events[m.name]) for m in rows)
        access = _access_facts(s, ws, now, project)
        gateway = gateway_facts(s, project, now, lookback_days=INCIDENT_LOOKBACK_DAYS)
    from aims.services.trace_settings import content_evidence

    return Facts(
        now=now,
        workspace=str(ws.root),
        project=project if project is not None else ws.settings.project,
        scope=scope,
        policy=policy,
        audit=audit,
        access=access,
        models=models,
        gateway=gateway,
        # An LLM application's data profile cites its project's trace content policy.
        trace_content={
            p: content_evidence(ws, p)["text"] for p in sorted({m.project for m in models})
        },
    )


def compliance_report(
    ws: Workspace,
    standard: Standard | str = "iso42001",
    *,
    scope: ReportScope = "deployed",
    now: dt.datetime | None = None,
    project: str | None = None,
    chain: IncrementalVerifier | StoredChainCheck | None = None,
    read_log: bool = False,
) -> ComplianceReport:
    """Gather the facts of ``ws`` and judge ``standard``'s controls against them.

    Parameters
    ----------
    ws
        The open workspace.
    standard
        ``iso42001``, ``nist-ai-rmf`` or ``eu-ai-act`` (or a catalogue).
    scope, now, project, chain, read_log
        As for :func:`gather_facts`.
    """
    from aims.services.evidence_judgement import finish

    std = get_standard(standard) if isinstance(standard, str) else standard
    facts = gather_facts(ws, scope=scope, now=now, project=project, chain=chain, read_log=read_log)
    report = assess(std, facts)
    # Then what people recorded: the statement of applicability, outside evidence, findings.
    return finish(ws, report, project)


__all__ = [
    "GOVERNANCE_ACTIONS",
    "ComplianceReport",
    "ControlResult",
    "assess",
    "compliance_report",
    "gather_facts",
    "impact_summary",
]
