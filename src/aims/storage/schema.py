"""Tables of the metadata store (SQLAlchemy 2 declarative mapping).

The schema is changed only through Alembic migrations in ``migrations/versions``;
these classes must match the newest migration (a test compares them).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from aims.storage.utc_column import UtcDateTime

__all__ = [
    "TS",
    "ApiKey",
    "Applicability",
    "Approval",
    "AuditEvent",
    "AuditHead",
    "Base",
    "Dataset",
    "DatasetVersion",
    "Elevation",
    "Evaluation",
    "ExternalEvidence",
    "Grant",
    "Incident",
    "ManagementReview",
    "Model",
    "ModelOwner",
    "ModelVersion",
    "ModelVersionDataset",
    "MonitorWindow",
    "Principal",
    "PromotionRequest",
    "ReviewFinding",
    "RiskAssessment",
    "StageTransition",
]


class Base(DeclarativeBase):
    """Declarative base of every table."""


#: Every time column: aware UTC in and out, whatever the database keeps.
TS = UtcDateTime()


class AuditEvent(Base):
    """One entry of the append-only, hash-chained audit log."""

    __tablename__ = "audit_events"
    # Pages of the log under a filter, newest first, read straight off an index
    # (migration 0009 says why).
    __table_args__ = (
        Index("ix_audit_events_actor_seq", "actor", "seq"),
        Index("ix_audit_events_action_seq", "action", "seq"),
        Index("ix_audit_events_subject_seq", "subject", "seq"),
        Index("ix_audit_events_ts", "ts"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True, nullable=False)
    ts: Mapped[str] = mapped_column(String(40), nullable=False)
    actor: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    action: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    subject: Mapped[str] = mapped_column(String(300), nullable=False, index=True)
    payload: Mapped[str] = mapped_column(Text, nullable=False)
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)


class AuditHead(Base):
    """A single row naming the newest audit event; locked by every writer.

    Locking it serialises appends to the chain across processes, and it lets
    ``verify`` notice events deleted from (or appended to) the end of the chain.
    """

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)
    # The first event hashed with the audit key; older events keep the plain
    # SHA-256 of the releases that wrote them (never rewritten).
    keyed_from: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")


class Dataset(Base):
    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True, nullable=False)
    project: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(TS, nullable=False)

    versions: Mapped[list[DatasetVersion]] = relationship(
        back_populates="dataset", order_by="DatasetVersion.version"
    )


class DatasetVersion(Base):
    __tablename__ = "dataset_versions"
    __table_args__ = (
        UniqueConstraint("dataset_id", "version"),
        UniqueConstraint("dataset_id", "content_hash"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    source: Mapped[str] = mapped_column(Text, nullable=False)
    schema: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    row_count: Mapped[int] = mapped_column(Integer, nullable=False)
    contract: Mapped[str | None] = mapped_column(Text, nullable=True)
    profile: Mapped[bytes | None] = mapped_column(nullable=True)
    artifact_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(TS, nullable=False)

    dataset: Mapped[Dataset] = relationship(back_populates="versions")


class Model(Base):
    __tablename__ = "models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True, nullable=False)
    project: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(TS, nullable=False)

    versions: Mapped[list[ModelVersion]] = relationship(
        back_populates="model", order_by="ModelVersion.version"
    )
    owners: Mapped[list[ModelOwner]] = relationship(back_populates="model")


class ModelOwner(Base):
    __tablename__ = "model_owners"

    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(30), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200), nullable=False)

    model: Mapped[Model] = relationship(back_populates="owners")


class ModelVersion(Base):
    __tablename__ = "model_versions"
    __table_args__ = (
        UniqueConstraint("model_id", "version"),
        # At most one production version per model, enforced by the database
        # itself so that concurrent promotions cannot both win.
        Index(
            "uq_model_versions_one_production",
            "model_id",
            unique=True,
            sqlite_where=text("stage = 'production'"),
            postgresql_where=text("stage = 'production'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    artifact_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    artifact_name: Mapped[str] = mapped_column(String(300), nullable=False)
    flavour: Mapped[str] = mapped_column(String(30), nullable=False)
    trusted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    info: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    tags: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    git_commit: Mapped[str | None] = mapped_column(String(64), nullable=True)
    input_contract: Mapped[str | None] = mapped_column(Text, nullable=True)
    stage: Mapped[str] = mapped_column(String(20), nullable=False, default="registered")
    traffic: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(TS, nullable=False)

    model: Mapped[Model] = relationship(back_populates="versions")
    inputs: Mapped[list[DatasetVersion]] = relationship(secondary="model_version_datasets")


class ModelVersionDataset(Base):
    """Lineage: which dataset versions a model version was trained on."""

    __tablename__ = "model_version_datasets"

    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"), primary_key=True)
    dataset_version_id: Mapped[int] = mapped_column(
        ForeignKey("dataset_versions.id"), primary_key=True
    )


class StageTransition(Base):
    """Every change of a model version's stage: who, when, why."""

    __tablename__ = "stage_transitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_version_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id"), nullable=False, index=True
    )
    from_stage: Mapped[str] = mapped_column(String(20), nullable=False)
    to_stage: Mapped[str] = mapped_column(String(20), nullable=False)
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    at: Mapped[datetime] = mapped_column(TS, nullable=False)
    # The audit event recorded in the same transaction; rows without a matching
    # event are not counted by the gates (see aims.services.anchors).
    audit_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)


