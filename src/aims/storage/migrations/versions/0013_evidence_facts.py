"""evidence facts: evidence facts kept as the audit log grows

Revision ID: 0013
Revises: 0012

The evidence report cited governance events it read out of the whole audit
log on every report (minutes at a million events), and walked the hash chain
from its start. ``evidence_event_facts`` keeps, per subject, the newest
event of each kind the checks cite; ``evidence_break_glass`` the writes
forced past team mode; ``evidence_progress`` the last event read into them
and the newest walk of the chain. They start empty and are filled from the
log on the first report, then caught up from the last event read.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evidence_event_facts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("ts", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.UniqueConstraint("subject", "action", "key", name="uq_evidence_event_facts_kind"),
    )
    op.create_table(
        "evidence_break_glass",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
    )
    progress = op.create_table(
        "evidence_progress",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("facts_seq", sa.Integer(), nullable=False),
        sa.Column("chain_seq", sa.Integer(), nullable=True),
        sa.Column("chain_hash", sa.String(64), nullable=True),
        sa.Column("chain_ok", sa.Boolean(), nullable=True),
        sa.Column("chain_problem", sa.Text(), nullable=True),
        sa.Column("chain_problem_seq", sa.Integer(), nullable=True),
        sa.Column("chain_at", sa.DateTime(timezone=True), nullable=True),
    )
    # The one row every catch-up locks first (two servers catching up take turns).
    op.bulk_insert(progress, [{"id": 1, "facts_seq": 0}])


def downgrade() -> None:
    op.drop_table("evidence_progress")
    op.drop_table("evidence_break_glass")
    op.drop_table("evidence_event_facts")
