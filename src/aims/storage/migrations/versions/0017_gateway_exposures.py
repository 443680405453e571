"""gateway exposures: what each agent last read from an untrusted tool

Revision ID: 0017
Revises: 0016

The gateway's rule for calls after untrusted content (``gateway.untrusted`` and
``gateway.after_untrusted`` in ``aims.yaml``) needs to know, in every server
process, when an agent last received a result from a tool whose results carry
outside text. ``gateway_exposures`` keeps the newest such result per agent.
A call held for a person now says why it waits (``gateway_calls.reason``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gateway_exposures",
        sa.Column("agent", sa.String(200), primary_key=True),
        sa.Column("source", sa.String(300), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("gateway_calls") as batch:
        batch.add_column(sa.Column("reason", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("gateway_calls") as batch:
        batch.drop_column("reason")
    op.drop_table("gateway_exposures")