class RiskAssessment(Base):
    """A versioned risk assessment of a model (the latest one is in force)."""

    __tablename__ = "risk_assessments"
    __table_args__ = (UniqueConstraint("model_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"), nullable=False, index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    tier: Mapped[str] = mapped_column(String(20), nullable=False)
    document: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    reviewer: Mapped[str] = mapped_column(String(200), nullable=False)
    next_review: Mapped[str] = mapped_column(String(10), nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    # The audit event recorded in the same transaction; rows without a matching
    # event are not counted by the gates (see aims.services.anchors).
    audit_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Approval(Base):
    """An approval of a model version by one person (four-eyes: never its registrant)."""

    __tablename__ = "approvals"
    __table_args__ = (UniqueConstraint("model_version_id", "actor"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_version_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id"), nullable=False, index=True
    )
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[str | None] = mapped_column(String(30), nullable=True)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    # The audit event recorded in the same transaction; rows without a matching
    # event are not counted by the gates (see aims.services.anchors).
    audit_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Evaluation(Base):
    """The result of ``aims evaluate`` for a model version on one dataset."""

    __tablename__ = "evaluations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_version_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id"), nullable=False, index=True
    )
    data_source: Mapped[str] = mapped_column(Text, nullable=False)
    data_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    # The audit event recorded in the same transaction; rows without a matching
    # event are not counted by the gates (see aims.services.anchors).
    audit_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ApiKey(Base):
    """An API key: only its argon2 hash is stored; ``key_id`` is the public prefix."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key_id: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    secret_hash: Mapped[str] = mapped_column(String(200), nullable=False)
    project: Mapped[str] = mapped_column(String(100), nullable=False)
    role: Mapped[str] = mapped_column(String(30), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    expires_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    # The principal the key acts for; None for keys made before principals
    # existed (they keep working in local mode until 'aims team enable').
    principal_id: Mapped[int | None] = mapped_column(
        ForeignKey("principals.id"), nullable=True, index=True
    )


class Principal(Base):
    """Who acts: a person (``human``), a ``service`` or an ``agent``.

    Services and agents name a human ``owner`` who answers for them. A
    principal is never deleted, only disabled, so the audit log's names stay
    meaningful.
    """

    __tablename__ = "principals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True, nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("principals.id"), nullable=True)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    disabled_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)


class Grant(Base):
    """A role a principal holds on one project (``*``: every project).

    One grant per principal and project: roles are a ladder, so the highest
    one held is the one that counts. ``expires_at`` makes a grant time-bound.
    """

    __tablename__ = "grants"
    __table_args__ = (UniqueConstraint("principal_id", "project"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    principal_id: Mapped[int] = mapped_column(
        ForeignKey("principals.id"), nullable=False, index=True
    )
    project: Mapped[str] = mapped_column(String(100), nullable=False)
    role: Mapped[str] = mapped_column(String(30), nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    expires_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)


class Elevation(Base):
    """A request for a time-bound role on one project (just-in-time elevation).

    ``pending`` until another principal holding the role approves (``approved``)
    or denies it (``denied``); an approved one raises the principal's role from
    ``starts_at`` until ``ends_at`` and lapses by itself, or ends early when
    revoked (``revoked``, ``ended_at``).
    """

    __tablename__ = "elevations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    principal_id: Mapped[int] = mapped_column(
        ForeignKey("principals.id"), nullable=False, index=True
    )
    project: Mapped[str] = mapped_column(String(100), nullable=False)
    role: Mapped[str] = mapped_column(String(30), nullable=False)
    seconds: Mapped[int] = mapped_column(Integer, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    requested_by: Mapped[str] = mapped_column(String(200), nullable=False)
    requested_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    decided_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    starts_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    ends_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)


class MonitorWindow(Base):
    """The results of one closed monitoring window for one model version and role.

    The unique key makes a re-run over the same windows a no-op, and lets a
    monitor killed mid-run resume where it stopped.
    """

    __tablename__ = "monitor_windows"
    __table_args__ = (
        UniqueConstraint("model_id", "version", "role", "window_start", "window_seconds"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"), nullable=False, index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    window_start: Mapped[datetime] = mapped_column(TS, nullable=False, index=True)
    window_seconds: Mapped[int] = mapped_column(Integer, nullable=False)
    n_predictions: Mapped[int] = mapped_column(Integer, nullable=False)
    n_labelled: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    results: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    profile: Mapped[bytes | None] = mapped_column(nullable=True)
    computed_at: Mapped[datetime] = mapped_column(TS, nullable=False)


class Incident(Base):
    """A problem found by the monitor (or opened by a person), with an owner."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True, nullable=False)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"), nullable=False, index=True)
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    trigger: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(30), nullable=False)
    severity: Mapped[str] = mapped_column(String(20), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="open", index=True)
    owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    summary: Mapped[str] = mapped_column(Text, nullable=False)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    actions: Mapped[list[Any]] = mapped_column(JSON, nullable=False)
    opened_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    acked_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    acked_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    resolution: Mapped[str | None] = mapped_column(Text, nullable=True)


