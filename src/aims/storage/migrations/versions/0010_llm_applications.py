"""llm applications: evaluation results taken in from LLM application traces

Revision ID: 0010
Revises: 0009

An LLM application version is a model version (flavour ``llm-app``) and needs
no table of its own; what other tools report about it as
``gen_ai.evaluation.result`` span events is summarised per version and per
evaluation name in ``llm_trace_evaluations`` when ``aims evaluate APP@V
--from-traces`` takes it in as evidence.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "llm_trace_evaluations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("spans", sa.Integer(), nullable=False),
        sa.Column("results", sa.Integer(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("audit_seq", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["model_version_id"], ["model_versions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("llm_trace_evaluations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_llm_trace_evaluations_model_version_id"),
            ["model_version_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("llm_trace_evaluations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_llm_trace_evaluations_model_version_id"))
    op.drop_table("llm_trace_evaluations")
