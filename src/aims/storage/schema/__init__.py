"""Tables of the metadata store (SQLAlchemy 2 declarative mapping).

The schema is changed only through Alembic migrations in ``migrations/versions``;
these classes must match the newest migration (a test compares them).

One module per family of tables; every table is importable from here.
"""

from __future__ import annotations

from aims.storage.schema.audit import AuditEvent, AuditHead
from aims.storage.schema.base import TS, Base
from aims.storage.schema.decisions import Approval, Evaluation, PromotionRequest, RiskAssessment
from aims.storage.schema.evidence import (
    Applicability,
    ExternalEvidence,
    ManagementReview,
    ReviewFinding,
)
from aims.storage.schema.evidence_facts import (
    AccessLastUse,
    EvidenceBreakGlass,
    EvidenceEventFact,
    EvidenceProgress,
)
from aims.storage.schema.gateway import (
    GatewayAllow,
    GatewayCall,
    GatewayExposure,
    GatewayPin,
    GatewayServer,
)
from aims.storage.schema.identity import ApiKey, Elevation, Grant, Principal
from aims.storage.schema.inventory import (
    Dataset,
    DatasetVersion,
    Model,
    ModelOwner,
    ModelVersion,
    ModelVersionDataset,
    StageTransition,
)
from aims.storage.schema.llm_apps import TraceEvaluation
from aims.storage.schema.monitoring import Incident, MonitorWindow
from aims.storage.schema.revocations import RevokedToken

__all__ = [
    "TS",
    "AccessLastUse",
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
    "EvidenceBreakGlass",
    "EvidenceEventFact",
    "EvidenceProgress",
    "ExternalEvidence",
    "GatewayAllow",
    "GatewayCall",
    "GatewayExposure",
    "GatewayPin",
    "GatewayServer",
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
    "RevokedToken",
    "RiskAssessment",
    "StageTransition",
    "TraceEvaluation",
]
