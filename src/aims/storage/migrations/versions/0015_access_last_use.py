"""access last use: each principal's and key's newest act per subject

Revision ID: 0015
Revises: 0014

The access review judged grants and keys by their last use, read out of the
whole audit log on every review (a group-by over every event). ``access_last_use``
keeps the newest act per (principal or key, subject), caught up from
``evidence_progress.uses_seq`` as the log grows. It starts empty and is
filled from the log on the first review.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_last_use",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("who", sa.String(200), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("ts", sa.String(40), nullable=False),
        sa.UniqueConstraint("who", "subject", name="uq_access_last_use"),
    )
    with op.batch_alter_table("evidence_progress") as batch:
        batch.add_column(sa.Column("uses_seq", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("evidence_progress") as batch:
        batch.drop_column("uses_seq")
    op.drop_table("access_last_use")
