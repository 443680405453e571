"""A snapshot of what the store holds, as plain values for the evidence checks.

:func:`aims.services.evidence.gather_facts` reads the store once into a
:class:`Facts`; every check in :mod:`aims.core.standards.checks` is a pure
function of it, so the checks are tested without a database and a report is
consistent with one moment of the store.

Examples
--------
>>> import datetime as dt
>>> f = Facts(now=dt.datetime(2025, 3, 1, tzinfo=dt.UTC), workspace="/ws", project="p")
>>> f.today, f.in_scope
(datetime.date(2025, 3, 1), ())
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from aims.core.standards.gateway_facts import GatewayFacts
from aims.core.standards.incident_facts import IncidentFacts

ReportScope = Literal["deployed", "all"]
"""``deployed``: models with a version in production or canary; ``all``: every model."""

SERVING_STAGES = ("production", "canary")
"""Stages whose versions decide real requests (shadow versions answer nobody)."""


@dataclass(frozen=True)
class EventRef:
    """One audit event, enough to cite and link it."""

    seq: int
    ts: str
    actor: str
    action: str
    subject: str
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DatasetFacts:
    """A training dataset version of a model version."""

    ref: str
    content_hash: str
    source: str
    row_count: int
    has_contract: bool
    """An explicit data contract was given (and passed) at registration."""
    has_profile: bool
    """A statistical reference profile is stored (monitoring compares against it)."""
    created_by: str


@dataclass(frozen=True)
class ApprovalFacts:
    actor: str
    roles: tuple[str, ...]
    note: str
    at: dt.datetime


@dataclass(frozen=True)
class TransitionFacts:
    """One change of stage of a version."""

    from_stage: str
    to_stage: str
    actor: str
    reason: str
    at: dt.datetime


@dataclass(frozen=True)
class EvaluationFacts:
    """The latest stored evaluation of a version."""

    at: dt.datetime
    created_by: str
    data: str
    n_rows: int | None
    metrics: Mapping[str, float | None]
    parts: frozenset[str]
    """Which analyses it holds: metrics, calibration, slices, fairness, robustness,
    importance, champion (a comparison with the production version)."""


@dataclass(frozen=True)
class MonitorFacts:
    """The monitor windows of one version."""

    n_windows: int = 0
    last_end: dt.datetime | None = None
    """End of the newest window."""
    last_labelled_end: dt.datetime | None = None
    """End of the newest window with at least one labelled prediction."""


@dataclass(frozen=True)
class VersionFacts:
    """A model version. Lineage, approvals, evaluation and monitor windows are filled
    for the versions a report judges (:attr:`ModelFacts.reviewed`) and left empty
    for the others."""

    version: int
    stage: str
    flavour: str
    trusted: bool
    """Stored as a pickle the user vouched for (not skops/ONNX)."""
    artifact_sha256: str
    git_commit: str | None
    has_input_contract: bool
    created_by: str
    created_at: dt.datetime
    datasets: tuple[DatasetFacts, ...] = ()
    approvals: tuple[ApprovalFacts, ...] = ()
    evaluation: EvaluationFacts | None = None
    transitions: tuple[TransitionFacts, ...] = ()
    monitor: MonitorFacts = MonitorFacts()

    @property
    def independent_approvals(self) -> tuple[ApprovalFacts, ...]:
        """Approvals by someone other than the person who registered the version."""
        return tuple(a for a in self.approvals if a.actor != self.created_by)

    def ever_in(self, stage: str) -> bool:
        return any(t.to_stage == stage for t in self.transitions)


@dataclass(frozen=True)
class RiskFacts:
    """The risk assessment in force (the latest recorded)."""

    version: int
    tier: str
    document: Mapping[str, Any]
    reviewer: str
    next_review: dt.date
    created_by: str
    created_at: dt.datetime
    event: EventRef | None = None
    """The ``risk.assess`` event that recorded it."""

    def overdue(self, today: dt.date) -> bool:
        return today > self.next_review


@dataclass(frozen=True)
class ModelFacts:
    name: str
    project: str
    created_by: str
    owners: Mapping[str, str] = field(default_factory=dict)
    versions: tuple[VersionFacts, ...] = ()
    risk: RiskFacts | None = None
    tier: str = "high"
    """The tier that applies: the risk assessment's, else the policy's default."""
    required_approvals: int = 1
    """Approvals the policy asks of the tier for production (at least one is always expected)."""
    incidents: tuple[IncidentFacts, ...] = ()
    events: tuple[EventRef, ...] = ()
    """Governance events about the model and its versions, oldest first."""
    in_scope: bool = False

    @cached_property
    def serving(self) -> tuple[VersionFacts, ...]:
        """Versions that answer requests (production first, then canary)."""
        return tuple(v for stage in SERVING_STAGES for v in self.versions if v.stage == stage)

    @cached_property
    def reviewed(self) -> tuple[VersionFacts, ...]:
        """The versions a report judges: those serving, else the newest one."""
        return self.serving or self.versions[-1:]

    def events_of(self, version: int | None, *actions: str) -> tuple[EventRef, ...]:
        """Events with one of ``actions`` about ``version`` (``None``: the model itself)."""
        subject = f"model:{self.name}" + ("" if version is None else f"@{version}")
        return tuple(e for e in self.events if e.subject == subject and e.action in actions)


@dataclass(frozen=True)
class PolicyFacts:
    valid: bool = False
    error: str | None = None
    default_tier: str = "high"
    tiers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Each tier's rules as plain data (``TierPolicy.model_dump()``)."""
    monitoring: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BreakGlass:
    """One audit event written by a command forced past team mode."""

    seq: int
    actor: str
    action: str
    reason: str


