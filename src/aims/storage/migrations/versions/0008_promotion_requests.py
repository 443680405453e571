"""promotion requests: proposals that a person decides (imports, agents)

Revision ID: 0008
Revises: 0007

A promotion request proposes moving a model version to a stage (an MLflow
alias or stage met on import, an agent's proposal); it changes no stage by
itself. A person decides it later through ``aims promote``'s gates. While a
request is open, the same proposal (version, stage, source) cannot be opened
twice: a partial unique index says so, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "promotion_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["model_version_id"], ["model_versions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("promotion_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_promotion_requests_model_version_id"),
            ["model_version_id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_promotion_requests_status"), ["status"], unique=False)
        batch_op.create_index(
            "uq_promotion_requests_one_open",
            ["model_version_id", "stage", "source"],
            unique=True,
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("promotion_requests", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_promotion_requests_one_open",
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )
        batch_op.drop_index(batch_op.f("ix_promotion_requests_status"))
        batch_op.drop_index(batch_op.f("ix_promotion_requests_model_version_id"))
    op.drop_table("promotion_requests")