class Applicability(Base):
    """One version of a control's entry in the statement of applicability.

    ``project`` is a project's name, or ``*`` for the whole organisation. The
    newest entry in force decides: an inclusion is in force when recorded, an
    exclusion only once a second person approves it (four-eyes). Older rows are
    kept, so the statement's history is the table itself.
    """

    __tablename__ = "applicability"
    __table_args__ = (UniqueConstraint("project", "control_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    control_id: Mapped[str] = mapped_column(String(30), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    applicable: Mapped[bool] = mapped_column(Boolean, nullable=False)
    justification: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # External evidence of this control counts only once someone other than its adder approves it.
    evidence_approval: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    proposed_by: Mapped[str] = mapped_column(String(200), nullable=False)
    proposed_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    approved_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    audit_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ExternalEvidence(Base):
    """A document kept outside aims that evidences a control: a stored file or a link.

    A file is kept in the artifact store under its sha256; a link keeps the
    sha256 of what it served when it was added. ``reviewed_on`` plus
    ``review_every_days`` is when it must be reviewed again. Removal is a mark,
    never a delete, so the report can say what was withdrawn and when.
    """

    __tablename__ = "external_evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    control_id: Mapped[str] = mapped_column(String(30), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    owner: Mapped[str] = mapped_column(String(320), nullable=False)
    review_every_days: Mapped[int] = mapped_column(Integer, nullable=False)
    reviewed_on: Mapped[str] = mapped_column(String(10), nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    approved_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    removed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    removed_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    audit_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ManagementReview(Base):
    """An internal audit (ISO/IEC 42001 clause 9.2) or a management review (clause 9.3)."""

    __tablename__ = "management_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(30), nullable=False)
    project: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    title: Mapped[str] = mapped_column(Text, nullable=False)
    held_on: Mapped[str] = mapped_column(String(10), nullable=False)
    summary: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    audit_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ReviewFinding(Base):
    """A finding of an audit or review, with its owner, due date and corrective action
    (clause 10.2), optionally linked to the incident it came from or led to."""

    __tablename__ = "findings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    review_id: Mapped[int] = mapped_column(
        ForeignKey("management_reviews.id"), nullable=False, index=True
    )
    kind: Mapped[str] = mapped_column(String(30), nullable=False)
    control_id: Mapped[str | None] = mapped_column(String(30), nullable=True)
    summary: Mapped[str] = mapped_column(Text, nullable=False)
    owner: Mapped[str] = mapped_column(String(320), nullable=False)
    due: Mapped[str] = mapped_column(String(10), nullable=False)
    corrective_action: Mapped[str] = mapped_column(Text, nullable=False, default="")
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="open")
    closed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    closure: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    audit_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)


class PromotionRequest(Base):
    """A proposal to move a model version to a stage, which a person decides later.

    Opened by an import (an MLflow alias or stage) or by an agent; it changes no
    stage by itself. ``open`` until decided: ``approved`` once the promotion it
    asks for passed ``aims promote``'s gates, ``refused`` when a person declines
    it. ``source`` says where the proposal came from (``mlflow:alias=champion``).
    """

    __tablename__ = "promotion_requests"
    __table_args__ = (
        # The same proposal is open at most once (a re-import or a repeated
        # proposal finds the open one instead of adding another).
        Index(
            "uq_promotion_requests_one_open",
            "model_version_id",
            "stage",
            "source",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_version_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id"), nullable=False, index=True
    )
    stage: Mapped[str] = mapped_column(String(20), nullable=False)
    requested_by: Mapped[str] = mapped_column(String(200), nullable=False)
    source: Mapped[str] = mapped_column(String(300), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    decided_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    decision_note: Mapped[str | None] = mapped_column(Text, nullable=True)

    model_version: Mapped[ModelVersion] = relationship()