@dataclass(frozen=True)
class AuditFacts:
    ok: bool = False
    n_events: int = 0
    head_seq: int = 0
    problem: str | None = None
    problem_seq: int | None = None
    verified_from: int = 0
    """0: the whole chain was walked for this report; else only the events after
    this seq were, on top of an earlier walk of this process up to it."""
    break_glass: tuple[BreakGlass, ...] = ()
    """Governance writes forced past team mode (``--break-glass``), oldest first."""


@dataclass(frozen=True)
class ReviewFacts:
    """The access review (``aims access review``) when the report is made."""

    kinds: Mapping[str, int] = field(default_factory=dict)
    """Enabled principals by kind."""
    findings: Mapping[str, int] = field(default_factory=dict)
    """Findings by rule (``grant.unused``, ``key.rotation``, ...)."""
    messages: tuple[str, ...] = ()
    elevation_required: tuple[str, ...] = ()
    """Acts that need a just-in-time elevation (``access.elevation_required``)."""


@dataclass(frozen=True)
class AccessFacts:
    n_active_keys: int = 0
    n_keys: int = 0
    roles: tuple[str, ...] = ()
    """Roles held by active keys."""
    projects: tuple[str, ...] = ()
    people: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """``aims.yaml`` → ``people:``: roles by person."""
    review: ReviewFacts | None = None


@dataclass(frozen=True)
class Facts:
    """Everything the checks read, for one workspace at one moment."""

    now: dt.datetime
    workspace: str
    project: str
    scope: ReportScope = "deployed"
    policy: PolicyFacts = PolicyFacts()
    audit: AuditFacts = AuditFacts()
    access: AccessFacts = AccessFacts()
    models: tuple[ModelFacts, ...] = ()
    trace_content: Mapping[str, str] = field(default_factory=dict)
    """What message content of LLM traces each project keeps (its content policy, as text)."""
    gateway: GatewayFacts = field(default_factory=GatewayFacts)
    """The MCP gateway's servers, pins, agents, incidents and call counts."""

    @property
    def today(self) -> dt.date:
        return self.now.date()

    @property
    def in_scope(self) -> tuple[ModelFacts, ...]:
        return tuple(m for m in self.models if m.in_scope)


__all__ = [
    "SERVING_STAGES",
    "AccessFacts",
    "ApprovalFacts",
    "AuditFacts",
    "BreakGlass",
    "DatasetFacts",
    "EvaluationFacts",
    "EventRef",
    "Facts",
    "IncidentFacts",
    "ModelFacts",
    "MonitorFacts",
    "PolicyFacts",
    "ReportScope",
    "ReviewFacts",
    "RiskFacts",
    "TransitionFacts",
    "VersionFacts",
]
