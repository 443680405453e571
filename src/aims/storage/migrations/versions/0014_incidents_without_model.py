"""incidents without model: incidents about a project's servers and agents

Revision ID: 0014
Revises: 0013

Reserved; filled in with the change that lets an incident name no model.
"""

from __future__ import annotations

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
