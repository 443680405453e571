"""evidence kept outside aims, the statement of applicability, audits and reviews

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "applicability",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project", sa.String(length=100), nullable=False),
        sa.Column("control_id", sa.String(length=30), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("applicable", sa.Boolean(), nullable=False),
        sa.Column("justification", sa.Text(), nullable=False),
        sa.Column("evidence_approval", sa.Boolean(), nullable=False),
        sa.Column("proposed_by", sa.String(length=200), nullable=False),
        _ts("proposed_at"),
        sa.Column("approved_by", sa.String(length=200), nullable=True),
        _ts("approved_at", nullable=True),
        sa.Column("audit_seq", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project", "control_id", "version"),
    )
    with op.batch_alter_table("applicability", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_applicability_project"), ["project"], unique=False)
    op.create_table(
        "external_evidence",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project", sa.String(length=100), nullable=False),
        sa.Column("control_id", sa.String(length=30), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("owner", sa.String(length=320), nullable=False),
        sa.Column("review_every_days", sa.Integer(), nullable=False),
        sa.Column("reviewed_on", sa.String(length=10), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        _ts("created_at"),
        sa.Column("approved_by", sa.String(length=200), nullable=True),
        _ts("approved_at", nullable=True),
        sa.Column("removed_by", sa.String(length=200), nullable=True),
        _ts("removed_at", nullable=True),
        sa.Column("audit_seq", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("external_evidence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_external_evidence_project"), ["project"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_external_evidence_control_id"), ["control_id"], unique=False
        )
    op.create_table(
        "management_reviews",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("project", sa.String(length=100), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("held_on", sa.String(length=10), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        _ts("created_at"),
        sa.Column("audit_seq", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("management_reviews", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_management_reviews_project"), ["project"], unique=False
        )
    op.create_table(
        "findings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("control_id", sa.String(length=30), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=320), nullable=False),
        sa.Column("due", sa.String(length=10), nullable=False),
        sa.Column("corrective_action", sa.Text(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("closed_by", sa.String(length=200), nullable=True),
        _ts("closed_at", nullable=True),
        sa.Column("closure", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        _ts("created_at"),
        sa.Column("audit_seq", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["review_id"], ["management_reviews.id"]),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_findings_review_id"), ["review_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_findings_review_id"))
    op.drop_table("findings")
    with op.batch_alter_table("management_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_management_reviews_project"))
    op.drop_table("management_reviews")
    with op.batch_alter_table("external_evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_external_evidence_control_id"))
        batch_op.drop_index(batch_op.f("ix_external_evidence_project"))
    op.drop_table("external_evidence")
    with op.batch_alter_table("applicability", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_applicability_project"))
    op.drop_table("applicability")
