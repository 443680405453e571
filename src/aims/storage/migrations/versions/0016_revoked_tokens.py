"""revoked tokens: log-outs every server process refuses

Revision ID: 0016
Revises: 0015

A dashboard log-out revoked its token in the memory of the one server process
that handled it: the other workers of ``aims serve --workers N`` kept
accepting the token until it expired, and a restart forgot the revocation.
``revoked_tokens`` keeps each revoked token id until the token's own expiry;
every server process reads it when it polls the store.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "revoked_tokens",
        sa.Column("token_id", sa.String(64), primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_by", sa.String(200), nullable=False),
    )
    op.create_index("ix_revoked_tokens_expires_at", "revoked_tokens", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_revoked_tokens_expires_at", table_name="revoked_tokens")
    op.drop_table("revoked_tokens")
